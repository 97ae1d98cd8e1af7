"""Pictures: the only vidxai module that draws (matplotlib, Agg canvases only, no pyplot).

Maps:
    VizOptions            display options; ``VizOptions.from_strings(["topk=0.2"])`` for ``--viz``
    prepare_map           attribution T×H×W → display values in [0, 1] (or [-1, 1] signed)
    colorize              display values → RGBA uint8
    select_topk / select_threshold / select_mass   the selection rules on unit values
Videos:
    overlay_frames        heat map over the original frames (+ colour bar, temporal strip)
    side_by_side          original | overlay
    save_overlay          MP4 (primary) or small GIF, streamed frame by frame
    save_overlays         one pass into several files (MP4 + GIF)
Figures:
    frame_grid            methods × sampled frames, PNG + PDF
    temporal_importance   per-frame share of the attribution mass; plot_temporal_importance
    plot_deletion_insertion, plot_minimal_mask, plot_timings, plot_metric_bars, plot_pointing
Report:
    write_html_report     one self-contained page per run (ReportSection or dicts, notes)
    explanation_report    the page of one explanation (vidxai explain)

Names load on first use (matplotlib and PyAV are not imported by ``import vidxai.viz``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "colorize": "colormap",
    "composite": "colormap",
    "default_colormap": "colormap",
    "get_colormap": "colormap",
    "curve_auc": "evaluation",
    "plot_deletion_insertion": "evaluation",
    "plot_metric_bars": "evaluation",
    "plot_minimal_mask": "evaluation",
    "plot_pointing": "evaluation",
    "plot_timings": "evaluation",
    "frame_grid": "grid",
    "grid_frame_indices": "grid",
    "VizOptions": "options",
    "iter_overlay": "overlay",
    "overlay_frames": "overlay",
    "overlay_height": "overlay",
    "side_by_side": "overlay",
    "prepare_map": "prepare",
    "explanation_report": "pages",
    "ReportSection": "report",
    "write_html_report": "report",
    "save_overlay": "save",
    "save_overlays": "save",
    "select_mass": "selection",
    "select_threshold": "selection",
    "select_topk": "selection",
    "colorbar_strip": "strips",
    "strip_height": "strips",
    "temporal_strip": "strips",
    "plot_temporal_importance": "temporal",
    "temporal_importance": "temporal",
}

__all__ = [
    "ReportSection",
    "VizOptions",
    "colorbar_strip",
    "colorize",
    "composite",
    "curve_auc",
    "default_colormap",
    "explanation_report",
    "frame_grid",
    "get_colormap",
    "grid_frame_indices",
    "iter_overlay",
    "overlay_frames",
    "overlay_height",
    "plot_deletion_insertion",
    "plot_metric_bars",
    "plot_minimal_mask",
    "plot_pointing",
    "plot_temporal_importance",
    "plot_timings",
    "prepare_map",
    "save_overlay",
    "save_overlays",
    "select_mass",
    "select_threshold",
    "select_topk",
    "side_by_side",
    "strip_height",
    "temporal_importance",
    "temporal_strip",
    "write_html_report",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'vidxai.viz' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"vidxai.viz.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:
    from vidxai.viz.colormap import colorize, composite, default_colormap, get_colormap
    from vidxai.viz.evaluation import (
        curve_auc,
        plot_deletion_insertion,
        plot_metric_bars,
        plot_minimal_mask,
        plot_pointing,
        plot_timings,
    )
    from vidxai.viz.grid import frame_grid, grid_frame_indices
    from vidxai.viz.options import VizOptions
    from vidxai.viz.overlay import iter_overlay, overlay_frames, overlay_height, side_by_side
    from vidxai.viz.pages import explanation_report
    from vidxai.viz.prepare import prepare_map
    from vidxai.viz.report import ReportSection, write_html_report
    from vidxai.viz.save import save_overlay, save_overlays
    from vidxai.viz.selection import select_mass, select_threshold, select_topk
    from vidxai.viz.strips import colorbar_strip, strip_height, temporal_strip
    from vidxai.viz.temporal import plot_temporal_importance, temporal_importance
