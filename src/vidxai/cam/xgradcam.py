"""XGrad-CAM for video (Fu et al. 2020, "Axiom-based Grad-CAM")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from vidxai.cam.base import gradient_cam
from vidxai.cam.core import xgradcam_map
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class XGradCamParams:
    """Parameters of :func:`xgradcam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        per_time_slice: normalise and pool over ``H'×W'`` per time slice instead of the whole
            ``T'×H'×W'`` volume.
    """

    layer: str | None = None
    per_time_slice: bool = False


@register_method(
    "xgradcam",
    params=XGradCamParams,
    family="cam",
    batched=True,
    description="XGrad-CAM: ReLU(Σ_c w_c·A_c), w_c = Σ(∂f/∂A_c·A_c)/ΣA_c (sensitivity and "
    "conservation axioms).",
)
def xgradcam(ctx: ExplainContext, params: XGradCamParams) -> list[MethodOutput]:
    """One forward + one backward (down to the layer) per clip; ``T×H×W`` maps."""
    combine = partial(xgradcam_map, per_time_slice=params.per_time_slice)
    return gradient_cam(ctx, params.layer, combine)
