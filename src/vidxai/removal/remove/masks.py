"""Removal masks: how a row of the design matrix becomes a ``T×H×W`` mask, for a batch of rows.

Every mask layout returns, for rows ``[start, stop)``, the *removed* fraction of each voxel
(``b×T×H×W`` float32, 1 = replaced by the fill, 0 = intact), built on the device with no
per-row Python work, optionally into a caller's buffer ``out`` (contiguous ``b×T×H×W``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from vidxai.removal.sample.cuboid import box_indicators


class MaskLayout(Protocol):
    """Turns design rows into removal masks."""

    shape: tuple[int, int, int]

    def removed(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        """``(stop−start)×T×H×W`` float32 removal masks of rows ``[start, stop)``."""
        ...


@dataclass
class SegmentMasks:
    """Hard masks from a label volume: voxel ``v`` of row ``i`` is removed iff
    ``z[i, labels[v]] = 0``.

    Attributes:
        z: ``n×M`` design (1 = kept); labels: ``T×H×W`` int64 in ``0..M−1``.
    """

    z: Tensor
    labels: Tensor
    shape: tuple[int, int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.shape = tuple(self.labels.shape)  # type: ignore[assignment]
        self._removed = (1.0 - self.z).contiguous()
        self._flat = self.labels.flatten()

    def removed(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        """Gather each voxel's removal value from its segment's column (one ``index_select``)."""
        rows = self._removed[start:stop]
        if out is None:
            return rows.index_select(1, self._flat).view(rows.shape[0], *self.shape)
        torch.index_select(rows, 1, self._flat, out=out.view(rows.shape[0], -1))
        return out

    def to_voxels(self, values: Tensor) -> Tensor:
        """Per-feature values ``M`` → ``T×H×W`` (each voxel takes its segment's value)."""
        return values[self.labels]


def linear_interp_matrix(
    length: int, cells: int, offset: float = 0.0, scale: float = 1.0
) -> Tensor:
    """``length×cells`` linear-interpolation weights from cell centres to voxel centres.

    Voxel ``i`` sits at cell coordinate ``q = (i + offset + 0.5)·scale − 0.5`` (cell ``j``'s
    centre is ``q = j``); ``q`` is clamped to ``[0, cells−1]`` (constant beyond the outer cell
    centres). Rows sum to 1.
    """
    i = torch.arange(length, dtype=torch.float64)
    q = ((i + offset + 0.5) * scale - 0.5).clamp(0, cells - 1)
    lo = q.floor().long().clamp(max=cells - 1)
    hi = (lo + 1).clamp(max=cells - 1)
    frac = q - lo
    a = torch.zeros(length, cells, dtype=torch.float64)
    a.scatter_add_(1, lo.unsqueeze(1), (1 - frac).unsqueeze(1))
    a.scatter_add_(1, hi.unsqueeze(1), frac.unsqueeze(1))
    return a.float()


def upsample_cells(
    grids: Tensor, at: Tensor, ah: Tensor, aw: Tensor, out: Tensor | None = None
) -> Tensor:
    """Separable trilinear upsampling of cell grids.

    Args:
        grids: ``b×ct×ch×cw``.
        at, ah, aw: interpolation matrices ``T×ct``, ``H×ch``, ``W×cw``, or per row
            ``b×T×ct``, ``b×H×ch``, ``b×W×cw``.

    Returns:
        ``b×T×H×W`` (written into ``out`` when given).
    """
    b, ct, ch, _ = grids.shape
    g = grids.reshape(b, ct * ch, -1) @ aw.transpose(-1, -2)  # b×(ct·ch)×W
    g = ah.unsqueeze(-3) @ g.view(b, ct, ch, -1) if ah.ndim == 3 else ah @ g.view(b, ct, ch, -1)
    w = g.shape[-1]
    h = g.shape[-2]
    if out is None:
        return (at @ g.reshape(b, ct, h * w)).view(b, -1, h, w)
    torch.matmul(at, g.reshape(b, ct, h * w), out=out.view(b, -1, h * w))
    return out


@dataclass
class SmoothGridMasks:
    """Soft masks: the cell grid of each row upsampled trilinearly to the clip (REVEX's RISE).

    Cell centres coincide with the centres of the hard grid's cells; beyond the outer centres
    the mask is constant. ``z`` columns are the cells in C order over ``cells``.

    Attributes:
        z: ``n×(ct·ch·cw)`` design; cells: ``(ct, ch, cw)``; shape: ``(T, H, W)``.
    """

    z: Tensor
    cells: tuple[int, int, int]
    shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        dev = self.z.device
        self._mats = [
            linear_interp_matrix(n, c, scale=c / n).to(dev) for n, c in zip(self.shape, self.cells)
        ]
        self._removed = (1.0 - self.z).contiguous()

    def removed(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        rows = self._removed[start:stop]
        at, ah, aw = self._mats
        return upsample_cells(rows.view(-1, *self.cells), at, ah, aw, out=out)

    def to_voxels(self, values: Tensor) -> Tensor:
        """Per-cell values → ``T×H×W`` by the same trilinear upsampling."""
        return upsample_cells(values.view(1, *self.cells).float(), *self._mats)[0]


@dataclass
class ShiftedGridMasks:
    """The original RISE masks: a ``(c+1)`` grid per axis upsampled to ``(c+1)·s`` voxels
    (``s = ⌈L / c⌉``) and cropped at a random offset in ``[0, s)`` per row and axis.

    Attributes:
        z: ``n×∏(c+1)`` design (columns in C order over the ``(c+1)`` grid).
        cells: ``(ct, ch, cw)`` cells across the clip.
        shape: ``(T, H, W)``.
        generator: draws the offsets (on the design's device).
    """

    z: Tensor
    cells: tuple[int, int, int]
    shape: tuple[int, int, int]
    generator: torch.Generator

    @staticmethod
    def num_features(cells: tuple[int, int, int]) -> int:
        """Number of design columns for ``cells``: ``∏(c + 1)``."""
        return math.prod(c + 1 for c in cells)

    def __post_init__(self) -> None:
        dev = self.z.device
        n = self.z.shape[0]
        self._grid = tuple(c + 1 for c in self.cells)
        self._mats = []
        self.offsets = []
        for length, c in zip(self.shape, self.cells):
            s = math.ceil(length / c)
            full = linear_interp_matrix((c + 1) * s, c + 1, scale=1.0 / s).to(dev)
            off = torch.randint(0, s, (n,), generator=self.generator, device=dev)
            self.offsets.append(off)
            self._mats.append((full, off))
        self._removed = (1.0 - self.z).contiguous()

    def removed(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        mats = []
        for (full, off), length in zip(self._mats, self.shape):
            idx = off[start:stop].unsqueeze(1) + torch.arange(length, device=off.device)
            mats.append(full[idx])  # b×L×(c+1)
        rows = self._removed[start:stop]
        at, ah, aw = mats
        return upsample_cells(rows.view(-1, *self._grid), at, ah, aw, out=out)


@dataclass
class BoxMasks:
    """One removed cuboid per row (the sliding-cuboid sampler's ``boxes``).

    Attributes:
        boxes: ``n×6`` int64 ``(t0, t1, h0, h1, w0, w1)``; shape: ``(T, H, W)``.
    """

    boxes: Tensor
    shape: tuple[int, int, int]
    _integral: Tensor | None = field(default=None, init=False, repr=False)
    _integral_src: Tensor | None = field(default=None, init=False, repr=False)

    def removed(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        it, ih, iw = (a.float() for a in box_indicators(self.boxes[start:stop], self.shape))
        hw = ih.unsqueeze(2) * iw.unsqueeze(1)  # b×H×W, small
        if out is None:
            return it[:, :, None, None] * hw.unsqueeze(1)  # one full-size op
        return torch.mul(it[:, :, None, None], hw.unsqueeze(1), out=out)

    def box_means(self, x: Tensor, start: int, stop: int) -> Tensor:
        """Mean colour of each row's cuboid, from a 3D integral image.

        Args:
            x: ``1×C×T×H×W``.

        Returns:
            ``b×C`` (zeros for empty boxes).
        """
        if self._integral is None or self._integral_src is not x:
            s = x[0].double().cumsum(1).cumsum(2).cumsum(3)
            self._integral = torch.nn.functional.pad(s, (1, 0, 1, 0, 1, 0))
            self._integral_src = x
        s = self._integral
        b = self.boxes[start:stop]
        total = torch.zeros(s.shape[0], b.shape[0], dtype=s.dtype, device=s.device)
        for dt, dh, dw in ((i, j, k) for i in (0, 1) for j in (0, 1) for k in (0, 1)):
            sign = (-1) ** (3 - dt - dh - dw)
            total += sign * s[:, b[:, dt], b[:, 2 + dh], b[:, 4 + dw]]
        count = ((b[:, 1] - b[:, 0]) * (b[:, 3] - b[:, 2]) * (b[:, 5] - b[:, 4])).clamp_min(1)
        return (total / count).T.to(x.dtype)
