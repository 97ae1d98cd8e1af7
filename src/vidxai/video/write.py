"""``write_video``: frames to an H.264 MP4 or an animated GIF, chosen by the file extension."""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image

from vidxai.errors import InvalidInputError
from vidxai.video._checks import check_int, check_positive_number
from vidxai.video.frames import validate_frames

MP4_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov"})
GIF_EXTENSIONS = frozenset({".gif"})


def write_video(path: str | os.PathLike[str], frames: Any, fps: float, *, crf: int = 18) -> Path:
    """Write frames to a video file; the format follows the extension.

    * ``.mp4`` (also ``.m4v``, ``.mov``): H.264 (libx264), pixel format yuv420p, quality
      ``crf`` (0 = lossless luma, 18 ≈ visually lossless, 23 = x264's default). yuv420p
      needs even sizes, so an odd height or width is padded by one row / column that
      repeats the last one; reading the file back gives the padded size.
    * ``.gif``: one palette per frame, looping forever. Frames with at most 256 distinct
      colours (e.g. grayscale) are stored exactly; others get an adaptive 256-colour
      palette (no dithering).
      GIF delays are whole centiseconds, so the frame rate is approximated (25 fps and
      10 fps are exact; 30 fps plays at ~30 fps on average); most viewers play rates above
      50 fps slower.

    Parent directories are created. Grayscale ``T×H×W`` and RGBA ``T×H×W×4`` frames are
    converted as in :func:`validate_frames`; ``frames`` itself is not modified.

    Args:
        path: output file (``.mp4``, ``.m4v``, ``.mov`` or ``.gif``).
        frames: ``T×H×W×3`` uint8 RGB, ``T ≥ 1``.
        fps: frames per second (> 0).
        crf: H.264 constant rate factor, 0..51 (MP4 only).

    Returns:
        The path written.

    Raises:
        InvalidInputError: bad frames, fps, crf or extension, or the file cannot be written.
    """
    rgb = validate_frames(frames)
    fps = check_positive_number(fps, "fps")
    crf = check_int(crf, "crf", minimum=0)
    if crf > 51:
        raise InvalidInputError(f"crf must be between 0 and 51, got {crf}.")
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in MP4_EXTENSIONS | GIF_EXTENSIONS:
        raise InvalidInputError(
            f"Cannot write {target}: unsupported extension {suffix or '(none)'!r}; "
            "use .mp4 (H.264) or .gif."
        )
    if target.is_dir():
        raise InvalidInputError(f"Cannot write the video {target}: it is a directory.")
    rate = Fraction(fps).limit_denominator(1001)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if suffix in GIF_EXTENSIONS:
            _write_gif(target, rgb, rate)
        else:
            _write_mp4(target, _pad_even(rgb), rate, crf)
    except (av.FFmpegError, OSError, ValueError) as exc:
        if target.is_file():
            target.unlink()  # no half-written file is left behind
        raise InvalidInputError(f"Cannot write the video {target}: {exc}") from exc
    return target


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """Pad ``T×H×W×3`` at the bottom / right (edge values) to an even height and width."""
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if not (pad_h or pad_w):
        return frames
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def _encode_all(container: Any, stream: Any, frames: Iterator[Any]) -> None:
    for frame in frames:
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():  # flush
        container.mux(packet)


def _write_mp4(path: Path, frames: np.ndarray, rate: Fraction, crf: int) -> None:
    with av.open(str(path), mode="w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": str(crf)})
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        _encode_all(
            container, stream, (av.VideoFrame.from_ndarray(f, format="rgb24") for f in frames)
        )


def _palette_frame(rgb: np.ndarray) -> Any:
    """One ``H×W×3`` frame as a PyAV pal8 frame with its own palette.

    A frame with at most 256 distinct colours (e.g. grayscale) is stored exactly; otherwise
    the palette is an adaptive 256-colour octree quantisation (no dithering).
    """
    image = Image.fromarray(rgb)
    if image.getcolors(256) is not None:  # at most 256 colours: exact palette
        packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
        packed |= rgb[..., 2]
        values, inverse = np.unique(packed, return_inverse=True)
        indices = inverse.reshape(rgb.shape[:2]).astype(np.uint8)
        colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], -1)
    else:
        quantized = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        indices = np.asarray(quantized, dtype=np.uint8)
        colours = np.asarray(quantized.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]
    palette = np.zeros((256, 4), dtype=np.uint8)  # PyAV reads pal8 palettes as A, R, G, B
    palette[:, 0] = 255
    palette[: len(colours), 1:] = colours
    frame = (np.ascontiguousarray(indices), palette)
    return av.VideoFrame.from_ndarray(frame, format="pal8")  # type: ignore[arg-type]


def _write_gif(path: Path, frames: np.ndarray, rate: Fraction) -> None:
    with av.open(str(path), mode="w", format="gif") as container:
        stream = container.add_stream("gif", rate=rate)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "pal8"
        _encode_all(container, stream, (_palette_frame(f) for f in frames))
