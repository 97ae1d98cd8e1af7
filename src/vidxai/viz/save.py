""":func:`save_overlay` / :func:`save_overlays`: overlay videos (MP4 and/or GIF) at the
original frame rate, streamed frame by frame into the encoders.

MP4 (H.264) is the primary overlay: small, sharp and played by every browser (the HTML pages
embed it).  A GIF is kept small by :class:`vidxai.video.GifOptions` caps (frame rate, width,
one shared palette) — by default at most 10 fps, 480 px wide, 128 colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from vidxai.errors import InvalidInputError
from vidxai.video.write import GIF_EXTENSIONS, GifOptions, VideoWriter
from vidxai.viz.options import VizOptions
from vidxai.viz.overlay import iter_overlay

#: Small clips are enlarged (nearest neighbour) until their shorter side has this many pixels.
MIN_SIZE = 256
#: H.264 settings of overlay MP4s: x264's default quality at a fast preset.
OVERLAY_CRF = 23
OVERLAY_PRESET = "veryfast"


def save_overlays(
    paths: Sequence[str | Path],
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
    min_size: int | None = MIN_SIZE,
    gif: GifOptions | None = None,
    crf: int = OVERLAY_CRF,
    preset: str = OVERLAY_PRESET,
) -> list[Path]:
    """Write the overlay into several files at once (e.g. ``x.mp4`` and ``x.gif``): each
    overlay frame is built once and handed to every encoder, so the whole overlay video is
    never held in memory.

    Args:
        paths: output files; the format follows each suffix (``.mp4``/``.m4v``/``.mov`` or
            ``.gif``).
        frames: T0×H0×W0×3 uint8 original frames, or a ``vidxai.video.Video``.
        attribution: T0×H0×W0 map on those frames, a model-space map with ``geometry``, or an
            ``Explanation``.
        fps: the original frame rate (taken from a ``Video`` when None).
        options, geometry, segments, colorbar, temporal, side_by_side, min_size: as
            :func:`vidxai.viz.overlay_frames` (``min_size`` defaults to 256 here).
        gif: GIF caps (default ``GifOptions()``: ≤ 10 fps, ≤ 480 px wide, 128 colours, one
            palette); ``vidxai.video.write.EXACT_GIF`` keeps every frame at full size.
        crf, preset: H.264 quality and x264 speed preset of MP4 files.

    Returns:
        The paths written, in the order given.
    """
    if fps is None:
        fps = getattr(frames, "fps", None)
        if fps is None:
            raise InvalidInputError("save_overlay needs fps (the original frame rate)")
    if not paths:
        raise InvalidInputError("save_overlays needs at least one output path")
    caps = gif if gif is not None else GifOptions()
    pictures = iter_overlay(
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
    writers = [
        VideoWriter(
            p,
            fps,
            crf=crf,
            preset=preset,
            gif=caps if Path(p).suffix.lower() in GIF_EXTENSIONS else None,
        )
        for p in paths
    ]
    with ExitStack() as stack:
        for writer in writers:
            stack.enter_context(writer)
        for picture in pictures:
            for writer in writers:
                writer.write(picture)
    return [w.path for w in writers]


def save_overlay(
    path: str | Path,
    frames: Any,
    attribution: Any,
    fps: float | None = None,
    options: VizOptions | None = None,
    **kwargs: Any,
) -> Path:
    """Write the overlay of every original frame as one video; the format follows the suffix.

    Args:
        path: ``.mp4`` (H.264, the primary overlay) or ``.gif`` (capped by ``gif=``).
        frames, attribution, fps, options: as :func:`save_overlays`.
        **kwargs: ``geometry``, ``segments``, ``colorbar``, ``temporal``, ``side_by_side``,
            ``min_size``, ``gif``, ``crf``, ``preset`` as :func:`save_overlays`.

    Returns:
        The path written: the original frames at ``fps`` (a GIF: at most ``gif.max_fps``),
        each k·H0 (+ strips) × k·W0 pixels, k the upscale factor of small clips.

    Example:
        >>> import numpy as np, vidxai.viz as vz  # doctest: +SKIP
        >>> frames = np.zeros((8, 64, 128, 3), np.uint8)
        >>> vz.save_overlay("out/overlay.mp4", frames, np.random.rand(8, 64, 128), fps=8)
    """
    return save_overlays([path], frames, attribution, fps, options, **kwargs)[0]
