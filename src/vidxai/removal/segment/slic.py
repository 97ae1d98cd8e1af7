"""SLIC supervoxels on the whole T×H×W volume (REVEX: ~200, compactness 20, T spacing 0.2)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.segment.base import (
    check_pixels,
    check_segment_count,
    check_slic_params,
    compact_labels,
    to_numpy_video,
)


@dataclass(frozen=True)
class SupervoxelSegmenter:
    """scikit-image SLIC on the clip treated as one 3D volume with colour channels.

    A temporal spacing below 1 shortens distances along time, so supervoxels reach further in
    time than in space. Three-channel clips are clustered in CIELAB (scikit-image's default),
    which is what ``compactness`` is calibrated for.

    Attributes:
        n_segments: approximate number of supervoxels (SLIC may return a few more or fewer).
        compactness: balance of colour against space (higher = more cubic supervoxels).
        spacing: voxel spacing along (t, h, w).
    """

    n_segments: int = 200
    compactness: float = 20.0
    spacing: tuple[float, float, float] = (0.2, 1.0, 1.0)

    def __post_init__(self) -> None:
        check_slic_params(self.n_segments, self.compactness)
        if len(self.spacing) != 3 or any(not s > 0 for s in self.spacing):
            raise ParameterError(f"spacing must be three positive numbers, got {self.spacing}")

    def __call__(self, pixels: Tensor) -> Tensor:
        """``pixels C×T×H×W`` in [0, 1] → ``T×H×W`` int64 labels ``0..M−1``."""
        check_pixels(pixels)
        check_segment_count(self.n_segments, tuple(pixels.shape[1:]), "SLIC")
        video = to_numpy_video(pixels)
        labels = run_slic(
            video,
            n_segments=self.n_segments,
            compactness=self.compactness,
            spacing=np.asarray(self.spacing, dtype=np.float64),
        )
        return compact_labels(torch.from_numpy(labels).to(pixels.device))


def run_slic(image: np.ndarray, n_segments: int, compactness: float, **kw: object) -> np.ndarray:
    """scikit-image SLIC with a fallback for textures it cannot make connected.

    On noise-like content SLIC's connectivity enforcement merges nearly everything into one
    segment. When fewer than ``n_segments // 4`` segments survive (of at least 8 asked for),
    SLIC is rerun without it (segments may then be disconnected) and a warning says so.

    Args:
        image: ``…×C`` float64 array (a video ``T×H×W×C`` or a frame ``H×W×C``).

    Returns:
        int64 labels of ``image.shape[:-1]`` starting at 0 (not necessarily contiguous).
    """
    from skimage.segmentation import slic  # imported only when SLIC runs (scipy.cluster: ~0.4 s)

    labels = slic(
        image, n_segments=n_segments, compactness=compactness, start_label=0, channel_axis=-1, **kw
    )
    if n_segments >= 8 and len(np.unique(labels)) < n_segments // 4:
        warnings.warn(
            f"SLIC kept only {len(np.unique(labels))} of ~{n_segments} segments after enforcing "
            "connectivity (noise-like content?); using SLIC without connectivity enforcement",
            UserWarning,
            stacklevel=4,
        )
        labels = slic(
            image,
            n_segments=n_segments,
            compactness=compactness,
            start_label=0,
            channel_axis=-1,
            enforce_connectivity=False,
            **kw,
        )
    return np.ascontiguousarray(labels, dtype=np.int64)
