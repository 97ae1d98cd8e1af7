"""zennit composites by name, with vidxai's video canonizers and the user's rule parameters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor
from zennit.composites import (
    EpsilonAlpha2Beta1Flat,
    EpsilonGammaBox,
    EpsilonPlus,
    EpsilonPlusFlat,
    ExcitationBackprop,
    GuidedBackprop,
)
from zennit.core import Composite
from zennit.layer import Sum
from zennit.rules import AlphaBeta, Epsilon
from zennit.types import Convolution, Linear

from vidxai.relevance.canonizers import video_canonizers
from vidxai.relevance.fast_flat import FastFlat
from vidxai.relevance.fast_norm import FastNorm
from vidxai.relevance.rules import FastZPlus


def _fast_sum(stabilizer: float) -> list[tuple[Any, Any]]:
    """``layer_map`` entry: zennit's norm rule at residual sums, computed directly."""
    return [(Sum, FastNorm(stabilizer=stabilizer))]


def _fast_plus(stabilizer: float, types: Any = Convolution) -> list[tuple[Any, Any]]:
    """``layer_map`` entries replacing zennit's z⁺ by the same rule with a one-copy fast path
    (and the norm rule at residual sums by its direct computation)."""
    return [*_fast_sum(stabilizer), (types, FastZPlus(stabilizer=stabilizer))]


def _fast_flat(stabilizer: float) -> list[tuple[Any, Any]]:
    """``first_map`` entry: zennit's flat rule, computed with one-channel convolutions."""
    return [(Convolution, FastFlat(stabilizer=stabilizer))]


def _epsilon_plus_flat(p: Any, low: Tensor, high: Tensor) -> Composite:
    return EpsilonPlusFlat(
        epsilon=p.epsilon,
        stabilizer=p.stabilizer,
        layer_map=_fast_plus(p.stabilizer),
        first_map=_fast_flat(p.stabilizer),
        canonizers=video_canonizers(),
    )


def _epsilon_gamma_box(p: Any, low: Tensor, high: Tensor) -> Composite:
    return EpsilonGammaBox(
        low=low,
        high=high,
        epsilon=p.epsilon,
        gamma=p.gamma,
        stabilizer=p.stabilizer,
        layer_map=_fast_sum(p.stabilizer),
        canonizers=video_canonizers(),
    )


def _epsilon_alpha_beta_flat(p: Any, low: Tensor, high: Tensor) -> Composite:
    alpha, beta = p.alpha_beta
    rule = AlphaBeta(alpha=alpha, beta=beta, stabilizer=p.stabilizer)
    layer_map = [*_fast_sum(p.stabilizer), (Convolution, rule)]
    return EpsilonAlpha2Beta1Flat(
        epsilon=p.epsilon,
        stabilizer=p.stabilizer,
        layer_map=layer_map,  # prepended: takes precedence over the built-in α=2, β=1
        first_map=_fast_flat(p.stabilizer),
        canonizers=video_canonizers(),
    )


def _epsilon_plus(p: Any, low: Tensor, high: Tensor) -> Composite:
    return EpsilonPlus(
        epsilon=p.epsilon,
        stabilizer=p.stabilizer,
        layer_map=_fast_plus(p.stabilizer),
        canonizers=video_canonizers(),
    )


def _epsilon(p: Any, low: Tensor, high: Tensor) -> Composite:
    """ε on every convolution and dense layer (LRP-ε; ε → 0 without biases: x ⊙ ∇f)."""
    return EpsilonPlus(
        epsilon=p.epsilon,
        stabilizer=p.stabilizer,
        # prepended: ε replaces the composite's z⁺ on convolutions
        layer_map=[*_fast_sum(p.stabilizer), (Convolution, Epsilon(epsilon=p.epsilon))],
        canonizers=video_canonizers(),
    )


Builder = Callable[[Any, Tensor, Tensor], Composite]

#: ``composite`` names of :func:`vidxai.relevance.lrp.lrp` → builder(params, low, high).
COMPOSITES: dict[str, Builder] = {
    "epsilon_plus_flat": _epsilon_plus_flat,
    "epsilon_gamma_box": _epsilon_gamma_box,
    "epsilon_alpha2_beta1_flat": _epsilon_alpha_beta_flat,
    "epsilon_plus": _epsilon_plus,
    "epsilon": _epsilon,
}


def guided_backprop_composite() -> Composite:
    """Guided backpropagation (ReLU gradients clipped at 0), with the video canonizers."""
    return GuidedBackprop(canonizers=video_canonizers())


def excitation_backprop_composite(stabilizer: float) -> Composite:
    """Excitation backprop (z⁺ rule on every linear layer), with the video canonizers."""
    return ExcitationBackprop(
        stabilizer=stabilizer,
        layer_map=_fast_plus(stabilizer, Linear),
        canonizers=video_canonizers(),
    )
