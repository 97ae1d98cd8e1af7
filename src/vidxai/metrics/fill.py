"""The reference ("removed") clip that the games and the average drop blend towards.

Built by the removal stage's :func:`vidxai.removal.remove.fill.make_fill`, so a metric removes
voxels exactly the way a removal method does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.remove.fill import check_removal_spec, make_fill

#: A fill: ``"black"`` (the REVEX paper's choice), ``"gray"``, ``"mean"`` (the clip's mean
#: colour), ``"blur"`` (3D Gaussian), ``"blur2d"`` (per frame), a pixel value in [0, 1] (one or
#: one per channel), or a reference video tensor ``C×T×H×W`` in model-input space.
Fill = str | float | tuple[float, ...] | Tensor

#: σ of REVEX's blur fill (OpenCV's rule for kernel radius 25).
REVEX_BLUR_SIGMA = 8.0


def check_fill(fill: Any) -> None:
    """``ParameterError`` for a fill that is none of the above."""
    try:
        check_removal_spec(fill)
    except ParameterError as exc:
        raise ParameterError(f"Bad fill: {exc}") from None


def reference_clip(
    x: Tensor, fill: Any, pixel_value: Callable[[Any], Tensor], blur_sigma: float
) -> Tensor:
    """The fully removed clip.

    Args:
        x: ``1×C×T×H×W`` clip in model-input space.
        fill: see :data:`Fill`; ``"mean"`` is the clip's mean colour (one segment).
        pixel_value: maps a pixel-space value in [0, 1] to a ``C`` tensor in input space.
        blur_sigma: σ in voxels for the blur fills.

    Returns:
        ``1×C×T×H×W`` reference clip on ``x``'s device.
    """
    one_segment = torch.zeros(x.shape[2:], dtype=torch.long, device=x.device)
    ref = make_fill(fill, x, pixel_value, one_segment, blur_sigma)
    # constant fills come back as 1×C×1×1×1; the games index voxels, so expand once here
    return ref if ref.shape == x.shape else ref.expand_as(x).contiguous()
