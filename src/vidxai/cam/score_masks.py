"""Score-based channel weights shared by SS-CAM and IS-CAM (Score-CAM with several rounds).

Every channel ``A_k`` of the layer becomes a soft mask ``M_k = minmax(U(A_k))`` at input
resolution (``U`` = trilinear upsampling), and in each of ``R`` rounds the clip is blended
towards a fill colour outside a transformed mask ``M'_{k,r}``: ``x_{k,r} = b + M'_{k,r}·(x − b)``.
All ``K·R`` clips go through the engine's batched scorer; the channel weight is the softmax over
channels of the mean score over the rounds (a softmax ignores the constant baseline score that
torchcam subtracts, so it is not computed).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from vidxai.cam.base import layer_extras
from vidxai.cam.core import clip_size, upsample, weighted_map
from vidxai.cam.layers import LayerCapture, run_layer
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.ops import minmax

# (masks b×T×H×W, channel position b, round b) -> transformed masks b×T×H×W
MaskTransform = Callable[[Tensor, Tensor, Tensor], Tensor]


def check_score_params(max_channels: int | None, fill: float, n_samples: int) -> None:
    """The parameter checks of the score-based CAMs (ParameterError)."""
    if max_channels is not None and max_channels < 1:
        raise ParameterError(f"max_channels must be >= 1, got {max_channels}")
    if not 0.0 <= fill <= 1.0:
        raise ParameterError(f"fill is a pixel value in [0, 1], got {fill}")
    if n_samples < 1:
        raise ParameterError(f"n_samples must be >= 1, got {n_samples}")


def top_channels(acts: Tensor, max_channels: int | None) -> Tensor:
    """Indices (sorted) of the ``max_channels`` channels of ``1×C×…`` with the largest mean
    activation, or every channel."""
    n_channels = int(acts.shape[1])
    if max_channels is not None and max_channels < n_channels:
        return acts[0].flatten(1).mean(dim=1).topk(max_channels).indices.sort().values
    return torch.arange(n_channels, device=acts.device)


def score_rounds_cam(
    ctx: ExplainContext,
    layer: str | None,
    max_channels: int | None,
    fill: float,
    rounds: int,
    transform: MaskTransform,
    desc: str,
) -> MethodOutput:
    """The map ``ReLU(Σ_k softmax_k(mean_r s_{k,r})·A_k)`` upsampled to ``T×H×W``.

    Args:
        layer, max_channels, fill: as in Score-CAM (channels not scored get weight 0).
        rounds: ``R`` masked clips per channel.
        transform: turns the masks of a batch of rows into the masks shown (noise, scaling).

    Extras: layer, ``cam``, ``channels``, ``channel_scores`` (mean score per scored channel).
    """
    capture: LayerCapture = run_layer(ctx, layer, with_grad=False)
    acts = capture.acts  # 1×C×T'×H'×W'
    channels = top_channels(acts, max_channels)
    size = clip_size(ctx.x)
    b = ctx.pixel_value(fill).view(-1, 1, 1, 1)
    x = ctx.x[0]

    def make_batch(start: int, stop: int) -> Tensor:
        rows = torch.arange(start, stop, device=acts.device)
        pos, rnd = rows // rounds, rows % rounds
        masks = minmax(upsample(acts[0, channels[pos]], size))  # b×T×H×W
        shown = transform(masks, pos, rnd)
        return b + shown.unsqueeze(1) * (x - b)

    scores = ctx.scorer.run(len(channels) * rounds, make_batch, desc=desc)
    mean_scores = scores.view(len(channels), rounds).mean(dim=1)
    weights = torch.zeros(acts.shape[1], device=acts.device, dtype=acts.dtype)
    weights[channels] = torch.softmax(mean_scores, dim=0).to(acts.dtype)
    cam = weighted_map(acts, weights.view(1, -1, 1, 1, 1))
    extras = layer_extras(capture, cam)
    extras["channel_scores"] = mean_scores.detach()
    extras["channels"] = channels.detach()
    return MethodOutput(upsample(cam, size)[0], extras)
