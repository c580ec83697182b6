"""Faster CPU paths for LeNet's layers: conv1 by pooling phases, per-pass layouts, fused pools.

Each path is here because it measured faster on CPU (the figures are in docs/speed.md):
- conv1 (one channel in) as a 3x3 convolution of the space-to-depth image, one output
  channel per pooling phase (`Conv2dPhases`), with its weight gradient as one convolution
  with the batch as channels.
- oneDNN computes a 6-channel convolution's input gradient faster from NCHW tensors than
  from channels_last ones, but its weight gradient faster from channels_last ones;
  `Conv2dMixedLayout` picks the faster layout for each pass.
- sigmoid followed by 2x2 average pooling reads and writes the activations several times in
  eager mode; compiled into one loop (forward and backward) it reads them once.
- conv1, its sigmoid and its pooling as one C++ kernel (`lenet_block1.cpp`, built on first use
  by `hpo/models/lenet/native.py` where HPO_LENET_NATIVE=1 asks for it); elsewhere, or where it
  cannot be built, conv1 runs by phases as above.
Every path computes the same function as the plain `nn` layers (tested against them).
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import os
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from hpo.models.lenet import native

__all__ = [
    "COMPILE_ENV",
    "Conv2dMixedLayout",
    "Conv2dPhases",
    "ConvSigmoidPool",
    "conv_sigmoid_pool_supported",
    "depth_to_space",
    "fused_sigmoid_avg_pool",
    "fused_sigmoid_phase_mean",
    "lenet_block1",
    "sigmoid_avg_pool",
    "sigmoid_phase_mean",
    "space_to_depth",
]

_conv_backward = torch.ops.aten.convolution_backward
_CHANNELS_LAST = torch.channels_last
# Set HPO_NO_COMPILE=1 to train LeNet in eager mode only, with neither torch.compile nor the C++
# kernel (e.g. on a machine without a C++ compiler, where the first compile would fail and fall
# back with a warning anyway).
COMPILE_ENV = "HPO_NO_COMPILE"


class Conv2dMixedLayout(torch.autograd.Function):
    """A stride-1, unpadded conv2d: NCHW forward and input gradient, channels_last weight gradient."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        ctx.save_for_backward(x, weight)
        return F.conv2d(x, weight.contiguous(), bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad_x = grad_w = grad_b = None
        args = ((1, 1), (0, 0), (1, 1), False, (0, 0), 1)
        if ctx.needs_input_grad[0]:
            grad_x = _conv_backward(
                grad.contiguous(), x, weight.contiguous(), None, *args, (True, False, False)
            )[0]
        if ctx.needs_input_grad[1] or ctx.needs_input_grad[2]:
            _, grad_w, grad_b = _conv_backward(
                grad.contiguous(memory_format=_CHANNELS_LAST),
                x.contiguous(memory_format=_CHANNELS_LAST),
                weight.contiguous(memory_format=_CHANNELS_LAST),
                [weight.shape[0]],
                *args,
                (False, True, True),
            )
            grad_w = torch.empty_like(weight).copy_(grad_w)  # in the weight's own layout
        return grad_x, grad_w, grad_b


def space_to_depth(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) with H, W even -> (N, 4C, H/2, W/2); channel 4c + 2a + b holds x[:, c, a::2, b::2]."""
    n, c, h, w = x.shape
    return x.view(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def depth_to_space(x: torch.Tensor) -> torch.Tensor:
    """The inverse of `space_to_depth`."""
    n, c4, h, w = x.shape
    return x.view(n, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c4 // 4, 2 * h, 2 * w)


@functools.cache
def _phase_index(out_channels: int, in_channels: int, k: int) -> torch.Tensor:
    """Where each weight of the phase convolution comes from in the flat k x k weight (last: zero)."""
    taps = (k + 2) // 2
    zero = out_channels * in_channels * k * k
    index = [
        [[[zero] * taps for _ in range(taps)] for _ in range(4 * in_channels)]
        for _ in range(4 * out_channels)
    ]
    for o, py, px, c, a, b, i, j in itertools.product(
        range(out_channels), (0, 1), (0, 1), range(in_channels), (0, 1), (0, 1), range(taps), range(taps)
    ):
        ky, kx = 2 * i + a - py, 2 * j + b - px
        if 0 <= ky < k and 0 <= kx < k:
            index[4 * o + 2 * py + px][4 * c + 2 * a + b][i][j] = ((o * in_channels + c) * k + ky) * k + kx
    with torch.inference_mode(False):  # cached for later trainings, even if first built in evaluation
        return torch.tensor(index, dtype=torch.long)


class Conv2dPhases(torch.autograd.Function):
    """A padded stride-1 conv2d computed on the space-to-depth image, output split by phase.

    Returns (N, 4 O, H/2, W/2): channel 4 o + 2 py + px holds output channel o at rows py::2 and
    columns px::2, so that 2x2 average pooling is a mean over each group of four channels. For
    LeNet's conv1 (one input channel, 5x5) oneDNN runs the equivalent 3x3 convolution of 4
    channels into 24 faster than the 5x5 of one channel into 6, and the weight gradient is one convolution with the batch
    as channels (the padded inputs, each output channel's gradients as one filter), faster
    than oneDNN's own weight gradient of either form.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
        x = F.pad(x, (padding,) * 4)
        k = weight.shape[2]
        # an odd square kernel over an even padded image: the output has even sides to split
        if k % 2 == 0 or weight.shape[3] != k or x.shape[2] % 2 or x.shape[3] % 2 or min(x.shape[2:]) <= k:
            raise ValueError(
                "Conv2dPhases needs an odd square kernel and an even padded size above it, got "
                f"kernel {tuple(weight.shape[2:])} and padded input {tuple(x.shape)}"
            )
        index = _phase_index(weight.shape[0], weight.shape[1], k)
        phases = space_to_depth(x)
        phase_weight = torch.cat([weight.reshape(-1), weight.new_zeros(1)])[index]
        ctx.save_for_backward(phases, weight, phase_weight)
        ctx.index, ctx.padding = index, padding
        return F.conv2d(phases, phase_weight, bias.repeat_interleave(4))

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        phases, weight, phase_weight = ctx.saved_tensors
        index = ctx.index
        grad = grad.contiguous()
        grad_x = None
        if ctx.needs_input_grad[0]:
            args = ((1, 1), (0, 0), (1, 1), False, (0, 0), 1)
            grad_x = depth_to_space(
                _conv_backward(grad, phases, phase_weight, None, *args, (True, False, False))[0]
            )
            if ctx.padding:
                p = ctx.padding
                grad_x = grad_x[..., p:-p, p:-p]
        # dW'[o, c] = sum over n of phases[n, c] (*) grad[n, o]: one convolution, batch as channels
        grad_phase_w = F.conv2d(phases.transpose(0, 1), grad.transpose(0, 1).contiguous()).transpose(0, 1)
        flat = grad.new_zeros(weight.numel() + 1).index_add_(0, index.reshape(-1), grad_phase_w.reshape(-1))
        grad_w = torch.empty_like(weight).copy_(flat[:-1].view(weight.shape))
        grad_b = grad.sum((0, 2, 3)).view(-1, 4).sum(1)
        return grad_x, grad_w, grad_b, None


def sigmoid_phase_mean(z: torch.Tensor) -> torch.Tensor:
    """sigmoid, then the mean of each group of four channels: `Conv2dPhases`'s 2x2 average pool."""
    n, c4, h, w = z.shape
    return torch.sigmoid(z).view(n, c4 // 4, 4, h, w).mean(2)


def sigmoid_avg_pool(z: torch.Tensor) -> torch.Tensor:
    """2x2 average pooling (stride 2) of sigmoid(z)."""
    return F.avg_pool2d(torch.sigmoid(z), kernel_size=2, stride=2)


class _Compiled:
    """`fn` compiled once per process on first use; eager for good if compiling fails."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.fn = fn
        self.compiled: Callable[[torch.Tensor], torch.Tensor] | None = None
        self.failed = os.environ.get(COMPILE_ENV, "") not in ("", "0")
        self.warmed = False

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        if self.failed or z.device.type != "cpu":
            return self.fn(z)
        if self.compiled is None:
            # dynamic: one graph for every batch size a search tries, not one per size
            self.compiled = torch.compile(self.fn, dynamic=True)
        try:
            return self.compiled(z)
        except Exception as error:  # any compiler failure means: run eager
            self.failed = True
            warnings.warn(
                f"torch.compile failed ({type(error).__name__}); LeNet runs in eager mode",
                RuntimeWarning,
                stacklevel=2,
            )
            return self.fn(z)

    def warm_up(self, shape: tuple[int, ...]) -> None:
        """Compile now (for training and for inference) so that no timed epoch pays for it."""
        if self.warmed:
            return
        self.warmed = True
        z = torch.zeros(shape, requires_grad=True)
        self(z).sum().backward()
        with torch.inference_mode():
            # made inside: evaluation's activations are inference tensors, another graph
            self(torch.zeros(shape))


fused_sigmoid_avg_pool = _Compiled(sigmoid_avg_pool)
fused_sigmoid_phase_mean = _Compiled(sigmoid_phase_mean)


class _NativeLibrary:
    """A C++ kernel library built and loaded on first use where asked for; None for good if that fails."""

    def __init__(self, source: Path, signatures: dict[str, list]) -> None:
        self.source = source
        self.signatures = signatures
        self.lib: ctypes.CDLL | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def get(self) -> ctypes.CDLL | None:
        """The loaded library; None where not asked for, or (with one warning per process) where it
        cannot be built."""
        if self.lib is not None or self.error is not None:
            return self.lib
        if not native.enabled():
            return None
        with self._lock:
            return self._load()

    def _load(self) -> ctypes.CDLL | None:
        if self.lib is None and self.error is None:
            if os.environ.get(COMPILE_ENV, "") not in ("", "0"):
                self.error = f"{COMPILE_ENV} is set"
                return None
            try:
                lib = native.load(self.source)
                for name, argtypes in self.signatures.items():
                    getattr(lib, name).argtypes = argtypes
                    getattr(lib, name).restype = None
            except (native.NativeBuildError, OSError, AttributeError) as error:
                self.error = str(error)
                warnings.warn(
                    f"LeNet's C++ kernel is unavailable ({error}); conv1 runs through oneDNN, slower",
                    RuntimeWarning,
                    stacklevel=3,
                )
                return None
            self.lib = lib
        return self.lib

    def status(self) -> str:
        """'native', 'off' where not asked for, or why not (building it first if nobody asked yet)."""
        if self.get() is not None:
            return "native"
        return f"unavailable: {self.error}" if self.error is not None else "off"


_P, _N, _T = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
lenet_block1 = _NativeLibrary(
    Path(__file__).with_name("lenet_block1.cpp"),
    {
        "lenet_block1_forward": [_P, _P, _P, _P, _N, _T],
        "lenet_block1_backward": [_P, _P, _P, _P, _P, _P, _N, _T],
    },
)
BLOCK1_CHANNELS, BLOCK1_SIZE = 6, 28


def conv_sigmoid_pool_supported(x: torch.Tensor, weight: torch.Tensor) -> bool:
    """Whether `ConvSigmoidPool` can run this conv1: fp32 CPU, 1x28x28 in, 6x5x5 filters, C++ built."""
    return (
        x.device.type == "cpu"
        and x.dtype == weight.dtype == torch.float32
        and not x.requires_grad
        and x.dim() == 4
        and tuple(x.shape[1:]) == (1, BLOCK1_SIZE, BLOCK1_SIZE)
        and tuple(weight.shape) == (BLOCK1_CHANNELS, 1, 5, 5)
        and lenet_block1.get() is not None
    )


class ConvSigmoidPool(torch.autograd.Function):
    """avg_pool2d(sigmoid(conv2d(x, w, b, padding=2)), 2) for LeNet's conv1, in C++.

    Gradients for the weight and bias only: LeNet's input never needs one
    (`conv_sigmoid_pool_supported` sends inputs that do to the other path).
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        lib = lenet_block1.get()
        x, weight, bias = x.contiguous(), weight.contiguous(), bias.contiguous()
        size = BLOCK1_SIZE // 2
        h = x.new_empty(x.shape[0], BLOCK1_CHANNELS, size, size)
        lib.lenet_block1_forward(
            x.data_ptr(),
            weight.data_ptr(),
            bias.data_ptr(),
            h.data_ptr(),
            x.shape[0],
            torch.get_num_threads(),
        )
        ctx.save_for_backward(x, weight, bias)
        return h

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight, bias = ctx.saved_tensors
        grad = grad.contiguous()
        per_image = x.new_empty(x.shape[0], BLOCK1_CHANNELS * 26)
        total = x.new_empty(BLOCK1_CHANNELS, 26)  # 25 weights, then the bias, per channel
        lenet_block1.get().lenet_block1_backward(
            x.data_ptr(),
            weight.data_ptr(),
            bias.data_ptr(),
            grad.data_ptr(),
            per_image.data_ptr(),
            total.data_ptr(),
            x.shape[0],
            torch.get_num_threads(),
        )
        grad_w = torch.empty_like(weight).copy_(total[:, :25].reshape(weight.shape))
        return None, grad_w, total[:, 25].clone()
