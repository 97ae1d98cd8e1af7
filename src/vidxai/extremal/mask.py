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

* ``eager``: plain tensor ops over blocks of frames (materialises ``phases × cells × K²`` per
  block); portable, several times slower on a CPU;
* ``compiled``: the same sums fused by :func:`torch.compile` into loops that never store the
  neighbour axis (needs a C++ compiler on CPU; compiled on first use in a few seconds, cached by
  PyTorch).

Both have a hand-written backward that recomputes the exponentials rather than storing them, and
both return the same values (to float rounding; checked against each other in the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vidxai.extremal._compile import Backend, compile_available, run

__all__ = ["MaskGrid", "SmoothMaskGenerator", "compile_available", "smooth_kernel"]

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
# ``ut`` B×N×L: the N = K² neighbour parameters of each of the L = ch·cw output cells (unfolded
# from the zero-padded parameters, as ``F.unfold`` lays them out); ``wt`` P×N kernel weights
# (P = step² phases). The smax values are laid out B×P×L; ``_to_image`` turns them into the
# B×Hp×Wp padded mask.
#   m = Σ_n v e^{20v} / Z,  Z = Σ_n e^{20v},  v = ut[n] · wt[:, n]
#   ∂m/∂v_n = e_n (1 + 20 (v_n − m)) / Z,     ∂v_n/∂u_n = wt[:, n]

# eager: elements of one block of the B×N×P×L intermediates (a few frames; sized to stay in the
# cache, large enough that the per-operation overhead does not count)
_BLOCK_ELEMENTS = 1 << 17
_LOG2E = 1.0 / math.log(2.0)


def _to_image(m: Tensor, geo: tuple[int, ...]) -> Tensor:
    """B×P×L smax values → B×Hp×Wp padded mask."""
    ch, cw, step, hp, wp = geo
    b = m.shape[0]
    img = m.reshape(b, step, step, ch, cw).permute(0, 3, 1, 4, 2)
    return img.reshape(b, ch * step, cw * step)[:, :hp, :wp]


def _to_phases(g: Tensor, geo: tuple[int, ...]) -> Tensor:
    """B×Hp×Wp gradient → B×P×L (the adjoint of :func:`_to_image`)."""
    ch, cw, step, hp, wp = geo
    b = g.shape[0]
    g = F.pad(g, (0, cw * step - wp, 0, ch * step - hp))
    return g.reshape(b, ch, step, cw, step).permute(0, 2, 4, 1, 3).reshape(b, step * step, -1)


def _block_rows(b: int, size: int) -> int:
    """Rows (frames) per eager block when one row holds ``size`` intermediate elements."""
    return max(1, min(b, _BLOCK_ELEMENTS // size))


def _exponent_weights(wt: Tensor) -> Tensor:
    """P×N kernel weights → N×P×1 factors ``20·w·log₂e``: ``e^{20·u·w} = 2^{u·factor}``
    (``exp2`` is about three times cheaper than ``exp`` on a CPU)."""
    return (wt.t() * (COLDNESS * _LOG2E)).unsqueeze(-1)


def _unfold(ppad: Tensor, k: int) -> Tensor:
    """``B×Hx×Wx`` padded parameters → ``B×N×L`` (``F.unfold`` with a ``k×k`` kernel): one
    strided copy of the ``k×k`` shifted views (several times faster than ``im2col`` on a CPU)."""
    b, hx, wx = ppad.shape
    ch, cw = hx - k + 1, wx - k + 1
    x = ppad.contiguous()
    sb, sy, sx = x.stride()
    return x.as_strided((b, k, k, ch, cw), (sb, sy, sx, sy, sx)).reshape(b, k * k, ch * cw)


def _forward_eager(ut: Tensor, wt: Tensor, geo: tuple[int, ...]) -> tuple[Tensor, ...]:
    """Blocked eager smax: B×N×L parameters → (padded mask, m B×P×L, Z B×P×L).

    The b×N×P×L intermediates of a block of frames live in two buffers reused from block to
    block (fresh large tensors would cost page faults); every reduction runs over an outer axis,
    i.e. adds contiguous rows of L cells.
    """
    b, n, cells = ut.shape
    p = wt.shape[0]
    w2 = _exponent_weights(wt)  # N×P×1
    block = _block_rows(b, n * p * cells)
    t_buf = ut.new_empty(block, n, p, cells)
    e_buf = torch.empty_like(t_buf)
    m = ut.new_empty(b, p, cells)
    z = torch.empty_like(m)
    for s in range(0, b, block):
        r = min(block, b - s)
        t, e = t_buf[:r], e_buf[:r]
        torch.mul(ut[s : s + r].unsqueeze(2), w2, out=t)  # t = 20·v·log₂e
        torch.exp2(t, out=e)  # e^{20v}
        torch.sum(e, 1, out=z[s : s + r])
        torch.sum(t.mul_(e), 1, out=m[s : s + r])
    m.div_(z).mul_(1.0 / (COLDNESS * _LOG2E))
    return _to_image(m, geo).clamp(0.0, 1.0), m, z


def _backward_eager(
    ut: Tensor, wt: Tensor, m: Tensor, z: Tensor, grad: Tensor, geo: tuple[int, ...]
) -> Tensor:
    """Blocked eager gradient to the unfolded parameters, B×N×L::

    ∂L/∂u_n = Σ_q w_qn · e_qn · (b_q + c_q · t_qn),  b = g (1 − 20 m) / Z,  c = g ln2 / Z

    (``t = 20·v·log₂e`` as in the forward); the weighted sum over the phases is one batched
    matrix-vector product per block.
    """
    b, n, cells = ut.shape
    p = wt.shape[0]
    w2 = _exponent_weights(wt)
    w = wt.t().reshape(n, 1, p)
    a = _to_phases(grad, geo) / z  # B×P×L
    bq = (1.0 - COLDNESS * m).mul_(a).unsqueeze(1)  # B×1×P×L
    cq = a.mul_(math.log(2.0)).unsqueeze(1)
    block = _block_rows(b, n * p * cells)
    t_buf = ut.new_empty(block, n, p, cells)
    e_buf = torch.empty_like(t_buf)
    gu = ut.new_empty(b, n, cells)
    wb = w.repeat(block, 1, 1)  # (block·N)×1×P
    for s in range(0, b, block):
        r = min(block, b - s)
        t, e = t_buf[:r], e_buf[:r]
        torch.mul(ut[s : s + r].unsqueeze(2), w2, out=t)
        torch.exp2(t, out=e)
        torch.addcmul(bq[s : s + r], cq[s : s + r], t, out=t)  # b + c·t
        e = e.mul_(t).reshape(r * n, p, cells)
        torch.bmm(wb[: r * n], e, out=gu[s : s + r].view(r * n, 1, cells))  # Σ_q w_qn · (…)
    return gu


def _forward_fused(ut: Tensor, wt: Tensor, geo: tuple[int, ...]) -> tuple[Tensor, ...]:
    """For torch.compile: two reductions over the neighbours, each recomputing ``e^{20v}``, are
    fused into loops that never store the B×P×L×N intermediates. (Run eagerly it would store
    them all: a failed compilation falls back to :func:`_forward_eager`.)"""
    v = ut.transpose(1, 2).unsqueeze(1) * wt[None, :, None, :]  # B×P×L×N
    z = torch.exp(v * COLDNESS).sum(-1)
    m = (v * torch.exp(v * COLDNESS)).sum(-1) / z
    return _to_image(m, geo).clamp(0.0, 1.0), m, z


def _backward_fused(
    ut: Tensor, wt: Tensor, m: Tensor, z: Tensor, grad: Tensor, geo: tuple[int, ...]
) -> Tensor:
    g = _to_phases(grad, geo)
    wn = wt.t()  # N×P: the phases innermost, reduced
    v = ut.transpose(1, 2).unsqueeze(-1) * wn  # B×L×N×P
    q = (g / z).transpose(1, 2).unsqueeze(2)  # B×L×1×P
    r = (1.0 - COLDNESS * m).transpose(1, 2).unsqueeze(2)
    gu = (wn * torch.exp(v * COLDNESS) * q * (r + COLDNESS * v)).sum(-1)  # B×L×N
    return gu.transpose(1, 2)  # B×N×L


class _SmoothMask(torch.autograd.Function):
    """Padded parameters → padded mask, with a hand-written backward that recomputes the
    exponentials instead of storing ``B×P×L×N`` intermediates. The final clamp to [0, 1] only
    guards against rounding (the smax of values in [0, 1] lies in [0, 1]); the backward treats
    it as the identity."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, ppad: Tensor, wt: Tensor, k: int, geo: tuple[int, ...], backend: Backend
    ) -> Tensor:
        ut = _unfold(ppad, k)  # B×N×L
        img, m, z = run(backend, _forward_fused, ut, wt, geo, eager=_forward_eager)
        ctx.save_for_backward(ut, wt, m, z)
        ctx.k, ctx.geo, ctx.backend, ctx.size = k, geo, backend, ppad.shape[1:]
        return img

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None, None]:  # type: ignore[override]
        ut, wt, m, z = ctx.saved_tensors
        args = (ut, wt, m, z, grad.contiguous(), ctx.geo)
        gu = run(ctx.backend, _backward_fused, *args, eager=_backward_eager)  # B×N×L
        out = F.fold(gu, ctx.size, (ctx.k, ctx.k)).squeeze(1)
        return out, None, None, None, None


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
        h, w = g.param_shape
        if tuple(params.shape[1:]) != (h, w):
            raise ValueError(f"expected parameters B×{h}×{w}, got {tuple(params.shape)}")
        ch, cw = g.cells
        k, pad = g.kernel_size, g.padding
        # Pad so that cell c sees parameters c − padding … c − padding + K − 1.
        x = F.pad(params, (pad, cw + k - 1 - w - pad, pad, ch + k - 1 - h - pad))
        geo = (ch, cw, g.step, *g.padded_shape)
        padded = _SmoothMask.apply(x, self.weights, k, geo, self.backend)
        r = g.margin
        mask = padded[:, r : r + g.size[0], r : r + g.size[1]]
        return mask, padded
