"""Sliding-cuboid selection (3D Sampled Occlusion Sensitivity): one occluded cuboid per clip."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples

Units = Literal["fraction", "voxels"]


def _round_half_up(v: float) -> int:
    return math.floor(v + 0.5)


def fraction_intervals(length: int, kernel: int, stride: int, axis: str) -> list[tuple[int, int]]:
    """REVEX's fractional cuboids along one axis of ``length`` voxels.

    The cuboid spans ``length / kernel`` voxels (rounded, ≥ 1) and ``stride`` positions fit in one
    cuboid length, so the step is ``length / (stride·kernel)`` and there are
    ``kernel·stride − stride + 1`` positions, starting at ``round(i·length / (stride·kernel))``.
    A kernel finer than one voxel, or a step below one voxel, is coarsened with a warning.

    Returns:
        ``[(start, stop), …]`` half-open voxel intervals.
    """
    k, s = kernel, stride
    if k > length:
        warnings.warn(
            f"occlusion kernel fraction 1/{k} along {axis} is smaller than one of its {length} "
            f"voxels; using 1/{length}",
            UserWarning,
            stacklevel=4,
        )
        k = length
    if s * k > length:
        s_new = max(1, length // k)
        warnings.warn(
            f"occlusion stride {s} along {axis} gives steps below one voxel ({length} voxels, "
            f"kernel 1/{k}); using stride {s_new}",
            UserWarning,
            stacklevel=4,
        )
        s = s_new
    size = max(1, _round_half_up(length / k))
    out = []
    for i in range(k * s - s + 1):
        start = min(_round_half_up(i * length / (s * k)), length - size)
        out.append((start, start + size))
    return out


def voxel_intervals(length: int, kernel: int, stride: int, axis: str) -> list[tuple[int, int]]:
    """Cuboids of ``kernel`` voxels every ``stride`` voxels (Captum's convention) along one axis.

    A last position flush with the end is added when the stride would leave the end uncovered.

    Raises:
        ParameterError: kernel or stride larger than the clip along this axis.
    """
    if kernel > length or stride > length:
        raise ParameterError(
            f"occlusion kernel {kernel} / stride {stride} voxels along {axis} exceed the clip's "
            f"{length} voxels"
        )
    starts = list(range(0, length - kernel + 1, stride))
    if starts[-1] != length - kernel:
        starts.append(length - kernel)
    return [(s, s + kernel) for s in starts]


@dataclass(frozen=True)
class SlidingCuboidSampler:
    """Occlude one cuboid per clip at every position of a 3D sliding window.

    Rows: the intact clip (row 0, an empty box), then one row per position in C order over
    (t, h, w) positions. ``M`` (features) = number of positions.

    Attributes:
        kernel: cuboid size along (t, h, w): fractions of the clip (``4`` = a quarter) with
            ``units="fraction"`` (REVEX's default ``(4, 7, 7)``), or voxels with ``"voxels"``.
        stride: with fractions, positions per cuboid length (``2`` = half-overlapping cuboids,
            REVEX's default); with voxels, the step in voxels.
        units: ``"fraction"`` or ``"voxels"``.
    """

    kernel: tuple[int, int, int] = (4, 7, 7)
    stride: tuple[int, int, int] = (2, 2, 2)
    units: Units = "fraction"

    def __post_init__(self) -> None:
        for name, v in (("kernel", self.kernel), ("stride", self.stride)):
            if len(v) != 3 or any(int(a) < 1 for a in v):
                raise ParameterError(f"{name} must be three positive integers (t, h, w), got {v}")
        if self.units not in ("fraction", "voxels"):
            raise ParameterError(f"units must be 'fraction' or 'voxels', got {self.units!r}")

    def intervals(self, shape: tuple[int, int, int]) -> list[list[tuple[int, int]]]:
        """Per axis, the ``(start, stop)`` voxel intervals of the cuboid positions."""
        make = fraction_intervals if self.units == "fraction" else voxel_intervals
        return [
            make(length, k, s, axis)
            for length, k, s, axis in zip(shape, self.kernel, self.stride, ("T", "H", "W"))
        ]

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """``num_features`` is ignored: the positions define the features."""
        dev = generator.device
        axes = [torch.tensor(iv, dtype=torch.int64, device=dev) for iv in self.intervals(shape)]
        pt, ph, pw = (len(a) for a in axes)
        it, ih, iw = torch.meshgrid(
            torch.arange(pt, device=dev),
            torch.arange(ph, device=dev),
            torch.arange(pw, device=dev),
            indexing="ij",
        )
        boxes = torch.cat(
            [axes[0][it.flatten()], axes[1][ih.flatten()], axes[2][iw.flatten()]], dim=1
        )  # P×6: t0, t1, h0, h1, w0, w1
        boxes = torch.cat([torch.zeros(1, 6, dtype=torch.int64, device=dev), boxes])
        return Samples(
            z=None,
            kind="cuboid",
            full_row=0,
            first_random=boxes.shape[0],
            boxes=boxes,
            positions=(pt, ph, pw),
        )


def box_indicators(boxes: Tensor, shape: tuple[int, int, int]) -> tuple[Tensor, Tensor, Tensor]:
    """Per-axis membership of each voxel coordinate in each box.

    Args:
        boxes: ``n×6`` int64 ``(t0, t1, h0, h1, w0, w1)``.

    Returns:
        ``(n×T, n×H, n×W)`` boolean tensors; the box is their outer product.
    """
    out = []
    for axis, length in enumerate(shape):
        coord = torch.arange(length, device=boxes.device)
        lo, hi = boxes[:, 2 * axis : 2 * axis + 1], boxes[:, 2 * axis + 1 : 2 * axis + 2]
        out.append((coord >= lo) & (coord < hi))
    return out[0], out[1], out[2]
