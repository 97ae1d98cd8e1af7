"""2D-EP: extremal perturbation of every frame, the same kept area in each frame (Li et al.)."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.extremal.optimise import run_extremal
from vidxai.extremal.params import DEMO_PARAMS, ExtremalParams, Setup


@dataclass(frozen=True)
class EP2DParams(ExtremalParams):
    """Parameters of ``ep2d`` (see :class:`~vidxai.extremal.optimise.ExtremalParams`)."""


@register_method(
    "ep2d",
    params=EP2DParams,
    family="extremal",
    batched=True,
    description="2D extremal perturbation: a smooth per-frame mask keeping the same area in "
    "every frame (Li et al. 2021).",
    quick_params={"num_iter": 30},
    demo_params=DEMO_PARAMS,
)
def ep2d(ctx: ExplainContext, params: EP2DParams) -> list[MethodOutput]:
    """``num_iter`` forward + backward passes of ``N·len(perturb_area)`` perturbed clips
    (all clips of the batch and all areas at once); one output per clip."""
    reward_weight = 100.0 if params.reward_weight is None else params.reward_weight
    growth = 1.0 if params.area_growth is None else params.area_growth
    setup = Setup("ep2d", per_frame=True, reward_weight=reward_weight, area_growth=growth)
    return run_extremal(ctx, params, setup)
