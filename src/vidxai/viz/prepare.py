""":func:`prepare_map`: an attribution volume → the values a picture shows.

Steps (REVEX paper §3.5):

1. *Region scores* — with a label volume, each region's score is the mean attribution over
   its voxels (for region-constant maps from LIME, SHAP, LOCO… this is the region's own
   score); the map is painted back region by region.  Without labels every voxel is a unit.
2. *Polarity* — ``positive`` keeps max(a, 0); ``negative`` keeps max(−a, 0); ``absolute``
   takes |a|; ``signed`` keeps both signs.
3. *Scale* — per scope (the whole video, or each frame with ``normalise="frame"``): the top
   of the scale is the ``clip`` percentile of the non-zero |unit values| (100 = the maximum).
   With ``stretch`` (histogram stretching) unsigned values are mapped linearly from
   [min, top] onto [0, 1], so a constant offset (common in RISE and occlusion maps) does not
   eat the colour range; without it they are divided by the top.  Signed maps are always
   divided by the top of |values| so that 0 stays the neutral colour.
4. *Selection* — ``topk``/``threshold``/``mass`` (see :mod:`vidxai.viz.selection`) on the
   scaled unit values of the scope; unselected units become 0.
5. *Smoothing* — optional per-frame Gaussian blur (``smooth_sigma``, in map pixels;
   :func:`vidxai.ops.blur.blur2d`, reflect border), then
   the scope's peak is restored.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from vidxai.errors import InvalidInputError
from vidxai.ops.blur import blur2d
from vidxai.viz.options import VizOptions
from vidxai.viz.selection import select_mass, select_threshold, select_topk


def as_volume(attribution: Any, name: str = "attribution") -> np.ndarray:
    """A T×H×W float32 numpy copy of a numpy array or torch tensor; checks shape and values."""
    if hasattr(attribution, "detach"):
        attribution = attribution.detach().to("cpu").float().numpy()
    try:
        volume = np.array(attribution, dtype=np.float32, order="C")
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a numeric T×H×W array") from exc
    if volume.ndim != 3 or min(volume.shape) == 0:
        raise InvalidInputError(f"{name} must be a non-empty T×H×W array, got shape {volume.shape}")
    if not np.all(np.isfinite(volume)):
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    return volume


def prepare_map(
    attribution: Any, options: VizOptions | None = None, segments: Any = None
) -> np.ndarray:
    """Turn an attribution into display values.

    Args:
        attribution: T×H×W array or tensor (higher = more evidence for the target).
        options: :class:`VizOptions` (defaults: positive, top 30 %, stretching, per video).
        segments: optional T×H×W integer label volume (e.g. the SLIC supervoxels a REVEX
            method used); selection then works on whole regions.

    Returns:
        float32 T×H×W in [0, 1], or in [-1, 1] when ``options.polarity == "signed"``.
    """
    options = options if options is not None else VizOptions()
    volume = as_volume(attribution)
    labels = None
    if segments is not None:
        labels = _labels(segments, volume.shape)
        volume = _region_means(volume, labels)
    _apply_polarity(volume, options.polarity)  # in place: ``volume`` is our own copy
    scopes = [slice(None)] if options.normalise == "video" else list(range(volume.shape[0]))
    for scope in scopes:
        part = volume[scope]
        volume[scope] = _scale_and_select(part, None if labels is None else labels[scope], options)
    if options.smooth_sigma > 0:
        for scope in scopes:
            volume[scope] = _smooth(volume[scope], options.smooth_sigma)
    return volume


def _labels(segments: Any, shape: tuple[int, ...]) -> np.ndarray:
    if hasattr(segments, "detach"):
        segments = segments.detach().to("cpu").numpy()
    labels = np.asarray(segments)
    if labels.shape != shape:
        raise InvalidInputError(
            f"segments must have the attribution's shape {shape}, got {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise InvalidInputError("segments must be an integer label volume")
        labels = labels.astype(np.int64)
    return labels


def _region_means(volume: np.ndarray, labels: np.ndarray) -> np.ndarray:
    ids, inverse = np.unique(labels, return_inverse=True)
    inverse = inverse.reshape(labels.shape)
    sums = np.bincount(inverse.ravel(), weights=volume.ravel(), minlength=ids.size)
    counts = np.bincount(inverse.ravel(), minlength=ids.size)
    means = (sums / np.maximum(counts, 1)).astype(np.float32)
    return means[inverse]


def _apply_polarity(volume: np.ndarray, polarity: str) -> None:
    """Apply the polarity in place."""
    if polarity == "negative":
        np.negative(volume, out=volume)
    if polarity in ("positive", "negative"):
        np.maximum(volume, 0.0, out=volume)
    elif polarity == "absolute":
        np.abs(volume, out=volume)


def _scale_and_select(
    part: np.ndarray, labels: np.ndarray | None, options: VizOptions
) -> np.ndarray:
    """Scale and select one scope (float32; a voxel scope is rewritten in place, since
    original-resolution volumes hold ~10⁸ voxels)."""
    if labels is None:
        values = part.reshape(-1)  # every voxel is a unit (a view: ``part`` is contiguous)
    else:
        _, first, inverse = np.unique(labels.ravel(), return_index=True, return_inverse=True)
        values = part.ravel()[first]
    low, high = float(values.min()), float(values.max())
    if max(abs(low), abs(high)) == 0:
        return np.zeros_like(part)
    if options.clip < 100:
        magnitude = np.abs(values)
        top = float(np.percentile(magnitude[magnitude > 0], options.clip))
        del magnitude
    else:
        top = max(abs(low), abs(high))
    scaled = values if labels is None else values.copy()
    if options.signed:
        scaled *= np.float32(1.0 / top)
        np.clip(scaled, -1.0, 1.0, out=scaled)
    else:
        offset = low if options.stretch and low < top else 0.0
        scaled -= np.float32(offset)
        scaled *= np.float32(1.0 / (top - offset))
        np.clip(scaled, 0.0, 1.0, out=scaled)
    if options.selection == "topk":
        scaled[~select_topk(scaled, options.topk)] = 0.0
    elif options.selection == "threshold":
        scaled[~select_threshold(scaled, options.threshold)] = 0.0
    elif options.selection == "mass":
        scaled[~select_mass(scaled, options.mass)] = 0.0
    if labels is None:
        return scaled.reshape(part.shape)
    return scaled[inverse.reshape(part.shape)]


def _smooth(part: np.ndarray, sigma: float) -> np.ndarray:
    peak = float(np.abs(part).max())
    if peak == 0:
        return part
    smoothed = blur2d(torch.from_numpy(part.astype(np.float32)), sigma).numpy()
    new_peak = float(np.abs(smoothed).max())
    return smoothed * (peak / new_peak) if new_peak > 0 else smoothed
