"""Which CPU kernel the fast z⁺ rule runs for one clip of a 3D convolution.

PyTorch picks the kernel of a CPU convolution by a heuristic written for one layer call. At one
thread it sends a batch-1 input to its native ``slow_conv3d`` when the kernel is 1×1 spatially
(R(2+1)D's temporal 3×1×1 convolutions, 1×1×1 downsampling) or when the input is small (late
layers of the video ResNets), and the transposed convolution of such layers to its native
backward too. oneDNN (``torch.mkldnn_convolution``) computes the same sums, measured 1.3–3.7×
faster for those shapes (on stacked ``[w; w⁺]``: 60 ms instead of 160–185 ms for a
144 → 64 channel 3×1×1 layer at 16×56²). Here:

* :func:`forward_kernel` — the stacked forward of a 1×1-spatial kernel runs on oneDNN;
* :func:`transposed_conv` — the input gradient of a stride-1 layer (every layer of a video
  ResNet block but the first of a stage) is a oneDNN convolution of the output's relevance with
  the flipped, transposed weights (:func:`flipped`; kept with the stacked weights), instead of
  ``convolution_backward``.

Both are for CPU float32 ``1×C×T×H×W`` inputs with oneDNN available and enabled; the results
equal the default kernels' up to float rounding (another summation order).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import cast

import torch
from torch import Tensor, nn


def _onednn(x: Tensor) -> bool:
    """oneDNN can run a convolution of ``x``: a CPU float32 ``1×C×T×H×W`` tensor."""
    return (
        x.ndim == 5
        and int(x.shape[0]) == 1
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and torch.backends.mkldnn.is_available()
        and bool(torch.backends.mkldnn.enabled)
    )


def _padding(module: nn.Conv3d) -> list[int]:
    """The layer's zero padding as numbers (a plain layer's: never a string)."""
    return [int(p) for p in cast("tuple[int, ...]", module.padding)]


def _conv(module: nn.Conv3d, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """``module``'s convolution of ``x`` with ``weight`` and ``bias``, on oneDNN."""
    padding, stride, dilation = _padding(module), list(module.stride), list(module.dilation)
    return torch.mkldnn_convolution(x, weight, bias, padding, stride, dilation, module.groups)


def forward_kernel(module: nn.Module, x: Tensor) -> Callable[..., Tensor] | None:
    """A replacement for ``module._conv_forward(x, weight, bias)`` on oneDNN, or None where
    PyTorch's own choice stays (not a ``Conv3d`` with a 1×1 spatial kernel, not oneDNN's input)."""
    if not isinstance(module, nn.Conv3d) or tuple(module.kernel_size[1:]) != (1, 1):
        return None
    return partial(_conv, module) if _onednn(x) else None


def transposable(module: nn.Module, grad: Tensor) -> bool:
    """The transposed convolution of ``grad`` is a oneDNN convolution with :func:`flipped`
    weights: a ``Conv3d`` with stride 1, dilation 1, one group, padding ≤ kernel − 1."""
    return (
        isinstance(module, nn.Conv3d)
        and module.groups == 1
        and all(s == 1 for s in module.stride)
        and all(d == 1 for d in module.dilation)
        and all(p <= k - 1 for p, k in zip(_padding(module), module.kernel_size))
        and _onednn(grad)
    )


def flipped(weight: Tensor) -> Tensor:
    """``C_out×C_in×kT×kH×kW`` → ``C_in×C_out×kT×kH×kW``, every kernel reversed: the weights of
    the transposed stride-1 convolution as an ordinary one."""
    return weight.flip(2, 3, 4).transpose(0, 1).contiguous()


def transposed_conv(module: nn.Conv3d, grad: Tensor, flipped_weight: Tensor) -> Tensor:
    """``(∂ conv(x) / ∂x)ᵀ · grad`` of a :func:`transposable` layer (``grad`` ``1×C_out×…`` →
    ``1×C_in×…`` shaped like the convolution's input)."""
    padding = [k - 1 - p for p, k in zip(_padding(module), module.kernel_size)]
    ones = [1, 1, 1]
    return torch.mkldnn_convolution(grad, flipped_weight, None, padding, ones, ones, 1)
