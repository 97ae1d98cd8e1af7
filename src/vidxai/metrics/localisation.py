"""Localisation against a ground truth: pointing game, IoU at a threshold, energy.

The ground truth is a ``T×H×W`` bool mask or a 3D box ``((t0, t1), (y0, y1), (x0, x1))`` with
half-open ranges (Python slices: frames ``t0 … t1−1``), converted once by
:func:`ground_truth_mask`. None of these metrics runs the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.drop import stretch
from vidxai.metrics.registry import MetricInputs, MetricOutput, register_metric


def ground_truth_mask(ground_truth: Any, shape: Sequence[int]) -> Tensor:
    """A ``T×H×W`` bool mask from a mask (tensor / array) or a box ``((t0,t1),(y0,y1),(x0,x1))``.

    Raises:
        InvalidInputError: wrong shape, an empty mask, or a malformed / empty box.
    """
    shape = tuple(int(s) for s in shape)
    if isinstance(ground_truth, (Tensor, np.ndarray)):
        mask = torch.as_tensor(ground_truth)
        if mask.ndim == 4 and mask.shape[0] == 1:
            mask = mask[0]
        if tuple(mask.shape) != shape:
            raise InvalidInputError(
                f"ground_truth mask must have the attribution's shape {shape} (T×H×W), "
                f"got {tuple(mask.shape)}"
            )
        if mask.is_floating_point() and not torch.isfinite(mask).all():
            raise InvalidInputError("ground_truth mask contains NaN or infinite values")
        mask = mask != 0
    else:
        try:
            box = [(int(a), int(b)) for a, b in ground_truth]
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                "ground_truth must be a T×H×W bool mask or a box ((t0, t1), (y0, y1), (x0, x1)), "
                f"got {ground_truth!r}"
            ) from exc
        if len(box) != 3:
            raise InvalidInputError(f"a ground-truth box needs 3 ranges (t, y, x), got {box}")
        mask = torch.zeros(shape, dtype=torch.bool)
        clipped = [(max(0, a), min(n, b)) for (a, b), n in zip(box, shape)]
        if any(b <= a for a, b in clipped):
            raise InvalidInputError(f"ground-truth box {box} is empty inside a clip of {shape}")
        (t0, t1), (y0, y1), (x0, x1) = clipped
        mask[t0:t1, y0:y1, x0:x1] = True
    if not mask.any():
        raise InvalidInputError("ground_truth mask is empty (no True voxel)")
    return mask


def _gt(inputs: MetricInputs) -> Tensor:
    if inputs.ground_truth is None:
        raise InvalidInputError("This metric needs ground_truth (a T×H×W mask or a 3D box)")
    return inputs.ground_truth.to(inputs.attribution.device)


# ---------------------------------------------------------------------------------- pointing


@dataclass(frozen=True)
class PointingParams:
    """``tolerance``: spatial radius in pixels; ``temporal_tolerance``: frames either side."""

    tolerance: float = 0.0
    temporal_tolerance: int = 0

    def __post_init__(self) -> None:
        if not self.tolerance >= 0 or not self.temporal_tolerance >= 0:
            raise ParameterError(
                f"tolerance and temporal_tolerance must be >= 0, got "
                f"{self.tolerance}, {self.temporal_tolerance}"
            )


def pointing_location(attribution: Tensor) -> tuple[int, int, int] | None:
    """Mean (t, y, x) of all maximal voxels, rounded; None for a constant map (no point)."""
    if attribution.max() <= attribution.min():
        return None
    idx = (attribution == attribution.max()).nonzero().double().mean(0)
    t, y, x = (math.floor(v + 0.5) for v in idx.tolist())
    return t, y, x


def point_hits(point: tuple[int, int, int], gt: Tensor, params: PointingParams) -> bool:
    """Whether a ground-truth voxel lies within the tolerances of ``point``."""
    t, y, x = point
    dt, r = int(params.temporal_tolerance), math.floor(params.tolerance)
    sub = gt[max(0, t - dt) : t + dt + 1, max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
    ys = torch.arange(max(0, y - r), max(0, y - r) + sub.shape[1], device=gt.device) - y
    xs = torch.arange(max(0, x - r), max(0, x - r) + sub.shape[2], device=gt.device) - x
    disk = (ys.view(-1, 1) ** 2 + xs.view(1, -1) ** 2) <= params.tolerance**2
    return bool((sub & disk).any())


@register_metric(
    "pointing_game",
    params=PointingParams,
    higher_is_better=True,
    needs_ground_truth=True,
    needs_model=False,
    family="localisation",
    description="Hit if the attribution's maximum (mean of argmax voxels) is in the ground truth.",
)
def pointing_game(inputs: MetricInputs, params: PointingParams) -> MetricOutput:
    point = pointing_location(inputs.attribution)
    if point is None:
        return MetricOutput(False, extras={"point": None})
    return MetricOutput(point_hits(point, _gt(inputs), params), extras={"point": list(point)})


# --------------------------------------------------------------------------------------- IoU


@dataclass(frozen=True)
class IoUParams:
    """``iou_threshold``: keep voxels whose stretched positive attribution is >= it (in (0, 1))."""

    iou_threshold: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold < 1.0:
            raise ParameterError(f"iou_threshold must lie in (0, 1), got {self.iou_threshold}")


def binarise(attribution: Tensor, threshold: float) -> Tensor:
    """``T×H×W`` bool: min–max stretched positive part >= threshold (empty for no positive part)."""
    positive = attribution.clamp(min=0)
    if positive.max() <= 0:
        return torch.zeros_like(attribution, dtype=torch.bool)
    return stretch(positive) >= threshold


@register_metric(
    "iou",
    params=IoUParams,
    higher_is_better=True,
    needs_ground_truth=True,
    needs_model=False,
    family="localisation",
    description="Jaccard index of the thresholded attribution and the ground truth.",
)
def iou(inputs: MetricInputs, params: IoUParams) -> MetricOutput:
    pred = binarise(inputs.attribution, params.iou_threshold)
    gt = _gt(inputs)
    union = int((pred | gt).sum())
    return MetricOutput(float((pred & gt).sum()) / union if union else 0.0)


# ------------------------------------------------------------------------------------ energy


@dataclass(frozen=True)
class EnergyParams:
    """No parameters."""


@register_metric(
    "energy",
    params=EnergyParams,
    higher_is_better=True,
    needs_ground_truth=True,
    needs_model=False,
    family="localisation",
    description="Share of the positive attribution inside the ground truth (NaN if none).",
)
def energy(inputs: MetricInputs, params: EnergyParams) -> MetricOutput:
    positive = inputs.attribution.clamp(min=0).double()
    total = float(positive.sum())
    if total <= 0:
        return MetricOutput(math.nan)
    return MetricOutput(float(positive[_gt(inputs)].sum()) / total)
