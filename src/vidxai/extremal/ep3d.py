"""3D-EP: extremal perturbation with the kept area constrained over the whole clip (Li et al.)."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.extremal.optimise import run_extremal
from vidxai.extremal.params import DEMO_PARAMS, ExtremalParams, Setup


@dataclass(frozen=True)
class EP3DParams(ExtremalParams):
    """Parameters of ``ep3d`` (see :class:`~vidxai.extremal.optimise.ExtremalParams`)."""


@register_method(
    "ep3d",
    params=EP3DParams,
    family="extremal",
    batched=True,
    description="3D extremal perturbation: a smooth mask keeping a target fraction of the whole "
    "video (Li et al. 2021).",
    quick_params={"num_iter": 30},
    demo_params=DEMO_PARAMS,
)
def ep3d(ctx: ExplainContext, params: EP3DParams) -> list[MethodOutput]:
    """``num_iter`` forward + backward passes of ``N·len(perturb_area)`` perturbed clips
    (all clips of the batch and all areas at once); one output per clip."""
    reward_weight = 100.0 if params.reward_weight is None else params.reward_weight
    growth = 1.0 if params.area_growth is None else params.area_growth
    setup = Setup("ep3d", per_frame=False, reward_weight=reward_weight, area_growth=growth)
    return run_extremal(ctx, params, setup)
