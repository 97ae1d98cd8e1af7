"""Writing videos: :func:`write_video` (all frames at once) and :class:`VideoWriter`
(frames streamed one by one to the encoder, so no copy of the whole video is ever held).

The format follows the file extension: ``.mp4``/``.m4v``/``.mov`` (H.264) or ``.gif``.
:class:`GifOptions` caps a GIF's frame rate, size and palette to keep it small.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import av
import numpy as np
from PIL import Image

from vidxai.errors import InvalidInputError
from vidxai.video._checks import check_int, check_positive_number
from vidxai.video.frames import validate_frames

MP4_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov"})
GIF_EXTENSIONS = frozenset({".gif"})
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


@dataclass(frozen=True)
class GifOptions:
    """Size caps for an animated GIF (the defaults of overlay GIFs; ``None`` = no cap).

    Attributes:
        max_fps: frames above this rate are dropped evenly (the clip keeps its duration);
            GIF delays are whole centiseconds, so 10 fps and 25 fps play exactly.
        max_width: wider frames are shrunk (area filter, aspect kept) to this width.
        colors: palette size, 2..256 (fewer colours: smaller file, more banding).
        palette: ``"global"`` — one palette for the whole clip, built from the first
            ``palette_frames`` frames written (unchanged pixels between frames then compress
            to almost nothing); ``"frame"`` — a palette per frame (exact for frames with at
            most ``colors`` colours).
        palette_frames: frames sampled for the global palette (buffered before writing).
    """

    max_fps: float | None = 10.0
    max_width: int | None = 480
    colors: int = 128
    palette: Literal["global", "frame"] = "global"
    palette_frames: int = 8

    def __post_init__(self) -> None:
        if self.max_fps is not None:
            check_positive_number(self.max_fps, "gif max_fps")
        if self.max_width is not None:
            check_int(self.max_width, "gif max_width", minimum=2)
        colors = check_int(self.colors, "gif colors", minimum=2)
        if colors > 256:
            raise InvalidInputError(f"gif colors must be between 2 and 256, got {colors}.")
        if self.palette not in ("global", "frame"):
            raise InvalidInputError(
                f"gif palette must be 'global' or 'frame', got {self.palette!r}."
            )
        check_int(self.palette_frames, "gif palette_frames", minimum=1)


#: Lossless GIFs: every frame, full size, an exact (or adaptive 256-colour) palette per frame.
EXACT_GIF = GifOptions(max_fps=None, max_width=None, colors=256, palette="frame")


def _target(path: str | os.PathLike[str]) -> tuple[Path, str]:
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix not in MP4_EXTENSIONS | GIF_EXTENSIONS:
        raise InvalidInputError(
            f"Cannot write {target}: unsupported extension {suffix or '(none)'!r}; "
            "use .mp4 (H.264) or .gif."
        )
    if target.is_dir():
        raise InvalidInputError(f"Cannot write the video {target}: it is a directory.")
    return target, suffix


class VideoWriter:
    """Stream ``H×W×3`` uint8 RGB frames into a video file, one :meth:`write` at a time.

    The frame size is fixed by the first frame.  Use it as a context manager: on an error
    inside the ``with`` block the half-written file is removed.

    Example:
        >>> with VideoWriter("out/overlay.mp4", fps=25) as writer:  # doctest: +SKIP
        ...     for frame in frames:  # each H×W×3 uint8
        ...         writer.write(frame)

    Args:
        path: ``.mp4`` (also ``.m4v``, ``.mov``): H.264, yuv420p, ``crf`` quality (odd sizes
            padded by one edge row/column); ``.gif``: looping GIF shaped by ``gif``.
        fps: frames per second of the frames given (> 0).
        crf: H.264 constant rate factor, 0..51 (18 ≈ visually lossless, 23 = x264 default).
        preset: x264 speed preset (``veryfast`` … ``medium`` …); faster = larger file.
        gif: :class:`GifOptions` (default :data:`EXACT_GIF`: no caps).

    Raises:
        InvalidInputError: bad arguments, frames of the wrong shape, or a file that cannot
            be written.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        *,
        crf: int = 18,
        preset: str = "medium",
        gif: GifOptions | None = None,
    ) -> None:
        self.fps = check_positive_number(fps, "fps")
        self.crf = check_int(crf, "crf", minimum=0)
        if self.crf > 51:
            raise InvalidInputError(f"crf must be between 0 and 51, got {self.crf}.")
        if preset not in X264_PRESETS:
            raise InvalidInputError(
                f"preset must be one of {', '.join(X264_PRESETS)}, got {preset!r}."
            )
        self.preset = preset
        self.path, suffix = _target(path)
        self.is_gif = suffix in GIF_EXTENSIONS
        self.gif = gif if gif is not None else EXACT_GIF
        self.frames_in = 0
        self.frames_out = 0
        self._container: Any = None
        self._stream: Any = None
        self._size: tuple[int, int] | None = None  # (height, width) of the input frames
        self._pending: list[np.ndarray] = []  # GIF frames waiting for the global palette
        self._palette: Image.Image | None = None
        rate = Fraction(self.fps).limit_denominator(1001)
        if self.is_gif and self.gif.max_fps is not None and self.fps > self.gif.max_fps:
            rate = Fraction(self.gif.max_fps).limit_denominator(1001)
        self.rate = rate  # the output frame rate

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    # -- writing ---------------------------------------------------------------------
    def write(self, frame: Any) -> None:
        """Add one ``H×W×3`` uint8 frame (``H×W`` grey and ``H×W×4`` RGBA are converted)."""
        rgb = _one_frame(frame)
        if self._size is None:
            self._size = (int(rgb.shape[0]), int(rgb.shape[1]))
            self._open()
        elif rgb.shape[:2] != self._size:
            self.abort()
            raise InvalidInputError(
                f"every frame must be {self._size[0]}×{self._size[1]}, "
                f"got {rgb.shape[0]}×{rgb.shape[1]} at frame {self.frames_in}."
            )
        index = self.frames_in
        self.frames_in += 1
        if self.is_gif:
            if self._keep(index):
                self._gif_frame(self._shrink(rgb))
        else:
            self._encode(av.VideoFrame.from_ndarray(_pad_even(rgb), format="rgb24"))

    def write_all(self, frames: Iterable[Any]) -> None:
        """Write every frame of an iterable (a ``T×H×W×3`` array or a generator)."""
        for frame in frames:
            self.write(frame)

    def close(self) -> Path:
        """Flush the encoder and close the file; returns the path written."""
        if self._container is None:
            if self._size is None:
                raise InvalidInputError(f"Cannot write the video {self.path}: no frames given.")
            return self.path
        try:
            if self._pending:
                self._flush_pending()
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except (av.FFmpegError, OSError, ValueError) as exc:
            self._container = None
            self._remove()
            raise InvalidInputError(f"Cannot write the video {self.path}: {exc}") from exc
        self._container = None
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the partial file."""
        if self._container is not None:
            with contextlib.suppress(Exception):  # the file is removed either way
                self._container.close()
            self._container = None
        self._remove()

    # -- internals -------------------------------------------------------------------
    def _remove(self) -> None:
        if self.path.is_file():
            self.path.unlink()  # no half-written file is left behind

    def _open(self) -> None:
        assert self._size is not None
        height, width = self._size
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.is_gif:
                height, width = self._gif_size()
                self._container = av.open(str(self.path), mode="w", format="gif")
                self._stream = self._container.add_stream("gif", rate=self.rate)
                self._stream.pix_fmt = "pal8"
            else:
                height, width = height + height % 2, width + width % 2
                self._container = av.open(
                    str(self.path), mode="w", options={"movflags": "faststart"}
                )
                options = {"crf": str(self.crf), "preset": self.preset}
                self._stream = self._container.add_stream(
                    "libx264", rate=self.rate, options=options
                )
                self._stream.pix_fmt = "yuv420p"
            self._stream.height, self._stream.width = height, width
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise InvalidInputError(f"Cannot write the video {self.path}: {exc}") from exc

    def _encode(self, frame: Any) -> None:
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError, ValueError) as exc:
            self.abort()
            raise InvalidInputError(f"Cannot write the video {self.path}: {exc}") from exc
        self.frames_out += 1

    def _keep(self, index: int) -> bool:
        """Whether input frame ``index`` is kept at the output rate (even decimation)."""
        ratio = float(self.rate) / self.fps
        if ratio >= 1.0:
            return True
        return int(np.floor(index * ratio)) != int(np.floor((index - 1) * ratio)) or index == 0

    def _gif_size(self) -> tuple[int, int]:
        assert self._size is not None
        height, width = self._size
        cap = self.gif.max_width
        if cap is None or width <= cap:
            return height, width
        return max(1, round(height * cap / width)), cap

    def _shrink(self, rgb: np.ndarray) -> np.ndarray:
        height, width = self._gif_size()
        if (height, width) == rgb.shape[:2]:
            return rgb
        image = Image.fromarray(rgb).resize((width, height), Image.Resampling.BOX)
        return np.asarray(image)

    def _gif_frame(self, rgb: np.ndarray) -> None:
        if self.gif.palette == "frame":
            self._encode(_palette_frame(rgb, self.gif.colors))
            return
        if self._palette is None:
            self._pending.append(rgb)
            if len(self._pending) >= self.gif.palette_frames:
                self._flush_pending()
            return
        self._encode(_quantized_frame(rgb, self._palette))

    def _flush_pending(self) -> None:
        self._palette = _shared_palette(self._pending, self.gif.colors)
        pending, self._pending = self._pending, []
        for rgb in pending:
            self._encode(_quantized_frame(rgb, self._palette))


def write_video(
    path: str | os.PathLike[str],
    frames: Any,
    fps: float,
    *,
    crf: int = 18,
    preset: str = "medium",
    gif: GifOptions | None = None,
) -> Path:
    """Write frames to a video file; the format follows the extension.

    * ``.mp4`` (also ``.m4v``, ``.mov``): H.264 (libx264), pixel format yuv420p, quality
      ``crf`` (0 = lossless luma, 18 ≈ visually lossless, 23 = x264's default). yuv420p
      needs even sizes, so an odd height or width is padded by one row / column that
      repeats the last one; reading the file back gives the padded size.
    * ``.gif``: looping forever.  By default (``gif=None``) every frame is kept at full size
      with its own palette: frames with at most 256 distinct colours (e.g. grayscale) are
      stored exactly; others get an adaptive 256-colour palette (no dithering).  Pass
      :class:`GifOptions` to cap the frame rate, width and palette (small files).
      GIF delays are whole centiseconds, so the frame rate is approximated (25 fps and
      10 fps are exact; 30 fps plays at ~30 fps on average); most viewers play rates above
      50 fps slower.

    Parent directories are created. Grayscale ``T×H×W`` and RGBA ``T×H×W×4`` frames are
    converted as in :func:`validate_frames`; ``frames`` itself is not modified.

    Args:
        path: output file (``.mp4``, ``.m4v``, ``.mov`` or ``.gif``).
        frames: ``T×H×W×3`` uint8 RGB, ``T ≥ 1``, or an iterable of ``H×W×3`` frames
            (streamed: see :class:`VideoWriter`).
        fps: frames per second (> 0).
        crf: H.264 constant rate factor, 0..51 (MP4 only).
        preset: x264 speed preset (MP4 only).
        gif: GIF size caps (GIF only).

    Returns:
        The path written.

    Raises:
        InvalidInputError: bad frames, fps, crf or extension, or the file cannot be written.
    """
    if isinstance(frames, np.ndarray) or hasattr(frames, "detach") or isinstance(frames, list):
        frames = frames_view(frames)
    writer = VideoWriter(path, fps, crf=crf, preset=preset, gif=gif)
    with writer:
        writer.write_all(frames)
    return writer.path


def frames_view(frames: Any) -> np.ndarray:
    """``T×H×W×3`` uint8 frames, without a copy when they already are (read-only use);
    anything else goes through :func:`validate_frames` (checked, converted, copied)."""
    if (
        isinstance(frames, np.ndarray)
        and frames.dtype == np.uint8
        and frames.ndim == 4
        and frames.shape[-1] == 3
        and frames.shape[0] >= 1
        and min(frames.shape) > 0
    ):
        return frames
    return validate_frames(frames)


def _one_frame(frame: Any) -> np.ndarray:
    if (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[-1] == 3
        and min(frame.shape) > 0
    ):
        return frame
    if hasattr(frame, "detach"):
        frame = frame.detach().cpu().numpy()
    array = np.asarray(frame)
    if array.ndim not in (2, 3):
        raise InvalidInputError(
            f"each frame must be H×W×3 (or H×W, H×W×4), got shape {array.shape}."
        )
    return validate_frames(array[None], name="frame")[0]


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Pad ``H×W×3`` at the bottom / right (edge values) to an even height and width."""
    pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
    if not (pad_h or pad_w):
        return frame
    return np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")


def _pal8(indices: np.ndarray, colours: np.ndarray) -> Any:
    """A PyAV pal8 frame from H×W palette indices and its K×3 colours (K ≤ 256)."""
    palette = np.zeros((256, 4), dtype=np.uint8)  # PyAV reads pal8 palettes as A, R, G, B
    palette[:, 0] = 255
    palette[: len(colours), 1:] = colours[:256]
    frame = (np.ascontiguousarray(indices, dtype=np.uint8), palette)
    return av.VideoFrame.from_ndarray(frame, format="pal8")  # type: ignore[arg-type]


def _palette_frame(rgb: np.ndarray, colors: int = 256) -> Any:
    """One ``H×W×3`` frame as a PyAV pal8 frame with its own palette.

    A frame with at most ``colors`` distinct colours (e.g. grayscale) is stored exactly;
    otherwise the palette is an adaptive octree quantisation to ``colors`` (no dithering).
    """
    image = Image.fromarray(rgb)
    if image.getcolors(colors) is not None:  # few colours: exact palette
        packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8)
        packed |= rgb[..., 2]
        values, inverse = np.unique(packed, return_inverse=True)
        indices = inverse.reshape(rgb.shape[:2])
        colours = np.stack([(values >> 16) & 255, (values >> 8) & 255, values & 255], -1)
        return _pal8(indices, colours.astype(np.uint8))
    quantized = image.quantize(colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    return _pal8(np.asarray(quantized), _colours(quantized))


def _colours(image: Image.Image) -> np.ndarray:
    return np.asarray(image.getpalette() or [], dtype=np.uint8).reshape(-1, 3)[:256]


def _shared_palette(frames: list[np.ndarray], colors: int) -> Image.Image:
    """A ``colors``-entry palette image for a list of ``H×W×3`` frames (stacked vertically)."""
    mosaic = Image.fromarray(np.concatenate(frames, axis=0))
    return mosaic.quantize(colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def _quantized_frame(rgb: np.ndarray, palette: Image.Image) -> Any:
    """``rgb`` mapped onto the shared ``palette`` (nearest colour, no dithering)."""
    quantized = Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE)
    return _pal8(np.asarray(quantized), _colours(palette))
