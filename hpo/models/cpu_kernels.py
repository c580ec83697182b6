"""Faster CPU paths for LeNet's layers: per-pass memory layouts and a fused sigmoid-pool.

Measured on a 2-core AVX-512 CPU at batch 256 (oneDNN 3.12, ONEDNN_VERBOSE timings):
- oneDNN computes a 6-channel convolution's input gradient 1.6x faster from NCHW tensors than
  from channels_last ones (0.89 vs 1.43 ms), but its weight gradient 2-3x faster from
  channels_last ones; `Conv2dMixedLayout` picks the faster layout for each pass.
- sigmoid followed by 2x2 average pooling reads and writes the 6x28x28 activations several
  times in eager mode; compiled into one loop (forward and backward) it is memory-bound once.
Every path computes the same function as the plain `nn` layers (tested against them).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable

import torch
import torch.nn.functional as F

_conv_backward = torch.ops.aten.convolution_backward
_CHANNELS_LAST = torch.channels_last
# Set HPO_NO_COMPILE=1 to train LeNet in eager mode only (e.g. on a machine without a C++
# compiler, where the first compile would fail and fall back with a warning anyway).
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


class Conv2dBatchWeightGrad(torch.autograd.Function):
    """A stride-1 conv2d whose weight gradient is one convolution with the batch as channels.

    For conv1 (one input channel) oneDNN's weight gradient was LeNet's slowest pass on a 2-core
    AVX2 EPYC (8.2 ms at batch 256); written as the convolution of the padded inputs, batch
    as channels, with the output gradients as the filters it takes 4.5 ms, the same sums.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: int) -> torch.Tensor:
        x = F.pad(x, (padding,) * 4) if padding else x.contiguous()
        ctx.save_for_backward(x, weight)
        ctx.padding = padding
        return F.conv2d(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = None
        if ctx.needs_input_grad[0]:
            args = ((1, 1), (0, 0), (1, 1), False, (0, 0), 1)
            grad_x = _conv_backward(grad, x, weight, None, *args, (True, False, False))[0]
            if ctx.padding:
                p = ctx.padding
                grad_x = grad_x[..., p:-p, p:-p]
        # dW[o, c] = sum over n of x[n, c] (*) grad[n, o]: channels c as the batch, images n as
        # the channels, each output channel's gradients as one filter
        grad_w = F.conv2d(x.transpose(0, 1), grad.transpose(0, 1).contiguous()).transpose(0, 1)
        grad_w = torch.empty_like(weight).copy_(grad_w)
        return grad_x, grad_w, grad.sum((0, 2, 3)), None


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
            self(z.detach())


fused_sigmoid_avg_pool = _Compiled(sigmoid_avg_pool)
