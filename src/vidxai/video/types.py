"""The :class:`Video` container returned by :func:`vidxai.video.read_video`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vidxai.errors import InvalidInputError
from vidxai.video._checks import check_positive_number


@dataclass(frozen=True, eq=False)
class Video:
    """Decoded video frames with their frame rate and source metadata.

    Attributes:
        frames: ``T×H×W×3`` uint8 RGB array (T ≥ 1).
        fps: frames per second (> 0).
        metadata: facts about the source. :func:`read_video` fills ``source`` (path),
            ``container``, ``codec``, ``pix_fmt`` (the original pixel format or image mode),
            ``duration`` (seconds), ``num_frames`` (frames in ``frames``), ``total_frames``
            (frames the source reports, ``None`` if unknown), ``width`` and ``height``.

    The dataclass is frozen (fields cannot be re-assigned); treat ``frames`` as read-only
    and copy it before changing pixels.
    """

    frames: np.ndarray
    fps: float = 25.0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frames = self.frames
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
            raise InvalidInputError(
                "Video.frames must be a uint8 NumPy array of shape T×H×W×3; "
                f"got {type(frames).__name__} {getattr(frames, 'dtype', '')}. "
                "Use vidxai.video.validate_frames to convert grayscale or RGBA frames."
            )
        if frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
            raise InvalidInputError(
                f"Video.frames must have shape T×H×W×3 with T, H, W >= 1; got {frames.shape}."
            )
        object.__setattr__(self, "fps", check_positive_number(self.fps, "fps"))

    @property
    def num_frames(self) -> int:
        """Number of frames ``T``."""
        return int(self.frames.shape[0])

    @property
    def height(self) -> int:
        """Frame height ``H`` in pixels."""
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        """Frame width ``W`` in pixels."""
        return int(self.frames.shape[2])

    @property
    def duration(self) -> float:
        """Duration of the frames held, ``T / fps`` seconds."""
        return self.num_frames / self.fps

    def __repr__(self) -> str:
        src = self.metadata.get("source")
        where = f", source={src!r}" if src else ""
        return (
            f"Video(frames={self.num_frames}×{self.height}×{self.width}×3 uint8, "
            f"fps={self.fps:g}{where})"
        )
