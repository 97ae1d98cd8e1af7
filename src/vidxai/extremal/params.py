"""Parameters of 2D-EP, 3D-EP and STEP and what distinguishes the three (a :class:`Setup`).

Pixel-sized settings of the reference are given for 112×112 inputs (mask step 7, σ 11, core
kernel 11, maximal blur 20, final smoothing 10). For other sizes they are scaled by
``s = min(H, W) / 112`` (the step and kernel sizes rounded to integers ≥ 1) unless given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from vidxai.errors import ParameterError
from vidxai.extremal.losses import CoreSpec
from vidxai.extremal.perturbation import PerturbationType
from vidxai.extremal.reward import Variant

REFERENCE_SIZE = 112
STEP_AREA_GROWTH = 1.0008668  # the reference: "doubles every ~800 iterations"
TERMS = ("reward", "probability", "area", "core", "energy")
# ``vidxai demo`` (each method adds its own entries): 60 iterations with a larger step and an area
# weight growing 5 % per iteration localise on the demo model (mean evidence AUROC >= 0.9 on
# held-out clips) in a few seconds per clip; the defaults need 1000-2000 iterations.
DEMO_PARAMS: dict[str, Any] = {"num_iter": 60, "learning_rate": 0.5, "area_growth": 1.05}


@dataclass(frozen=True)
class ExtremalParams:
    """Parameters shared by ``ep2d``, ``ep3d`` and ``step``.

    Attributes:
        num_iter: optimisation iterations (the toolkit's default 2000).
        perturb_area: target area(s) in (0, 1), e.g. ``0.1`` or ``(0.05, 0.1, 0.2)``; several areas
            are optimised jointly in one batch.
        perturb_type: ``blur`` (default) or ``fade``.
        variant: ``preserve`` (default), ``delete`` or ``dual``.
        learning_rate: SGD learning rate (0.05).
        momentum: SGD momentum, also used as dampening (0.9).
        reward_weight: λ_r; None = the method's default: the reference's 100 for 2D/3D-EP;
            for STEP set from the reward's own range, ``λ_a / |reward(m=0) − reward(m=1)|``
            (two extra forward passes, see :mod:`~vidxai.extremal.auto_weight`) instead of the
            reference's 1, which the area term swamps whenever the model's probability
            responds weakly to blurring. ``reward_weight=1`` restores the reference.
        area_weight: λ_a at the first iteration (300).
        area_growth: λ_a is multiplied by this after each iteration; None = the reference's (1 for
            2D/3D-EP, 1.0008668 for STEP).
        mask_step: spacing of the mask parameters in pixels; None = 7 at 112 px, scaled.
        mask_sigma: smoothing kernel σ of the mask in pixels; None = 11 at 112 px, scaled.
        max_blur: σ of the strongest blur in pixels; None = 20 at 112 px, scaled.
        smooth: σ in pixels of the per-frame Gaussian applied to the summed masks for the final
            map; None = 10 at 112 px, scaled; 0 = no smoothing.
        backend: kernels: ``auto`` (= ``eager``, see
            :func:`~vidxai.extremal.optimise.choose_backend`), ``eager`` (portable blocked tensor
            code) or ``compiled`` (torch.compile-fused; falls back to eager with a
            warning where the compiler fails).
    """

    num_iter: int = 2000
    perturb_area: tuple[float, ...] = (0.1,)
    perturb_type: PerturbationType = "blur"
    variant: Variant = "preserve"
    learning_rate: float = 0.05
    momentum: float = 0.9
    reward_weight: float | None = None
    area_weight: float = 300.0
    area_growth: float | None = None
    mask_step: int | None = None
    mask_sigma: float | None = None
    max_blur: float | None = None
    smooth: float | None = None
    backend: Literal["auto", "eager", "compiled"] = "auto"

    def __post_init__(self) -> None:
        areas = self.perturb_area
        if isinstance(areas, (int, float)):
            areas = (areas,)
        try:
            areas = tuple(float(a) for a in areas)
        except (TypeError, ValueError):
            raise ParameterError(
                f"perturb_area must be a number or numbers in (0, 1), got {self.perturb_area!r}"
            ) from None
        object.__setattr__(self, "perturb_area", areas)
        if not areas:
            raise ParameterError("perturb_area needs at least one area in (0, 1)")
        bad = [a for a in areas if not 0.0 < a < 1.0]
        if bad:
            raise ParameterError(
                f"perturb_area must lie strictly between 0 and 1 (a fraction of the video), "
                f"got {', '.join(map(str, bad))}"
            )
        if isinstance(self.num_iter, bool) or self.num_iter < 1:
            raise ParameterError(f"num_iter must be >= 1, got {self.num_iter}")
        if self.perturb_type not in ("blur", "fade"):
            raise ParameterError(
                f"perturb_type must be 'blur' or 'fade', got {self.perturb_type!r}"
            )
        if self.variant not in ("preserve", "delete", "dual"):
            raise ParameterError(
                f"variant must be 'preserve', 'delete' or 'dual', got {self.variant!r}"
            )
        if self.backend not in ("auto", "eager", "compiled"):
            raise ParameterError(
                f"backend must be 'auto', 'eager' or 'compiled', got {self.backend!r}"
            )
        if not self.learning_rate > 0:
            raise ParameterError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.momentum < 1.0:
            raise ParameterError(f"momentum must be in [0, 1), got {self.momentum}")
        positive = {"area_weight": self.area_weight, "area_growth": self.area_growth}
        positive |= {"mask_sigma": self.mask_sigma, "max_blur": self.max_blur}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ParameterError(f"{name} must be > 0, got {value}")
        if self.reward_weight is not None and not self.reward_weight > 0:
            raise ParameterError(f"reward_weight must be > 0, got {self.reward_weight}")
        if self.mask_step is not None and self.mask_step < 1:
            raise ParameterError(f"mask_step must be an integer >= 1, got {self.mask_step}")
        if self.smooth is not None and self.smooth < 0:
            raise ParameterError(f"smooth must be >= 0, got {self.smooth}")


@dataclass(frozen=True)
class Setup:
    """What distinguishes the three variants (the same for every clip of a batch)."""

    name: str
    per_frame: bool  # area per frame (2D-EP) or over the volume (3D-EP, STEP)
    reward_weight: float | Literal["auto"]  # "auto": from the reward range (auto_weight.py)
    area_growth: float
    core: CoreSpec | None = None
    core_weight: float = 0.0
    core_start: int = 0  # first iteration with the core term on
    extra: dict[str, Any] = field(default_factory=dict)


def scaled(value: float | None, reference: float, scale: float) -> float:
    """A user value, or the reference's 112-px value scaled to the input."""
    return float(value) if value is not None else reference * scale


def scaled_int(value: int | None, reference: int, scale: float) -> int:
    """Like :func:`scaled`, rounded to an integer >= 1."""
    return int(value) if value is not None else max(1, math.floor(reference * scale + 0.5))
