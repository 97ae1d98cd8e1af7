"""Layer-CAM for video (Jiang et al. 2021): per-voxel positive-gradient weights."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.cam.base import gradient_cam
from vidxai.cam.core import layercam_map
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class LayerCamParams:
    """Parameters of :func:`layercam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
    """

    layer: str | None = None


@register_method(
    "layercam",
    params=LayerCamParams,
    family="cam",
    batched=True,
    description="Layer-CAM: ReLU(Σ_c ReLU(∂f/∂A)·A), per-voxel weights; good at shallow layers.",
)
def layercam(ctx: ExplainContext, params: LayerCamParams) -> list[MethodOutput]:
    """One forward + one backward (down to the layer); ``T×H×W`` map."""
    return gradient_cam(ctx, params.layer, layercam_map)
