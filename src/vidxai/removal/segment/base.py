"""What every segmenter shares: the contract (pixels in, label volume out) and small helpers."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError


class Segmenter(Protocol):
    """A segmentation stage: ``pixels C×T×H×W`` in [0, 1] → integer labels ``T×H×W``.

    The labels are ``int64`` on the pixels' device and take every value ``0..M−1`` (each label
    names one feature; every voxel belongs to exactly one feature).
    """

    def __call__(self, pixels: Tensor) -> Tensor: ...


def compact_labels(labels: Tensor) -> Tensor:
    """Renumber an integer volume so that its labels are exactly ``0..M−1`` (order kept).

    Args:
        labels: ``T×H×W`` integer tensor with arbitrary (possibly gappy) labels.

    Returns:
        ``T×H×W`` int64 tensor on the same device with labels ``0..M−1``.
    """
    _, inverse = torch.unique(labels, sorted=True, return_inverse=True)
    return inverse.reshape(labels.shape).to(torch.int64)


def to_numpy_video(pixels: Tensor) -> np.ndarray:
    """``C×T×H×W`` float in [0, 1] → ``T×H×W×C`` float64 NumPy array (for scikit-image / OpenCV)."""
    return pixels.detach().permute(1, 2, 3, 0).to("cpu", torch.float64).numpy()


def check_pixels(pixels: Tensor) -> None:
    """Raise :class:`InvalidInputError` unless ``pixels`` is a float ``C×T×H×W`` tensor."""
    if not isinstance(pixels, Tensor) or pixels.ndim != 4 or not pixels.is_floating_point():
        got = tuple(pixels.shape) if isinstance(pixels, Tensor) else type(pixels).__name__
        raise InvalidInputError(f"A segmenter needs a float C×T×H×W clip, got {got}")


def check_slic_params(n_segments: int, compactness: float) -> None:
    """Raise :class:`ParameterError` unless ``n_segments`` ≥ 1 and ``compactness`` > 0 (SLIC)."""
    if n_segments < 1:
        raise ParameterError(f"n_segments must be ≥ 1, got {n_segments}")
    if not compactness > 0:
        raise ParameterError(f"compactness must be > 0, got {compactness}")


def check_segment_count(n_segments: int, shape: tuple[int, ...], what: str) -> None:
    """Raise :class:`ParameterError` when more segments are asked for than there are voxels."""
    voxels = int(np.prod(shape))
    if n_segments > voxels:
        dims = "×".join(map(str, shape))
        raise ParameterError(
            f"{what}: n_segments={n_segments} is more than the {voxels} voxels of a {dims} clip; "
            f"ask for at most {voxels} segments"
        )
