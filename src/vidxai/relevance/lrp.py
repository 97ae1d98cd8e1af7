"""Layer-wise relevance propagation (Bach et al. 2015; Montavon et al. 2019) for video CNNs.

zennit is the engine; vidxai adds the canonizers the video networks need
(:mod:`vidxai.relevance.canonizers`): without them torchvision's video ResNets double the
relevance at every residual sum (Σ R = 2⁸ × the logit on r3d_18). The target's score is placed on
its output and propagated back with the rules of ``composite``; the map is the signed sum of the
input relevance over colour channels, so ``Σ map ≈ f(x)`` (conservation, reported in the extras).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError

Composite = Literal[
    "epsilon_plus_flat", "epsilon_gamma_box", "epsilon_alpha2_beta1_flat", "epsilon_plus", "epsilon"
]
#: The composite names (``vidxai.relevance.composites.COMPOSITES`` builds each; zennit, which
#: imports torchvision, is imported only when an LRP explanation runs).
COMPOSITE_NAMES: tuple[str, ...] = get_args(Composite)


@dataclass(frozen=True)
class LrpParams:
    """Parameters of :func:`lrp`.

    Attributes:
        composite: the rules per layer type (zennit's composites):
            ``epsilon_plus_flat`` (default: flat rule on the first layer, z⁺ on convolutions,
            ε on fully connected layers), ``epsilon_gamma_box`` (z^B box rule on the first layer
            with the input's pixel range, γ on convolutions, ε on dense layers),
            ``epsilon_alpha2_beta1_flat`` (flat first layer, αβ on convolutions, ε on dense
            layers), ``epsilon_plus`` (z⁺ on convolutions, ε on dense layers) or ``epsilon``
            (ε on every layer: for a ReLU network without biases and ε → 0 this is
            gradient × input; the one composite that passes the randomisation sanity check).
        epsilon: ε of the ε rule (added to denominators with their sign), > 0.
        gamma: γ of the γ rule (``epsilon_gamma_box``), ≥ 0.
        alpha_beta: ``(α, β)`` of the αβ rule (``epsilon_alpha2_beta1_flat``), α − β = 1, β ≥ 0.
        stabilizer: the small constant keeping the other rules' denominators away from 0, > 0.
    """

    composite: Composite = "epsilon_plus_flat"
    epsilon: float = 1e-6
    gamma: float = 0.25
    alpha_beta: tuple[float, ...] = (2.0, 1.0)
    stabilizer: float = 1e-6

    def __post_init__(self) -> None:
        if self.composite not in COMPOSITE_NAMES:
            raise ParameterError(
                f"Unknown composite {self.composite!r}; use one of {', '.join(COMPOSITE_NAMES)}"
            )
        if not self.epsilon > 0:
            raise ParameterError(f"epsilon must be > 0, got {self.epsilon}")
        if not self.stabilizer > 0:
            raise ParameterError(f"stabilizer must be > 0, got {self.stabilizer}")
        if not self.gamma >= 0:
            raise ParameterError(f"gamma must be >= 0, got {self.gamma}")
        if len(self.alpha_beta) != 2:
            raise ParameterError(f"alpha_beta must be two numbers (α, β), got {self.alpha_beta}")
        alpha, beta = self.alpha_beta
        if beta < 0 or abs(alpha - beta - 1.0) > 1e-9:
            raise ParameterError(
                "alpha_beta must satisfy α − β = 1 with β ≥ 0 (conservation), got "
                f"{self.alpha_beta}"
            )


@register_method(
    "lrp",
    params=LrpParams,
    family="relevance",
    description="LRP with zennit composites and video canonizers (BatchNorm merged, residual "
    "sums split); signed map, Σ map ≈ the target's logit.",
)
def lrp(ctx: ExplainContext, params: LrpParams) -> MethodOutput:
    """One forward + one modified backward pass. Map ``T×H×W`` (signed: negative = evidence
    against); extras: ``relevance_sum``, ``conservation_gap``, ``canonized``, ``signed``."""
    from vidxai.relevance.composites import COMPOSITES
    from vidxai.relevance.zennit_run import conservation, input_bounds, modified_backward

    low, high = input_bounds(ctx)
    composite = COMPOSITES[params.composite](params, low, high)
    relevance, scores, extras = modified_backward(ctx, composite, "lrp")
    extras.update(conservation(relevance, scores))
    extras["signed"] = True
    return MethodOutput(relevance[0].sum(dim=0).float(), extras)
