"""Decode a video file (MP4, AVI, MKV, WebM, GIF, …) with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.video.types import Video

DEFAULT_FPS = 25.0

# Errors PyAV / FFmpeg raise for unreadable input (av.FFmpegError covers InvalidDataError,
# EOFError, …; OSError covers permissions; ValueError/EOFError what the demuxers raise).
_AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, MemoryError)


def _stream_fps(container: Any, stream: Any) -> float | None:
    """Frames per second reported by the stream (``None`` if the container has none)."""
    if container.format.name == "gif":
        # GIF delays are whole centiseconds and FFmpeg's average rate follows the first
        # delays; the total frame count over the total duration is the faithful rate.
        seconds = _seconds(stream.duration, stream.time_base)
        if stream.frames and seconds:
            return stream.frames / seconds
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and float(rate) > 0:
            return float(rate)
    return None


def _seconds(value: int | None, time_base: Fraction | None) -> float | None:
    if value is None or time_base is None or value <= 0:
        return None
    return float(value * time_base)


def _duration(container: Any, stream: Any) -> float | None:
    seconds = _seconds(stream.duration, stream.time_base)
    if seconds is None and container.duration:
        seconds = container.duration / av.time_base
    return seconds


def _to_rgb(frame: Any, path: Path) -> np.ndarray:
    try:
        return frame.to_ndarray(format="rgb24")
    except _AV_ERRORS as exc:
        raise InvalidInputError(
            f"Cannot convert the frames of {path} from pixel format {frame.format.name!r} "
            f"to RGB: {exc}"
        ) from exc


def read_video_file(path: Path, *, max_frames: int | None, fps: float | None) -> Video:
    """Decode the first video stream of ``path`` into a :class:`Video` (RGB frames)."""
    try:
        container = av.open(str(path), mode="r")
    except _AV_ERRORS as exc:
        raise VideoReadError(
            f"Cannot open {path} as a video: the file is corrupt, truncated or not a video "
            f"format FFmpeg understands ({exc})."
        ) from exc
    frames: list[np.ndarray] = []
    with container:
        if not container.streams.video:
            raise VideoReadError(f"{path} contains no video stream.")
        stream = container.streams.video[0]
        try:
            for frame in container.decode(stream):
                frames.append(_to_rgb(frame, path))
                if max_frames is not None and len(frames) >= max_frames:
                    break
        except _AV_ERRORS as exc:
            raise VideoReadError(
                f"{path} is corrupt or truncated: decoding failed after {len(frames)} frame(s) "
                f"({exc})."
            ) from exc
        if not frames:
            raise VideoReadError(f"{path} has a video stream but zero decodable frames.")
        source_fps = _stream_fps(container, stream)
        metadata = {
            "source": str(path),
            "container": container.format.name,
            "codec": stream.codec_context.name,
            "pix_fmt": stream.codec_context.pix_fmt or frame_format(stream),
            "duration": _duration(container, stream),
            "num_frames": len(frames),
            "total_frames": int(stream.frames) if stream.frames else None,
            "width": int(frames[0].shape[1]),
            "height": int(frames[0].shape[0]),
            "source_fps": source_fps,
        }
    try:
        array = np.stack(frames)
    except ValueError as exc:  # the frame size changed mid-stream
        raise VideoReadError(f"The frame size of {path} changes during the video.") from exc
    return Video(frames=array, fps=fps or source_fps or DEFAULT_FPS, metadata=metadata)


def frame_format(stream: Any) -> str | None:
    """Name of the stream's pixel format, if known."""
    fmt = getattr(stream, "format", None)
    return getattr(fmt, "name", None)
