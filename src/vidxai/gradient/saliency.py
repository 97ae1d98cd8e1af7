"""Saliency: plain input gradients (Simonyan et al., 2014), ``max_c |∂f/∂x_c|`` by default."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.gradient.paths import path_gradients
from vidxai.gradient.polarity import (
    ChannelReduction,
    Polarity,
    check_channel_reduction,
    check_polarity,
    reduce_channels,
)
from vidxai.gradient.tunnel import register_raw


@dataclass(frozen=True)
class SaliencyParams:
    """Parameters of :func:`saliency`.

    Attributes:
        polarity: ``absolute`` (default, ``|g|``), ``positive`` (``max(g, 0)``), ``negative``
            (``max(−g, 0)``) or ``both`` (signed ``g``); see :mod:`vidxai.gradient.polarity`.
        channel_reduction: how the colour channels collapse: ``max`` (Simonyan et al.),
            ``sum``, ``mean`` or ``l2``. ``None`` (default) resolves to ``max``, or to ``sum``
            for ``polarity="both"`` (a signed map is summed, not maxed).
    """

    polarity: Polarity = "absolute"
    channel_reduction: ChannelReduction | None = None

    def __post_init__(self) -> None:
        check_polarity(self.polarity)
        check_channel_reduction(self.channel_reduction)
        if self.channel_reduction is None:
            resolved = "sum" if self.polarity == "both" else "max"
            object.__setattr__(self, "channel_reduction", resolved)


@register_raw("saliency")
def saliency_raw(ctx: ExplainContext, params: SaliencyParams, inputs: Tensor) -> Tensor:
    """``K×C×T×H×W`` inputs → their signed input gradients ``∂f/∂x`` (batched)."""
    return path_gradients(ctx, inputs, desc="saliency")


@register_method(
    "saliency",
    params=SaliencyParams,
    family="gradient",
    batched=True,
    description="Plain input gradients |∂f/∂x|, max over channels (Simonyan et al. 2014).",
)
def saliency(ctx: ExplainContext, params: SaliencyParams) -> list[MethodOutput]:
    """One forward + backward pass for all clips; per clip the ``T×H×W`` channel-reduced input
    gradient."""
    grad = saliency_raw(ctx, params, ctx.x)
    maps = reduce_channels(grad, params.polarity, str(params.channel_reduction))
    return [MethodOutput(m) for m in maps]
