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
    key = _key(values)
    if not 0.0 < share <= 1.0:
        raise ParameterError(f"topk share must be in (0, 1], got {share}")
    if key.size == 0:
        return np.zeros(0, dtype=bool)
    n_keep = max(1, math.ceil(share * key.size - 1e-9))
    kth = kth_largest(key, n_keep)
    return (key >= kth) & (key > 0)


_CHUNK = 1 << 22


def kth_largest(key: np.ndarray, k: int) -> float:
    """The k-th largest entry of a flat array (exact).

    Small arrays use ``np.partition``; large ones (original-resolution videos have ~10⁸
    voxels) first count values into 65 536 ordered bins, chunk by chunk, and partition only the
    bin holding the answer.
    """
    n = key.size
    if n <= _CHUNK:
        return float(np.partition(key, n - k)[n - k])
    lo, hi = float(key.min()), float(key.max())
    if hi == lo:
        return hi
    bins = 1 << 16
    scale = (bins - 1) / (hi - lo)

    def bin_of(part: np.ndarray) -> np.ndarray:  # monotone in the value
        return ((part.astype(np.float64) - lo) * scale).astype(np.intp)

    counts = np.zeros(bins, dtype=np.int64)
    for start in range(0, n, _CHUNK):
        counts += np.bincount(bin_of(key[start : start + _CHUNK]), minlength=bins)
    at_or_above = np.cumsum(counts[::-1])  # [j] = entries in the top j + 1 bins
    j = int(np.argmax(at_or_above >= k))
    b = bins - 1 - j
    above = int(at_or_above[j] - counts[b])
    chunks = [c[bin_of(c) == b] for c in (key[s : s + _CHUNK] for s in range(0, n, _CHUNK))]
    candidates = np.concatenate(chunks)
    r = k - above  # the r-th largest inside bin b
    return float(np.partition(candidates, candidates.size - r)[candidates.size - r])


def select_threshold(values: np.ndarray, threshold: float) -> np.ndarray:
    """Keep units with ``|value| >= threshold`` (and non-zero).

    Args:
        values: 1-D array of unit values on the displayed scale.
        threshold: minimum relevance on that scale, in [0, 1].

    Returns:
        bool array shaped like ``values``.
    """
    key = _key(values)
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
    key = _key(values)
    if not 0.0 < share <= 1.0:
        raise ParameterError(f"mass share must be in (0, 1], got {share}")
    total = float(key.sum(dtype=np.float64))
    if key.size == 0 or total <= 0:
        return np.zeros(key.size, dtype=bool)
    ordered = np.sort(key)[::-1]
    goal = share * total * (1.0 - 1e-6)  # tolerate float32 rounding of the values
    reached, chunk = 0.0, 1 << 20  # float64 running sums, chunk by chunk (keys may be float32)
    for start in range(0, ordered.size, chunk):
        sums = reached + np.cumsum(ordered[start : start + chunk], dtype=np.float64)
        if sums[-1] >= goal:
            last = ordered[start + int(np.argmax(sums >= goal))]
            break
        reached = float(sums[-1])
    else:
        last = ordered[-1]
    return (key >= last) & (key > 0)


def _key(values: np.ndarray) -> np.ndarray:
    """|values| as a flat float array (float32 input stays float32, other input → float64)."""
    array = np.asarray(values)
    if array.dtype != np.float32:
        array = array.astype(np.float64)
    return np.abs(array.ravel())
