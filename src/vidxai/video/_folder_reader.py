"""Read a directory of frame images (one image per frame, naturally sorted by file name)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.video.types import Video

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pnm"}
)
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[object, ...]:
    """Sort key that orders embedded numbers by value: ``frame2.png`` < ``frame10.png``.

    Text parts compare case-insensitively; the name itself breaks ties.
    """
    parts = _DIGITS.split(name)
    # re.split with a capture group alternates text (even positions) and digits (odd).
    key = tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts))
    return (key, name)


def list_frame_files(folder: Path) -> list[Path]:
    """Image files directly inside ``folder`` (hidden files skipped), naturally sorted."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def _to_rgb(image: Image.Image, path: Path) -> np.ndarray:
    """Convert one PIL image to ``H×W×3`` uint8 RGB (gray repeated, alpha dropped)."""
    mode = image.mode
    if mode.startswith("I;16"):
        # 16-bit grayscale: scale 0..65535 onto 0..255 rather than clipping.
        values = np.asarray(image, dtype=np.uint16).astype(np.uint32)
        gray = ((values * 255 + 32767) // 65535).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode in ("I", "F"):
        raise InvalidInputError(
            f"{path} is a {'32-bit integer' if mode == 'I' else 'floating-point'} image "
            f"(mode {mode!r}); its value range is unknown, so it cannot be converted to 8-bit "
            "RGB. Save the frames as 8-bit images."
        )
    try:
        return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except (ValueError, OSError) as exc:
        raise InvalidInputError(
            f"Cannot convert {path} (image mode {mode!r}) to RGB: {exc}"
        ) from exc


def _load(path: Path) -> tuple[np.ndarray, str, str | None]:
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise VideoReadError(f"Cannot read frame image {path}: {exc}") from exc
    with image:
        return _to_rgb(image, path), image.mode, image.format


def read_frame_folder(folder: Path, *, max_frames: int | None, fps: float) -> Video:
    """Read the images in ``folder`` as consecutive frames of one video."""
    try:
        files = list_frame_files(folder)
    except OSError as exc:
        raise VideoReadError(f"Cannot list the frame folder {folder}: {exc}") from exc
    if not files:
        raise VideoReadError(
            f"The frame folder {folder} contains no images "
            f"(looked for {', '.join(sorted(IMAGE_EXTENSIONS))})."
        )
    total = len(files)
    if max_frames is not None:
        files = files[:max_frames]
    frames: list[np.ndarray] = []
    first_mode, first_format = "", None
    for path in files:
        rgb, mode, fmt = _load(path)
        if frames and rgb.shape != frames[0].shape:
            h0, w0 = frames[0].shape[:2]
            h, w = rgb.shape[:2]
            raise VideoReadError(
                f"Frame images in {folder} have mixed sizes: {path.name} is {w}×{h} (W×H) but "
                f"{files[0].name} is {w0}×{h0}. All frames must have the same size."
            )
        if not frames:
            first_mode, first_format = mode, fmt
        frames.append(rgb)
    array = np.stack(frames)
    metadata = {
        "source": str(folder),
        "container": "frame_folder",
        "codec": (first_format or files[0].suffix.lstrip(".")).lower(),
        "pix_fmt": first_mode,
        "duration": total / fps,
        "num_frames": len(frames),
        "total_frames": total,
        "width": int(array.shape[2]),
        "height": int(array.shape[1]),
        "source_fps": None,
        "files": [p.name for p in files],
    }
    return Video(frames=array, fps=fps, metadata=metadata)
