"""The CAM core: channel weights → Σ_c w_c·A_c → ReLU → trilinear upsampling.

Everything here works on volumes ``N×C×T'×H'×W'`` (see :mod:`vidxai.cam.layout` for how frame-wise
2D maps and transformer tokens become volumes). A 2D image model is the case ``T' = 1``: the same
code then gives the 2D result, because trilinear upsampling of a single slice is bilinear.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vidxai.ops.resize import resize_volume


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
    return gradcampp_moment_weights(acts, grads, grads.pow(2), grads.pow(3), per_time_slice)


def gradcampp_moment_weights(
    acts: Tensor, g1: Tensor, g2: Tensor, g3: Tensor, per_time_slice: bool = False
) -> Tensor:
    """Grad-CAM++ weights from (estimates of) the first three derivatives of the score.

    ``α = D² / (2D² + Σ_pool(A)·D³)`` (0 where the denominator vanishes), ``w_c = Σ_pool
    α·ReLU(D¹)``. Grad-CAM++ uses ``D^p = g^p`` of one pass; Smooth Grad-CAM++ (Omeiza et al.
    2019) the means of ``g``, ``g²``, ``g³`` over noisy copies of the clip.

    Args:
        acts: ``N×C×T'×H'×W'`` activations of the intact clip.
        g1, g2, g3: first, second and third derivative estimates, same shape.
        per_time_slice: pool over ``H'×W'`` per time slice instead of ``T'×H'×W'``.

    Returns:
        ``N×C×1×1×1`` (or ``N×C×T'×1×1``).
    """
    dims = _pool_dims(per_time_slice)
    denom = 2 * g2 + acts.sum(dim=dims, keepdim=True) * g3
    safe = torch.where(denom != 0, denom, torch.ones_like(denom))
    alpha = torch.where(denom != 0, g2 / safe, torch.zeros_like(denom))
    return (alpha * g1.clamp(min=0)).sum(dim=dims, keepdim=True)


def xgradcam_weights(acts: Tensor, grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """XGrad-CAM weights (Fu et al. 2020): ``w_c = Σ_pool(g·A) / (Σ_pool A + ε)``, ε = 1e-7.

    Args:
        acts: ``N×C×T'×H'×W'`` activations; grads: their gradients, same shape.
        per_time_slice: pool over ``H'×W'`` per time slice instead of ``T'×H'×W'``.

    Returns:
        ``N×C×1×1×1`` (or ``N×C×T'×1×1``).
    """
    dims = _pool_dims(per_time_slice)
    return (grads * acts).sum(dim=dims, keepdim=True) / (acts.sum(dim=dims, keepdim=True) + 1e-7)


def xgradcam_map(acts: Tensor, grads: Tensor, per_time_slice: bool = False) -> Tensor:
    """XGrad-CAM: ``ReLU(Σ_c w_c·A_c)`` with :func:`xgradcam_weights`; → ``N×T'×H'×W'``."""
    return weighted_map(acts, xgradcam_weights(acts, grads, per_time_slice))


def hirescam_map(acts: Tensor, grads: Tensor) -> Tensor:
    """HiResCAM (Draelos & Carin 2020): ``ReLU(Σ_c g_c·A_c)`` element-wise, no pooling."""
    return weighted_map(acts, grads)


def principal_projection(acts: Tensor) -> Tensor:
    """Projection of every position on the first principal component of the channels.

    Per clip, the ``P×C`` matrix of positions × channels (``P = T'·H'·W'``) is centred over the
    positions and projected on its first right singular vector (Eigen-CAM, Muhammad & Yeasin
    2020). The sign of a singular vector is arbitrary; vidxai fixes it so that the projection
    correlates positively with the total activation ``Σ_c A_c`` (the positions that fire most
    score highest); if that correlation is 0 the larger of ``|min|`` and ``|max|`` is made
    positive.

    Args:
        acts: ``N×C×T'×H'×W'``.

    Returns:
        ``N×T'×H'×W'`` (signed; Eigen-CAM rectifies it).
    """
    n, c = acts.shape[:2]
    flat = acts.reshape(n, c, -1).transpose(1, 2).double()  # N×P×C
    flat = torch.nan_to_num(flat)
    centred = flat - flat.mean(dim=1, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    proj = centred @ vh[:, 0, :].unsqueeze(-1)  # N×P×1
    proj = proj[..., 0]
    total = flat.sum(dim=2)
    total = total - total.mean(dim=1, keepdim=True)
    cosine = (total * proj).sum(dim=1) / (total.norm(dim=1) * proj.norm(dim=1) + 1e-300)
    peak = torch.where(proj.max(dim=1).values >= -proj.min(dim=1).values, 1.0, -1.0)
    sign = torch.where(cosine.abs() > 1e-6, cosine.sign(), peak)
    out = proj * sign.unsqueeze(1)
    return out.to(acts.dtype).reshape(n, *acts.shape[2:])


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
    return resize_volume(cam, size)
