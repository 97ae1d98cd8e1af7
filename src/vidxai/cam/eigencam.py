"""Eigen-CAM for video (Muhammad & Yeasin 2020): the first principal component of a layer.

Class-agnostic and gradient-free: per clip, the layer's activations are read as ``P`` positions
(``T'·H'·W'``) × ``C`` channels, centred over the positions, and projected on their first
principal direction; the map is the rectified projection, upsampled trilinearly. The sign
convention (a singular vector's sign is arbitrary) is documented in
:func:`vidxai.cam.core.principal_projection`: the projection correlates positively with the
total activation.
"""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.cam.base import per_clip_outputs
from vidxai.cam.core import clip_size, principal_projection
from vidxai.cam.layers import run_layer
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class EigenCamParams:
    """Parameters of :func:`eigencam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
    """

    layer: str | None = None


@register_method(
    "eigencam",
    params=EigenCamParams,
    family="cam",
    batched=True,
    description="Eigen-CAM: ReLU of the activations' first principal component (class-agnostic, "
    "no gradients).",
)
def eigencam(ctx: ExplainContext, params: EigenCamParams) -> list[MethodOutput]:
    """One forward pass per clip, no backward; ``T×H×W`` maps (the same for every target)."""
    capture = run_layer(ctx, params.layer, with_grad=False)
    cam = principal_projection(capture.acts).clamp(min=0)
    return per_clip_outputs(capture, cam, clip_size(ctx.x))
