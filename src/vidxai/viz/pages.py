""":func:`explanation_report`: the HTML page of one explanation (``vidxai explain``).

Built on :func:`vidxai.viz.write_html_report`, like the demo's and the runner's pages: the
overlay video (MP4, with the GIF as a fallback picture), the frame grid, the temporal curve,
the numbers (target, score, passes, timings), the method's parameters, the display options,
and links to every file written.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vidxai.viz.options import VizOptions
from vidxai.viz.report import write_html_report

IMAGE_SUFFIXES = (".mp4", ".gif", ".png", ".jpg", ".svg")


def _numbers(explanation: Any, elapsed: Mapping[str, float] | None) -> list[dict[str, Any]]:
    label = explanation.target_name or explanation.target
    rows: list[dict[str, Any]] = [
        {"quantity": "method", "value": explanation.method},
        {"quantity": "model", "value": explanation.model_name},
        {"quantity": "target", "value": f"{label} (index {explanation.target})"},
        {"quantity": f"score ({explanation.behaviour})", "value": float(explanation.score)},
        {"quantity": "forward passes (clips)", "value": explanation.n_forward},
        {"quantity": "backward passes (clips)", "value": explanation.n_backward},
        {"quantity": "seed", "value": explanation.seed},
    ]
    for key, seconds in explanation.timings.items():
        rows.append({"quantity": f"time: {key} (s)", "value": float(seconds)})
    for key, seconds in (elapsed or {}).items():
        rows.append({"quantity": f"time: {key} (s)", "value": float(seconds)})
    return rows


def _parameters(explanation: Any) -> list[dict[str, Any]]:
    rows = []
    for key, value in sorted(explanation.params.items()):
        shown = value if isinstance(value, (int, float, str, bool)) or value is None else None
        if shown is None and value is not None:
            try:
                shown = json.dumps(value)
            except TypeError:
                shown = type(value).__name__
        rows.append({"parameter": key, "value": shown})
    return rows


def explanation_report(
    out_dir: str | Path,
    explanation: Any,
    files: Sequence[str | Path],
    *,
    title: str | None = None,
    options: VizOptions | None = None,
    command: str = "",
    video: str | None = None,
    elapsed: Mapping[str, float] | None = None,
    notes: Sequence[str] = (),
    filename: str = "report.html",
) -> Path:
    """Write the page of one explanation into ``out_dir``.

    Args:
        out_dir: the folder holding the files (the page links them relatively).
        explanation: a :class:`vidxai.Explanation`.
        files: every file written for it; ``.mp4``/``.gif``/``.png`` files are shown (the
            first MP4 is the overlay; a GIF next to an MP4 is only linked), all are linked.
        title: page title (default ``"<method> on <video>"``).
        options: the display options used for the pictures (listed on the page).
        command: the command line that made the files (shown under the title).
        video: the video's name or path.
        elapsed: extra timings to list, e.g. ``{"decode": 1.1, "pictures": 2.3}``.
        notes: notices shown at the top of the page (see :func:`write_html_report`).
        filename: the page's file name.

    Returns:
        The path of the page.
    """
    paths = [Path(f) for f in files]
    shown = [p for p in paths if p.suffix.lower() in IMAGE_SUFFIXES]
    has_mp4 = any(p.suffix.lower() == ".mp4" for p in shown)
    pictures = [p for p in shown if not (has_mp4 and p.suffix.lower() == ".gif")]
    captions = {
        ".mp4": "overlay (H.264): heat map over the video; below it the temporal strip "
        "and the colour bar",
        ".gif": "overlay (GIF)",
    }
    images = []
    for p in pictures:
        caption = captions.get(p.suffix.lower(), "")
        if p.stem.endswith("_grid"):
            caption = "sampled frames: the video (top) and the explanation"
        elif p.stem.endswith("_temporal"):
            caption = "temporal importance: each model frame's share of the attribution"
        images.append({"path": p, "caption": caption})
    options = options if options is not None else VizOptions()
    viz_rows = [
        {"option": f.name, "value": getattr(options, f.name)} for f in dataclasses.fields(options)
    ]
    sections: list[dict[str, Any]] = [
        {"title": "Explanation", "images": images},
        {"title": "Numbers", "table": _numbers(explanation, elapsed)},
        {
            "title": "Parameters",
            "table": _parameters(explanation) or [{"parameter": "(none)", "value": None}],
        },
        {"title": "Display options", "table": viz_rows},
        {"title": "Files", "files": paths},
    ]
    name = title or f"{explanation.method} on {video or 'the clip'}"
    return write_html_report(
        out_dir, name, sections, filename=filename, subtitle=command, notes=notes
    )
