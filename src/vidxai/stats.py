"""Means with confidence intervals that respect a metric's bounds.

Most vidxai metrics are bounded: deletion/insertion AUCs and minimal-mask sizes lie in [0, 1], the
pointing game is a proportion, study ratings lie in [−2, 2]. A plain normal or Student-t interval
over a handful of clips happily reaches outside those bounds (``0.265 ± 0.304`` for a deletion AUC
over 4 clips goes below 0). :func:`mean_ci` offers three intervals and says which one it used:

``method="t"`` (default)
    Student-t interval ``mean ± t_{(1+level)/2, n−1} · s/√n``. When ``bounds`` are given, the ends
    are clipped to them and the result is marked ``clipped=True`` (the true coverage of a clipped
    end is then unknown; the mark lets a report say so, e.g. with a dagger).
``method="bootstrap"``
    Percentile bootstrap of the mean (``n_boot`` resamples with replacement from a seeded
    :class:`numpy.random.Generator`). Its ends are means of resampled data, so they always lie in
    ``[min(values), max(values)]`` and therefore inside any bounds; it tends to be too narrow for
    very small ``n`` (≲ 10).
``method="wilson"``
    Wilson score interval for a proportion (values must be 0/1 or booleans, e.g. pointing game
    hits). It always lies in [0, 1] and behaves well for small ``n`` and proportions near 0 or 1.

Example::

    >>> from vidxai.stats import mean_ci
    >>> ci = mean_ci([0.1, 0.05, 0.6, 0.3], bounds=(0.0, 1.0))
    >>> round(ci.mean, 4), ci.low, ci.clipped
    (0.2625, 0.0, True)
    >>> mean, low, high = mean_ci([0.1, 0.05, 0.6, 0.3], method="bootstrap", seed=0)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

import numpy as np

from vidxai.errors import InvalidInputError

CIMethod = Literal["t", "bootstrap", "wilson"]
_METHODS = ("t", "bootstrap", "wilson")


class MeanCI(tuple[float, float, float]):
    """``(mean, low, high)`` — unpacks as a 3-tuple — plus how the interval was made.

    Attributes:
        mean, low, high: the estimate and the ends of the interval (``nan`` when undefined: no
            finite value at all, or a single value for ``t``/``bootstrap``).
        n: number of finite values used (``nan``/``inf`` inputs are dropped).
        level: the confidence level.
        method: ``"t"``, ``"bootstrap"`` or ``"wilson"``.
        clipped: True when an end of a t-interval was moved onto a bound.
    """

    n: int
    level: float
    method: str
    clipped: bool

    def __new__(
        cls,
        mean: float,
        low: float,
        high: float,
        *,
        n: int,
        level: float,
        method: str,
        clipped: bool = False,
    ) -> MeanCI:
        self = super().__new__(cls, (float(mean), float(low), float(high)))
        self.n, self.level, self.method, self.clipped = n, level, method, clipped
        return self

    @property
    def mean(self) -> float:
        return self[0]

    @property
    def low(self) -> float:
        return self[1]

    @property
    def high(self) -> float:
        return self[2]

    def format(self, digits: int = 3) -> str:
        """``"0.263 [0.000†, 0.618]"``: a dagger marks an end clipped onto a bound."""
        if math.isnan(self.mean):
            return "–"
        if math.isnan(self.low):
            return f"{self.mean:.{digits}f}"
        mark = "†" if self.clipped else ""
        return f"{self.mean:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]{mark}"

    def to_dict(self) -> dict[str, float | int | str | bool]:
        """JSON-able form: mean, low, high, n, level, method, clipped."""
        return {
            "mean": self.mean,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "level": self.level,
            "method": self.method,
            "clipped": self.clipped,
        }


def mean_ci(
    values: Iterable[float | bool | None],
    *,
    level: float = 0.95,
    bounds: tuple[float, float] | None = None,
    method: CIMethod = "t",
    seed: int = 0,
    n_boot: int = 10_000,
) -> MeanCI:
    """Mean of ``values`` with a ``level`` confidence interval (see the module docstring).

    Args:
        values: numbers (``None``, ``nan`` and ``inf`` are dropped; booleans count as 0/1).
        level: confidence level in (0, 1).
        bounds: ``(lo, hi)`` the metric can take, or None for an unbounded metric. Values outside
            the bounds raise :class:`InvalidInputError`.
        method: ``"t"`` (clipped to ``bounds`` and marked), ``"bootstrap"`` (percentile) or
            ``"wilson"`` (proportions of 0/1 values).
        seed: seed of the bootstrap resampling (same seed ⇒ same interval).
        n_boot: number of bootstrap resamples.

    Returns:
        :class:`MeanCI` — unpacks as ``(mean, low, high)``.
    """
    if method not in _METHODS:
        raise InvalidInputError(f"mean_ci: method must be one of {_METHODS}, got {method!r}")
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"mean_ci: level must lie in (0, 1), got {level!r}")
    if bounds is not None and not (len(bounds) == 2 and bounds[0] < bounds[1]):
        raise InvalidInputError(f"mean_ci: bounds must be (lo, hi) with lo < hi, got {bounds!r}")
    arr = _finite(values)
    n = int(arr.size)
    if bounds is not None and n and (arr.min() < bounds[0] or arr.max() > bounds[1]):
        raise InvalidInputError(
            f"mean_ci: values lie outside the bounds {bounds}: min {arr.min():g}, max {arr.max():g}"
        )
    nan = float("nan")
    if n == 0:
        return MeanCI(nan, nan, nan, n=0, level=level, method=method)
    mean = float(arr.mean())
    if method == "wilson":
        low, high = _wilson(arr, level)
        return MeanCI(mean, low, high, n=n, level=level, method=method)
    if n == 1:
        return MeanCI(mean, nan, nan, n=1, level=level, method=method)
    if method == "bootstrap":
        low, high = _bootstrap(arr, level, seed, n_boot)
        return MeanCI(mean, low, high, n=n, level=level, method=method)
    from scipy.stats import t as student_t

    half = float(student_t.ppf((1.0 + level) / 2.0, n - 1)) * float(arr.std(ddof=1)) / math.sqrt(n)
    low, high = mean - half, mean + half
    clipped = False
    if bounds is not None:
        clipped = low < bounds[0] or high > bounds[1]
        low, high = max(low, float(bounds[0])), min(high, float(bounds[1]))
    return MeanCI(mean, low, high, n=n, level=level, method=method, clipped=clipped)


def _finite(values: Iterable[float | bool | None]) -> np.ndarray:
    kept = []
    for v in values:
        if v is None:
            continue
        try:
            f = float(v)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"mean_ci: values must be numbers, got {v!r}") from exc
        if math.isfinite(f):
            kept.append(f)
    return np.asarray(kept, dtype=np.float64)


def _bootstrap(arr: np.ndarray, level: float, seed: int, n_boot: int) -> tuple[float, float]:
    if n_boot < 100:
        raise InvalidInputError(f"mean_ci: n_boot must be at least 100, got {n_boot}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, arr.size, size=(n_boot, arr.size))
    means = arr[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _wilson(arr: np.ndarray, level: float) -> tuple[float, float]:
    if not np.isin(arr, (0.0, 1.0)).all():
        raise InvalidInputError("mean_ci: method='wilson' needs 0/1 (or boolean) values")
    from scipy.stats import norm

    n = arr.size
    p = float(arr.mean())
    z = float(norm.ppf((1.0 + level) / 2.0))
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 or 1 an end equals p in exact arithmetic; keep it so despite rounding
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))
