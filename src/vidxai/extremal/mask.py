"""Smooth mask parametrisation of extremal perturbations (TorchRay's ``MaskGenerator``).

A mask frame is described by a low-resolution parameter map ``p ∈ [0, 1]^{h×w}`` with
``h = ⌈H / step⌉``. Parameter ``j`` sits at ``c_j = margin + step · i_j`` (padded pixel
coordinates) and spreads through the kernel ``k(z) = exp(−2 · max(z − ½, 0)²)`` of
``z = ‖u − c_j‖ / σ``.
Each padded pixel ``u`` combines its ``K×K`` nearest parameters (``K = 2 · (1 + ⌈σ/step⌉) + 1``,
7×7 = 49 for the reference 112 px setting) with TorchRay's "smax" pooling at coldness 20::

    v_j = k(‖u − c_j‖ / σ) · p_j,     m(u) = Σ_j v_j · softmax_j(20 · v)

The padded mask (``H + 2·margin``, 134×134 for 112 px inputs) feeds the regularisers; its centre
``H×W`` is the mask applied to the frame.

Speed. Every padded pixel needs ``K²`` exponentials, forward and backward (14 M per pass for one
16×112×112 clip). The kernel weights only depend on a pixel's position inside its ``step×step``
cell (its *phase*), so the work is laid out as ``B × phases × cells`` with the neighbours as the
reduction. Two interchangeable backends compute it:

* ``eager``: plain tensor ops over blocks of frames (materialises ``phases × K² × cells`` per
  block); portable, about ten times slower on a CPU;
* ``compiled``: the same sums unrolled over the ``K²`` neighbours and fused by
  :func:`torch.compile` into one loop that never materialises the neighbour axis (needs a C++
  compiler on CPU; compiled once per shape, ≈20 s, cached by PyTorch).

Both return the same values (to float rounding) and are checked against each other in the tests.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

Backend = Literal["eager", "compiled"]

COLDNESS = 20.0


def smooth_kernel(z: Tensor) -> Tensor:
    """TorchRay's radial kernel ``exp(−2 · max(z − ½, 0)²)`` of the normalised distance ``z``."""
    return torch.exp(-2.0 * (z - 0.5).clamp(min=0.0) ** 2)


@dataclass(frozen=True)
class MaskGrid:
    """Geometry of the smooth mask for one frame size.

    Attributes:
        size: frame ``(H, W)``.
        step: spacing of the parameters in pixels (integer ≥ 1).
        sigma: kernel scale σ in pixels.
    """

    size: tuple[int, int]
    step: int
    sigma: float

    def __post_init__(self) -> None:
        if self.step < 1 or int(self.step) != self.step:
            raise ValueError(f"mask step must be an integer >= 1, got {self.step}")
        if not self.sigma > 0:
            raise ValueError(f"mask sigma must be > 0, got {self.sigma}")

    @property
    def margin(self) -> int:
        """Pixels added on each side of the frame in the padded mask (round σ, as TorchRay)."""
        return round(self.sigma)

    @property
    def param_shape(self) -> tuple[int, int]:
        """``(h, w) = (⌈H/step⌉, ⌈W/step⌉)`` parameters per frame."""
        return (math.ceil(self.size[0] / self.step), math.ceil(self.size[1] / self.step))

    @property
    def padded_shape(self) -> tuple[int, int]:
        """``(H + 2·margin, W + 2·margin)``: 134×134 for 112 px, step 7, σ 11."""
        return (self.size[0] + 2 * self.margin, self.size[1] + 2 * self.margin)

    @property
    def radius(self) -> int:
        """Neighbourhood radius in cells, ``1 + ⌈σ/step⌉``."""
        return 1 + math.ceil(self.sigma / self.step)

    @property
    def kernel_size(self) -> int:
        """``K = 2·radius + 1`` neighbours per axis."""
        return 2 * self.radius + 1

    @property
    def padding(self) -> int:
        """Parameter cells padded before the first one, ``1 + ⌈(margin + σ)/step⌉``."""
        return 1 + math.ceil((self.sigma + self.sigma) / self.step)

    @property
    def cells(self) -> tuple[int, int]:
        """Output cells (``step×step`` pixels each) covering the padded mask."""
        hp, wp = self.padded_shape
        return (math.ceil(hp / self.step), math.ceil(wp / self.step))

    def phase_weights(self) -> Tensor:
        """Kernel weight of each neighbour for each pixel phase: ``step²×K²`` float32.

        Pixel ``u = step·c + q`` (cell ``c``, phase ``q``) has neighbour ``(ky, kx)`` at parameter
        index ``c + k − padding``, whose centre is ``σ + step·(c + k − padding)``; the offset
        ``u − centre = q + step·(padding − k) − σ`` does not depend on the cell.
        """
        q = torch.arange(self.step, dtype=torch.float64)
        k = torch.arange(self.kernel_size, dtype=torch.float64)
        d = q[:, None] + self.step * (self.padding - k[None, :]) - float(self.sigma)  # q×K
        dist = torch.sqrt(d[:, None, :, None] ** 2 + d[None, :, None, :] ** 2)  # qy qx ky kx
        w = smooth_kernel(dist / float(self.sigma))
        return w.reshape(self.step * self.step, -1).float()


# ----------------------------------------------------------------------------- smax kernels
# U: B×N×L (N = K² neighbour values of each of L cells), Wt: P×N (P = step² phases).
# Forward → (m, Z), both B×P×L: m = Σ_n v e^{20v} / Z, Z = Σ_n e^{20v}, v = U[:, n] · Wt[:, n].
# Backward(g = ∂E/∂m, B×P×L) → ∂E/∂U, B×N×L:
#   ∂m/∂v_n = e_n (1 + 20 (v_n − m)) / Z,  ∂v_n/∂U_n = Wt[:, n].

_BLOCK_ELEMENTS = 1 << 20  # eager: elements of one block of the P×L×N intermediates (cache)


def _eager_block(b: int, p: int, n: int, cells: int) -> int:
    return max(1, min(b, _BLOCK_ELEMENTS // (p * n * cells)))


def _smax_forward_eager(u: Tensor, wt: Tensor) -> tuple[Tensor, Tensor]:
    b, n, cells = u.shape
    p = wt.shape[0]
    block = _eager_block(b, p, n, cells)
    ut = u.transpose(1, 2)  # B×L×N: neighbours innermost for the reductions
    w = wt.reshape(1, p, 1, n)
    ms, zs = [], []
    for s in range(0, b, block):
        v = ut[s : s + block].unsqueeze(1) * w  # b×P×L×N
        e = torch.exp(v * COLDNESS)
        z = e.sum(-1)
        ms.append(torch.linalg.vecdot(v, e) / z)
        zs.append(z)
    return torch.cat(ms), torch.cat(zs)


def _smax_backward_eager(u: Tensor, wt: Tensor, m: Tensor, z: Tensor, g: Tensor) -> Tensor:
    b, n, cells = u.shape
    p = wt.shape[0]
    block = _eager_block(b, p, n, cells)
    ut = u.transpose(1, 2)
    w = wt.reshape(1, p, 1, n)
    out = []
    for s in range(0, b, block):
        sl = slice(s, s + block)
        v = ut[sl].unsqueeze(1) * w
        e = torch.exp(v * COLDNESS)
        q = (g[sl] / z[sl]).unsqueeze(-1)
        r = (1.0 - COLDNESS * m[sl]).unsqueeze(-1)
        out.append(v.mul_(COLDNESS).add_(r).mul_(e).mul_(q).mul_(w).sum(1))
    return torch.cat(out).transpose(1, 2)


def _smax_forward_unrolled(u: Tensor, wt: Tensor) -> tuple[Tensor, Tensor]:
    num = torch.zeros((), dtype=u.dtype, device=u.device)
    den = torch.zeros((), dtype=u.dtype, device=u.device)
    for i in range(u.shape[1]):
        v = u[:, i : i + 1, :] * wt[:, i].reshape(1, -1, 1)
        e = torch.exp(v * COLDNESS)
        num = num + v * e
        den = den + e
    return num / den, den


def _smax_backward_unrolled(u: Tensor, wt: Tensor, m: Tensor, z: Tensor, g: Tensor) -> Tensor:
    q = g / z
    r = 1.0 - COLDNESS * m
    out = []
    for i in range(u.shape[1]):
        w = wt[:, i].reshape(1, -1, 1)
        v = u[:, i : i + 1, :] * w
        e = torch.exp(v * COLDNESS)
        out.append((w * e * q * (r + COLDNESS * v)).sum(1))
    return torch.stack(out, 1)


_compiled: dict[str, Callable[..., Any]] = {}
_compile_failed: list[str] = []


def compile_available() -> bool:
    """Whether the compiled backend can be tried (``torch.compile`` present and not failed)."""
    return hasattr(torch, "compile") and not _compile_failed


def _kernels(backend: Backend) -> tuple[Callable[..., Any], Callable[..., Any]]:
    if backend == "eager" or not compile_available():
        return _smax_forward_eager, _smax_backward_eager
    if not _compiled:
        _compiled["forward"] = torch.compile(_smax_forward_unrolled, dynamic=False)
        _compiled["backward"] = torch.compile(_smax_backward_unrolled, dynamic=False)
    return _compiled["forward"], _compiled["backward"]


def _run(backend: Backend, which: int, *args: Tensor) -> Any:
    """Run a kernel; the compiled one falls back to eager (with a warning) if it cannot build."""
    if backend == "compiled" and compile_available():
        try:
            return _kernels("compiled")[which](*args)
        except Exception as exc:  # any compiler failure → the portable path
            _compile_failed.append(repr(exc))
            warnings.warn(
                "vidxai: torch.compile is unavailable for the extremal mask "
                f"({type(exc).__name__}); using the slower eager kernels.",
                RuntimeWarning,
                stacklevel=3,
            )
    return _kernels("eager")[which](*args)


class _SmaxPool(torch.autograd.Function):
    """Smax pooling of neighbour values with a hand-written, recomputing backward."""

    @staticmethod
    def forward(ctx: Any, u: Tensor, wt: Tensor, backend: Backend) -> Tensor:  # type: ignore[override]
        m, z = _run(backend, 0, u.contiguous(), wt)
        ctx.save_for_backward(u, wt, m, z)
        ctx.backend = backend
        return m

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        u, wt, m, z = ctx.saved_tensors
        return _run(ctx.backend, 1, u.contiguous(), wt, m, z, g.contiguous()), None, None


class SmoothMaskGenerator:
    """Parameters ``B×h×w`` → smooth masks ``B×H×W`` and padded masks ``B×Hp×Wp``.

    Args:
        grid: the mask geometry.
        device: where the kernel weights live.
        backend: ``"eager"`` or ``"compiled"`` (see the module docstring).
    """

    def __init__(
        self, grid: MaskGrid, device: torch.device | str = "cpu", backend: Backend = "eager"
    ) -> None:
        self.grid = grid
        self.backend: Backend = backend
        self.weights = grid.phase_weights().to(device)  # P×N

    def generate(self, params: Tensor) -> tuple[Tensor, Tensor]:
        """Build the masks.

        Args:
            params: ``B×h×w`` parameters in [0, 1] (``grid.param_shape``), may require grad.

        Returns:
            ``(mask B×H×W, padded B×Hp×Wp)``, both in [0, 1]; ``mask`` is the centre of
            ``padded``.
        """
        g = self.grid
        b = params.shape[0]
        h, w = g.param_shape
        if tuple(params.shape[1:]) != (h, w):
            raise ValueError(f"expected parameters B×{h}×{w}, got {tuple(params.shape)}")
        ch, cw = g.cells
        k, pad = g.kernel_size, g.padding
        # Pad so that cell c sees parameters c − padding … c − padding + K − 1.
        x = F.pad(
            params.unsqueeze(1),
            (pad, cw + k - 1 - w - pad, pad, ch + k - 1 - h - pad),
        )
        u = F.unfold(x, (k, k))  # B×K²×(ch·cw)
        m = _SmaxPool.apply(u, self.weights, self.backend)  # B×step²×(ch·cw)
        s = g.step
        m = m.reshape(b, s, s, ch, cw).permute(0, 3, 1, 4, 2).reshape(b, ch * s, cw * s)
        hp, wp = g.padded_shape
        padded = m[:, :hp, :wp].clamp(0.0, 1.0)
        r = g.margin
        mask = padded[:, r : r + g.size[0], r : r + g.size[1]]
        return mask, padded
