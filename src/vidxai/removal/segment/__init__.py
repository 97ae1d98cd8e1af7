"""Segmentation stage: every segmenter turns a clip into one integer label volume ``T×H×W``.

Segmenters see the clip as pixel-like values in [0, 1] (see :func:`pixel_video`): colour-based
segmenters (SLIC, flow) need colours, not normalised model inputs.
"""

from __future__ import annotations

from typing import Literal

from vidxai.core.context import pixel_video  # re-exported: the segmenters' input
from vidxai.errors import unknown_name
from vidxai.removal.segment.base import Segmenter, compact_labels
from vidxai.removal.segment.flow import FlowSegmenter
from vidxai.removal.segment.frames import TemporalSegmenter
from vidxai.removal.segment.grid import GridSegmenter, grid_labels
from vidxai.removal.segment.slic import SupervoxelSegmenter
from vidxai.removal.segment.slic2d import FrameSlicSegmenter

SegmentationName = Literal["slic", "grid", "slic2d", "frames", "flow"]
SEGMENTATIONS: tuple[str, ...] = ("slic", "grid", "slic2d", "frames", "flow")

__all__ = [
    "SEGMENTATIONS",
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


def make_segmenter(
    name: str,
    n_segments: int = 200,
    compactness: float = 20.0,
    spacing: tuple[float, float, float] = (0.2, 1.0, 1.0),
    grid: tuple[int, int, int] = (4, 7, 7),
) -> Segmenter:
    """Build a segmenter by name (``slic``, ``grid``, ``slic2d``, ``frames``, ``flow``)."""
    if name == "slic":
        return SupervoxelSegmenter(n_segments, compactness, spacing)
    if name == "grid":
        return GridSegmenter(grid)
    if name == "slic2d":
        return FrameSlicSegmenter(n_segments, compactness)
    if name == "frames":
        return TemporalSegmenter(n_segments)
    if name == "flow":
        return FlowSegmenter(n_segments, compactness)
    raise unknown_name("segmentation", name, SEGMENTATIONS)
