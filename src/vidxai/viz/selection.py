"""Which regions (or voxels) a picture shows: top-k share, threshold, cumulative mass.

These work on one value per unit (a region's score or a voxel's value), already on the
displayed scale ([0, 1], or [-1, 1] for signed maps); units are ranked by ``|value|``.
Units whose value is 0 are never selected (there is nothing to show).
"""

from __future__ import annotations

import math

import numpy as np

from vidxai.errors import ParameterError


def select_topk(values: np.ndarray, share: float) -> np.ndarray:
    """Keep the ``ceil(share·n)`` units with the largest ``|value|`` (n = all units).

    Units tied with the last kept one are kept too, so equal values are never split.

    Args:
        values: 1-D array of n unit values.
        share: in (0, 1].

    Returns:
        bool array of n: True = shown.
    """
    key = np.abs(np.asarray(values, dtype=np.float64).ravel())
    if not 0.0 < share <= 1.0:
        raise ParameterError(f"topk share must be in (0, 1], got {share}")
    if key.size == 0:
        return np.zeros(0, dtype=bool)
    n_keep = max(1, math.ceil(share * key.size - 1e-9))
    kth = np.partition(key, key.size - n_keep)[key.size - n_keep]
    return (key >= kth) & (key > 0)


def select_threshold(values: np.ndarray, threshold: float) -> np.ndarray:
    """Keep units with ``|value| >= threshold`` (and non-zero).

    Args:
        values: 1-D array of unit values on the displayed scale.
        threshold: minimum relevance on that scale, in [0, 1].

    Returns:
        bool array shaped like ``values``.
    """
    key = np.abs(np.asarray(values, dtype=np.float64).ravel())
    return (key >= threshold) & (key > 0)


def select_mass(values: np.ndarray, share: float) -> np.ndarray:
    """Cumulative-mass rule: take units from the largest ``|value|`` down until their summed
    ``|value|`` reaches ``share`` of the total (REVEX's ``min_accum``).

    The unit that crosses the line is included; units tied with it are kept too.

    Args:
        values: 1-D array of unit values.
        share: in (0, 1].

    Returns:
        bool array of n: True = shown.
    """
    key = np.abs(np.asarray(values, dtype=np.float64).ravel())
    if not 0.0 < share <= 1.0:
        raise ParameterError(f"mass share must be in (0, 1], got {share}")
    total = key.sum()
    if key.size == 0 or total <= 0:
        return np.zeros(key.size, dtype=bool)
    ordered = np.sort(key)[::-1]
    reached = np.cumsum(ordered) >= share * total * (1.0 - 1e-12)
    last = ordered[int(np.argmax(reached))]
    return (key >= last) & (key > 0)
