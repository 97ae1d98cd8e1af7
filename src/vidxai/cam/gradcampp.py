"""Grad-CAM++ for video (Chattopadhay et al. 2018)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from vidxai.cam.base import gradient_cam
from vidxai.cam.core import gradcampp_map
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class GradCamPPParams:
    """Parameters of :func:`gradcampp`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        per_time_slice: pool the weights over ``H'×W'`` per time slice instead of ``T'×H'×W'``.
    """

    layer: str | None = None
    per_time_slice: bool = False


@register_method(
    "gradcampp",
    params=GradCamPPParams,
    family="cam",
    batched=True,
    description="Grad-CAM++: positive-gradient weights with second-order α coefficients.",
)
def gradcampp(ctx: ExplainContext, params: GradCamPPParams) -> list[MethodOutput]:
    """One forward + one backward (down to the layer); ``T×H×W`` map."""
    combine = partial(gradcampp_map, per_time_slice=params.per_time_slice)
    return gradient_cam(ctx, params.layer, combine)
