"""The one Gaussian blur of vidxai: separable, per frame (2D) or over space-time (3D).

Kernel size rule: the Gaussian of standard deviation ``σ`` is truncated at
``radius = int(truncate·σ + 0.5)`` taps with ``truncate = 4`` (SciPy's ``gaussian_filter``
rule) and normalised to sum to 1.

Border rule: **reflect** — the signal is mirrored with the edge sample repeated
(``d c b a | a b c d | d c b a``, SciPy's ``mode="reflect"``, OpenCV's ``BORDER_REFLECT``,
NumPy's ``"symmetric"``), folded as often as needed, so any σ works on any length. Reflect was
chosen over the alternatives because every output is a convex combination of pixels inside the
frame (a constant clip stays constant and a border keeps its colour, unlike zero padding, where
the border fades towards 0 — which in normalised model-input space is the dataset mean, not
black), and, unlike ``replicate``/``nearest``, it does not give the single edge pixel the whole
weight of the kernel's outside part when σ is large. It is also SciPy's default, so every blur
can be checked against ``scipy.ndimage.gaussian_filter``.

Implementation: short axes (≤ 256 samples), or kernels longer than a twentieth of the axis, are
blurred by a dense ``L×L`` matrix (one matmul, fast on CPU and GPU); long axes with short
kernels (HD frames, small σ) by the weighted sum of shifted copies of the reflected signal.
Both compute the same sums. ``σ = 0`` leaves the axis unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from vidxai.errors import ParameterError

#: Gaussian truncated at ``TRUNCATE·σ`` (SciPy's default).
TRUNCATE = 4.0
#: Axes up to this length are always blurred by a dense matrix.
MATRIX_MAX = 256
#: One shifted copy costs about as much as 20 matrix columns (measured on CPU, 1 thread): longer
#: axes use shifted copies only when ``SHIFT_COST·(2·radius + 1) < length``.
SHIFT_COST = 20

Sigma = float | Sequence[float]


def kernel_radius(sigma: float, truncate: float = TRUNCATE) -> int:
    """Taps on each side of the centre: ``int(truncate·σ + 0.5)`` (0 for ``σ ≤ 0``)."""
    return int(truncate * sigma + 0.5) if sigma > 0 else 0


def gaussian_kernel(sigma: float, truncate: float = TRUNCATE) -> Tensor:
    """The normalised 1D kernel, ``2·radius + 1`` float64 taps summing to 1 (``[1]`` for σ ≤ 0)."""
    if sigma <= 0:
        return torch.ones(1, dtype=torch.float64)
    radius = kernel_radius(sigma, truncate)
    taps = torch.arange(-radius, radius + 1, dtype=torch.float64)
    weights = torch.exp(-0.5 * (taps / sigma) ** 2)
    return weights / weights.sum()


def reflect_index(index: Tensor, length: int) -> Tensor:
    """Map any integer positions onto ``0..length−1`` by the reflect rule (edge repeated)."""
    folded = index % (2 * length)
    return torch.where(folded >= length, 2 * length - 1 - folded, folded)


def gaussian_matrix(
    length: int,
    sigma: float,
    device: torch.device | str = "cpu",
    truncate: float = TRUNCATE,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """``L×L`` matrix ``G`` with ``(G @ v)[i] = Σ_j g(j)·v[reflect(i + j)]``.

    Args:
        length: ``L``, samples along the axis.
        sigma: standard deviation in samples; ``σ ≤ 0`` gives the identity.
        device: where the matrix is built.
        truncate: kernel radius in units of σ.
        dtype: of the result (built in float64, then cast).

    Returns:
        ``L×L`` matrix on ``device``; every row sums to 1.
    """
    if sigma <= 0:
        return torch.eye(length, device=device, dtype=dtype)
    if sigma > 4 * length:
        # Reflection makes the kernel periodic with period 2·L; a Gaussian folded onto a period
        # much shorter than σ is uniform (deviation ~exp(-2π²σ²/(2L)²)), and building its taps
        # would need memory proportional to σ.
        return torch.full((length, length), 1.0 / length, device=device, dtype=dtype)
    weights = gaussian_kernel(sigma, truncate)
    radius = (weights.numel() - 1) // 2
    taps = torch.arange(-radius, radius + 1)
    src = reflect_index(torch.arange(length).unsqueeze(1) + taps.unsqueeze(0), length)
    g = torch.zeros(length, length, dtype=torch.float64)
    g.scatter_add_(1, src, weights.expand(length, -1).contiguous())
    return g.to(device=device, dtype=dtype)


def blur_axis(x: Tensor, sigma: float, dim: int, truncate: float = TRUNCATE) -> Tensor:
    """Gaussian blur of ``x`` along dimension ``dim`` (reflect border; any shape, float dtype).

    Returns a new tensor of ``x``'s shape (``x`` itself when ``σ ≤ 0``); differentiable.
    """
    if sigma <= 0:
        return x
    dim = dim % x.ndim
    length = x.shape[dim]
    radius = kernel_radius(sigma, truncate)
    if length <= MATRIX_MAX or SHIFT_COST * (2 * radius + 1) >= length:
        g = gaussian_matrix(length, sigma, x.device, truncate, x.dtype)
        if dim == x.ndim - 1:
            return x @ g.T
        if dim == x.ndim - 2:
            return g @ x
        return (x.movedim(dim, -1) @ g.T).movedim(-1, dim)
    # long axis, short kernel: the weighted sum of 2·radius + 1 shifted copies of the
    # reflected signal (cost per sample ∝ the kernel, not the axis length)
    index = reflect_index(torch.arange(-radius, length + radius, device=x.device), length)
    padded = x.index_select(dim, index)
    weights = gaussian_kernel(sigma, truncate).tolist()
    out = padded.narrow(dim, 0, length) * weights[0]
    for j in range(1, len(weights)):
        out.add_(padded.narrow(dim, j, length), alpha=weights[j])
    return out


def _per_axis(sigma: Sigma, n: int) -> tuple[float, ...]:
    if isinstance(sigma, (int, float)):
        values = (float(sigma),) * n
    else:
        values = tuple(float(s) for s in sigma)
    if len(values) != n:
        raise ParameterError(f"sigma needs 1 or {n} values, got {len(values)}")
    if any(not s >= 0 for s in values):  # also rejects NaN
        raise ParameterError(f"sigma must be >= 0, got {sigma!r}")
    return values


def blur2d(x: Tensor, sigma: Sigma, truncate: float = TRUNCATE) -> Tensor:
    """Blur every frame of a ``…×H×W`` tensor over (H, W); frames stay separate.

    Args:
        x: ``…×H×W`` float tensor (e.g. ``N×C×T×H×W`` clips or ``T×H×W`` maps).
        sigma: σ in pixels, one value or ``(σ_h, σ_w)``.

    Returns:
        Same shape and dtype.
    """
    for s, d in zip(_per_axis(sigma, 2), (-2, -1), strict=True):
        x = blur_axis(x, s, d, truncate)
    return x


def blur3d(x: Tensor, sigma: Sigma, truncate: float = TRUNCATE) -> Tensor:
    """Blur a ``…×T×H×W`` tensor over space and time.

    Args:
        x: ``…×T×H×W`` float tensor.
        sigma: σ in voxels, one value or ``(σ_t, σ_h, σ_w)``.

    Returns:
        Same shape and dtype.
    """
    for s, d in zip(_per_axis(sigma, 3), (-3, -2, -1), strict=True):
        x = blur_axis(x, s, d, truncate)
    return x


def gaussian_blur(x: Tensor, sigma: Sigma, mode: str = "3d") -> Tensor:
    """:func:`blur3d` (``mode="3d"``) or :func:`blur2d` (``mode="2d"``) of a ``…×T×H×W`` tensor."""
    if mode == "3d":
        return blur3d(x, sigma)
    if mode == "2d":
        return blur2d(x, sigma)
    raise ParameterError(f"blur mode must be '2d' or '3d', got {mode!r}")
