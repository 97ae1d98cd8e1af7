"""``n_samples="auto"``: score a prefix-consistent design in rounds until the standard errors
are small enough relative to the map's range."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples

#: Default ``tolerance`` of ``n_samples="auto"`` (RMS standard error / map range).
DEFAULT_TOLERANCE = 0.015
#: Default ``max_samples`` of ``n_samples="auto"``.
DEFAULT_MAX_SAMPLES = 4000


@dataclass(frozen=True)
class AutoBudget:
    """Stopping rule of ``n_samples="auto"``.

    After each round the summary is computed on all rows scored so far; sampling stops once
    :func:`relative_standard_error` ≤ ``tolerance`` or ``max_samples`` rows were scored.

    Attributes:
        tolerance: largest accepted RMS standard error relative to the map's range (> 0).
        max_samples: most rows (forward passes) ever scored.
        first: rows of the first round (raised to what the summary needs, e.g. ``M + 2`` for
            Kernel SHAP).
        growth: each round multiplies the rows scored so far by this factor (> 1).
    """

    tolerance: float = DEFAULT_TOLERANCE
    max_samples: int = DEFAULT_MAX_SAMPLES
    first: int = 100
    growth: float = 1.5

    def __post_init__(self) -> None:
        if not (isinstance(self.tolerance, (int, float)) and self.tolerance > 0):
            raise ParameterError(f"tolerance must be > 0, got {self.tolerance!r}")
        if isinstance(self.max_samples, bool) or not isinstance(self.max_samples, int):
            raise ParameterError(f"max_samples must be an integer, got {self.max_samples!r}")
        if self.max_samples < 2 or self.first < 1 or not self.growth > 1:
            raise ParameterError(
                f"max_samples must be ≥ 2 (got {self.max_samples}), first ≥ 1, growth > 1"
            )


def relative_standard_error(out: MethodOutput) -> float:
    """RMS of the reported standard errors divided by the range (max − min) of the values they
    belong to (per feature when the summary reports ``feature_attribution``, else per voxel).

    Returns ``inf`` when some standard error is infinite (a feature never kept) or the map is
    constant but uncertain, 0 for an exact map.
    """
    se = out.extras.get("standard_error")
    if se is None:
        return 0.0
    values = out.extras.get("feature_attribution", out.attribution)
    se = torch.as_tensor(se).double().flatten()
    values = torch.as_tensor(values).double().flatten()
    if not bool(torch.isfinite(se).all()):
        return math.inf
    rms = float(se.pow(2).mean().sqrt())
    spread = float(values.max() - values.min())
    if rms == 0.0:
        return 0.0
    return rms / spread if spread > 0 else math.inf


def _aligned(n: int, samples: Samples, least: int) -> int:
    """``n`` rows rounded up to whole units after the fixed rows, clamped to the design."""
    n = max(n, least)
    random_rows = max(0, n - samples.first_random)
    n = samples.first_random + math.ceil(random_rows / samples.unit) * samples.unit
    return min(n, samples.n)


class Rounds:
    """The rounds of :func:`score_in_rounds` as a stepper, so that several clips can run their
    rounds in lockstep with one engine call per round for all of them.

    ``next_rows()`` gives the rows ``(start, stop)`` to score next (None once finished);
    ``add(scores)`` takes their ``stop − start`` values, summarises every row scored so far and
    applies the stopping rule; ``out`` is the final summary once finished.
    """

    def __init__(
        self,
        samples: Samples,
        summarize: Callable[[Samples, Tensor], MethodOutput],
        budget: AutoBudget,
        least: int,
    ) -> None:
        if not samples.nested:
            raise ParameterError(
                "n_samples='auto' scores a design in rounds and needs a prefix-consistent "
                f"sampler; this {samples.kind!r} design depends on its budget (e.g. "
                "complete=True): give a fixed n_samples"
            )
        self.samples, self.summarize, self.budget = samples, summarize, budget
        self.done, self.rounds = 0, 0
        self.parts: list[Tensor] = []
        self.target = _aligned(budget.first, samples, least)
        self.out: MethodOutput | None = None

    def next_rows(self) -> tuple[int, int] | None:
        """Rows ``[start, stop)`` of the next round, or None once the rule has stopped."""
        return None if self.out is not None else (self.done, self.target)

    def add(self, scores: Tensor) -> None:
        """Record the scores of :meth:`next_rows`'s rows; summarise; stop or plan the next."""
        self.parts.append(scores)
        self.done, self.rounds = self.target, self.rounds + 1
        out = self.summarize(self.samples.head(self.done), torch.cat(self.parts))
        rel = relative_standard_error(out)
        if rel <= self.budget.tolerance or self.done >= self.samples.n:
            out.extras.update(
                n_samples_used=self.done, rounds=self.rounds, relative_standard_error=rel
            )
            self.out = out
            return
        grown = math.ceil(self.done * self.budget.growth)
        self.target = _aligned(grown, self.samples, self.done + 1)


def score_in_rounds(
    samples: Samples,
    score: Callable[[int, int], Tensor],
    summarize: Callable[[Samples, Tensor], MethodOutput],
    budget: AutoBudget,
    least: int,
) -> MethodOutput:
    """Score rows ``[0, n)`` of ``samples`` round by round (one ``score(start, stop)`` call —
    one engine call — per round) until the budget's rule stops.

    Args:
        samples: the design of ``budget.max_samples`` rows (prefix-consistent, else
            ParameterError).
        score: ``(start, stop) → stop − start`` target values of those rows.
        summarize: ``(first n rows, their n scores) → MethodOutput``.
        least: fewest rows the summary can use.

    Returns:
        The summary of the rows scored, with extras ``n_samples_used``, ``rounds`` and
        ``relative_standard_error`` (the value the rule saw last).
    """
    rounds = Rounds(samples, summarize, budget, least)
    while (rows := rounds.next_rows()) is not None:
        rounds.add(score(*rows))
    assert rounds.out is not None
    return rounds.out
