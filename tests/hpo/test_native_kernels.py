"""The C++ LeNet conv1 kernel: the plain layers' function, thread-independent bytes, fallbacks."""

from __future__ import annotations

import ctypes
import os
import warnings

import pytest
import torch
import torch.nn.functional as F

from hpo import provenance
from hpo.models import MODELS, ModelContext, build_model
from hpo.models.lenet import kernels as cpu_kernels
from hpo.models.lenet import native
from hpo.models.lenet.kernels import ConvSigmoidPool, _NativeLibrary, lenet_block1
from hpo.training.facts import training_environment

SOURCE = lenet_block1.source


def _can_build() -> bool:
    """Whether a compiler and ninja are here (asked without building: collecting tests writes nothing)."""
    from torch.utils import cpp_extension

    try:
        native.find_compiler()
    except native.NativeBuildError:
        return False
    return cpp_extension.is_ninja_available()


# CI has a compiler and the native extra: there the kernel must build, not quietly fall back
needs_kernel = pytest.mark.skipif(
    not os.environ.get("CI") and not _can_build(), reason="no C++ compiler or ninja here"
)


@pytest.fixture(autouse=True)
def _asked_for(monkeypatch) -> None:
    """The kernel is opt-in: these tests ask for it."""
    monkeypatch.setenv(native.ENABLE_ENV, "1")


def reference(x, w, b):
    return F.avg_pool2d(torch.sigmoid(F.conv2d(x, w, b, padding=2)), 2)


def inputs(n: int, seed: int, scale: float = 0.5):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 28, 28, generator=gen)
    w = (torch.randn(6, 1, 5, 5, generator=gen) * scale).requires_grad_()
    b = torch.randn(6, generator=gen).requires_grad_()
    return x, w, b


def call(lib: ctypes.CDLL, x, w, b, grad, threads: int):
    """The library's forward and (weight, bias) gradient, outside autograd."""
    n = x.shape[0]
    h = torch.empty(n, 6, 14, 14)
    lib.lenet_block1_forward(x.data_ptr(), w.data_ptr(), b.data_ptr(), h.data_ptr(), n, threads)
    per_image, total = torch.empty(n, 156), torch.empty(6, 26)
    args = (x.data_ptr(), w.data_ptr(), b.data_ptr(), grad.data_ptr(), per_image.data_ptr(), total.data_ptr())
    lib.lenet_block1_backward(*args, n, threads)
    return h, total


@needs_kernel
@pytest.mark.parametrize("n", [1, 7, 256, 301])
def test_conv_sigmoid_pool_is_the_plain_layers_with_weight_and_bias_gradients(n) -> None:
    x, w, b = inputs(n, seed=n)
    ours = ConvSigmoidPool.apply(x, w, b)
    ref = reference(x, w, b)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    grad = torch.randn(ref.shape, generator=torch.Generator().manual_seed(1))
    got, want = torch.autograd.grad(ours, (w, b), grad), torch.autograd.grad(ref, (w, b), grad)
    for a, r in zip(got, want, strict=True):
        assert a.shape == r.shape
        # sums over n * 784 terms in another order: relative to the gradient's size
        torch.testing.assert_close(a, r, rtol=1e-4, atol=1e-5 * r.abs().max().item())


@needs_kernel
def test_saturated_and_nan_activations_behave_as_torch() -> None:
    x, w, b = inputs(4, seed=2, scale=200.0)  # pre-activations of +-hundreds: sigmoid saturates
    out = ConvSigmoidPool.apply(x, w, b)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, reference(x, w, b), rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        w[2, 0, 1, 1] = float("nan")  # a diverged training must stay visibly diverged
    out = ConvSigmoidPool.apply(x, w, b)
    assert torch.isnan(out[:, 2]).all() and torch.isfinite(out[:, [0, 1, 3, 4, 5]]).all()


@needs_kernel
def test_the_bytes_do_not_depend_on_the_thread_count() -> None:
    lib = lenet_block1.get()
    x, w, b = inputs(37, seed=3)
    w, b = w.detach(), b.detach()
    grad = torch.randn(37, 6, 14, 14, generator=torch.Generator().manual_seed(4))
    h1, g1 = call(lib, x, w, b, grad, threads=1)
    h2, g2 = call(lib, x, w, b, grad, threads=2)
    assert torch.equal(h1, h2) and torch.equal(g1, g2)


@needs_kernel
def test_the_narrow_vector_build_for_cpus_without_avx512_computes_the_same(tmp_path) -> None:
    # -march=native picks 16-float vectors on an AVX-512 CPU and 8-float ones elsewhere: build the
    # narrow one here too, so that both are checked on whichever machine runs the tests
    lib = native.load(SOURCE, ["-mno-avx512f"], directory=tmp_path)
    for name, argtypes in lenet_block1.signatures.items():
        getattr(lib, name).argtypes = argtypes
    x, w, b = inputs(9, seed=5)
    grad = torch.randn(9, 6, 14, 14, generator=torch.Generator().manual_seed(6))
    h, total = call(lib, x, w.detach(), b.detach(), grad, threads=2)
    ref = reference(x, w, b)
    torch.testing.assert_close(h, ref, rtol=1e-5, atol=1e-6)
    gw, gb = torch.autograd.grad(ref, (w, b), grad)
    torch.testing.assert_close(total[:, :25].reshape(gw.shape), gw, rtol=1e-4, atol=1e-5 * gw.abs().max())
    torch.testing.assert_close(total[:, 25], gb, rtol=1e-4, atol=1e-5 * gb.abs().max())


@needs_kernel
def test_a_build_is_reused_and_a_changed_source_builds_anew(tmp_path, monkeypatch) -> None:
    source = tmp_path / "k.cpp"
    source.write_text('extern "C" int answer() { return 42; }\n')
    first = native.build(source, directory=tmp_path / "out")
    built = first.stat().st_mtime_ns
    assert native.build(source, directory=tmp_path / "out") == first
    assert first.stat().st_mtime_ns == built  # built nothing
    source.write_text('extern "C" int answer() { return 43; }\n')
    second = native.build(source, directory=tmp_path / "out")
    assert second != first and ctypes.CDLL(str(second)).answer() == 43
    assert ctypes.CDLL(str(first)).answer() == 42  # the earlier build is left as it was
    # a build for other flags (or another CPU or compiler) goes into a directory of its own
    narrow = native.build(source, ["-mno-avx512f"], directory=tmp_path / "out")
    assert narrow.parent != second.parent and len(list((tmp_path / "out").iterdir())) == 2


@needs_kernel
def test_a_source_the_compiler_refuses_is_one_clear_error(tmp_path) -> None:
    source = tmp_path / "bad.cpp"
    source.write_text("this is not C++\n")
    with pytest.raises(native.NativeBuildError, match="could not build bad.cpp: .*error") as raised:
        native.build(source, directory=tmp_path)
    assert "\n" not in str(raised.value)
    assert list(tmp_path.rglob("*.so")) == []


def test_no_ninja_is_one_clear_error_naming_the_extra(tmp_path, monkeypatch) -> None:
    from torch.utils import cpp_extension

    monkeypatch.setattr(cpp_extension, "is_ninja_available", lambda: False)
    monkeypatch.setattr(native, "find_compiler", lambda: "g++")
    with pytest.raises(
        native.NativeBuildError, match=r"ninja is not installed \(pip install 'hpobench\[native\]'\)"
    ):
        native.build(SOURCE, directory=tmp_path)


def test_no_compiler_on_the_path_is_one_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        native.NativeBuildError, match=r"no C\+\+ compiler found \(set \$CXX, or install g\+\+\)"
    ):
        native.find_compiler()


def test_without_a_compiler_lenet_warns_once_and_trains_through_onednn(monkeypatch) -> None:
    def missing() -> str:
        raise native.NativeBuildError("no C++ compiler found (set $CXX, or install g++)")

    monkeypatch.setattr(native, "find_compiler", missing)
    library = _NativeLibrary(SOURCE, lenet_block1.signatures)
    monkeypatch.setattr(cpu_kernels, "lenet_block1", library)
    context = ModelContext((1, 28, 28), 10, 100)
    model = build_model("lenet", MODELS["lenet"].defaults, context, torch.Generator().manual_seed(3))
    x = torch.rand(5, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    with pytest.warns(RuntimeWarning, match="C\\+\\+ kernel is unavailable .no C\\+\\+ compiler found"):
        assert not cpu_kernels.conv_sigmoid_pool_supported(x, model.layers[0].weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no second warning
        torch.testing.assert_close(model(x), model.layers(x))
    assert library.status().startswith("unavailable: no C++ compiler found")


def test_provenance_records_lenets_conv1_path_and_only_for_lenet_on_cpu() -> None:
    assert training_environment("cpu", "lenet")["lenet_conv1"] == lenet_block1.status()
    assert "lenet_conv1" not in training_environment("cpu", "softmax")
    assert MODELS["lenet"].runtime_facts(torch.device("cuda")) == {}  # the nn layers run there
    assert "lenet_conv1" not in provenance.environment()  # replays train nothing


def test_the_environment_switch_skips_the_build(monkeypatch) -> None:
    monkeypatch.setenv(cpu_kernels.COMPILE_ENV, "1")
    library = _NativeLibrary(SOURCE, lenet_block1.signatures)
    assert library.get() is None and library.status() == f"unavailable: {cpu_kernels.COMPILE_ENV} is set"


def test_without_the_opt_in_nothing_is_built_and_provenance_says_off(monkeypatch) -> None:
    monkeypatch.delenv(native.ENABLE_ENV)

    def refuse(*args, **kwargs):
        raise AssertionError("built without being asked")

    monkeypatch.setattr(native, "load", refuse)
    library = _NativeLibrary(SOURCE, lenet_block1.signatures)
    monkeypatch.setattr(cpu_kernels, "lenet_block1", library)
    x, w, _ = inputs(3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # off is the default, not a failure to warn about
        assert not cpu_kernels.conv_sigmoid_pool_supported(x.detach(), w.detach())
    assert library.status() == "off"
    monkeypatch.setenv(native.ENABLE_ENV, "0")
    assert library.get() is None and library.status() == "off"


@needs_kernel
def test_lenet_uses_the_kernel_only_where_it_applies() -> None:
    w = torch.zeros(6, 1, 5, 5)
    assert cpu_kernels.conv_sigmoid_pool_supported(torch.zeros(2, 1, 28, 28), w)
    assert not cpu_kernels.conv_sigmoid_pool_supported(
        torch.zeros(2, 1, 28, 28, dtype=torch.float64), w.double()
    )
    assert not cpu_kernels.conv_sigmoid_pool_supported(torch.zeros(2, 1, 32, 32), w)
    assert not cpu_kernels.conv_sigmoid_pool_supported(torch.zeros(2, 1, 28, 28, requires_grad=True), w)
    assert not cpu_kernels.conv_sigmoid_pool_supported(torch.zeros(2, 1, 28, 28), torch.zeros(8, 1, 5, 5))
