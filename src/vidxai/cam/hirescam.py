"""HiResCAM for video (Draelos & Carin 2020): element-wise gradient × activation, no pooling."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.cam.base import gradient_cam
from vidxai.cam.core import hirescam_map
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class HiResCamParams:
    """Parameters of :func:`hirescam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
    """

    layer: str | None = None


@register_method(
    "hirescam",
    params=HiResCamParams,
    family="cam",
    batched=True,
    description="HiResCAM: ReLU(Σ_c ∂f/∂A_c ⊙ A_c), element-wise (no gradient pooling); exact "
    "for a GAP + linear head.",
)
def hirescam(ctx: ExplainContext, params: HiResCamParams) -> list[MethodOutput]:
    """One forward + one backward (down to the layer) per clip; ``T×H×W`` maps."""
    return gradient_cam(ctx, params.layer, hirescam_map)
