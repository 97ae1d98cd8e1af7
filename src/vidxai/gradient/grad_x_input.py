"""Gradient × input (Shrikumar et al. 2016): first-order Taylor contributions ``x·∂f/∂x``."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.gradient.paths import path_gradients
from vidxai.gradient.polarity import Polarity, check_polarity, reduce_attribution


@dataclass(frozen=True)
class GradXInputParams:
    """Parameters of :func:`grad_x_input`.

    Attributes:
        polarity: ``both`` (default, the signed channel sum), ``positive``, ``negative`` or
            ``absolute`` (see :func:`vidxai.gradient.polarity.reduce_attribution`).
    """

    polarity: Polarity = "both"

    def __post_init__(self) -> None:
        check_polarity(self.polarity)


def grad_x_input_raw(ctx: ExplainContext, inputs: Tensor) -> Tensor:
    """``K×C×T×H×W`` inputs → their ``x·∂f/∂x`` (batched)."""
    return inputs * path_gradients(ctx, inputs, desc="grad_x_input")


@register_method(
    "grad_x_input",
    params=GradXInputParams,
    family="gradient",
    description="Gradient × input x·∂f/∂x, summed over channels (first-order Taylor terms).",
)
def grad_x_input(ctx: ExplainContext, params: GradXInputParams) -> MethodOutput:
    """One forward + backward pass; ``T×H×W`` map (channel sum, then polarity)."""
    raw = grad_x_input_raw(ctx, ctx.x)
    return MethodOutput(reduce_attribution(raw, params.polarity)[0])
