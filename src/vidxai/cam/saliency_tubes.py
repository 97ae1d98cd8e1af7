"""Saliency Tubes (Stergiou et al. 2019): class activation mapping lifted to video.

``cam = Σ_k W[c, k]·A_k`` over the maps ``A`` of the layer that feeds global average pooling and
the linear classifier's weights ``W`` (``K×C``) for the target class ``c`` — no gradients, no
ReLU — upsampled trilinearly to ``T×H×W``. On a GAP + linear model this is Grad-CAM's weighting
of the logit (Grad-CAM's channel weights are ``W[c, k] / (T'·H'·W')``).
"""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.cam.base import layer_extras
from vidxai.cam.core import clip_size, upsample, weighted_map
from vidxai.cam.head import find_linear_head
from vidxai.cam.layers import require_class_target
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class SaliencyTubesParams:
    """Parameters of :func:`saliency_tubes`.

    Attributes:
        layer: the layer feeding the global pooling (default: the model's default layer, else
            the last layer with a spatio-temporal output).
    """

    layer: str | None = None


@register_method(
    "saliency_tubes",
    params=SaliencyTubesParams,
    family="cam",
    description="Saliency Tubes: class-weighted sum of the last maps (linear head), no gradients.",
)
def saliency_tubes(ctx: ExplainContext, params: SaliencyTubesParams) -> MethodOutput:
    """One forward pass; signed ``T×H×W`` map. Needs a GAP + linear head and a class target."""
    cls = require_class_target(ctx, "saliency_tubes")
    head = find_linear_head(ctx, params.layer, "saliency_tubes")
    weights = head.weight[cls].to(head.capture.acts.dtype).view(1, -1, 1, 1, 1)
    cam = weighted_map(head.capture.acts, weights, relu=False)
    size = clip_size(ctx.x)
    extras = layer_extras(head.capture, cam)
    extras["head"] = head.name
    return MethodOutput(upsample(cam, size)[0], extras)
