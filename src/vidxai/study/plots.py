"""Bar plots of the mean scores for the admin page (drawn by ``vidxai.viz``, inlined as SVG)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from vidxai.study.analysis import GROUPINGS

YLABEL = "mean score (−2 … 2), 95 % CI"


def _svg(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else ""


def score_plots(summary: dict[str, Any]) -> dict[str, str]:
    """One inline SVG bar plot (mean with CI per group) for each grouping that has ratings."""
    from vidxai.viz.evaluation import plot_metric_bars

    plots = {}
    with tempfile.TemporaryDirectory(prefix="vidxai-study-") as tmp:
        for key, by in GROUPINGS.items():
            rows = summary.get(key) or []
            if not rows:
                continue
            values = {
                " · ".join(str(r[c]) for c in by): {
                    "mean": r["mean"],
                    "low": r["low"] if r["low"] is not None else r["mean"],
                    "high": r["high"] if r["high"] is not None else r["mean"],
                }
                for r in rows
            }
            path = Path(tmp) / f"{key}.svg"
            plot_metric_bars(path, values, ylabel=YLABEL, ylim=(-2.0, 2.0))
            plots[key] = _svg(path)
    return plots
