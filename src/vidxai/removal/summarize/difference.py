"""LOCO's and Univariate Predictors' summary: differences to a base clip."""

from __future__ import annotations

from dataclasses import dataclass

from vidxai.core.registry import MethodOutput
from vidxai.removal.summarize.base import SummaryInput, feature_output


@dataclass(frozen=True)
class Difference:
    """One-out design: ``a_j = f(x) − f(x without j)`` (LOCO).
    One-in design: ``a_j = f(only j kept) − f(all removed)`` (Univariate Predictors).
    Row ``1 + j`` of either design is the clip for feature ``j``; row 0 is the base clip.
    """

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        s = inp.samples
        y = inp.scores.double()
        if s.kind == "one_out":
            base = float(y[0])
            return feature_output(inp, base - y[1:], None, intact_score=base)
        if s.kind == "one_in":
            base = float(y[0])
            return feature_output(inp, y[1:] - base, None, removed_score=base)
        raise TypeError(f"Difference needs a one_out or one_in design, got {s.kind!r}")
