"""Strips drawn under overlay frames: the temporal curve and the colour bar.

Each strip is rendered once (matplotlib, Agg) at the frame width and stacked under every
frame.  Text has a fixed pixel size (:data:`TEXT_PX`) whatever the video size, so labels stay
readable on small clips and do not grow on large ones.

* The temporal strip has a label row on top and the curve below; the moving playhead
  (:func:`with_marker`) is drawn only in the curve rows, so it never crosses the label.
  Each frame's bar is drawn in the colour the overlay uses for the bar's height, so the strip
  and the picture agree (see :class:`vidxai.viz.mapping.FrameMaps` for what the height is).
* The colour bar has ``low [gradient] high`` in one row and its caption (what the colours
  mean, which selection is shown) on the row(s) above; the caption is wrapped, never dropped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath

from vidxai.viz._figure import new_figure, to_rgb
from vidxai.viz.colormap import colorize
from vidxai.viz.options import VizOptions

_DPI = 100
#: Height of strip text in pixels (cap height + descenders ≈ this).
TEXT_PX = 12
#: Height of one text row in pixels.
ROW_PX = 16
_PAD = 4
_FONT_PT = TEXT_PX * 72.0 / _DPI
_INK = "#222222"


@lru_cache(maxsize=256)
def text_width(text: str, px: float = TEXT_PX) -> float:
    """Width in pixels of ``text`` drawn at ``px`` pixels (matplotlib's default font)."""
    prop = FontProperties(size=px * 72.0 / _DPI)
    width, _, _ = TextToPath().get_text_width_height_descent(text, prop, ismath=False)
    return float(width) * _DPI / 72.0


def curve_height(width: int) -> int:
    """Height in pixels of the curve area of the temporal strip (even, 24-48)."""
    height = int(np.clip(round(width * 0.05), 24, 48))
    return height + (height % 2)


def strip_height(width: int) -> int:
    """Height in pixels of the temporal strip under a frame of this width (even)."""
    return ROW_PX + curve_height(width)


def _labels(options: VizOptions) -> tuple[str, str, str]:
    shown = {
        "topk": f"top {options.topk:.0%} shown",
        "threshold": f"values ≥ {options.threshold:g} shown",
        "mass": f"{options.mass:.0%} of the mass shown",
        None: "all values shown",
    }[options.selection]
    if options.polarity == "signed":
        return "against", f"evidence against ↔ for · {shown}", "for"
    caption = {
        "positive": "evidence for",
        "negative": "evidence against",
        "absolute": "|relevance|",
    }[options.polarity]
    return "low", f"{caption} · {shown}", "high"


def _wrap(caption: str, room: float) -> list[str]:
    """Split the caption at " · " into as few rows as fit in ``room`` pixels."""
    parts = caption.split(" · ")
    rows: list[str] = []
    for part in parts:
        if rows and text_width(f"{rows[-1]} · {part}") <= room:
            rows[-1] = f"{rows[-1]} · {part}"
        else:
            rows.append(part)
    return rows


def colorbar_rows(width: int, options: VizOptions | None = None) -> list[str]:
    """The caption rows the colour bar of this width shows (wrapped to fit)."""
    options = options if options is not None else VizOptions()
    return _wrap(_labels(options)[1], width - 2 * _PAD)


def colorbar_height(width: int, options: VizOptions | None = None) -> int:
    """Height in pixels of :func:`colorbar_strip` at this width (even)."""
    height = ROW_PX * (1 + len(colorbar_rows(width, options))) + _PAD
    return height + (height % 2)


def colorbar_strip(
    width: int, options: VizOptions | None = None, height: int | None = None
) -> np.ndarray:
    """A colour-bar strip: height×width×3 uint8 (white background, gradient, labels).

    The gradient shows exactly the colours :func:`colorize` gives (full opacity), from the
    lowest value (left) to the highest (right); signed maps have 0 in the middle.  The
    caption says what the colours mean and which values are shown.

    Args:
        width: strip width in pixels (the overlay's width).
        options: :class:`VizOptions` of the overlay.
        height: force a height (default :func:`colorbar_height`); text keeps its size.
    """
    options = options if options is not None else VizOptions()
    rows = colorbar_rows(width, options)
    height = height if height is not None else colorbar_height(width, options)
    fig = new_figure(width / _DPI, height / _DPI, dpi=_DPI)
    left, _, right = _labels(options)
    y = height - _PAD / 2
    for row in rows:  # caption rows, top down (figure pixels, origin bottom-left)
        y -= ROW_PX
        fig.text(0.5, (y + ROW_PX / 2) / height, row, **_text("center"))
    y -= ROW_PX
    middle = (y + ROW_PX / 2) / height
    left_w, right_w = text_width(left) + 2 * _PAD, text_width(right) + 2 * _PAD
    fig.text(_PAD / width, middle, left, **_text("left"))
    fig.text(1.0 - _PAD / width, middle, right, **_text("right"))
    bar_h = ROW_PX - 4
    ax = fig.add_axes(
        (
            left_w / width,
            (y + 2) / height,
            max(1.0, width - left_w - right_w) / width,
            bar_h / height,
        )
    )
    low = -1.0 if options.signed else 0.0
    ramp = np.linspace(low, 1.0, 256, dtype=np.float32)[None, :]
    solid = colorize(ramp, options.replace(alpha=1.0, alpha_mode="constant"))[..., :3]
    ax.imshow(solid, aspect="auto", interpolation="nearest")
    if options.signed:  # mark zero
        ax.axvline(127.5, color="#333333", linewidth=1.0)
    ax.set_axis_off()
    return _exact(to_rgb(fig), height, width)


def _text(ha: str) -> dict[str, Any]:
    return {"ha": ha, "va": "center", "fontsize": _FONT_PT, "color": _INK}


def curve_label(options: VizOptions) -> str:
    """What the temporal strip's bar heights mean under these options."""
    if options.normalise == "frame":
        return "time · share of the attribution per frame"
    return "time · strongest colour per frame"


def temporal_strip(
    curve: np.ndarray,
    width: int,
    height: int | None = None,
    *,
    options: VizOptions | None = None,
    label: str | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """A temporal strip: height×width×3 uint8 with a label row and one bar per frame.

    Args:
        curve: one value per original frame; frame t's bar is centred at
            x = (t + 0.5)·width / len(curve).
        width: strip width in pixels.
        height: total height (default :func:`strip_height`); the label row keeps its size.
        options: the overlay's options; bars take the colours of :func:`colorize` at their
            height (an unsigned curve) — the same colours the overlay shows.
        label: the label (default :func:`curve_label`).
        scale: the value drawn full height (default: the curve's peak).
    """
    options = options if options is not None else VizOptions()
    curve = np.abs(np.asarray(curve, dtype=np.float64))
    height = height if height is not None else strip_height(width)
    fig = new_figure(width / _DPI, height / _DPI, dpi=_DPI)
    plot_h = height - ROW_PX
    ax = fig.add_axes((0.0, 0.0, 1.0, plot_h / height))
    peak = scale if scale is not None else (float(curve.max()) if curve.size else 0.0)
    y = np.clip(curve / peak, 0.0, 1.0) if peak > 0 else curve
    solid = options.replace(alpha=1.0, alpha_mode="constant", polarity="positive")
    colours = colorize(y.astype(np.float32), solid)[:, :3] / 255.0
    ax.bar(np.arange(curve.size), y, width=1.0, color=colours, linewidth=0)
    ax.set_xlim(-0.5, curve.size - 0.5)
    ax.set_ylim(0.0, 1.05)
    ax.set_facecolor("#f2f2f2")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    text = label if label is not None else curve_label(options)
    while text_width(text) > width - 2 * _PAD and " · " in text:
        text = text.split(" · ", 1)[1]  # drop the leading words until it fits
    fig.text(_PAD / width, (plot_h + ROW_PX / 2) / height, text, **_text("left"))
    return _exact(to_rgb(fig), height, width)


def with_marker(strip: np.ndarray, t: int, n_frames: int) -> np.ndarray:
    """A copy of a temporal strip with a dark playhead at frame ``t``, drawn only in the
    curve rows (below the label row)."""
    out = strip.copy()
    width = out.shape[1]
    x = int((t + 0.5) * width / max(n_frames, 1))
    half = max(1, width // 400)
    top = min(ROW_PX, out.shape[0] // 2)
    out[top:, max(0, x - half) : min(width, x + half + 1)] = (40, 40, 40)
    return out


def _exact(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or pad (white) to exactly height×width (Agg rounding can differ by a pixel)."""
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, image.shape[0]), min(width, image.shape[1])
    out[:h, :w] = image[:h, :w]
    return out
