"""Gradient × input (Shrikumar et al. 2016): first-order Taylor contributions ``x·∂f/∂x``."""

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
class GradXInputParams:
    """Parameters of :func:`grad_x_input`.

    Attributes:
        polarity: ``both`` (default, signed), ``positive``, ``negative`` or ``absolute``
            (``|·|``); see :mod:`vidxai.gradient.polarity`.
        channel_reduction: ``sum`` (default: the map adds up the Taylor terms), ``mean``,
            ``max`` or ``l2``.
    """

    polarity: Polarity = "both"
    channel_reduction: ChannelReduction = "sum"

    def __post_init__(self) -> None:
        check_polarity(self.polarity)
        check_channel_reduction(self.channel_reduction)


def grad_x_input_raw(ctx: ExplainContext, inputs: Tensor) -> Tensor:
    """``K×C×T×H×W`` inputs → their ``x·∂f/∂x`` (batched)."""
    return inputs * path_gradients(ctx, inputs, desc="grad_x_input")


@register_raw("grad_x_input")
def _raw(ctx: ExplainContext, params: GradXInputParams, inputs: Tensor) -> Tensor:
    return grad_x_input_raw(ctx, inputs)


@register_method(
    "grad_x_input",
    params=GradXInputParams,
    family="gradient",
    batched=True,
    description="Gradient × input x·∂f/∂x, summed over channels (first-order Taylor terms).",
)
def grad_x_input(ctx: ExplainContext, params: GradXInputParams) -> list[MethodOutput]:
    """One forward + backward pass for all clips; per clip a ``T×H×W`` map."""
    raw = grad_x_input_raw(ctx, ctx.x)
    maps = reduce_channels(raw, params.polarity, params.channel_reduction)
    return [MethodOutput(m) for m in maps]
