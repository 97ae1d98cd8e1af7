"""Removal stage: fills (what replaces removed voxels), mask layouts, and the batch renderer."""

from vidxai.removal.remove.blur import blur_video, gaussian_matrix
from vidxai.removal.remove.buffers import ScratchBuffers
from vidxai.removal.remove.fill import (
    FILL_NAMES,
    FILLS,
    FillInput,
    RemovalSpec,
    check_removal_spec,
    make_fill,
    make_removal_fill,
)
from vidxai.removal.remove.masks import (
    BoxMasks,
    MaskLayout,
    SegmentMasks,
    ShiftedGridMasks,
    SmoothGridMasks,
    linear_interp_matrix,
    upsample_cells,
)
from vidxai.removal.remove.render import Renderer

__all__ = [
    "FILLS",
    "FILL_NAMES",
    "BoxMasks",
    "FillInput",
    "MaskLayout",
    "RemovalSpec",
    "Renderer",
    "ScratchBuffers",
    "SegmentMasks",
    "ShiftedGridMasks",
    "SmoothGridMasks",
    "blur_video",
    "check_removal_spec",
    "gaussian_matrix",
    "linear_interp_matrix",
    "make_fill",
    "make_removal_fill",
    "upsample_cells",
]
