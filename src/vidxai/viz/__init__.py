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
"""

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
from vidxai.viz.prepare import prepare_map
from vidxai.viz.report import ReportSection, write_html_report
from vidxai.viz.save import save_overlay, save_overlays
from vidxai.viz.selection import select_mass, select_threshold, select_topk
from vidxai.viz.strips import colorbar_strip, strip_height, temporal_strip
from vidxai.viz.temporal import plot_temporal_importance, temporal_importance

__all__ = [
    "ReportSection",
    "VizOptions",
    "colorbar_strip",
    "colorize",
    "composite",
    "curve_auc",
    "default_colormap",
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
