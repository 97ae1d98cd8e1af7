"""Score-CAM for video (Wang et al. 2020): channel weights from masked forward passes.

Every channel ``A_k`` of the layer is upsampled to ``T×H×W``, min-max normalised to a soft mask
``M_k`` and the clip is blended towards a fill colour outside it: ``x_k = b + M_k·(x − b)``
(``b`` = black by default, in pixel space). The target scores ``s_k`` of the ``x_k`` go through
the shared batched scorer; ``w = softmax(s)`` (the paper) or ``s_k − s(b)`` (``increase``) and
the map is ``ReLU(Σ_k w_k·A_k)`` upsampled trilinearly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.cam.base import layer_extras
from vidxai.cam.core import clip_size, upsample, weighted_map
from vidxai.cam.layers import run_layer
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.ops import minmax


@dataclass(frozen=True)
class ScoreCamParams:
    """Parameters of :func:`scorecam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        weighting: ``softmax`` of the masked scores over channels (Wang et al.), or
            ``increase``: the score gain over the fill-only clip (one extra forward pass).
        max_channels: score only the channels with the largest mean activation (others get
            weight 0); ``None`` scores every channel (one forward pass per channel).
        fill: pixel value in [0, 1] shown outside the masks (0 = black).
    """

    layer: str | None = None
    weighting: Literal["softmax", "increase"] = "softmax"
    max_channels: int | None = None
    fill: float = 0.0

    def __post_init__(self) -> None:
        if self.weighting not in ("softmax", "increase"):
            raise ParameterError(
                f"weighting must be 'softmax' or 'increase', got {self.weighting!r}"
            )
        if self.max_channels is not None and self.max_channels < 1:
            raise ParameterError(f"max_channels must be >= 1, got {self.max_channels}")
        if not 0.0 <= self.fill <= 1.0:
            raise ParameterError(f"fill is a pixel value in [0, 1], got {self.fill}")


@register_method(
    "scorecam",
    params=ScoreCamParams,
    family="cam",
    description="Score-CAM: channel weights from forward passes on activation-masked clips.",
    quick_params={"max_channels": 16},
)
def scorecam(ctx: ExplainContext, params: ScoreCamParams) -> MethodOutput:
    """1 + C forward passes (C = scored channels), no gradients; ``T×H×W`` map."""
    capture = run_layer(ctx, params.layer, with_grad=False)
    acts = capture.acts  # 1×C×T'×H'×W'
    n_channels = acts.shape[1]
    if params.max_channels is not None and params.max_channels < n_channels:
        channels = acts[0].mean(dim=(1, 2, 3)).topk(params.max_channels).indices.sort().values
    else:
        channels = torch.arange(n_channels, device=acts.device)
    size = clip_size(ctx.x)
    fill = ctx.pixel_value(params.fill).view(-1, 1, 1, 1)
    x = ctx.x[0]

    def make_batch(start: int, stop: int) -> Tensor:
        masks = minmax(upsample(acts[0, channels[start:stop]], size))  # b×T×H×W
        return fill + masks.unsqueeze(1) * (x - fill)

    scores = ctx.scorer.run(len(channels), make_batch, desc="scorecam")
    if params.weighting == "softmax":
        selected = torch.softmax(scores, dim=0)
    else:
        base = ctx.scorer.run(1, lambda a, b: (fill + 0 * x).unsqueeze(0), desc="scorecam")
        selected = scores - base[0]
    weights = torch.zeros(n_channels, device=acts.device, dtype=acts.dtype)
    weights[channels] = selected.to(acts.dtype)
    cam = weighted_map(acts, weights.view(1, -1, 1, 1, 1))
    extras = layer_extras(capture, cam)
    extras["channel_scores"] = scores.detach()
    extras["channels"] = channels.detach()
    return MethodOutput(upsample(cam, size)[0], extras)
