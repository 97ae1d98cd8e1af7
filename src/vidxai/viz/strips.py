"""Strips drawn under overlay frames: the colour bar and the temporal-importance curve.

Each strip is rendered once (matplotlib, Agg) at the frame width and stacked under every
frame; the temporal strip gets a moving marker at the current frame.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from vidxai.viz._figure import new_figure, to_rgb
from vidxai.viz.colormap import colorize
from vidxai.viz.options import VizOptions

_DPI = 100


def strip_height(width: int) -> int:
    """Height in pixels of a strip under a frame of this width (even, 32-64)."""
    height = int(np.clip(round(width * 0.08), 32, 64))
    return height + (height % 2)


def _labels(options: VizOptions) -> tuple[str, str, str]:
    shown = {
        "topk": f"top {options.topk:.0%} shown",
        "threshold": f"values ≥ {options.threshold:g} shown",
        "mass": f"{options.mass:.0%} of the mass shown",
        None: "all values shown",
    }[options.selection]
    if options.polarity == "signed":
        return "against", shown, "for"
    caption = {
        "positive": "evidence for",
        "negative": "evidence against",
        "absolute": "|relevance|",
    }[options.polarity]
    return "low", f"{caption} · {shown}", "high"


def colorbar_strip(
    width: int, options: VizOptions | None = None, height: int | None = None
) -> np.ndarray:
    """A colour-bar strip: height×width×3 uint8 (white background, gradient, labels).

    The gradient shows exactly the colours :func:`colorize` gives (full opacity), from the
    lowest value (left) to the highest (right); signed maps have 0 in the middle.
    """
    options = options if options is not None else VizOptions()
    height = height if height is not None else strip_height(width)
    fig = new_figure(width / _DPI, height / _DPI, dpi=_DPI)
    low = -1.0 if options.signed else 0.0
    ramp = np.linspace(low, 1.0, 256, dtype=np.float32)[None, :]
    solid = colorize(ramp, options.replace(alpha=1.0, alpha_mode="constant"))[..., :3]
    margin = 4.0 / width
    ax = fig.add_axes((margin, 0.55, 1.0 - 2 * margin, 0.38))
    ax.imshow(solid, aspect="auto", interpolation="nearest")
    if options.signed:  # mark zero
        ax.axvline(127.5, color="#333333", linewidth=1.0)
    ax.set_axis_off()
    left, middle, right = _labels(options)
    size = max(5.0, min(11.0, height * 0.30 * 72 / _DPI))
    texts = [
        fig.text(margin, 0.27, left, ha="left", va="center", fontsize=size),
        fig.text(0.5, 0.27, middle, ha="center", va="center", fontsize=size),
        fig.text(1.0 - margin, 0.27, right, ha="right", va="center", fontsize=size),
    ]
    _fit_text(fig, texts, width - 8)
    return _exact(to_rgb(fig), height, width)


def _fit_text(fig: Figure, texts: list[Text], room: float) -> None:
    """Shrink the labels until they fit side by side in ``room`` pixels; drop the middle
    caption's details (after " · ") and then the caption itself if they still do not."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]

    def needed() -> float:
        return sum(t.get_window_extent(renderer).width for t in texts if t.get_text()) + 16

    while needed() > room and float(texts[1].get_fontsize()) > 5.0:
        for t in texts:
            t.set_fontsize(float(t.get_fontsize()) - 0.5)
    if needed() > room:
        texts[1].set_text(texts[1].get_text().split(" · ")[-1])
    if needed() > room:
        texts[1].set_text("")


def temporal_strip(curve: np.ndarray, width: int, height: int | None = None) -> np.ndarray:
    """A temporal-importance strip: height×width×3 uint8 showing ``curve`` (one value per
    original frame, frame t centred at x = (t + 0.5)·width / len(curve))."""
    curve = np.asarray(curve, dtype=np.float64)
    height = height if height is not None else strip_height(width)
    fig = new_figure(width / _DPI, height / _DPI, dpi=_DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    x = np.arange(curve.size)
    peak = float(np.abs(curve).max()) if curve.size else 0.0
    y = curve / peak if peak > 0 else curve
    ax.fill_between(x, 0, y, step="mid", color="#E69F00", alpha=0.85, linewidth=0)
    ax.set_xlim(-0.5, curve.size - 0.5)
    ax.set_ylim(min(0.0, float(y.min(initial=0.0))) - 0.05, 1.45)
    ax.set_axis_off()
    size = max(5.0, min(10.0, height * 0.26 * 72 / _DPI))
    label = ax.text(
        0.01,
        0.95,
        "temporal importance",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize=size,
        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.0},
    )
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    while (
        label.get_window_extent(renderer).width > 0.9 * width and float(label.get_fontsize()) > 5.0
    ):
        label.set_fontsize(float(label.get_fontsize()) - 0.5)
    if label.get_window_extent(renderer).width > 0.9 * width:
        label.set_text("time")
    return _exact(to_rgb(fig), height, width)


def with_marker(strip: np.ndarray, t: int, n_frames: int) -> np.ndarray:
    """A copy of a temporal strip with a dark vertical marker at frame ``t``."""
    out = strip.copy()
    width = out.shape[1]
    x = int((t + 0.5) * width / max(n_frames, 1))
    half = max(1, width // 400)
    out[:, max(0, x - half) : min(width, x + half + 1)] = (40, 40, 40)
    return out


def _exact(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or pad (white) to exactly height×width (Agg rounding can differ by a pixel)."""
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, image.shape[0]), min(width, image.shape[1])
    out[:h, :w] = image[:h, :w]
    return out
