"""Shared plumbing of the gradient-weighted CAMs: capture, combine, upsample, report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import Tensor

from vidxai.cam.core import clip_size, upsample
from vidxai.cam.layers import LayerCapture, run_layer
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput

CamCombine = Callable[[Tensor, Tensor], Tensor]


def layer_extras(capture: LayerCapture, cam: Tensor) -> dict[str, Any]:
    """Extras every CAM reports: the layer, its layout and the low-resolution map ``T'×H'×W'``."""
    return {
        "layer": capture.name,
        "layer_layout": dataclasses.asdict(capture.layout),
        "cam": cam[0].detach(),
    }


def gradient_cam(ctx: ExplainContext, layer: str | None, combine: CamCombine) -> MethodOutput:
    """One forward pass and one backward pass down to ``layer``; ``combine(acts, grads)`` maps
    ``N×C×T'×H'×W'`` activations and gradients to ``N×T'×H'×W'``; upsampled to ``T×H×W``."""
    capture = run_layer(ctx, layer, with_grad=True)
    assert capture.grads is not None
    cam = combine(capture.acts, capture.grads)
    size = clip_size(ctx.x)
    return MethodOutput(upsample(cam, size)[0], layer_extras(capture, cam))
