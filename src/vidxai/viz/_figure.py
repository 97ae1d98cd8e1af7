"""Matplotlib without pyplot: Agg canvases only, so nothing global is touched or leaked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from vidxai.errors import InvalidInputError

#: Colours for method lines and bars (Okabe–Ito, colour-blind safe), cycled.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)

SAVE_FORMATS = ("png", "pdf", "svg")


def new_figure(width_in: float, height_in: float, dpi: int = 100) -> Figure:
    """A figure attached to its own Agg canvas (never registered with pyplot)."""
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def to_rgb(fig: Figure) -> np.ndarray:
    """Render a figure to an H×W×3 uint8 array."""
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def save_figure(fig: Figure, path: str | Path, dpi: int | None = None) -> Path:
    """Save by the suffix (.png, .pdf, .svg); creates the folder; releases the figure."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in SAVE_FORMATS:
        raise InvalidInputError(
            f"cannot save a figure as {path.name!r}: use one of .{', .'.join(SAVE_FORMATS)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight", facecolor="white")
    return path


def colour(i: int) -> str:
    """The i-th palette colour."""
    return PALETTE[i % len(PALETTE)]


#: Dash patterns cycled with the colours, so that no two of the first 32 methods share both.
LINESTYLES = ("-", "--", ":", "-.")
#: Markers for methods beyond the 32 colour × dash pairs.
MARKERS = ("", "o", "s", "^", "v", "D")


def method_style(i: int) -> dict[str, object]:
    """Line style of the i-th method: a distinct (colour, dash, marker) for every i.

    Colours cycle over :data:`PALETTE` (8), the dash pattern shifts by one each time the
    colours wrap, so the first 32 methods have distinct colour + dash pairs, and the marker
    changes every 32 methods.
    """
    n_colours, n_dashes = len(PALETTE), len(LINESTYLES)
    dash = LINESTYLES[(i + i // n_colours) % n_dashes]
    marker = MARKERS[(i // (n_colours * n_dashes)) % len(MARKERS)]
    return {"color": PALETTE[i % n_colours], "linestyle": dash, "marker": marker}
