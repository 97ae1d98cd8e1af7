"""Tables of a run: means with bounded confidence intervals per (dataset, model, method).

Used by ``vidxai report`` (and ``vidxai benchmark``). Intervals come from
:func:`vidxai.stats.mean_ci`: the Student-t interval clipped to the metric's bounds and marked †
when clipped (AUCs and minimal-mask fractions of probabilities lie in [0, 1]; IoU and energy
too), and the Wilson interval for hit rates (the pointing game).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from vidxai.stats import MeanCI, mean_ci

GROUP = ("dataset", "model", "method")
TIMING_PARTS = ("segmentation", "inference", "explanation")
#: Metric columns of the summary tables: (column, direction, bounds, interval method).
METRIC_COLUMNS: tuple[tuple[str, str, tuple[float, float] | None, str], ...] = (
    ("deletion", "lower", (0.0, 1.0), "t"),
    ("insertion", "higher", (0.0, 1.0), "t"),
    ("average_drop", "lower", (0.0, 100.0), "t"),
    ("increase_in_confidence", "higher", (0.0, 1.0), "wilson"),
    ("pointing_game", "higher", (0.0, 1.0), "wilson"),
    ("iou", "higher", (0.0, 1.0), "t"),
    ("energy", "higher", (0.0, 1.0), "t"),
)
LOCALISATION = ("pointing_game", "iou", "energy")


def decode(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with their JSON text columns decoded."""
    from vidxai.runner.store import JSON_COLUMNS

    out = []
    for r in rows:
        r = dict(r)
        for c in JSON_COLUMNS:
            if isinstance(r.get(c), str):
                r[c] = json.loads(r[c])
        out.append(r)
    return out


def groups(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Ok rows grouped by (dataset, model, method), in first-seen order."""
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("status") == "ok":
            out.setdefault((r["dataset"], r["model"], r["method"]), []).append(r)
    return out


def _values(rows: Sequence[dict[str, Any]], column: str) -> list[float]:
    out = []
    for r in rows:
        v = r.get(column)
        if v is None:
            continue
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return out


def _bounds(rows: Sequence[dict[str, Any]], bounds: tuple[float, float] | None) -> Any:
    """The games' bounds hold for probabilities; other behaviours are unbounded."""
    if bounds == (0.0, 1.0) and any(r.get("metric_behaviour") != "probability" for r in rows):
        return None
    return bounds


def metric_ci(rows: Sequence[dict[str, Any]], column: str, level: float = 0.95) -> MeanCI | None:
    """Mean and interval of one metric column over rows (None when no row has it)."""
    spec = next((m for m in METRIC_COLUMNS if m[0] == column), None)
    values = _values(rows, column)
    if not values:
        return None
    if spec is None:
        return mean_ci(values, level=level)
    bounds = spec[2] if column not in ("deletion", "insertion") else _bounds(rows, spec[2])
    method = spec[3]
    if method == "wilson" and not set(values) <= {0.0, 1.0}:
        method = "t"
    return mean_ci(values, level=level, bounds=bounds, method=method)  # type: ignore[arg-type]


def metric_table(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], level: float = 0.95
) -> list[dict[str, Any]]:
    """One row per (dataset, model, method): ``n`` and, per column, ``mean``/``low``/``high``
    (numbers, for CSV) and a display string ``column`` (``"0.263 [0.000, 0.618]†"``)."""
    table = []
    for (dataset, model, method), members in groups(rows).items():
        entry: dict[str, Any] = {
            "dataset": dataset,
            "model": model,
            "method": method,
            "n": len(members),
        }
        for column in columns:
            ci = metric_ci(members, column, level)
            if ci is None:
                continue
            entry[column] = ci.format()
            entry[f"{column}_mean"], entry[f"{column}_low"], entry[f"{column}_high"] = ci
            entry[f"{column}_clipped"] = ci.clipped
            entry[f"{column}_ci"] = ci.method
        table.append(entry)
    return table


def display(table: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The table with only its display strings (for the HTML page)."""
    arrows = {m[0]: {"lower": " ↓", "higher": " ↑"}[m[1]] for m in METRIC_COLUMNS}
    out = []
    for r in table:
        row = {k: r[k] for k in ("dataset", "model", "method", "n")}
        for c in columns:
            row[c + arrows.get(c, "")] = r.get(c, "–")
        out.append(row)
    return out


def timing_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean seconds per explanation (REVEX Fig. 9 breakdown) and passes, per group."""
    table = []
    for (dataset, model, method), members in groups(rows).items():
        entry: dict[str, Any] = {"dataset": dataset, "model": model, "method": method}
        for part in (*TIMING_PARTS, "total", "evaluation"):
            values = _values(members, f"time_{part}")
            entry[f"{part}_s"] = float(np.mean(values)) if values else None
        for count in ("n_forward", "n_backward"):
            values = _values(members, count)
            entry[count] = float(np.mean(values)) if values else None
        table.append(entry)
    return table


def minimal_mask_table(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group, game and threshold: mean fraction kept over the clips reaching the threshold,
    and how many reached it (REVEX Figs. 12–13)."""
    table = []
    for (dataset, model, method), members in groups(rows).items():
        for column, game in (("minimal_mask", "deletion"), ("minimal_mask_insertion", "insertion")):
            per_threshold: dict[float, list[float | None]] = defaultdict(list)
            for r in members:
                for th, frac in (r.get(column) or {}).items():
                    per_threshold[float(th)].append(frac)
            for th in sorted(per_threshold):
                fracs = per_threshold[th]
                reached = [f for f in fracs if f is not None]
                table.append(
                    {
                        "dataset": dataset,
                        "model": model,
                        "method": method,
                        "game": game,
                        "threshold": th,
                        "mean_fraction": float(np.mean(reached)) if reached else None,
                        "reached": len(reached),
                        "n": len(fracs),
                    }
                )
    return table


def mean_curves(members: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Deletion/insertion curves of a group: clips × steps scores (same fractions only)."""
    out: dict[str, dict[str, Any]] = {}
    for game in ("deletion", "insertion"):
        fractions = None
        scores = []
        for r in members:
            curve = (r.get("curves") or {}).get(game)
            if not curve:
                continue
            if fractions is None:
                fractions = curve["fractions"]
            if curve["fractions"] == fractions:
                scores.append(curve["scores"])
        if fractions is not None and scores:
            out[game] = {"fractions": fractions, "scores": scores}
    return out
