"""Temporal-only segmentation: groups of consecutive whole frames."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.segment.base import check_pixels


@dataclass(frozen=True)
class TemporalSegmenter:
    """``min(n_segments, T)`` groups of consecutive frames (one per frame when T ≤ n_segments).

    Attributes:
        n_segments: number of frame groups wanted (at most one per frame).
    """

    n_segments: int = 200

    def __post_init__(self) -> None:
        if self.n_segments < 1:
            raise ParameterError(f"n_segments must be ≥ 1, got {self.n_segments}")

    def __call__(self, pixels: Tensor) -> Tensor:
        """``pixels C×T×H×W`` → ``T×H×W`` int64 labels; frame ``t`` gets ``t·G // T``."""
        check_pixels(pixels)
        t, h, w = pixels.shape[1:]
        groups = min(self.n_segments, t)
        per_frame = torch.arange(t, device=pixels.device) * groups // t
        return per_frame.view(t, 1, 1).expand(t, h, w).contiguous()
