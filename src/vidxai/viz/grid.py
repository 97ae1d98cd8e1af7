""":func:`frame_grid`: methods as rows, sampled frames as columns (PNG and PDF)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from vidxai.errors import InvalidInputError
from vidxai.viz._figure import new_figure, save_figure
from vidxai.viz.colormap import default_colormap, get_colormap, shade
from vidxai.viz.mapping import FrameMaps
from vidxai.viz.options import VizOptions
from vidxai.viz.overlay import as_frames
from vidxai.viz.strips import _labels

#: Cells wider than this are shrunk (area filter) before drawing: the PNG shows a cell about
#: 255 px wide (1.7 in at 150 dpi), so twice that keeps every detail and saves the drawing time.
CELL_PIXELS = 512


def _fit(cell: np.ndarray) -> np.ndarray:
    """An H×W×3 uint8 cell at most :data:`CELL_PIXELS` wide (aspect kept)."""
    height, width = cell.shape[:2]
    if width <= CELL_PIXELS:
        return cell
    from PIL import Image

    size = (CELL_PIXELS, max(1, round(height * CELL_PIXELS / width)))
    return np.asarray(Image.fromarray(cell).resize(size, Image.Resampling.BOX))


#: Width of one character of the row labels, in font sizes (a generous average for sans-serif).
_CHAR_WIDTH = 0.62
_LABEL_SIZES = (10.0, 9.0, 8.0, 7.0)


def fit_row_label(name: str, height_in: float) -> tuple[str, float]:
    """A row label that fits along a cell ``height_in`` inches tall (the label is rotated).

    The font shrinks from 10 to 7 pt first; a label still too long is broken into lines at
    ``_``, ``-``, ``.`` or spaces (a part longer than a line is cut), at most three lines, so
    that long method names (``smooth_gradcampp (layer4)``) stay inside their row.

    Returns:
        ``(text with newlines, font size in points)``.
    """
    length_pt = max(height_in, 0.1) * 72.0
    for size in _LABEL_SIZES:
        if len(name) * _CHAR_WIDTH * size <= length_pt:
            return name, size
    size = _LABEL_SIZES[-1]
    per_line = max(4, int(length_pt / (_CHAR_WIDTH * size)))
    parts = [p for p in re.split(r"(?<=[_\-. ])", name) if p]
    lines: list[str] = []
    line = ""
    for part in parts:
        while len(part) > per_line:
            if line:
                lines.append(line)
                line = ""
            lines.append(part[:per_line])
            part = part[per_line:]
        if len(line) + len(part) > per_line:
            lines.append(line)
            line = ""
        line += part
    if line:
        lines.append(line)
    lines = [ln.strip() for ln in lines if ln.strip()]
    if len(lines) > 3:
        lines = [*lines[:2], lines[2][: per_line - 1] + "…"]
    return "\n".join(lines), size


def grid_frame_indices(num_frames: int, n_frames: int) -> list[int]:
    """``n_frames`` original frame indices spread evenly over ``num_frames`` (all if fewer)."""
    if n_frames < 1:
        raise InvalidInputError(f"n_frames must be >= 1, got {n_frames}")
    if num_frames <= n_frames:
        return list(range(num_frames))
    return [round(float(v)) for v in np.linspace(0, num_frames - 1, n_frames)]


def frame_grid(
    path: str | Path,
    frames: Any,
    maps: Mapping[str, Any],
    n_frames: int = 8,
    options: VizOptions | None = None,
    *,
    geometry: Any = None,
    segments: Mapping[str, Any] | None = None,
    frame_indices: Sequence[int] | None = None,
    fps: float | None = None,
    title: str | None = None,
    show_video: bool = True,
    pdf: bool = True,
    dpi: int = 150,
) -> Path:
    """Compare methods frame by frame: one row per method (plus the video on top), one
    column per sampled frame, a colour bar underneath.

    Args:
        path: output image; its suffix picks the format (``.png`` default when there is none).
            With ``pdf=True`` a ``.pdf`` twin is written next to it.
        frames: T0×H0×W0×3 uint8 original frames (or a ``Video``; its fps labels columns).
        maps: ``{method name: map}``; each map is T0×H0×W0, a model-space map (with
            ``geometry``) or an ``Explanation``.  Each is prepared on its own scale.
        n_frames: number of columns (frames spread evenly), unless ``frame_indices``.
        options: :class:`VizOptions` for every row.
        geometry: shared geometry for model-space maps.
        segments: optional ``{method name: label volume}`` for region selection.
        frame_indices: the original frames to show.
        fps: label columns in seconds (taken from a ``Video`` when None).
        title: figure title.
        show_video: first row shows the untouched frames.
        pdf: also write the PDF.
        dpi: resolution of the raster image (a cell is 1.7 in wide: 255 px at 150 dpi).

    Returns:
        the path of the main image.
    """
    options = options if options is not None else VizOptions()
    if not maps:
        raise InvalidInputError("frame_grid needs at least one map")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not 30 <= dpi <= 1200:
        raise InvalidInputError(f"dpi must be an integer in [30, 1200], got {dpi!r}")
    fps = fps if fps is not None else getattr(frames, "fps", None)
    video = as_frames(frames)
    t0, h0, w0 = video.shape[:3]
    columns = list(frame_indices) if frame_indices is not None else grid_frame_indices(t0, n_frames)
    if not columns or any(not 0 <= int(c) < t0 for c in columns):
        raise InvalidInputError(f"frame_indices must lie in [0, {t0 - 1}], got {columns}")
    rows: list[tuple[str, list[np.ndarray]]] = []
    if show_video:
        rows.append(("video", [_fit(video[c]) for c in columns]))
    for name, attribution in maps.items():
        labels = segments.get(name) if segments else None
        fm = FrameMaps((t0, h0, w0), attribution, options, geometry, labels)
        cells = [_fit(shade(video[c], fm.frame(c), options)) for c in columns]
        rows.append((str(name), cells))

    cell_w = 1.7
    cell_h = cell_w * h0 / w0
    fig = new_figure(1.2 + cell_w * len(columns), 0.9 + cell_h * len(rows) + (0.4 if title else 0))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(len(rows), len(columns), squeeze=False)
    for r, (name, cells) in enumerate(rows):
        for c, cell in enumerate(cells):
            ax = axes[r][c]
            ax.imshow(cell, interpolation="antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if r == 0:
                when = f"{columns[c] / fps:.2f} s" if fps else f"frame {columns[c]}"
                ax.set_title(when, fontsize=9)
            if c == 0:
                text, size = fit_row_label(name, cell_h)
                ax.set_ylabel(text, fontsize=size, rotation=90)
    low = -1.0 if options.signed else 0.0
    mappable = ScalarMappable(Normalize(low, 1.0), get_colormap(default_colormap(options)))
    bar = fig.colorbar(
        mappable, ax=axes, orientation="horizontal", fraction=0.06, shrink=0.5, aspect=40
    )
    left, middle, right = _labels(options)
    bar.set_ticks([low, (low + 1.0) / 2, 1.0], labels=[left, "", right])
    bar.set_label(middle, fontsize=9)
    bar.ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title, fontsize=12)
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    written = save_figure(fig, path, dpi=dpi)
    if pdf and path.suffix.lower() != ".pdf":
        save_figure(fig, path.with_suffix(".pdf"))
    return written
