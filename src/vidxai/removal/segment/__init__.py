"""Segmentation stage: every segmenter turns a clip into one integer label volume ``T×H×W``.

Segmenters see the clip as pixel-like values in [0, 1] (see :func:`pixel_video`): colour-based
segmenters (SLIC, flow) need colours, not normalised model inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from vidxai.core.context import pixel_video  # re-exported: the segmenters' input
from vidxai.removal.segment.base import Segmenter, compact_labels
from vidxai.removal.segment.flow import FlowSegmenter
from vidxai.removal.segment.frames import TemporalSegmenter
from vidxai.removal.segment.grid import GridSegmenter, grid_labels
from vidxai.removal.segment.slic import SupervoxelSegmenter
from vidxai.removal.segment.slic2d import FrameSlicSegmenter
from vidxai.removal.stages import StageRegistry

SegmentationName = Literal["slic", "grid", "slic2d", "frames", "flow"]

__all__ = [
    "SEGMENTATIONS",
    "SEGMENTERS",
    "FlowSegmenter",
    "FrameSlicSegmenter",
    "GridSegmenter",
    "SegmentationName",
    "Segmenter",
    "SupervoxelSegmenter",
    "TemporalSegmenter",
    "compact_labels",
    "grid_labels",
    "make_segmenter",
    "pixel_video",
]


#: Segmenter factories by name: ``(n_segments, compactness, spacing, grid) → Segmenter``.
SEGMENTERS: StageRegistry[Callable[..., Segmenter]] = StageRegistry("segmentation")


@SEGMENTERS.register("slic")
def _slic(n_segments: int, compactness: float, spacing: tuple, grid: tuple) -> Segmenter:
    return SupervoxelSegmenter(n_segments, compactness, spacing)


@SEGMENTERS.register("grid")
def _grid(n_segments: int, compactness: float, spacing: tuple, grid: tuple) -> Segmenter:
    return GridSegmenter(grid)


@SEGMENTERS.register("slic2d")
def _slic2d(n_segments: int, compactness: float, spacing: tuple, grid: tuple) -> Segmenter:
    return FrameSlicSegmenter(n_segments, compactness)


@SEGMENTERS.register("frames")
def _frames(n_segments: int, compactness: float, spacing: tuple, grid: tuple) -> Segmenter:
    return TemporalSegmenter(n_segments)


@SEGMENTERS.register("flow")
def _flow(n_segments: int, compactness: float, spacing: tuple, grid: tuple) -> Segmenter:
    return FlowSegmenter(n_segments, compactness)


SEGMENTATIONS: tuple[str, ...] = SEGMENTERS.names()


def make_segmenter(
    name: str,
    n_segments: int = 200,
    compactness: float = 20.0,
    spacing: tuple[float, float, float] = (0.2, 1.0, 1.0),
    grid: tuple[int, int, int] = (4, 7, 7),
) -> Segmenter:
    """Build a segmenter by its registered name (``slic``, ``grid``, ``slic2d``, ``frames``,
    ``flow``; see :data:`SEGMENTERS`)."""
    return SEGMENTERS.get(name)(n_segments, compactness, spacing, grid)
