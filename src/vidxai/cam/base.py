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


def layer_extras(capture: LayerCapture, cam: Tensor, clip: int = 0) -> dict[str, Any]:
    """Extras every CAM reports: the layer, its layout and the low-resolution map ``T'×H'×W'``
    of clip ``clip`` (``cam`` is ``N×T'×H'×W'``)."""
    return {
        "layer": capture.name,
        "layer_layout": dataclasses.asdict(capture.layout),
        "cam": cam[clip].detach(),
    }


def per_clip_outputs(
    capture: LayerCapture, cam: Tensor, size: tuple[int, int, int]
) -> list[MethodOutput]:
    """``N×T'×H'×W'`` maps → one :class:`MethodOutput` per clip, upsampled to ``T×H×W``."""
    maps = upsample(cam, size)
    return [MethodOutput(maps[i], layer_extras(capture, cam, i)) for i in range(cam.shape[0])]


def gradient_cam(ctx: ExplainContext, layer: str | None, combine: CamCombine) -> list[MethodOutput]:
    """One forward pass and one backward pass down to ``layer`` for all clips of ``ctx.x``;
    ``combine(acts, grads)`` maps ``N×C×T'×H'×W'`` activations and gradients to
    ``N×T'×H'×W'``; upsampled to ``T×H×W``. Returns one output per clip."""
    capture = run_layer(ctx, layer, with_grad=True)
    assert capture.grads is not None
    cam = combine(capture.acts, capture.grads)
    return per_clip_outputs(capture, cam, clip_size(ctx.x))
