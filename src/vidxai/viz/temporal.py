"""Temporal importance: how much of the attribution mass lies in each frame."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidxai.errors import InvalidInputError
from vidxai.viz._figure import colour, new_figure, save_figure
from vidxai.viz.options import POLARITIES
from vidxai.viz.prepare import as_volume


def temporal_importance(attribution: Any, polarity: str = "positive") -> np.ndarray:
    """Share of the attribution mass in each frame.

    Args:
        attribution: T×H×W array or tensor.
        polarity: ``positive`` sums max(a, 0) per frame, ``negative`` sums max(−a, 0),
            ``absolute`` and ``signed`` sum |a|.

    Returns:
        float64 array of T values summing to 1 (all zeros when there is no mass).
    """
    volume = as_volume(attribution).astype(np.float64)
    if polarity not in POLARITIES:
        raise InvalidInputError(
            f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}"
        )
    if polarity == "positive":
        volume = np.maximum(volume, 0.0)
    elif polarity == "negative":
        volume = np.maximum(-volume, 0.0)
    else:
        volume = np.abs(volume)
    per_frame = volume.sum(axis=(1, 2))
    total = per_frame.sum()
    return per_frame / total if total > 0 else per_frame


def plot_temporal_importance(
    path: str | Path,
    curves: Any,
    *,
    frame_indices: Sequence[int] | None = None,
    fps: float | None = None,
    title: str | None = "Temporal importance",
) -> Path:
    """Plot one or more temporal-importance curves and save them (PNG/PDF/SVG by suffix).

    Args:
        path: output file.
        curves: a 1-D sequence (one curve) or ``{name: 1-D sequence}``; each value is a frame's
            share of the mass (e.g. from :func:`temporal_importance`).
        frame_indices: original frame number of each point (e.g. ``geometry.frame_indices``);
            default 0..T−1.
        fps: when given, the x axis is in seconds.
        title: figure title (None for none).

    Returns:
        the path written.
    """
    named = _named_curves(curves)
    fig = new_figure(7.0, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    for i, (name, values) in enumerate(named.items()):
        x = np.asarray(
            frame_indices if frame_indices is not None else np.arange(values.size), float
        )
        if x.size != values.size:
            raise InvalidInputError(
                f"frame_indices has {x.size} entries but curve {name!r} has {values.size}"
            )
        if fps:
            x = x / fps
        ax.plot(x, values, marker="o", markersize=3, color=colour(i), label=name)
    ax.set_xlabel("time (s)" if fps else "frame")
    ax.set_ylabel("share of attribution")
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.grid(alpha=0.3)
    if len(named) > 1 or next(iter(named)) != "":
        ax.legend(fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    return save_figure(fig, path, dpi=150)


def _named_curves(curves: Any) -> dict[str, np.ndarray]:
    if isinstance(curves, Mapping):
        items = {str(k): np.asarray(v, dtype=np.float64).ravel() for k, v in curves.items()}
    else:
        items = {"": np.asarray(curves, dtype=np.float64).ravel()}
    if not items or any(v.size == 0 for v in items.values()):
        raise InvalidInputError("temporal importance: give at least one non-empty curve")
    return items
