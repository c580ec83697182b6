"""LeNet's CPU fast paths compute exactly the function of the plain layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hpo.models import MODELS, ModelContext, build_model
from hpo.models.lenet import kernels as cpu_kernels
from hpo.models.lenet.kernels import (
    Conv2dMixedLayout,
    Conv2dPhases,
    _Compiled,
    depth_to_space,
    sigmoid_avg_pool,
    sigmoid_phase_mean,
    space_to_depth,
)


def test_mixed_layout_conv_matches_conv2d_with_all_gradients() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 6, 14, 14, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(16, 6, 5, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(16, dtype=torch.float64, generator=gen, requires_grad=True)
    grad = torch.randn(5, 16, 10, 10, dtype=torch.float64, generator=gen)
    ours = Conv2dMixedLayout.apply(x, w, b)
    ref = F.conv2d(x, w, b)
    torch.testing.assert_close(ours, ref)
    for a, r in zip(
        torch.autograd.grad(ours, (x, w, b), grad), torch.autograd.grad(ref, (x, w, b), grad), strict=True
    ):
        torch.testing.assert_close(a, r)
        assert a.stride() == r.stride()


def test_mixed_layout_conv_skips_the_input_gradient_when_not_needed() -> None:
    x = torch.randn(3, 6, 14, 14)
    w = torch.randn(16, 6, 5, 5, requires_grad=True)
    b = torch.zeros(16, requires_grad=True)
    (gw, gb) = torch.autograd.grad(Conv2dMixedLayout.apply(x, w, b).sum(), (w, b))
    torch.testing.assert_close(gb, torch.full((16,), 300.0))
    torch.testing.assert_close(gw, torch.autograd.grad(F.conv2d(x, w, b).sum(), w)[0])


def test_space_to_depth_puts_each_pixel_phase_in_its_own_channel() -> None:
    x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).view(2, 3, 4, 6)
    phases = space_to_depth(x)
    assert phases.shape == (2, 12, 2, 3)
    torch.testing.assert_close(phases[:, 4 * 2 + 2 * 1 + 0], x[:, 2, 1::2, 0::2])
    torch.testing.assert_close(depth_to_space(phases), x)


@pytest.mark.parametrize(("channels", "padding", "size"), [(1, 2, 12), (3, 0, 14), (2, 1, 10)])
def test_phase_conv_is_conv2d_split_by_phase_with_all_gradients(channels, padding, size) -> None:
    gen = torch.Generator().manual_seed(channels)
    x = torch.randn(5, channels, size, size, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(4, channels, 5, 5, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(4, dtype=torch.float64, generator=gen, requires_grad=True)
    ours = Conv2dPhases.apply(x, w, b, padding)
    ref = F.conv2d(x, w, b, padding=padding)
    torch.testing.assert_close(depth_to_space(ours), ref)
    torch.testing.assert_close(sigmoid_phase_mean(ours), F.avg_pool2d(torch.sigmoid(ref), 2))
    grad = torch.randn(ours.shape, dtype=torch.float64, generator=gen)
    for a, r in zip(
        torch.autograd.grad(ours, (x, w, b), grad),
        torch.autograd.grad(ref, (x, w, b), depth_to_space(grad)),
        strict=True,
    ):
        torch.testing.assert_close(a, r)
        assert a.shape == r.shape


def test_phase_conv_trains_after_its_first_use_in_inference_mode() -> None:
    cpu_kernels._phase_index.cache_clear()
    x = torch.randn(2, 1, 8, 8)
    w = torch.randn(3, 1, 5, 5, requires_grad=True)
    with torch.inference_mode():  # e.g. a resumed run evaluated before it trains on
        Conv2dPhases.apply(x, w, torch.zeros(3), 2)
    Conv2dPhases.apply(x, w, torch.zeros(3, requires_grad=True), 2).sum().backward()
    assert w.grad is not None and w.grad.shape == w.shape


@pytest.mark.parametrize(("size", "kernel"), [(11, (5, 5)), (12, (4, 4)), (12, (5, 3))])
def test_phase_conv_refuses_shapes_it_cannot_split(size, kernel) -> None:
    with pytest.raises(ValueError, match="odd square kernel and an even padded size above it"):
        Conv2dPhases.apply(torch.zeros(1, 1, size, size), torch.zeros(2, 1, *kernel), torch.zeros(2), 2)


def test_compiled_sigmoid_pool_matches_eager_forward_and_backward() -> None:
    z = torch.randn(7, 6, 28, 28, requires_grad=True)
    fused = _Compiled(sigmoid_avg_pool)
    out = fused(z)
    assert fused.compiled is not None and not fused.failed
    ref = F.avg_pool2d(torch.sigmoid(z), 2)
    torch.testing.assert_close(out, ref)
    grad = torch.randn_like(ref)
    torch.testing.assert_close(torch.autograd.grad(out, z, grad)[0], torch.autograd.grad(ref, z, grad)[0])


def test_a_failing_compile_falls_back_to_eager_with_one_warning(monkeypatch) -> None:
    def broken(fn, **kwargs):
        def call(z):
            raise RuntimeError("no C++ compiler")

        return call

    monkeypatch.setattr(cpu_kernels.torch, "compile", broken)
    fused = _Compiled(sigmoid_avg_pool)
    z = torch.randn(2, 6, 28, 28)
    with pytest.warns(RuntimeWarning, match="torch.compile failed .RuntimeError.; LeNet runs in eager mode"):
        out = fused(z)
    torch.testing.assert_close(out, F.avg_pool2d(torch.sigmoid(z), 2))
    assert fused.failed
    fused(z)  # eager from now on: no second warning, no second compile


def test_the_environment_switch_keeps_lenet_eager(monkeypatch) -> None:
    monkeypatch.setenv(cpu_kernels.COMPILE_ENV, "1")
    fused = _Compiled(sigmoid_avg_pool)
    fused(torch.randn(2, 6, 4, 4))
    assert fused.compiled is None


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lenet_fast_path_is_the_plain_network(dtype) -> None:
    context = ModelContext((1, 28, 28), 10, 100)
    model = build_model("lenet", MODELS["lenet"].defaults, context, torch.Generator().manual_seed(3)).to(
        dtype
    )
    x = torch.rand(33, 1, 28, 28, dtype=dtype, generator=torch.Generator().manual_seed(4))
    y = torch.randint(0, 10, (33,), generator=torch.Generator().manual_seed(5))
    params = list(model.parameters())
    fast = F.cross_entropy(model(x), y)
    plain = F.cross_entropy(model.layers(x), y)
    torch.testing.assert_close(fast, plain)
    for a, b in zip(torch.autograd.grad(fast, params), torch.autograd.grad(plain, params), strict=True):
        torch.testing.assert_close(a, b)


def test_warm_up_compiles_every_graph_training_needs(monkeypatch) -> None:
    from torch._dynamo.utils import counters

    monkeypatch.delenv(cpu_kernels.COMPILE_ENV, raising=False)
    monkeypatch.setattr(cpu_kernels.fused_sigmoid_avg_pool, "failed", False)
    monkeypatch.setattr(cpu_kernels.fused_sigmoid_phase_mean, "failed", False)
    context = ModelContext((1, 28, 28), 10, 100)
    model = build_model("lenet", MODELS["lenet"].defaults, context, torch.Generator().manual_seed(0))
    MODELS["lenet"].prepare(torch.device("cpu"))
    graphs = counters["stats"]["unique_graphs"]
    for batch in (256, 77):  # other batch sizes than the warm-up's
        x = torch.rand(batch, 1, 28, 28)
        model(x).sum().backward()
        with torch.inference_mode():
            model(x)
    assert cpu_kernels.fused_sigmoid_phase_mean.compiled is not None
    assert counters["stats"]["unique_graphs"] == graphs  # nothing compiled inside an epoch
