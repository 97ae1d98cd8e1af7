"""Excitation backprop (Zhang et al. 2016) through zennit, with the video canonizers."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError


@dataclass(frozen=True)
class ExcitationBackpropParams:
    """Parameters of :func:`excitation_backprop`.

    Attributes:
        stabilizer: the small constant keeping the z⁺ rule's denominators away from 0, > 0.
    """

    stabilizer: float = 1e-6

    def __post_init__(self) -> None:
        if not self.stabilizer > 0:
            raise ParameterError(f"stabilizer must be > 0, got {self.stabilizer}")


@register_method(
    "excitation_backprop",
    params=ExcitationBackpropParams,
    family="relevance",
    description="Excitation backprop: the target's score spread down by the z⁺ rule on every "
    "layer (zennit); signed channel sum.",
)
def excitation_backprop(ctx: ExplainContext, params: ExcitationBackpropParams) -> MethodOutput:
    """One forward + one modified backward pass. Map ``T×H×W``; extras: ``relevance_sum``,
    ``conservation_gap``, ``canonized``, ``signed``."""
    from vidxai.relevance.composites import excitation_backprop_composite
    from vidxai.relevance.zennit_run import conservation, modified_backward

    composite = excitation_backprop_composite(params.stabilizer)
    relevance, scores, extras = modified_backward(ctx, composite, "excitation_backprop")
    extras.update(conservation(relevance, scores))
    extras["signed"] = True
    return MethodOutput(relevance[0].sum(dim=0).float(), extras)
