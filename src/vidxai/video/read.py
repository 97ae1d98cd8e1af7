"""``read_video``: one entry point for video files and frame folders."""

from __future__ import annotations

import os
from pathlib import Path

from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.video._checks import check_int, check_positive_number
from vidxai.video._file_reader import DEFAULT_FPS, read_video_file
from vidxai.video._folder_reader import read_frame_folder
from vidxai.video.types import Video


def read_video(
    path: str | os.PathLike[str], *, max_frames: int | None = None, fps: float | None = None
) -> Video:
    """Read a video file or a folder of frame images into RGB frames.

    * **Files** (MP4, AVI, MKV, WebM, GIF and anything else FFmpeg decodes) are decoded with
      PyAV; the first video stream is used. Every pixel format (YUV, grayscale, RGBA, palette,
      10-bit, …) is converted to 8-bit RGB; an alpha channel is dropped.
    * **Folders** hold one image per frame (jpg, png, bmp, tif, webp, ppm/pgm); files are
      ordered by natural sort of their names (``frame2.png`` before ``frame10.png``).
      Grayscale and palette images become RGB, alpha is dropped, 16-bit grayscale is scaled
      to 8 bits; all frames must have the same size.

    Args:
        path: a video file or a directory of frame images.
        max_frames: read at most this many frames from the start (``None`` = all).
        fps: frames per second to report. Folders have no frame rate and use ``fps`` or 25;
            for files it overrides the container's rate (kept in ``metadata["source_fps"]``).

    Returns:
        :class:`Video` with ``frames`` ``T×H×W×3`` uint8 RGB, ``fps`` and ``metadata``.

    Raises:
        VideoReadError: the path is missing, the file is unreadable, corrupt or truncated,
            it has no video stream or zero decodable frames, the folder has no images, an
            image is unreadable, or the images have mixed sizes.
        InvalidInputError: bad ``max_frames`` / ``fps``, or frames that cannot be converted
            to 8-bit RGB (e.g. 32-bit or floating-point images).
    """
    if max_frames is not None:
        max_frames = check_int(max_frames, "max_frames", minimum=1)
    if fps is not None:
        fps = check_positive_number(fps, "fps")
    try:
        source = Path(path)
    except TypeError as exc:
        raise InvalidInputError(f"path must be a string or a path, got {path!r}.") from exc
    source = source.expanduser()
    if source.is_dir():
        return read_frame_folder(source, max_frames=max_frames, fps=fps or DEFAULT_FPS)
    if not source.exists():
        raise VideoReadError(f"No such video file or frame folder: {source}")
    if not source.is_file():
        raise VideoReadError(f"{source} is neither a regular file nor a directory.")
    return read_video_file(source, max_frames=max_frames, fps=fps)
