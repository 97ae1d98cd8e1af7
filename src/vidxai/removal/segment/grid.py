"""A regular 3D grid of cuboid cells (RISE's low-resolution grid, REVEX's 3D grid)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.segment.base import check_pixels


def effective_cells(cells: tuple[int, int, int], shape: tuple[int, int, int]) -> tuple[int, ...]:
    """Cells per axis after clamping to the clip size (a warning says when a clamp happened)."""
    clamped = tuple(min(c, s) for c, s in zip(cells, shape))
    if clamped != tuple(cells):
        warnings.warn(
            f"grid {tuple(cells)} has more cells than the {shape[0]}×{shape[1]}×{shape[2]} clip "
            f"has voxels along some axis; using {clamped}",
            UserWarning,
            stacklevel=3,
        )
    return clamped


def grid_labels(cells: tuple[int, ...], shape: tuple[int, ...], device: torch.device) -> Tensor:
    """Labels of a ``cells[0]×cells[1]×cells[2]`` grid over a ``T×H×W`` volume.

    Voxel ``(t, h, w)`` lies in cell ``(t·ct // T, h·ch // H, w·cw // W)`` whose label is
    ``(i_t·ch + i_h)·cw + i_w`` (C order), so a feature vector of length ``ct·ch·cw`` reshapes to
    the cell grid.

    Returns:
        ``T×H×W`` int64 labels ``0..ct·ch·cw−1``.
    """
    idx = [
        torch.arange(s, device=device) * c // s for c, s in zip(cells, shape)
    ]  # per-axis cell index
    _, ch, cw = cells
    return (idx[0].view(-1, 1, 1) * ch + idx[1].view(1, -1, 1)) * cw + idx[2].view(1, 1, -1)


@dataclass(frozen=True)
class GridSegmenter:
    """Cuboid cells: ``cells = (along T, along H, along W)``; clamped to the clip size.

    Attributes:
        cells: number of cells along t, h, w (each ≥ 1).
    """

    cells: tuple[int, int, int] = (4, 7, 7)

    def __post_init__(self) -> None:
        if len(self.cells) != 3 or any(int(c) < 1 for c in self.cells):
            raise ParameterError(
                f"grid must be three positive cell counts (t, h, w), got {self.cells}"
            )

    def resolved_cells(self, shape: tuple[int, int, int]) -> tuple[int, int, int]:
        """The cells actually used on a ``T×H×W`` clip."""
        return effective_cells(self.cells, shape)  # type: ignore[return-value]

    def __call__(self, pixels: Tensor) -> Tensor:
        """``pixels C×T×H×W`` → ``T×H×W`` grid labels (only the shape of the clip is used)."""
        check_pixels(pixels)
        shape = tuple(pixels.shape[1:])
        return grid_labels(self.resolved_cells(shape), shape, pixels.device)  # type: ignore[arg-type]
