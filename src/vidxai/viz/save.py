""":func:`save_overlay`: an overlay video (GIF or MP4) at the original size and frame rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidxai.errors import InvalidInputError
from vidxai.video import write_video
from vidxai.viz.options import VizOptions
from vidxai.viz.overlay import overlay_frames


def save_overlay(
    path: str | Path,
    frames: Any,
    attribution: Any,
    fps: float | None = None,
    options: VizOptions | None = None,
    *,
    geometry: Any = None,
    segments: Any = None,
    colorbar: bool = True,
    temporal: bool = True,
    side_by_side: bool = False,
) -> Path:
    """Write the overlay of every original frame as a video; the format follows the suffix.

    Args:
        path: ``.gif`` or ``.mp4`` (also ``.m4v``, ``.mov``), written by
            :func:`vidxai.video.write_video`.
        frames: T0×H0×W0×3 uint8 original frames, or a ``vidxai.video.Video``.
        attribution: T0×H0×W0 map on those frames, a model-space map with ``geometry``, or an
            ``Explanation``.
        fps: the original frame rate (taken from a ``Video`` when None).
        options, geometry, segments, colorbar, temporal, side_by_side: as
            :func:`vidxai.viz.overlay_frames`.

    Returns:
        The path written: T0 frames at ``fps``, each H0 (+ strips) × W0 pixels.
    """
    if fps is None:
        fps = getattr(frames, "fps", None)
        if fps is None:
            raise InvalidInputError("save_overlay needs fps (the original frame rate)")
    pictures = overlay_frames(
        frames,
        attribution,
        options,
        geometry=geometry,
        segments=segments,
        colorbar=colorbar,
        temporal=temporal,
        side_by_side=side_by_side,
    )
    return write_video(path, pictures, fps)
