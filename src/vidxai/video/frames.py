"""Validation of frame arrays (the ``T×H×W×3`` uint8 RGB convention of vidxai)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vidxai.errors import InvalidInputError
from vidxai.video._checks import check_int


def validate_frames(
    frames: Any, *, min_frames: int = 1, name: str = "frames", copy: bool = True
) -> np.ndarray:
    """Check a video given as frames and return it as a new ``T×H×W×3`` uint8 RGB array.

    Accepted layouts (all ``uint8``, values 0..255):

    * ``T×H×W×3`` RGB — returned as a copy;
    * ``T×H×W`` or ``T×H×W×1`` grayscale — the gray value is repeated into R, G and B;
    * ``T×H×W×4`` RGBA — the alpha channel is dropped (no blending with a background).

    The input is never modified; the result is a new C-contiguous array (with ``copy=False``,
    a C-contiguous ``T×H×W×3`` uint8 input is returned as it is, for callers that only read it).

    Args:
        frames: the frames (a NumPy array or anything :func:`numpy.asarray` accepts).
        min_frames: the smallest acceptable ``T`` (the explain front door uses 2: one frame
            is a picture, not a video).
        name: what to call the argument in error messages.
        copy: always return a new array (default); False skips the copy of an input that is
            already C-contiguous ``T×H×W×3`` uint8 (a 720p clip of 132 frames is 365 MB).

    Returns:
        ``T×H×W×3`` uint8 array.

    Raises:
        InvalidInputError: wrong dtype, wrong number of dimensions or channels, an empty
            spatial size, or fewer than ``min_frames`` frames.
    """
    min_frames = check_int(min_frames, "min_frames", minimum=1)
    try:
        array = np.asarray(frames)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{name} cannot be read as an array: {exc}") from exc
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"{name} must be uint8 RGB frames with values 0..255 (T×H×W×3); got dtype "
            f"{array.dtype}. Convert with (frames * 255).round().clip(0, 255).astype('uint8') "
            "if they are floats in [0, 1]."
        )
    if array.ndim == 2:
        raise InvalidInputError(
            f"{name} has shape {array.shape}: that is a single grayscale image, not a video. "
            "Expected T×H×W×3 frames."
        )
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        raise InvalidInputError(
            f"{name} has shape {array.shape}: that looks like a single H×W×C image, not a video. "
            "Expected T×H×W×3 frames (add a leading frame axis)."
        )
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise InvalidInputError(
            f"{name} must have shape T×H×W×3 (RGB), T×H×W×4 (RGBA) or T×H×W (grayscale); "
            f"got shape {np.shape(frames)}."
        )
    num_frames, height, width = array.shape[:3]
    if height == 0 or width == 0:
        raise InvalidInputError(f"{name} has an empty frame size {height}×{width}.")
    if num_frames < min_frames:
        what = "no frames" if num_frames == 0 else f"{num_frames} frame(s)"
        hint = " A single frame is a picture, not a video." if num_frames == 1 else ""
        raise InvalidInputError(
            f"{name} has {what}; at least {min_frames} frame(s) are required.{hint}"
        )
    if array.shape[-1] == 1:
        return np.ascontiguousarray(np.repeat(array, 3, axis=-1))
    if not copy and array.shape[-1] == 3 and array.flags.c_contiguous:
        return array
    return np.array(array[..., :3], dtype=np.uint8, order="C", copy=True)
