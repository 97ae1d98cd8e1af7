"""First-frame segments carried through the clip by Farnebäck optical flow (as AOSA/REVEX)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
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


def gray_uint8(frame: np.ndarray) -> np.ndarray:
    """``H×W×C`` float in [0, 1] → ``H×W`` uint8 luminance (channel mean for C ≠ 3)."""
    gray = frame @ np.array([0.299, 0.587, 0.114]) if frame.shape[-1] == 3 else frame.mean(-1)
    return np.clip(gray * 255.0 + 0.5, 0, 255).astype(np.uint8)


def farneback_flow(source: np.ndarray, destination: np.ndarray) -> np.ndarray:
    """Dense Farnebäck flow between two ``H×W`` uint8 frames → ``H×W×2`` float32 ``(dx, dy)``.

    Pixel ``p`` of ``source`` moves to ``p + flow(p)`` in ``destination``. The parameters are
    the ones AOSA and REVEX use (pyramid scale 0.5, 3 levels, window 15, 3 iterations, poly_n 5,
    poly_sigma 1.2).
    """
    return cv2.calcOpticalFlowFarneback(  # type: ignore[call-overload]
        source, destination, None, 0.5, 3, 15, 3, 5, 1.2, 0
    )


@dataclass(frozen=True)
class FlowSegmenter:
    """2D SLIC on frame 0, then each frame's labels are pulled from the previous frame along
    the backward Farnebäck flow (nearest neighbour). A segment is a tube through time; regions
    that enter the view later inherit the label of whatever the flow maps them onto.

    Attributes:
        n_segments: approximate number of superpixels in the first frame (= number of tubes).
        compactness: balance of colour against space for the first-frame SLIC.
    """

    n_segments: int = 200
    compactness: float = 20.0

    def __post_init__(self) -> None:
        check_slic_params(self.n_segments, self.compactness)

    def __call__(self, pixels: Tensor) -> Tensor:
        """``pixels C×T×H×W`` in [0, 1] → ``T×H×W`` int64 labels ``0..M−1``."""
        check_pixels(pixels)
        check_segment_count(self.n_segments, tuple(pixels.shape[2:]), "flow segmentation")
        video = to_numpy_video(pixels)
        t, h, w = video.shape[:3]
        out = np.empty((t, h, w), dtype=np.int64)
        out[0] = run_slic(video[0], self.n_segments, self.compactness)
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        prev_gray = gray_uint8(video[0])
        for i in range(1, t):
            gray = gray_uint8(video[i])
            # flow from frame i back to frame i−1: pixel p of frame i came from p + flow(p)
            flow = farneback_flow(gray, prev_gray)
            src = out[i - 1].astype(np.float32)
            out[i] = cv2.remap(
                src,
                grid_x + flow[..., 0],
                grid_y + flow[..., 1],
                interpolation=cv2.INTER_NEAREST,
                borderMode=cv2.BORDER_REPLICATE,
            ).astype(np.int64)
            prev_gray = gray
        return compact_labels(torch.from_numpy(out).to(pixels.device))
