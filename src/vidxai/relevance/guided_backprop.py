"""Guided backpropagation (Springenberg et al. 2015) through zennit, with the video canonizers."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class GuidedBackpropParams:
    """:func:`guided_backprop` has no parameters."""


@register_method(
    "guided_backprop",
    params=GuidedBackpropParams,
    family="relevance",
    description="Guided backprop: gradient with every ReLU passing only positive gradients "
    "(zennit); signed channel sum.",
)
def guided_backprop(ctx: ExplainContext, params: GuidedBackpropParams) -> MethodOutput:
    """One forward + one modified backward pass of ``∂score/∂x`` with ReLU gradients clipped at
    zero. Map ``T×H×W``: the signed sum over channels; extras: ``canonized``, ``signed``."""
    from vidxai.relevance.composites import guided_backprop_composite
    from vidxai.relevance.zennit_run import modified_backward

    grad, _, extras = modified_backward(ctx, guided_backprop_composite(), "guided_backprop", False)
    extras["signed"] = True
    return MethodOutput(grad[0].sum(dim=0).float(), extras)
