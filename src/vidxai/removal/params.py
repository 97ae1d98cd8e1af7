"""Parameter fields shared by the removal presets (same names and defaults everywhere)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.budget import DEFAULT_MAX_SAMPLES, DEFAULT_TOLERANCE, AutoBudget
from vidxai.removal.remove import check_removal_spec
from vidxai.removal.segment import SEGMENTATIONS, SegmentationName, Segmenter, make_segmenter


def _check_positive_int(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class SegmentationFields:
    """Segmentation parameters.

    Attributes:
        segmentation: ``slic`` (supervoxels), ``grid``, ``slic2d`` (per frame), ``frames``
            (temporal only) or ``flow`` (first-frame segments carried by optical flow).
        n_segments: approximate number of segments (SLIC variants, frames, flow).
        compactness: SLIC's colour/space balance (REVEX: 20).
        spacing: SLIC voxel spacing along (t, h, w) (REVEX: 0.2 in time).
        grid: cells along (t, h, w) for ``segmentation="grid"``.
    """

    segmentation: SegmentationName = "slic"
    n_segments: int = 200
    compactness: float = 20.0
    spacing: tuple[float, float, float] = (0.2, 1.0, 1.0)
    grid: tuple[int, int, int] = (4, 7, 7)

    def __post_init__(self) -> None:
        if self.segmentation not in SEGMENTATIONS:
            raise ParameterError(
                f"segmentation must be one of {', '.join(SEGMENTATIONS)}, got {self.segmentation!r}"
            )
        _check_positive_int("n_segments", self.n_segments)
        for v in self.grid:
            _check_positive_int("grid", v)
        self.segmenter()  # validates compactness / spacing / grid

    def segmenter(self) -> Segmenter:
        """The segmentation component these fields describe."""
        return make_segmenter(
            self.segmentation, self.n_segments, self.compactness, self.spacing, self.grid
        )


@dataclass(frozen=True)
class RemovalFields:
    """Removal parameters.

    Attributes:
        removal: ``black`` (default, REVEX's experiments), ``gray``, ``mean`` (segment mean
            colour), ``blur`` (3D Gaussian), ``blur2d`` (per-frame Gaussian), a pixel value in
            [0, 1] (one, or one per channel), a tensor of 1 or C values (a constant in
            model-input space), or a reference video tensor ``C×T×H×W`` in model-input space.
        blur_sigma: Gaussian standard deviation in voxels for the blur fills (REVEX: 8, i.e.
            OpenCV's rule for radius 25).
        soft_edges: standard deviation in voxels of a per-frame blur of the removal mask
            (REVEX presets: 3.5); 0 = hard edges.
    """

    removal: str | float | tuple[float, ...] | Tensor = "black"
    blur_sigma: float = 8.0
    soft_edges: float = 0.0

    def __post_init__(self) -> None:
        check_removal_spec(self.removal)
        if not self.blur_sigma >= 0:
            raise ParameterError(f"blur_sigma must be ≥ 0, got {self.blur_sigma}")
        if not self.soft_edges >= 0:
            raise ParameterError(f"soft_edges must be ≥ 0, got {self.soft_edges}")


def check_samples(n_samples: int) -> None:
    """ParameterError unless ``n_samples`` is a positive integer (or ``"auto"`` where allowed)."""
    if n_samples == "auto":
        raise ParameterError("n_samples='auto' is not available here; give a positive integer")
    _check_positive_int("n_samples", n_samples)


@dataclass(frozen=True)
class BudgetFields:
    """Sample budget of the random samplers.

    Attributes:
        n_samples: forward passes, or ``"auto"``: draw in rounds (each one engine call) until
            the RMS standard error relative to the map's range is ≤ ``tolerance``, or
            ``max_samples`` passes were spent. The explanation's extras report
            ``n_samples_used`` and ``relative_standard_error``.
        tolerance: stopping tolerance of ``"auto"`` (default 0.015).
        max_samples: most passes of ``"auto"`` (default 4000).
    """

    n_samples: int | Literal["auto"] = 1000
    tolerance: float = DEFAULT_TOLERANCE
    max_samples: int = DEFAULT_MAX_SAMPLES

    def __post_init__(self) -> None:
        if self.n_samples != "auto":
            check_samples(self.n_samples)  # type: ignore[arg-type]
        self.budget()  # validates tolerance / max_samples

    def budget(self) -> AutoBudget | None:
        """The rounds' stopping rule with ``n_samples="auto"``, else None."""
        if self.n_samples != "auto":
            return None
        return AutoBudget(self.tolerance, self.max_samples)

    @property
    def rows(self) -> int:
        """Rows the sampler draws: ``n_samples``, or ``max_samples`` with ``"auto"``."""
        return self.max_samples if self.n_samples == "auto" else int(self.n_samples)
