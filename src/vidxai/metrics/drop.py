"""Average drop and increase in confidence (Chattopadhyay et al.; REVEX's DropEvaluator).

The attribution, min–max stretched to [0, 1], is used as a soft mask:
``x' = s·x + (1 − s)·fill``. With ``y`` the target score on the intact clip and ``o`` on ``x'``:
``average_drop = 100·max(0, y − o)/y`` (lower is better) and ``increase_in_confidence = o > y``
(per clip a bool; its mean over clips is the rate). A constant attribution gives ``s = 0``
(nothing kept). One forward pass, shared by both metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.fill import REVEX_BLUR_SIGMA, Fill, check_fill, reference_clip
from vidxai.metrics.registry import MetricInputs, MetricOutput, register_metric


@dataclass(frozen=True)
class DropParams:
    """Attributes: ``fill`` (as for the games), ``blur_sigma``, ``clip_negative`` (set
    negative attribution to 0 before stretching; REVEX does not)."""

    fill: Fill = "black"
    blur_sigma: float = REVEX_BLUR_SIGMA
    clip_negative: bool = False

    def __post_init__(self) -> None:
        check_fill(self.fill)
        if self.blur_sigma < 0:
            raise ParameterError(f"blur_sigma must be >= 0, got {self.blur_sigma}")


def stretch(attribution: Tensor) -> Tensor:
    """Min–max stretch of a ``T×H×W`` map to [0, 1]; a constant map becomes all zeros."""
    lo, hi = attribution.min(), attribution.max()
    if hi <= lo:
        return torch.zeros_like(attribution)
    return (attribution - lo) / (hi - lo)


def intact_score(inputs: MetricInputs) -> float:
    """Target score on the intact clip (from the cache when evaluate already has it)."""
    if "intact" not in inputs.cache:
        inputs.cache["intact"] = float(inputs.scorer.run(1, lambda a, b: inputs.x)[0])
    return inputs.cache["intact"]


def soft_mask_scores(inputs: MetricInputs, params: DropParams) -> tuple[float, float]:
    """``(y, o)``: the target score on the intact clip and on the soft-masked clip."""
    key = ("soft", params)
    if key not in inputs.cache:
        if inputs.scorer is None:
            raise InvalidInputError("average_drop needs a model")
        a = inputs.attribution.clamp(min=0) if params.clip_negative else inputs.attribution
        s = stretch(a).to(inputs.x)
        ref = reference_clip(inputs.x, params.fill, inputs.pixel_value, params.blur_sigma)
        masked = s * inputs.x + (1 - s) * ref
        o = float(inputs.scorer.run(1, lambda a, b: masked)[0])
        inputs.cache[key] = (intact_score(inputs), o)
    return inputs.cache[key]


@register_metric(
    "average_drop",
    params=DropParams,
    higher_is_better=False,
    description="100·max(0, y − o)/y with the stretched attribution as a soft mask.",
)
def average_drop(inputs: MetricInputs, params: DropParams) -> MetricOutput:
    y, o = soft_mask_scores(inputs, params)
    if y <= 0:
        return MetricOutput(float("nan"), extras={"y": y, "o": o})
    return MetricOutput(100.0 * max(0.0, y - o) / y, extras={"y": y, "o": o})


@register_metric(
    "increase_in_confidence",
    params=DropParams,
    higher_is_better=True,
    description="Whether the soft-masked clip scores higher than the intact one.",
)
def increase_in_confidence(inputs: MetricInputs, params: DropParams) -> MetricOutput:
    y, o = soft_mask_scores(inputs, params)
    return MetricOutput(bool(o > y), extras={"y": y, "o": o})
