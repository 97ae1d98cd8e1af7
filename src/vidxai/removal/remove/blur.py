"""Separable Gaussian blur as small dense matrices (fast on CPU and GPU, any sigma)."""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_matrix(
    length: int, sigma: float, device: torch.device | str = "cpu", truncate: float = 4.0
) -> Tensor:
    """``L×L`` matrix ``G`` with ``(G @ v)[i] = Σ_j g(j)·v[reflect(i + j)]``.

    The kernel is a normalised Gaussian of standard deviation ``sigma`` truncated at
    ``truncate·sigma`` (SciPy's ``gaussian_filter`` convention); borders are mirrored with the
    edge sample repeated (SciPy's ``reflect`` mode: ``d c b a | a b c d | d c b a``), applied as
    often as needed, so any sigma works on any length. ``sigma = 0`` gives the identity.

    Returns:
        ``L×L`` float32 matrix on ``device``; every row sums to 1.
    """
    if sigma <= 0:
        return torch.eye(length, device=device)
    if sigma > 4 * length:
        # Mirroring makes the kernel periodic with period 2·length; a Gaussian folded onto a
        # period much shorter than sigma is uniform (the deviation is ~exp(-2π²σ²/(2L)²)), and
        # building its taps would need memory proportional to sigma.
        return torch.full((length, length), 1.0 / length, device=device)
    radius = int(truncate * sigma + 0.5)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (taps / sigma) ** 2)
    weights /= weights.sum()
    rows = torch.arange(length).unsqueeze(1)
    src = (rows + taps.long().unsqueeze(0)) % (2 * length)
    src = torch.where(src >= length, 2 * length - 1 - src, src)
    g = torch.zeros(length, length, dtype=torch.float64)
    g.scatter_add_(1, src, weights.expand(length, -1).contiguous())
    return g.float().to(device)


def blur_axis(x: Tensor, sigma: float, dim: int) -> Tensor:
    """Gaussian blur of ``x`` along dimension ``dim`` (see :func:`gaussian_matrix`)."""
    if sigma <= 0:
        return x
    g = gaussian_matrix(x.shape[dim], sigma, x.device).to(x.dtype)
    moved = x.movedim(dim, -1)
    return (moved @ g.T).movedim(-1, dim)


def blur_video(x: Tensor, sigma: float, mode: str = "3d") -> Tensor:
    """Blur a ``…×T×H×W`` tensor over (T, H, W) (``"3d"``) or over (H, W) per frame (``"2d"``)."""
    dims = (-3, -2, -1) if mode == "3d" else (-2, -1)
    for d in dims:
        x = blur_axis(x, sigma, d)
    return x
