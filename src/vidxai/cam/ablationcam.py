"""Ablation-CAM for video (Desai & Ramaswamy 2020): channel weights from ablation score drops.

The weight of channel ``k`` is the relative drop of the target score when that channel of the
layer is set to zero: ``w_k = (s − s_k) / s`` (the paper's and pytorch-grad-cam's formula; the
raw drop ``s − s_k`` when ``s = 0``); the map is ``ReLU(Σ_k w_k·A_k)`` upsampled trilinearly.
The ablated clips go through the engine's batched scorer: a forward hook on the layer zeroes a
different channel in every batch row. Unlike pytorch-grad-cam, the layers before the ablated one
are recomputed for every row (no cached activations), which keeps it exact for any layer.
pytorch-grad-cam replaces a channel whose layer has no zero activation by ``min − 1e7`` instead
of 0; vidxai always uses 0 (the paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.cam.ablate import ablate_channels
from vidxai.cam.base import layer_extras
from vidxai.cam.core import clip_size, upsample, weighted_map
from vidxai.cam.layers import run_layer
from vidxai.cam.score_masks import top_channels
from vidxai.core.context import ExplainContext
from vidxai.core.hooks import find_layer
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError


@dataclass(frozen=True)
class AblationCamParams:
    """Parameters of :func:`ablationcam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        max_channels: ablate only the channels with the largest mean activation (the others
            get weight 0); ``None`` ablates every channel (one forward pass each).
    """

    layer: str | None = None
    max_channels: int | None = None

    def __post_init__(self) -> None:
        if self.max_channels is not None and self.max_channels < 1:
            raise ParameterError(f"max_channels must be >= 1, got {self.max_channels}")


@register_method(
    "ablationcam",
    params=AblationCamParams,
    family="cam",
    description="Ablation-CAM: channel weights (s − s_k)/s from the score drop when each channel "
    "is zeroed.",
    quick_params={"max_channels": 8},
)
def ablationcam(ctx: ExplainContext, params: AblationCamParams) -> MethodOutput:
    """1 + C forward passes (C = ablated channels), no gradients; ``T×H×W`` map.

    Extras: layer, ``cam``, ``channels``, ``ablated_scores`` (``s_k`` per ablated channel),
    ``score`` (``s``).
    """
    capture = run_layer(ctx, params.layer, with_grad=False)
    acts = capture.acts
    score = capture.scores[0].float()
    channels = top_channels(acts, params.max_channels)
    state: dict[str, Tensor] = {}
    x = ctx.x

    def make_batch(start: int, stop: int) -> Tensor:
        state["channels"] = channels[start:stop]
        return x.expand(stop - start, *x.shape[1:])

    with ablate_channels(find_layer(ctx.module, capture.name), capture.layout, state):
        ablated = ctx.scorer.run(len(channels), make_batch, desc="ablationcam")
    drop = score - ablated
    selected = drop / score if bool(score != 0) else drop
    weights = torch.zeros(acts.shape[1], device=acts.device, dtype=acts.dtype)
    weights[channels] = selected.to(acts.dtype)
    cam = weighted_map(acts, weights.view(1, -1, 1, 1, 1))
    extras = layer_extras(capture, cam)
    extras.update(channels=channels.detach(), ablated_scores=ablated.detach(), score=float(score))
    return MethodOutput(upsample(cam, clip_size(ctx.x))[0], extras)
