"""Bar plots of the mean scores for the admin page (drawn by ``vidxai.viz``, inlined as PNG
data URIs: the page's Content-Security-Policy forbids the inline styles of matplotlib's SVG)."""

from __future__ import annotations

import base64
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from vidxai.study.analysis import GROUPINGS

YLABEL = "mean score (−2 … 2), 95 % CI"


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def score_plots(summary: dict[str, Any]) -> dict[str, str]:
    """One inline ``<img>`` bar plot (mean with CI per group) per grouping that has ratings."""
    from vidxai.viz.evaluation import plot_metric_bars

    plots = {}
    with tempfile.TemporaryDirectory(prefix="vidxai-study-") as tmp:
        for key, by in GROUPINGS.items():
            rows = summary.get(key) or []
            if not rows:
                continue
            values = {
                "\n".join(str(r[c]) for c in by): {
                    "mean": r["mean"],
                    "low": r["low"] if r["low"] is not None else r["mean"],
                    "high": r["high"] if r["high"] is not None else r["mean"],
                }
                for r in rows
            }
            path = Path(tmp) / f"{key}.png"
            plot_metric_bars(path, values, ylabel=YLABEL, ylim=(-2.0, 2.0))
            plots[key] = _img(path, f"mean score per {' × '.join(by)}")
    return plots
