"""Read only the frames ``[start, end)`` of a long video (sliding windows, ``window:`` clips).

Decoding a whole ten-minute video for every window would cost quadratic time and the whole
video's memory. For files, the decoder seeks to the last keyframe at or before ``start`` and
decodes forward until ``end``; each decoded frame's index is its presentation time × the
stream's frame rate (exact for constant-frame-rate video, the common case). For frame folders,
only the window's images are read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidxai.errors import VideoReadError


def read_window(path: str | Path, start: int, end: int) -> np.ndarray:
    """Frames ``[start, end)`` of a video file or frame folder, ``(end−start)×H×W×3`` uint8.

    Raises:
        VideoReadError: unreadable or corrupt video, or a window past the last frame.
    """
    source = Path(path)
    frames = (
        _folder_window(source, start, end) if source.is_dir() else _file_window(source, start, end)
    )
    if len(frames) != end - start:
        raise VideoReadError(
            f"The window [{start}, {end}) lies past the end of {source} "
            f"({start + len(frames)} frames)"
        )
    try:
        return np.stack(frames)
    except ValueError as exc:
        raise VideoReadError(f"The frame size of {source} changes during the video") from exc


def _folder_window(folder: Path, start: int, end: int) -> list[np.ndarray]:
    from vidxai.video._folder_reader import _load, list_frame_files

    return [_load(p)[0] for p in list_frame_files(folder)[start:end]]


def _file_window(path: Path, start: int, end: int) -> list[np.ndarray]:
    import av

    from vidxai.video._file_reader import _AV_ERRORS, _stream_fps, _to_rgb

    if not path.is_file():
        raise VideoReadError(f"No such video file or frame folder: {path}")
    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoReadError(f"{path} contains no video stream.")
            stream = container.streams.video[0]
            fps = _stream_fps(container, stream)
            base = stream.time_base
            first = stream.start_time or 0
            if fps and base and start > 0:
                target = first + int(start / fps / float(base))
                container.seek(target, stream=stream, backward=True, any_frame=False)
            else:
                fps = None  # no rate known: count frames from the start
            index = -1
            for frame in container.decode(stream):
                if fps and frame.pts is not None:
                    index = round((frame.pts - first) * float(base) * fps)
                else:
                    index += 1
                if index >= end:
                    break
                if index >= start:
                    frames.append(_to_rgb(frame, path))
    except VideoReadError:
        raise
    except _AV_ERRORS as exc:
        raise VideoReadError(f"Cannot read frames [{start}, {end}) of {path}: {exc}") from exc
    return frames
