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

import functools
import math
from collections.abc import Iterator
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


# ----------------------------------------------------------------------------- eager windows
# The eager kernel computes exponentials only where a neighbour is a real parameter (the zero
# padding of the parameter grid — 36 % of the (neighbour, cell) pairs at 112 px — gives
# ``t = 0``, ``e = 1``, and keeps those values in the buffers). Layout per frame: ``N`` regions of
# ``ch × cw`` cells of ``lanes`` phases (phases innermost, padded to ``lanes`` so that a window row
# of ``w`` cells is a whole number of vector pairs), neighbours in reversed order
# ``k' = K − 1 − k``. Neighbour ``k'`` sees real parameters exactly in the ``h × w`` cells
# starting at ``start + k'``, so every window is one strided view of the whole buffer:
# ``(k'y, k'x, row, col, lane)`` with strides ``(K·Ns + Ry, Ns + lanes, Ry, lanes, 1)``. Rows or
# columns of a window that fall outside the cell grid wrap onto neighbouring slots; the geometry
# is accepted only if each such slot is a padding slot (its parameter is 0, so it receives the
# padding values t = 0, e = 1 again) and no two window elements share a slot (checked once per
# geometry; otherwise the full kernel runs).

_VECTOR = 32  # floats per vectorised loop step (two AVX-512 registers)


@dataclass(frozen=True)
class _Windows:
    """Geometry of the windowed eager kernel (see above); ``margin`` cells before and after the
    ``N`` regions of a frame, ``ext`` cells around the cell grid in the backward's factors."""

    k: int
    cells: tuple[int, int]
    params: tuple[int, int]
    pad: int
    start: int
    phases: int
    lanes: int
    margin: int
    ext: int

    @property
    def neighbours(self) -> int:
        return self.k * self.k

    @property
    def slots(self) -> int:
        """Cell slots of one frame: margins and ``N`` regions of ``ch × cw`` cells."""
        return 2 * self.margin + self.neighbours * self.cells[0] * self.cells[1]

    @property
    def frame(self) -> int:
        """Elements of one frame's buffer: ``slots × lanes``."""
        return self.slots * self.lanes

    def inside(self) -> Tensor:
        """``K×K×h×w`` float: 1 where a window element is a cell of the grid (0: it wraps)."""
        (ch, cw), (h, w) = self.cells, self.params
        a = torch.arange(self.k)
        cy = (self.start + a)[:, None, None, None] + torch.arange(h)[None, None, :, None]
        cx = (self.start + a)[None, :, None, None] + torch.arange(w)[None, None, None, :]
        ok = (cy >= 0) & (cy < ch) & (cx >= 0) & (cx < cw)
        return ok.expand(self.k, self.k, h, w).float()


def _pad_lanes(phases: int, width: int) -> int:
    """Phases padded (by at most an eighth) so that ``width`` cells of them fill whole vector
    steps (a remainder runs as scalar code, several times slower for ``exp2``)."""
    for lanes in range(phases, phases + phases // 8 + 1):
        if (width * lanes) % _VECTOR == 0:
            return lanes
    return phases


@functools.lru_cache(maxsize=32)
def _windows(
    k: int, cells: tuple[int, int], params: tuple[int, int], pad: int, phases: int
) -> _Windows | None:
    """The windows of one geometry, or None when they do not tile the buffer safely."""
    (ch, cw), (h, w) = cells, params
    start = pad - k + 1
    a = torch.arange(k)
    cy = (start + a)[:, None, None, None] + torch.arange(h)[None, None, :, None]
    cx = (start + a)[None, :, None, None] + torch.arange(w)[None, None, None, :]
    region = a[:, None, None, None] * k + a[None, :, None, None]
    addr = (region * (ch * cw) + cy * cw + cx).expand(k, k, h, w).reshape(-1)
    inside = ((cy >= 0) & (cy < ch) & (cx >= 0) & (cx < cw)).expand(k, k, h, w).reshape(-1)
    if addr.unique().numel() != addr.numel():
        return None
    total = k * k * ch * cw
    land = addr[~inside]
    land = land[(land >= 0) & (land < total)]
    if land.numel():
        n2, cell = land // (ch * cw), land % (ch * cw)
        iy = cell // cw + (k - 1 - n2 // k) - pad
        ix = cell % cw + (k - 1 - n2 % k) - pad
        if bool(((iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)).any()):
            return None  # a window would overwrite a real pair
    lanes = _pad_lanes(phases, w)
    margin = max(0, -int(addr.min()), int(addr.max()) - total + 1)
    while (margin * lanes) % 16:  # regions start on a 64-byte boundary
        margin += 1
    ext = max(0, -start, start + k + max(h - ch, w - cw) - 1)
    return _Windows(k, cells, params, pad, start, phases, lanes, margin, ext)


def _windows_of(buf: Tensor, win: _Windows, lanes: bool = True) -> Tensor:
    """``rows × frame`` buffer → ``rows×K×K×h×w×lanes`` windows (``lanes=False``: a one-lane
    buffer broadcast over the lanes)."""
    q = win.lanes if lanes else 1
    (ch, cw), (h, w), k = win.cells, win.params, win.k
    ns, ry = ch * cw * q, cw * q
    off = buf.storage_offset() + win.margin * q + win.start * (ry + q)
    size = (buf.shape[0], k, k, h, w, win.lanes)
    return buf.as_strided(size, (buf.stride(0), k * ns + ry, ns + q, ry, q, int(lanes)), off)


def _cell_windows(buf: Tensor, win: _Windows) -> Tensor:
    """``rows × slots`` one-lane buffer → its ``rows×K×K×h×w`` windows."""
    (ch, cw), (h, w), k = win.cells, win.params, win.k
    ns = ch * cw
    off = buf.storage_offset() + win.margin + win.start * (cw + 1)
    return buf.as_strided(
        (buf.shape[0], k, k, h, w), (buf.stride(0), k * ns + cw, ns + 1, cw, 1), off
    )


def _regions(buf: Tensor, win: _Windows) -> Tensor:
    """``rows × frame`` buffer → its ``rows × N × (cells·lanes)`` regions."""
    n, size = win.neighbours, win.cells[0] * win.cells[1] * win.lanes
    start = win.margin * win.lanes
    return buf[:, start : start + n * size].view(buf.shape[0], n, size)


def _unfold_windows(params: Tensor, inside: Tensor, win: _Windows) -> Tensor:
    """``B×h×w`` parameters → ``B × slots``: neighbour ``k'`` of each cell in reversed order
    (the unfold), written through the windows (0 where a window wraps; other slots are never
    read)."""
    ut = params.new_empty(params.shape[0], win.slots)
    torch.mul(params[:, None, None], inside, out=_cell_windows(ut, win))
    return ut


def _lane_weights(wt: Tensor, win: _Windows) -> Tensor:
    """``P×N`` kernel weights → ``N×lanes`` in reversed neighbour order, padding lanes 0."""
    k = win.k
    out = wt.new_zeros(win.neighbours, win.lanes)
    out[:, : win.phases] = wt.t().reshape(k, k, -1).flip(0, 1).reshape(k * k, -1)
    return out


class _Workspace:
    """Buffers of the windowed kernel kept between calls: the two per-block buffers, which
    outside the windows hold the padding values ``t = 0`` (first) and ``e = 1`` (second) — every
    kernel call leaves them there (a window element on such a slot writes the same values) —,
    the backward's two per-cell factors with their zero border, and :meth:`_Windows.inside`."""

    def __init__(self) -> None:
        self.buffers: dict[tuple[Any, ...], tuple[Tensor, Tensor]] = {}
        self.masks: dict[tuple[Any, ...], Tensor] = {}

    def get(self, win: _Windows, rows: int, like: Tensor) -> tuple[Tensor, Tensor]:
        key = ("blocks", win, rows, like.dtype, like.device)
        if key not in self.buffers:
            t = like.new_zeros(rows, win.frame)
            self.buffers[key] = (t, torch.ones_like(t))
        return self.buffers[key]

    def factors(self, win: _Windows, rows: int, like: Tensor) -> tuple[Tensor, Tensor]:
        """Two ``rows × (ch + 2·ext) × (cw + 2·ext) × lanes`` arrays, zero outside the grid."""
        key = ("factors", win, rows, like.dtype, like.device)
        if key not in self.buffers:
            (ch, cw), e = win.cells, win.ext
            b = like.new_zeros(rows, ch + 2 * e, cw + 2 * e, win.lanes)
            self.buffers[key] = (b, torch.zeros_like(b))
        return self.buffers[key]

    def inside(self, win: _Windows, like: Tensor) -> Tensor:
        key = (win, like.dtype, like.device)
        if key not in self.masks:
            self.masks[key] = win.inside().to(like)
        return self.masks[key]


def _cells_to_image(m: Tensor, win: _Windows, geo: tuple[int, ...]) -> Tensor:
    """``B × (cells·lanes)`` → ``B×Hp×Wp`` padded mask, clamped to [0, 1]."""
    ch, cw, step, hp, wp = geo
    b = m.shape[0]
    x = m.view(b, ch, cw, win.lanes)[..., : step * step].reshape(b, ch, cw, step, step)
    img = x.permute(0, 1, 3, 2, 4).reshape(b, ch * step, cw * step)[:, :hp, :wp]
    return img.clamp(0.0, 1.0)


def _image_to_cells(g: Tensor, win: _Windows, geo: tuple[int, ...]) -> Tensor:
    """``B×Hp×Wp`` gradient → ``B × (cells·lanes)`` (the adjoint of :func:`_cells_to_image`;
    padding lanes 0)."""
    ch, cw, step, hp, wp = geo
    b = g.shape[0]
    out = g.new_empty(b, ch, cw, win.lanes)
    out[..., step * step :] = 0.0
    cells = out[..., : step * step].unflatten(-1, (step, step)).permute(0, 1, 3, 2, 4)
    g = F.pad(g, (0, cw * step - wp, 0, ch * step - hp))
    cells.copy_(g.view(b, ch, step, cw, step))
    return out.view(b, -1)


def _factor_windows(x: Tensor, win: _Windows) -> Tensor:
    """``rows × (ch + 2·ext) × (cw + 2·ext) × lanes`` per-cell factors (zero around the grid) →
    ``rows×K×K×h×w×lanes``: neighbour ``k'``'s window of cells."""
    ry, q = x.stride(1), win.lanes
    off = x.storage_offset() + (win.ext + win.start) * (ry + q)
    size = (x.shape[0], win.k, win.k, *win.params, q)
    return x.as_strided(size, (x.stride(0), ry, q, ry, q, 1), off)


def _blocks(
    b: int, win: _Windows, work: _Workspace, like: Tensor
) -> Iterator[tuple[int, int, tuple[Tensor, Tensor], tuple[Tensor, Tensor]]]:
    """Blocks of frames ``(start, rows, (t regions, t windows), (e regions, e windows))`` in the
    workspace's two buffers (the views made once per block size)."""
    block = _block_rows(b, win.frame)
    t_buf, e_buf = work.get(win, block, like)
    views: dict[int, tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]] = {}
    for s in range(0, b, block):
        r = min(block, b - s)
        if r not in views:
            t, e = t_buf[:r], e_buf[:r]
            views[r] = (
                (_regions(t, win), _windows_of(t, win)),
                (_regions(e, win), _windows_of(e, win)),
            )
        yield (s, r, *views[r])


def _forward_windows(
    ppad: Tensor, wt: Tensor, win: _Windows, work: _Workspace
) -> tuple[Tensor, Tensor, Tensor]:
    """Windowed eager smax: padded parameters → (m, Z as ``B × (cells·lanes)``, the reversed
    unfold ``ut``)."""
    b, (h, w) = ppad.shape[0], win.params
    params = ppad[:, win.pad : win.pad + h, win.pad : win.pad + w]
    ut = _unfold_windows(params, work.inside(win, ppad), win)
    f = _lane_weights(wt, win).mul_(COLDNESS * _LOG2E).view(1, win.k, win.k, 1, 1, win.lanes)
    size = win.cells[0] * win.cells[1] * win.lanes
    m = ut.new_empty(b, size)
    z = torch.empty_like(m)
    uw = _windows_of(ut, win, lanes=False)
    for s, r, (t, tw), (e, ew) in _blocks(b, win, work, ut):
        torch.mul(uw[s : s + r], f, out=tw)  # t = 20·v·log₂e
        torch.exp2(tw, out=ew)
        torch.sum(e, 1, out=z[s : s + r])
        tw.mul_(ew)
        torch.sum(t, 1, out=m[s : s + r])
    m.div_(z).mul_(1.0 / (COLDNESS * _LOG2E))
    return m, z, ut


def _backward_windows(
    ut: Tensor,
    wt: Tensor,
    m: Tensor,
    z: Tensor,
    g: Tensor,
    geo: tuple[int, ...],
    win: _Windows,
    work: _Workspace,
) -> Tensor:
    """Windowed eager gradient to the parameters, ``B×h×w`` (see :func:`_backward_eager` for
    the formula)."""
    b, k, n = ut.shape[0], win.k, win.neighbours
    (ch, cw), e_ = win.cells, win.ext
    w = _lane_weights(wt, win)
    wb = w.view(n, 1, win.lanes)
    f = w.mul(COLDNESS * _LOG2E).view(1, k, k, 1, 1, win.lanes)
    a = _image_to_cells(g, win, geo).div_(z).view(b, ch, cw, win.lanes)
    bq, cq = work.factors(win, b, g)
    torch.mul(1.0 - COLDNESS * m.view_as(a), a, out=bq[:, e_ : e_ + ch, e_ : e_ + cw])
    torch.mul(a, math.log(2.0), out=cq[:, e_ : e_ + ch, e_ : e_ + cw])
    gu = ut.new_empty(b, win.slots)
    gu[:, : win.margin] = 0.0  # read where windows wrap
    gu[:, win.slots - win.margin :] = 0.0
    regions_u = gu[:, win.margin : win.slots - win.margin].view(b, n, ch * cw)
    uw = _windows_of(ut, win, lanes=False)
    bw, cw_ = _factor_windows(bq, win), _factor_windows(cq, win)
    for s, r, (t, tw), (_, ew) in _blocks(b, win, work, ut):
        torch.mul(uw[s : s + r], f, out=tw)
        torch.exp2(tw, out=ew)
        torch.addcmul(bw[s : s + r], cw_[s : s + r], tw, out=tw)  # b + c·t
        tw.mul_(ew)  # e·(b + c·t); outside the windows t stays 0
        regions = t.unflatten(-1, (ch * cw, win.lanes)).transpose(2, 3)
        for i in range(r):  # Σ_q w_qn · (…), one batched matrix-vector product per frame
            torch.bmm(wb, regions[i], out=regions_u[s + i].view(n, 1, ch * cw))
    # the gradient of parameter j sums its windows' entries (0 at wrapped slots)
    return _cell_windows(gu, win).contiguous().sum((1, 2))  # (a copy first: 4× faster)


def _no_result(*args: Any) -> None:
    """The eager twin that hands a failed compilation back to the caller."""
    return None


class _SmoothMask(torch.autograd.Function):
    """Padded parameters → padded mask, with a hand-written backward that recomputes the
    exponentials instead of storing ``B×P×L×N`` intermediates. The final clamp to [0, 1] only
    guards against rounding (the smax of values in [0, 1] lies in [0, 1]); the backward treats
    it as the identity."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        ppad: Tensor,
        wt: Tensor,
        k: int,
        geo: tuple[int, ...],
        backend: Backend,
        plan: tuple[_Windows, _Workspace] | None = None,
    ) -> Tensor:
        ctx.k, ctx.geo, ctx.backend, ctx.size = k, geo, backend, ppad.shape[1:]
        ctx.plan = None
        if plan is None or (backend == "compiled" and compile_available()):
            ut = _unfold(ppad, k)  # B×N×L
            # a compiler failure falls back to the blocked eager kernel, or (None) to the
            # windowed one where the geometry has windows
            fallback = _forward_eager if plan is None else _no_result
            out = run(backend, _forward_fused, ut, wt, geo, eager=fallback)
            if out is not None:
                img, m, z = out
                ctx.save_for_backward(ut, wt, m, z)
                return img
        assert plan is not None  # (the fused kernel returned otherwise)
        ctx.plan = plan  # the windowed eager kernel
        m, z, ut = _forward_windows(ppad, wt, *plan)
        ctx.save_for_backward(ut, wt, m, z)
        return _cells_to_image(m, plan[0], geo)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, grad: Tensor
    ) -> tuple[Tensor, None, None, None, None, None]:
        ut, wt, m, z = ctx.saved_tensors
        if ctx.plan is not None:
            win = ctx.plan[0]
            (h, w), pad = win.params, win.pad
            out = grad.new_zeros(grad.shape[0], *ctx.size)
            out[:, pad : pad + h, pad : pad + w] = _backward_windows(
                ut, wt, m, z, grad, ctx.geo, *ctx.plan
            )
            return out, None, None, None, None, None
        args = (ut, wt, m, z, grad.contiguous(), ctx.geo)
        gu = run(ctx.backend, _backward_fused, *args, eager=_backward_eager)  # B×N×L
        out = F.fold(gu, ctx.size, (ctx.k, ctx.k)).squeeze(1)
        return out, None, None, None, None, None


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
        k, (h, w) = grid.kernel_size, grid.param_shape
        win = _windows(k, grid.cells, (h, w), grid.padding, grid.step**2)
        self._plan = None if win is None else (win, _Workspace())

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
        padded = _SmoothMask.apply(x, self.weights, k, geo, self.backend, self._plan)
        r = g.margin
        mask = padded[:, r : r + g.size[0], r : r + g.size[1]]
        return mask, padded
