"""Clip sampling: which frame indices of a video to keep.

All functions return ``int64`` NumPy arrays of frame indices into the original video, in
increasing (non-decreasing for :func:`uniform_indices` with ``n > T``) order.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from vidxai.errors import InvalidInputError
from vidxai.video._checks import check_int, check_nonnegative_number, check_positive_number
from vidxai.video.frames import validate_frames
from vidxai.video.types import Video

_EPS = 1e-6  # tolerance (in frames) when converting seconds to frame indices


def uniform_indices(num_frames: int, n: int) -> np.ndarray:
    """``n`` evenly spaced frame indices covering the whole video, first and last included.

    Index ``i`` is ``floor(i * (T - 1) / (n - 1) + 0.5)`` (``np.linspace(0, T - 1, n)``
    rounded half up); ``n = 1`` gives ``[0]``. When ``n > T`` frames are repeated
    (e.g. ``T = 2, n = 4`` → ``[0, 0, 1, 1]``).

    Returns:
        ``n`` int64 indices in ``[0, T)``.
    """
    num_frames = check_int(num_frames, "num_frames", minimum=1)
    n = check_int(n, "n", minimum=1)
    positions = np.linspace(0.0, num_frames - 1, n)
    return np.floor(positions + 0.5).astype(np.int64)


def every_kth(num_frames: int, k: int, start: int = 0) -> np.ndarray:
    """Every ``k``-th frame from ``start``: ``start, start + k, …`` below ``T``.

    Returns:
        int64 indices (at least one: ``start``).
    """
    num_frames = check_int(num_frames, "num_frames", minimum=1)
    k = check_int(k, "k (every)", minimum=1)
    start = check_int(start, "start", minimum=0)
    if start >= num_frames:
        raise InvalidInputError(f"start frame {start} is past the last frame ({num_frames - 1}).")
    return np.arange(start, num_frames, k, dtype=np.int64)


def window(num_frames: int, start: int = 0, end: int | None = None) -> np.ndarray:
    """The frames of the half-open window ``[start, end)`` (like a Python slice).

    Args:
        num_frames: ``T``.
        start: first frame kept, ``0 ≤ start < T``.
        end: one past the last frame kept, ``start < end ≤ T``; ``None`` = ``T``.

    Returns:
        int64 indices ``start, …, end - 1``.
    """
    num_frames = check_int(num_frames, "num_frames", minimum=1)
    start = check_int(start, "start", minimum=0)
    end = num_frames if end is None else check_int(end, "end", minimum=0)
    if start >= num_frames:
        raise InvalidInputError(
            f"Window start {start} is past the last frame (the video has {num_frames} frames)."
        )
    if end > num_frames:
        raise InvalidInputError(
            f"Window end {end} is past the end of the video ({num_frames} frames)."
        )
    if end <= start:
        raise InvalidInputError(f"Window end {end} must be greater than start {start}.")
    return np.arange(start, end, dtype=np.int64)


def seconds_to_frame(seconds: float, fps: float) -> int:
    """Index of the first frame shown at or after ``seconds`` (frame ``i`` starts at ``i / fps``).

    ``seconds_to_frame(1.0, 25) == 25``; ``seconds_to_frame(0.01, 25) == 1``. Use it for
    both ends of a half-open time window ``[t0, t1)``.
    """
    seconds = check_nonnegative_number(seconds, "seconds")
    fps = check_positive_number(fps, "fps")
    return max(0, math.ceil(seconds * fps - _EPS))


def sample_clip(
    video: Video | Any,
    n: int | None = None,
    every: int | None = None,
    start: float | None = None,
    end: float | None = None,
    *,
    unit: Literal["frames", "seconds"] = "frames",
) -> tuple[np.ndarray, np.ndarray]:
    """Select frames: a window, then every k-th frame inside it, then ``n`` uniform ones.

    Steps (each optional): keep ``[start, end)`` (:func:`window`; in frames, or in seconds
    with ``unit="seconds"`` using ``video.fps``); keep every ``every``-th frame of that
    (:func:`every_kth`); pick ``n`` evenly spaced frames of what remains
    (:func:`uniform_indices`, repeating frames when ``n`` exceeds what remains).

    Args:
        video: a :class:`Video`, or frames ``T×H×W×3`` uint8 (then only ``unit="frames"``).
        n: number of frames to return.
        every: keep every ``every``-th frame.
        start, end: window bounds (frames: ints; seconds: numbers).
        unit: ``"frames"`` or ``"seconds"``.

    Returns:
        ``(frames, indices)``: a new ``n'×H×W×3`` uint8 array and the ``n'`` int64 indices of
        those frames in the original video.
    """
    if isinstance(video, Video):
        frames, fps = video.frames, video.fps
    else:
        frames, fps = validate_frames(video, name="video"), None
    num_frames = int(frames.shape[0])
    first: Any = 0 if start is None else start
    last: Any = end
    if unit == "seconds":
        if fps is None:
            raise InvalidInputError(
                "unit='seconds' needs a Video (with fps); got bare frames. Pass frame indices "
                "with unit='frames' or wrap the frames in vidxai.video.Video(frames, fps)."
            )
        first = seconds_to_frame(first, fps)
        last = None if last is None else seconds_to_frame(last, fps)
    elif unit != "frames":
        raise InvalidInputError(f"unit must be 'frames' or 'seconds', got {unit!r}.")
    indices = window(num_frames, first, last)
    if every is not None:
        indices = indices[every_kth(len(indices), every)]
    if n is not None:
        indices = indices[uniform_indices(len(indices), n)]
    return frames[indices], indices
