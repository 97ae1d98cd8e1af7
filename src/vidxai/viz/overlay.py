"""Overlays: the heat map alpha-composited over the user's original frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from vidxai.video import validate_frames
from vidxai.viz.colormap import colorize, composite
from vidxai.viz.mapping import FrameMaps
from vidxai.viz.options import VizOptions
from vidxai.viz.strips import colorbar_strip, strip_height, temporal_strip, with_marker

SIDE_GAP = 8


def as_frames(frames: Any) -> np.ndarray:
    """T×H×W×3 uint8 frames from an array or a ``vidxai.video.Video``."""
    if hasattr(frames, "frames") and hasattr(frames, "fps"):
        frames = frames.frames
    return validate_frames(frames)


def iter_overlay(
    frames: Any,
    attribution: Any,
    options: VizOptions | None = None,
    *,
    geometry: Any = None,
    segments: Any = None,
    colorbar: bool = True,
    temporal: bool = True,
    side_by_side: bool = False,
) -> Iterator[np.ndarray]:
    """Yield overlay frames one by one (see :func:`overlay_frames` for the arguments)."""
    options = options if options is not None else VizOptions()
    video = as_frames(frames)
    t0, h0, w0 = video.shape[:3]
    maps = FrameMaps((t0, h0, w0), attribution, options, geometry, segments)
    width = 2 * w0 + SIDE_GAP if side_by_side else w0
    bar = colorbar_strip(width, options) if colorbar else None
    curve_strip = temporal_strip(maps.curve, width) if temporal else None
    for t in range(t0):
        picture = composite(video[t], colorize(maps.frame(t), options), options)
        if side_by_side:
            gap = np.full((h0, SIDE_GAP, 3), 255, dtype=np.uint8)
            picture = np.concatenate([video[t], gap, picture], axis=1)
        parts = [picture]
        if curve_strip is not None:
            parts.append(with_marker(curve_strip, t, t0))
        if bar is not None:
            parts.append(bar)
        yield np.concatenate(parts, axis=0)


def overlay_frames(
    frames: Any,
    attribution: Any,
    options: VizOptions | None = None,
    *,
    geometry: Any = None,
    segments: Any = None,
    colorbar: bool = True,
    temporal: bool = True,
    side_by_side: bool = False,
) -> np.ndarray:
    """The heat map blended over every original frame.

    Args:
        frames: T0×H0×W0×3 uint8 original frames (or a ``vidxai.video.Video``).
        attribution: T0×H0×W0 map on those frames (``Explanation.to_original()``), or a
            model-space T×H×W map together with ``geometry``, or an ``Explanation``.
        options: :class:`VizOptions` (selection, colours, alpha…).
        geometry: maps a model-space map onto the original frames.
        segments: label volume of the map's shape, for region selection.
        colorbar: add a colour-bar strip under each frame.
        temporal: add the temporal-importance curve (with a marker at the current frame).
        side_by_side: put the untouched frame to the left of the overlay.

    Returns:
        T0×H'×W'×3 uint8 with H' = H0 (+ a strip of :func:`strip_height` (W') pixels for each
        of ``temporal`` and ``colorbar``) and W' = W0, or 2·W0 + 8 with ``side_by_side``.
    """
    return np.stack(
        list(
            iter_overlay(
                frames,
                attribution,
                options,
                geometry=geometry,
                segments=segments,
                colorbar=colorbar,
                temporal=temporal,
                side_by_side=side_by_side,
            )
        )
    )


def side_by_side(
    frames: Any, attribution: Any, options: VizOptions | None = None, **kwargs: Any
) -> np.ndarray:
    """Original | overlay, frame by frame (T0×H'×(2·W0+8)×3 uint8); keywords as
    :func:`overlay_frames`."""
    return overlay_frames(frames, attribution, options, side_by_side=True, **kwargs)


def overlay_height(height: int, width: int, *, colorbar: bool, temporal: bool) -> int:
    """Height of an overlay frame made from frames of this size (``width`` = output width)."""
    return height + strip_height(width) * (int(colorbar) + int(temporal))
