"""Shared tensor operations (depends only on torch and NumPy).

One Gaussian blur (2D per frame and 3D, one border rule, one kernel-size rule), the fills that
replace removed voxels, resizing of ``T×H×W`` maps and clips, and min-max rescaling of maps.
Every family (removal, gradient baselines, the extremal pyramid, CAMs, metrics, viz) takes these
from here instead of from each other.

Example::

    >>> import torch
    >>> from vidxai.ops import blur2d, blur3d, resize_frames
    >>> x = torch.rand(1, 3, 8, 32, 32)            # N×C×T×H×W
    >>> blur2d(x, 2.0).shape                       # per frame, reflect border
    torch.Size([1, 3, 8, 32, 32])
    >>> bool(torch.allclose(blur3d(torch.ones(8, 32, 32), 4.0), torch.ones(8, 32, 32)))
    True
    >>> resize_frames(torch.rand(8, 32, 32), (64, 48)).shape
    torch.Size([8, 64, 48])
"""

from vidxai.ops.blur import (
    TRUNCATE,
    blur2d,
    blur3d,
    blur_axis,
    gaussian_blur,
    gaussian_kernel,
    gaussian_matrix,
    kernel_radius,
)
from vidxai.ops.fill import FILL_NAMES, Fill, check_fill, make_fill, segment_means
from vidxai.ops.resize import resize_frames, resize_volume
from vidxai.ops.scale import minmax

__all__ = [
    "FILL_NAMES",
    "TRUNCATE",
    "Fill",
    "blur2d",
    "blur3d",
    "blur_axis",
    "check_fill",
    "gaussian_blur",
    "gaussian_kernel",
    "gaussian_matrix",
    "kernel_radius",
    "make_fill",
    "minmax",
    "resize_frames",
    "resize_volume",
    "segment_means",
]
