"""STEP: spatio-temporal extremal perturbation with the ellipsoid "core" prior (Li et al. 2021)."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.extremal.losses import CoreShape, CoreSpec
from vidxai.extremal.optimise import run_extremal
from vidxai.extremal.params import (
    DEMO_PARAMS,
    REFERENCE_SIZE,
    STEP_AREA_GROWTH,
    ExtremalParams,
    Setup,
    scaled_int,
)


@dataclass(frozen=True)
class StepParams(ExtremalParams):
    """Parameters of ``step``: those of :class:`~vidxai.extremal.optimise.ExtremalParams` and

    Attributes:
        num_keyframes: temporal extent ``K_t`` of the core kernel (8, as the STEP scripts); the
            clip needs at least this many frames.
        core_shape: ``ellipsoid`` (default) or ``cylinder``.
        core_size: spatial extent (and stride) of the core kernel in pixels; None = 11 at 112 px,
            scaled.
        core_weight: λ_core once the core term is on (300).
        core_start: first iteration with the core term (the reference switches it on after
            iteration 100, i.e. from 101).
    """

    num_keyframes: int = 8
    core_shape: CoreShape = "ellipsoid"
    core_size: int | None = None
    core_weight: float = 300.0
    core_start: int = 101

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_keyframes < 1:
            raise ParameterError(f"num_keyframes must be >= 1, got {self.num_keyframes}")
        if self.core_shape not in ("ellipsoid", "cylinder"):
            raise ParameterError(
                f"core_shape must be 'ellipsoid' or 'cylinder', got {self.core_shape!r}"
            )
        if self.core_size is not None and self.core_size < 1:
            raise ParameterError(f"core_size must be >= 1, got {self.core_size}")
        if self.core_weight < 0:
            raise ParameterError(f"core_weight must be >= 0, got {self.core_weight}")
        if self.core_start < 0:
            raise ParameterError(f"core_start must be >= 0, got {self.core_start}")


@register_method(
    "step",
    params=StepParams,
    family="extremal",
    batched=True,
    description="STEP: spatio-temporal extremal perturbation with a smooth mask and an "
    "ellipsoid core prior over key frames (Li et al. 2021).",
    quick_params={"num_iter": 30, "core_start": 10},
    demo_params={**DEMO_PARAMS, "core_start": 20},
)
def step(ctx: ExplainContext, params: StepParams) -> list[MethodOutput]:
    """``num_iter`` forward + backward passes of ``N·len(perturb_area)`` perturbed clips
    (all clips of the batch and all areas at once); one output per clip."""
    h, w = ctx.x.shape[-2:]
    size = scaled_int(params.core_size, 11, min(h, w) / REFERENCE_SIZE)
    core = CoreSpec(params.num_keyframes, size, params.core_shape)
    setup = Setup(
        "step",
        per_frame=False,
        reward_weight="auto" if params.reward_weight is None else params.reward_weight,
        area_growth=STEP_AREA_GROWTH if params.area_growth is None else params.area_growth,
        core=core,
        core_weight=params.core_weight,
        core_start=params.core_start,
        extra={"core_size": size, "num_keyframes": params.num_keyframes},
    )
    return run_extremal(ctx, params, setup)
