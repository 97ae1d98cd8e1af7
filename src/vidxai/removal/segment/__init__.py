"""Segmentation stage: every segmenter turns a clip into one integer label volume ``T×H×W``.

Segmenters see the clip as pixel-like values in [0, 1] (see :func:`pixel_video`): colour-based
segmenters (SLIC, flow) need colours, not normalised model inputs.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

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


def pixel_video(x: Tensor, mean: Tensor, std: Tensor, has_preprocessing: bool) -> Tensor:
    """The clip as pixel-like values in [0, 1] for colour-based segmenters.

    Args:
        x: ``C×T×H×W`` clip in model-input space.
        mean, std: ``C`` normalisation of the model input.
        has_preprocessing: True when the model has a real input contract (then the
            normalisation is undone: ``x·std + mean`` clamped to [0, 1]). Otherwise the value
            range is unknown and each channel is min-max scaled to [0, 1].

    Returns:
        ``C×T×H×W`` float32 in [0, 1].
    """
    x = x.detach().float()
    if has_preprocessing:
        view = (-1, 1, 1, 1)
        return (x * std.view(view) + mean.view(view)).clamp(0.0, 1.0)
    flat = x.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1, 1)
    return (x - lo) / (hi - lo).clamp_min(1e-12)
