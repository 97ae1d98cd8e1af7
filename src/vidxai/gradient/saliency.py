"""Saliency: plain input gradients (Simonyan et al., 2014), |∂f/∂x| max over channels."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.gradient.polarity import Polarity, reduce_channels


@dataclass(frozen=True)
class SaliencyParams:
    """Parameters of :func:`saliency`.

    Attributes:
        polarity: how signed gradients become a map: ``absolute`` (default, max |g| over
            channels), ``positive``, ``negative`` or ``both`` (signed channel sum).
    """

    polarity: Polarity = "absolute"


@register_method(
    "saliency",
    params=SaliencyParams,
    family="gradient",
    description="Plain input gradients |∂f/∂x|, max over channels (Simonyan et al. 2014).",
)
def saliency(ctx: ExplainContext, params: SaliencyParams) -> MethodOutput:
    """One forward + backward pass; returns the ``T×H×W`` channel-reduced input gradient."""
    _, grad = ctx.score_and_grad(ctx.x)
    return MethodOutput(reduce_channels(grad, params.polarity)[0])
