"""Minimal explanation mask (Fong & Vedaldi; REVEX's MinMaskEvaluator).

For each absolute threshold ``th`` on the target score: the smallest voxel fraction of the game
at which deleting the top-ranked features drops the score to ``<= th`` (``minimal_mask``) or
inserting them raises it to ``>= th`` (``minimal_mask_insertion``); ``None`` when the game never
gets there. The fractions are those of the game's steps (resolution ``1/n_steps``), and the game
is shared with the deletion / insertion AUC when both are asked for with the same parameters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from vidxai.errors import ParameterError
from vidxai.metrics.games import GameCurve, GameParams, Mode, game_curve
from vidxai.metrics.registry import MetricInputs, MetricOutput, register_metric

#: The thresholds of the REVEX evaluation notebook.
DEFAULT_THRESHOLDS = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class MinimalMaskParams(GameParams):
    """:class:`GameParams` plus ``thresholds``: absolute target scores, each in (0, 1)."""

    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.thresholds) == 0:
            raise ParameterError("thresholds must not be empty")
        for th in self.thresholds:
            if not (isinstance(th, (int, float)) and 0.0 < th < 1.0):
                raise ParameterError(f"thresholds must lie in (0, 1), got {th!r}")

    def game(self) -> GameParams:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(GameParams)}
        return GameParams(**fields)


def crossings(curve: GameCurve, thresholds: tuple[float, ...]) -> dict[float, float | None]:
    """First fraction of ``curve`` at which the score passes each threshold (None if never).

    Deletion: score ``<= th``; insertion: score ``>= th``.
    """
    out: dict[float, float | None] = {}
    for th in thresholds:
        hit = None
        for frac, score in zip(curve.fractions, curve.scores):
            if (score <= th) if curve.mode == "deletion" else (score >= th):
                hit = frac
                break
        out[float(th)] = hit
    return out


def _metric(mode: Mode):  # type: ignore[no-untyped-def]
    def metric(inputs: MetricInputs, params: MinimalMaskParams) -> MetricOutput:
        found = crossings(game_curve(inputs, params.game(), mode), params.thresholds)
        curve = {
            "thresholds": list(found),
            "fractions": [math.nan if v is None else v for v in found.values()],
        }
        return MetricOutput(found, curve)

    metric.__name__ = f"minimal_mask_{mode}"
    return metric


minimal_mask = register_metric(
    "minimal_mask",
    params=MinimalMaskParams,
    higher_is_better=False,
    description="Smallest deleted fraction that drops the target score to each threshold.",
)(_metric("deletion"))

minimal_mask_insertion = register_metric(
    "minimal_mask_insertion",
    params=MinimalMaskParams,
    higher_is_better=False,
    description="Smallest inserted fraction that raises the target score to each threshold.",
)(_metric("insertion"))
