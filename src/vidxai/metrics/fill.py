"""The reference ("removed") clip that the games and the average drop blend towards."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from vidxai.errors import ParameterError

Fill = Literal["black", "blur", "mean"]

#: σ of REVEX's blur fill (OpenCV's rule for kernel radius 25).
REVEX_BLUR_SIGMA = 8.0


def gaussian_blur3d(x: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur over (T, H, W) with edge-replicating borders.

    Args:
        x: ``N×C×T×H×W``.
        sigma: standard deviation in voxels (the same on every axis); 0 returns a copy.

    Returns:
        ``N×C×T×H×W`` blurred clip (a new tensor).
    """
    if sigma < 0:
        raise ParameterError(f"blur_sigma must be >= 0, got {sigma}")
    out = x.clone()
    if sigma == 0:
        return out
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = (kernel / kernel.sum()).view(1, 1, -1)
    for axis in (2, 3, 4):
        if out.shape[axis] == 1:
            continue
        moved = out.movedim(axis, -1)
        shape = moved.shape
        flat = moved.reshape(-1, 1, shape[-1])
        flat = F.conv1d(F.pad(flat, (radius, radius), mode="replicate"), kernel)
        out = flat.reshape(shape).movedim(-1, axis)
    return out.contiguous()


def reference_clip(
    x: Tensor, fill: str, pixel_value: Callable[[Any], Tensor], blur_sigma: float
) -> Tensor:
    """The fully removed clip.

    Args:
        x: ``1×C×T×H×W`` clip in model-input space.
        fill: ``"black"`` (pixel value 0, the REVEX paper's choice), ``"mean"`` (the clip's
            per-channel mean colour) or ``"blur"`` (3D Gaussian blur with ``blur_sigma``).
        pixel_value: maps a pixel-space value in [0, 1] to a ``C`` tensor in input space.
        blur_sigma: σ for ``"blur"``.

    Returns:
        ``1×C×T×H×W`` reference clip on ``x``'s device.
    """
    if fill == "black":
        colour = pixel_value(0.0).to(device=x.device, dtype=x.dtype)
        return colour.view(1, -1, 1, 1, 1).expand_as(x).clone()
    if fill == "mean":
        return x.mean(dim=(2, 3, 4), keepdim=True).expand_as(x).clone()
    if fill == "blur":
        return gaussian_blur3d(x, blur_sigma)
    raise ParameterError(f"fill must be one of 'black', 'blur', 'mean', got {fill!r}")
