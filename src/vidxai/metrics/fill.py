"""The reference ("removed") clip that the games and the average drop blend towards.

Built from the fills registry (:data:`vidxai.ops.fill_registry.FILLS`) that the removal stage
uses too, so a metric removes voxels exactly the way a removal method does, a fill registered
by the user included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from vidxai.ops.fill import Fill
from vidxai.ops.fill_registry import FillInput, check_fill_spec, make_registered_fill

__all__ = ["REVEX_BLUR_SIGMA", "Fill", "check_fill", "reference_clip"]

#: σ of REVEX's blur fill (OpenCV's rule for kernel radius 25).
REVEX_BLUR_SIGMA = 8.0


def check_fill(fill: Any) -> None:
    """``ParameterError`` ("Bad fill: …") for a fill that is neither a registered name
    (``"black"`` — the REVEX paper's choice —, ``"gray"``, ``"mean"``, ``"blur"``,
    ``"blur2d"`` or one the user registered) nor a pixel value or a reference clip."""
    check_fill_spec(fill, "fill")


def reference_clip(
    x: Tensor, fill: Any, pixel_value: Callable[[Any], Tensor], blur_sigma: float
) -> Tensor:
    """The fully removed clip.

    Args:
        x: ``1×C×T×H×W`` clip in model-input space.
        fill: a registered fill name or a colour / reference clip; ``"mean"`` is the clip's mean
            colour (one segment). A registered fill gets ``labels`` = one segment and no
            generator.
        pixel_value: maps a pixel-space value in [0, 1] to a ``C`` tensor in input space.
        blur_sigma: σ in voxels for the blur fills.

    Returns:
        ``1×C×T×H×W`` reference clip on ``x``'s device.
    """
    one_segment = torch.zeros(x.shape[2:], dtype=torch.long, device=x.device)
    ref = make_registered_fill(fill, FillInput(x, pixel_value, one_segment, blur_sigma), "fill")
    # constant fills come back as 1×C×1×1×1; the games index voxels, so expand once here
    return ref if ref.shape == x.shape else ref.expand_as(x).contiguous()
