"""The reference ("removed") clip that the games and the average drop blend towards.

Built by :func:`vidxai.ops.fill.make_fill`, the fills the removal stage uses too, so a metric
removes voxels exactly the way a removal method does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.ops.fill import Fill, make_fill
from vidxai.ops.fill import check_fill as _check_fill

__all__ = ["REVEX_BLUR_SIGMA", "Fill", "check_fill", "reference_clip"]

#: σ of REVEX's blur fill (OpenCV's rule for kernel radius 25).
REVEX_BLUR_SIGMA = 8.0


def check_fill(fill: Any) -> None:
    """``ParameterError`` for a fill that is not a :data:`vidxai.ops.fill.Fill` (``"black"`` —
    the REVEX paper's choice —, ``"gray"``, ``"mean"``, ``"blur"``, ``"blur2d"``, a pixel value
    or a reference clip)."""
    try:
        _check_fill(fill)
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
