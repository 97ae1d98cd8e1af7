"""Grad-CAM for video (Selvaraju et al. 2017) on 3D maps, frame-wise 2D maps and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from vidxai.cam.base import gradient_cam
from vidxai.cam.core import gradcam_map
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class GradCamParams:
    """Parameters of :func:`gradcam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer, else
            the last layer with a spatio-temporal output).
        per_time_slice: one channel weight per time slice (mmaction2 / STEP) instead of one per
            channel over the whole ``T'×H'×W'`` volume (pytorch-grad-cam, Captum).
    """

    layer: str | None = None
    per_time_slice: bool = False


@register_method(
    "gradcam",
    params=GradCamParams,
    family="cam",
    batched=True,
    description="Grad-CAM: ReLU(Σ_c mean(∂f/∂A_c)·A_c) at a layer, trilinear upsampling.",
)
def gradcam(ctx: ExplainContext, params: GradCamParams) -> list[MethodOutput]:
    """One forward + one backward (down to the layer); ``T×H×W`` map, extras: layer, ``cam``."""
    combine = partial(gradcam_map, per_time_slice=params.per_time_slice)
    return gradient_cam(ctx, params.layer, combine)
