"""SLIC superpixels computed on every frame separately (no segment spans two frames)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vidxai.removal.segment.base import (
    check_pixels,
    check_segment_count,
    check_slic_params,
    compact_labels,
    to_numpy_video,
)
from vidxai.removal.segment.slic import run_slic


@dataclass(frozen=True)
class FrameSlicSegmenter:
    """Per-frame 2D SLIC; ``n_segments`` is the total over the clip (≈ n_segments / T per frame).

    Attributes:
        n_segments: approximate total number of superpixels over all frames.
        compactness: balance of colour against space.
    """

    n_segments: int = 200
    compactness: float = 20.0

    def __post_init__(self) -> None:
        check_slic_params(self.n_segments, self.compactness)

    def __call__(self, pixels: Tensor) -> Tensor:
        """``pixels C×T×H×W`` in [0, 1] → ``T×H×W`` int64 labels ``0..M−1``."""
        check_pixels(pixels)
        check_segment_count(self.n_segments, tuple(pixels.shape[1:]), "per-frame SLIC")
        video = to_numpy_video(pixels)
        per_frame = max(1, round(self.n_segments / video.shape[0]))
        out = np.empty(video.shape[:3], dtype=np.int64)
        offset = 0
        for t, frame in enumerate(video):
            labels = run_slic(frame, per_frame, self.compactness)
            out[t] = labels + offset
            offset = int(out[t].max()) + 1
        return compact_labels(torch.from_numpy(out).to(pixels.device))
