"""vidxai.stats.mean_ci: known answers, bounds respected, coverage, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidxai.errors import InvalidInputError
from vidxai.stats import mean_ci


def test_t_interval_known_answer():
    # [1, 2, 3, 4]: mean 2.5, s = sqrt(5/3); t_{0.975, 3} = 3.182446 (statistical tables)
    ci = mean_ci([1, 2, 3, 4])
    half = 3.182446 * math.sqrt(5 / 3) / 2
    assert ci.mean == pytest.approx(2.5)
    assert ci.low == pytest.approx(2.5 - half, abs=1e-5)
    assert ci.high == pytest.approx(2.5 + half, abs=1e-5)
    assert ci.method == "t" and not ci.clipped and ci.n == 4
    mean, low, high = ci  # unpacks as a 3-tuple
    assert (mean, low, high) == (ci.mean, ci.low, ci.high)


def test_t_interval_90_percent_known_answer():
    # t_{0.95, 9} = 1.833113
    values = np.arange(10, dtype=float)
    ci = mean_ci(values, level=0.90)
    half = 1.833113 * values.std(ddof=1) / math.sqrt(10)
    assert ci.low == pytest.approx(4.5 - half, abs=1e-5)
    assert ci.high == pytest.approx(4.5 + half, abs=1e-5)


def test_t_interval_clipped_to_bounds_and_marked():
    # the issue-16 case: a deletion AUC over 4 clips whose plain interval goes below 0
    values = [0.05, 0.02, 0.6, 0.39]
    free = mean_ci(values)
    assert free.low < 0.0
    ci = mean_ci(values, bounds=(0.0, 1.0))
    assert ci.low == 0.0 and ci.high == pytest.approx(free.high)
    assert ci.clipped
    assert ci.format().endswith("†")
    assert ci.mean == pytest.approx(free.mean)


def test_bootstrap_stays_inside_data_range_and_is_seeded():
    values = [0.05, 0.02, 0.6, 0.39]
    a = mean_ci(values, method="bootstrap", bounds=(0.0, 1.0), seed=3)
    b = mean_ci(values, method="bootstrap", bounds=(0.0, 1.0), seed=3)
    assert tuple(a) == tuple(b)
    assert min(values) <= a.low <= a.mean <= a.high <= max(values)
    assert not a.clipped and a.method == "bootstrap"
    many = np.random.default_rng(0).uniform(size=40)
    assert tuple(mean_ci(many, method="bootstrap", seed=3)) != tuple(
        mean_ci(many, method="bootstrap", seed=4)
    )


def test_bootstrap_matches_scipy_percentile_bootstrap():
    from scipy.stats import bootstrap

    rng = np.random.default_rng(0)
    values = rng.beta(2, 5, size=25)
    ours = mean_ci(values, method="bootstrap", seed=1, n_boot=20_000)
    ref = bootstrap(
        (values,), np.mean, method="percentile", n_resamples=20_000, random_state=2
    ).confidence_interval
    assert ours.low == pytest.approx(ref.low, abs=0.006)
    assert ours.high == pytest.approx(ref.high, abs=0.006)


def test_wilson_known_answer():
    # 8 hits out of 10 at 95 %: Wilson (1927) interval [0.4902, 0.9433]
    ci = mean_ci([1] * 8 + [0] * 2, method="wilson")
    assert ci.mean == pytest.approx(0.8)
    assert ci.low == pytest.approx(0.4902, abs=1e-4)
    assert ci.high == pytest.approx(0.9433, abs=1e-4)
    # all hits: the interval stays in [0, 1]
    full = mean_ci([True] * 4, method="wilson")
    assert full.high == 1.0 and 0.0 < full.low < 1.0
    for n in range(1, 40):  # the interval always holds the observed proportion
        for hits in (0, n):
            ci = mean_ci([1] * hits + [0] * (n - hits), method="wilson")
            assert ci.low <= ci.mean <= ci.high


@pytest.mark.parametrize("method", ["t", "bootstrap"])
def test_coverage_close_to_nominal(method):
    rng = np.random.default_rng(5)
    hits = 0
    reps = 300
    for i in range(reps):
        sample = rng.uniform(0.0, 1.0, size=30)
        ci = mean_ci(sample, method=method, bounds=(0.0, 1.0), seed=i, n_boot=1000)
        hits += ci.low <= 0.5 <= ci.high
    assert 0.89 <= hits / reps <= 0.99


def test_non_finite_dropped_and_degenerate_cases():
    ci = mean_ci([0.2, None, float("nan"), 0.4])
    assert ci.n == 2 and ci.mean == pytest.approx(0.3)
    empty = mean_ci([])
    assert empty.n == 0 and math.isnan(empty.mean) and empty.format() == "–"
    single = mean_ci([0.7])
    assert single.mean == 0.7 and math.isnan(single.low) and single.format() == "0.700"
    const = mean_ci([0.5, 0.5, 0.5], bounds=(0, 1))
    assert tuple(const) == (0.5, 0.5, 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "normal"}, "method"),
        ({"level": 1.5}, "level"),
        ({"bounds": (1.0, 0.0)}, "bounds"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        mean_ci([0.1, 0.2], **kwargs)


def test_values_outside_bounds_and_non_binary_wilson_rejected():
    with pytest.raises(InvalidInputError, match="outside the bounds"):
        mean_ci([0.1, 1.2], bounds=(0.0, 1.0))
    with pytest.raises(InvalidInputError, match="wilson"):
        mean_ci([0.1, 1.0], method="wilson")
    with pytest.raises(InvalidInputError, match="numbers"):
        mean_ci(["a"])
