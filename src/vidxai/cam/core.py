"""The CAM core: channel weights → Σ_c w_c·A_c → ReLU → trilinear upsampling.

Everything here works on volumes ``N×C×T'×H'×W'`` (see :mod:`vidxai.cam.layout` for how frame-wise
2D maps and transformer tokens become volumes). A 2D image model is the case ``T' = 1``: the same
code then gives the 2D result, because trilinear upsampling of a single slice is bilinear.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _pool_dims(per_time_slice: bool) -> tuple[int, ...]:
    """Dimensions a channel weight is pooled over: ``T'×H'×W'`` or ``H'×W'`` per time slice."""
    return (3, 4) if per_time_slice else (2, 3, 4)


def gradcam_weights(grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """Grad-CAM weights: the mean gradient per channel.

    Args:
        grads: ``N×C×T'×H'×W'`` gradients of the target w.r.t. the activations.
        per_time_slice: one weight per channel and time slice (mmaction2 / STEP) instead of one
            per channel over the whole volume.

    Returns:
        ``N×C×1×1×1`` (or ``N×C×T'×1×1`` per time slice), broadcastable against the volume.
    """
    return grads.mean(dim=_pool_dims(per_time_slice), keepdim=True)


def gradcampp_weights(acts: Tensor, grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """Grad-CAM++ weights (Chattopadhay et al. 2018) with the exponential-score closed form.

    ``α = g² / (2g² + Σ_pool(A)·g³)`` at every position (0 where the denominator vanishes) and
    ``w_c = Σ_pool α·ReLU(g)``.

    Args:
        acts: ``N×C×T'×H'×W'`` activations.
        grads: gradients of the same shape.
        per_time_slice: pool over ``H'×W'`` per time slice instead of ``T'×H'×W'``.

    Returns:
        ``N×C×1×1×1`` (or ``N×C×T'×1×1``).
    """
    dims = _pool_dims(per_time_slice)
    g2 = grads.pow(2)
    g3 = grads.pow(3)
    denom = 2 * g2 + acts.sum(dim=dims, keepdim=True) * g3
    safe = torch.where(denom != 0, denom, torch.ones_like(denom))
    alpha = torch.where(denom != 0, g2 / safe, torch.zeros_like(denom))
    return (alpha * grads.clamp(min=0)).sum(dim=dims, keepdim=True)


def weighted_map(acts: Tensor, weights: Tensor, relu: bool = True) -> Tensor:
    """``Σ_c w·A`` over channels, optionally rectified.

    Args:
        acts: ``N×C×T'×H'×W'``.
        weights: broadcastable against ``acts`` (``N×C×1×1×1``, ``N×C×T'×1×1`` or per voxel).
        relu: clip negative evidence at zero (Grad-CAM); Saliency Tubes keeps the sign.

    Returns:
        ``N×T'×H'×W'``.
    """
    cam = (weights * acts).sum(dim=1)
    return cam.clamp(min=0) if relu else cam


def gradcam_map(acts: Tensor, grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """Grad-CAM: ``ReLU(Σ_c mean(g_c)·A_c)``, ``N×C×T'×H'×W'`` → ``N×T'×H'×W'``."""
    return weighted_map(acts, gradcam_weights(grads, per_time_slice))


def gradcampp_map(acts: Tensor, grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """Grad-CAM++: ``ReLU(Σ_c w_c·A_c)`` with :func:`gradcampp_weights`; → ``N×T'×H'×W'``."""
    return weighted_map(acts, gradcampp_weights(acts, grads, per_time_slice))


def layercam_map(acts: Tensor, grads: Tensor) -> Tensor:
    """Layer-CAM (Jiang et al. 2021): ``ReLU(Σ_c ReLU(g)·A)`` with per-voxel weights."""
    return weighted_map(acts, grads.clamp(min=0))


def clip_size(x: Tensor) -> tuple[int, int, int]:
    """``(T, H, W)`` of ``N×C×T×H×W`` clips."""
    return int(x.shape[2]), int(x.shape[3]), int(x.shape[4])


def upsample(cam: Tensor, size: tuple[int, int, int]) -> Tensor:
    """Trilinear upsampling of ``N×T'×H'×W'`` maps to ``N×T×H×W`` (``align_corners=False``)."""
    if tuple(cam.shape[1:]) == tuple(size):
        return cam
    return F.interpolate(cam.unsqueeze(1), size=size, mode="trilinear", align_corners=False)[:, 0]


def minmax(maps: Tensor) -> Tensor:
    """Min-max normalise each of ``K×…`` maps to [0, 1] (constant maps become 0)."""
    flat = maps.reshape(maps.shape[0], -1)
    lo = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - lo
    out = torch.where(span > 0, (flat - lo) / span.clamp(min=torch.finfo(flat.dtype).tiny), 0.0)
    return out.reshape(maps.shape)
