"""Overlays: the heat map alpha-composited over the user's original frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from vidxai.video.write import frames_view
from vidxai.viz.colormap import shade
from vidxai.viz.mapping import FrameMaps
from vidxai.viz.options import VizOptions
from vidxai.viz.strips import (
    colorbar_height,
    colorbar_strip,
    strip_height,
    temporal_strip,
    with_marker,
)

SIDE_GAP = 8
#: Longest side an upscaled small clip may reach.
MAX_UPSCALED = 1024


def as_frames(frames: Any) -> np.ndarray:
    """T×H×W×3 uint8 frames from an array or a ``vidxai.video.Video`` (no copy of a
    uint8 RGB array: overlays only read the frames)."""
    if hasattr(frames, "frames") and hasattr(frames, "fps"):
        frames = frames.frames
    return frames_view(frames)


def upscale_factor(height: int, width: int, min_size: int | None) -> int:
    """Whole factor that enlarges a ``height×width`` frame until its shorter side is at
    least ``min_size`` pixels (1 when it already is, or ``min_size`` is None/0), without the
    longer side passing :data:`MAX_UPSCALED`."""
    if not min_size or min(height, width) >= min_size:
        return 1
    factor = -(-int(min_size) // min(height, width))
    return max(1, min(factor, MAX_UPSCALED // max(height, width)))


def _enlarge(picture: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return picture
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


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
    min_size: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield overlay frames one by one, each built when asked for (see
    :func:`overlay_frames` for the arguments): streaming them into
    :class:`vidxai.video.VideoWriter` never holds more than one output frame."""
    options = options if options is not None else VizOptions()
    video = as_frames(frames)
    t0, h0, w0 = video.shape[:3]
    maps = FrameMaps((t0, h0, w0), attribution, options, geometry, segments)
    factor = upscale_factor(h0, w0, min_size)
    width = (2 * w0 + SIDE_GAP if side_by_side else w0) * factor
    bar = colorbar_strip(width, options) if colorbar else None
    curve_strip = (
        temporal_strip(maps.curve, width, options=options, scale=maps.curve_scale)
        if temporal
        else None
    )
    gap = np.full((h0, SIDE_GAP, 3), 255, dtype=np.uint8)
    for t in range(t0):
        picture = shade(video[t], maps.frame(t), options)
        if side_by_side:
            picture = np.concatenate([video[t], gap, picture], axis=1)
        parts = [_enlarge(picture, factor)]
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
    min_size: int | None = None,
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
        min_size: enlarge small clips (nearest neighbour, a whole factor, see
            :func:`upscale_factor`) until the shorter side has this many pixels, so the
            strips' fixed-size text stays readable next to them (None: original size).

    Returns:
        T0×H'×W'×3 uint8 with W' = k·W0 (or k·(2·W0 + 8) with ``side_by_side``) and
        H' = k·H0 + :func:`strip_height` (W') with ``temporal`` +
        :func:`vidxai.viz.strips.colorbar_height` (W') with ``colorbar``, k the upscale
        factor (1 unless ``min_size``); see :func:`overlay_height`.
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
                min_size=min_size,
            )
        )
    )


def side_by_side(
    frames: Any, attribution: Any, options: VizOptions | None = None, **kwargs: Any
) -> np.ndarray:
    """Original | overlay, frame by frame (T0×H'×(2·W0+8)×3 uint8); keywords as
    :func:`overlay_frames`."""
    return overlay_frames(frames, attribution, options, side_by_side=True, **kwargs)


def overlay_height(
    height: int,
    width: int,
    *,
    colorbar: bool,
    temporal: bool,
    options: VizOptions | None = None,
) -> int:
    """Height of an overlay frame whose picture part is ``height`` pixels high and
    ``width`` pixels wide (the output width, after any upscaling)."""
    strips = strip_height(width) if temporal else 0
    strips += colorbar_height(width, options) if colorbar else 0
    return height + strips
