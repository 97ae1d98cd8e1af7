"""The six REVEX video methods as declarations of stage components, plus the generic ``removal``.

Each preset builds a :class:`~vidxai.removal.pipeline.Pipeline` from its parameters and hands
it to :func:`~vidxai.removal.pipeline.run_pipeline`, the only code that runs a removal method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.removal.params import RemovalFields, SegmentationFields, check_samples
from vidxai.removal.pipeline import SUMMARIES, MaskStyle, Pipeline, make_summary, run_pipeline
from vidxai.removal.sample import (
    BernoulliSampler,
    OneInSampler,
    OneOutSampler,
    Sampler,
    ShapleySampler,
    SlidingCuboidSampler,
)
from vidxai.removal.segment import SegmentationName
from vidxai.removal.summarize import (
    Difference,
    KernelShapWLS,
    LimeRidge,
    MeanWhenKept,
    OccludedValue,
    PixelMean,
    Summary,
)


@dataclass(frozen=True)
class _Segmented(RemovalFields, SegmentationFields):
    """Segmentation + removal fields (see their classes)."""

    def __post_init__(self) -> None:
        SegmentationFields.__post_init__(self)
        RemovalFields.__post_init__(self)

    def pipeline(
        self, sampler: Sampler, summary: Summary, name: str, masks: MaskStyle = "hard"
    ) -> Pipeline:
        """A pipeline with these segmentation and removal choices."""
        return Pipeline(
            self.segmenter(),
            sampler,
            summary,
            self.removal,
            masks,
            self.soft_edges,
            self.blur_sigma,
            name,
        )


# ----------------------------------------------------------------------------------- 3D LIME


@dataclass(frozen=True)
class Lime3DParams(_Segmented):
    """3D LIME: SLIC supervoxels, Bernoulli(p) keep draws, LIME-kernel ridge regression.

    Attributes:
        n_samples: forward passes (row 0 is the intact clip).
        p: keep probability of each segment.
        kernel_width: LIME kernel width on the cosine distance (0.25).
        alpha: ridge penalty (1).
    """

    n_samples: int = 1000
    p: float = 0.5
    kernel_width: float = 0.25
    alpha: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        return self.pipeline(
            BernoulliSampler(self.n_samples, self.p, include_intact=True),
            LimeRidge(self.kernel_width, self.alpha),
            "lime3d",
        )


@register_method(
    "lime3d",
    params=Lime3DParams,
    family="removal",
    description="3D LIME (REVEX): supervoxels kept with p=0.5, LIME-kernel ridge coefficients.",
    quick_params={"n_samples": 64, "n_segments": 16},
)
def lime3d(ctx: ExplainContext, params: Lime3DParams) -> MethodOutput:
    """Per-segment ridge coefficients; extras: standard_error, segments, intercept, r2."""
    return run_pipeline(ctx, params.build())


# ----------------------------------------------------------------------------- 3D Kernel SHAP


@dataclass(frozen=True)
class KernelShap3DParams(_Segmented):
    """3D Kernel SHAP: SLIC, Shapley-kernel coalitions (paired; enumerated when 2^M−2 ≤
    n_samples), constrained WLS with exact efficiency.

    Attributes:
        n_samples: coalitions besides the intact and fully removed clips (rounded up to even);
            must be ≥ the number of segments unless every coalition fits.
    """

    n_samples: int = 1000

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        return self.pipeline(ShapleySampler(self.n_samples), KernelShapWLS(), "kernel_shap3d")


@register_method(
    "kernel_shap3d",
    params=KernelShap3DParams,
    family="removal",
    description="3D Kernel SHAP (REVEX): Shapley-kernel coalitions, constrained WLS (exact "
    "efficiency).",
    quick_params={"n_samples": 64, "n_segments": 16},
)
def kernel_shap3d(ctx: ExplainContext, params: KernelShap3DParams) -> MethodOutput:
    """Per-segment Shapley values; extras: standard_error, base_value, full_value, exact."""
    return run_pipeline(ctx, params.build())


# ----------------------------------------------------------------------------------- 3D RISE


@dataclass(frozen=True)
class Rise3DParams(_Segmented):
    """3D RISE: a 4×7×7 grid, Bernoulli(p) cells, soft upsampled masks, mean score when kept.

    Attributes:
        segmentation: ``grid`` by default; other segmentations use hard masks and the
            per-segment form.
        n_samples: forward passes (masks).
        p: keep probability of each cell.
        form: ``cell`` (REVEX: per-cell mean when kept, masks upsampled trilinearly, the cell
            values upsampled the same way) or ``pixel`` (original RISE: per-voxel
            Σ s·mask / (N·p) with masks from a (c+1) grid cropped at random offsets).
    """

    segmentation: SegmentationName = "grid"
    n_samples: int = 1000
    p: float = 0.5
    form: Literal["cell", "pixel"] = "cell"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        sampler = BernoulliSampler(self.n_samples, self.p)
        grid = self.segmentation == "grid"
        if self.form == "pixel":
            if not grid:
                raise ParameterError("rise3d form='pixel' needs segmentation='grid'")
            return self.pipeline(sampler, PixelMean(self.p), "rise3d", "shifted")
        return self.pipeline(sampler, MeanWhenKept(), "rise3d", "smooth" if grid else "hard")


@register_method(
    "rise3d",
    params=Rise3DParams,
    family="removal",
    description="3D RISE (REVEX): random 4×7×7 cell masks upsampled softly, mean score when kept.",
    quick_params={"n_samples": 64},
)
def rise3d(ctx: ExplainContext, params: Rise3DParams) -> MethodOutput:
    """Mean score when kept; extras: standard_error (per cell, or per voxel for ``pixel``)."""
    return run_pipeline(ctx, params.build())


# -------------------------------------------------------------------------- LOCO / Univariate


@dataclass(frozen=True)
class LocoParams(_Segmented):
    """LV LOCO: SLIC, each segment removed alone, ``f(x) − f(x without segment)`` (M+1 passes)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        return self.pipeline(OneOutSampler(), Difference(), "loco")


@register_method(
    "loco",
    params=LocoParams,
    family="removal",
    description="LV LOCO (REVEX): drop in score when one supervoxel is removed (M+1 passes).",
    quick_params={"n_segments": 16},
)
def loco(ctx: ExplainContext, params: LocoParams) -> MethodOutput:
    """Per-segment score drops; extras: segments, intact_score."""
    return run_pipeline(ctx, params.build())


@dataclass(frozen=True)
class UnivariateParams(_Segmented):
    """LV Univariate Predictors: SLIC, all removed but one segment,
    ``f(only segment) − f(all removed)`` (M+1 passes)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        return self.pipeline(OneInSampler(), Difference(), "univariate")


@register_method(
    "univariate",
    params=UnivariateParams,
    family="removal",
    description="LV Univariate Predictors (REVEX): gain when only one supervoxel is kept.",
    quick_params={"n_segments": 16},
)
def univariate(ctx: ExplainContext, params: UnivariateParams) -> MethodOutput:
    """Per-segment score gains over the fully removed clip; extras: segments, removed_score."""
    return run_pipeline(ctx, params.build())


# ------------------------------------------------------------------------------------ 3D SOS


@dataclass(frozen=True)
class Occlusion3DParams(RemovalFields):
    """3D Sampled Occlusion Sensitivity: one cuboid occluded per pass at strided positions.

    Attributes:
        kernel: cuboid size along (t, h, w): fractions of the clip (``(4, 7, 7)`` = T/4×H/7×W/7,
            REVEX) or voxels with ``units="voxels"``.
        stride: positions per cuboid length with fractions (``2`` = half overlap, REVEX:
            7×13×13 positions), or the step in voxels.
        units: ``fraction`` or ``voxels``.
    """

    kernel: tuple[int, int, int] = (4, 7, 7)
    stride: tuple[int, int, int] = (2, 2, 2)
    units: Literal["fraction", "voxels"] = "fraction"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        return Pipeline(
            None,
            SlidingCuboidSampler(self.kernel, self.stride, self.units),
            OccludedValue(),
            self.removal,
            "hard",
            self.soft_edges,
            self.blur_sigma,
            "occlusion3d",
        )


@register_method(
    "occlusion3d",
    params=Occlusion3DParams,
    family="removal",
    description="3D Sampled Occlusion Sensitivity (REVEX): score drop per strided cuboid, "
    "averaged per voxel.",
    quick_params={"kernel": (2, 2, 2), "stride": (1, 1, 1)},
)
def occlusion3d(ctx: ExplainContext, params: Occlusion3DParams) -> MethodOutput:
    """Mean drop of the cuboids covering each voxel; extras: occluded_scores, positions."""
    return run_pipeline(ctx, params.build())


# ------------------------------------------------------------------------- generic composition

SamplerName = Literal["bernoulli", "shapley", "one_out", "one_in", "cuboid"]
SummaryName = Literal["ridge", "shapley", "mean", "mean_pixel", "difference", "occluded"]
assert set(SUMMARIES) == set(SummaryName.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RemovalParams(_Segmented):
    """Any composition of the stages.

    Attributes:
        sampler: ``bernoulli`` (keep with ``p``; with the ridge summary row 0 is the intact
            clip), ``shapley`` (Kernel SHAP coalitions), ``one_out``, ``one_in``, ``cuboid``
            (sliding cuboid; ignores the segmentation).
        summary: ``ridge`` (LIME), ``shapley`` (constrained WLS; needs ``shapley``), ``mean``
            (mean score when kept, per feature), ``mean_pixel`` (RISE per voxel),
            ``difference`` (needs ``one_out``/``one_in``), ``occluded`` (needs ``cuboid``).
        masks: ``hard``, ``smooth`` or ``shifted`` (the last two need ``segmentation="grid"``).
        n_samples, p: sample count and keep probability (random samplers).
        kernel_width, alpha: LIME kernel width and ridge penalty (``ridge``).
        kernel, stride, units: cuboids of the ``cuboid`` sampler.
    """

    sampler: SamplerName = "bernoulli"
    summary: SummaryName = "ridge"
    masks: MaskStyle = "hard"
    n_samples: int = 1000
    p: float = 0.5
    kernel_width: float = 0.25
    alpha: float = 1.0
    kernel: tuple[int, int, int] = (4, 7, 7)
    stride: tuple[int, int, int] = (2, 2, 2)
    units: Literal["fraction", "voxels"] = "fraction"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_samples(self.n_samples)
        self.build()

    def build(self) -> Pipeline:
        samplers: dict[str, Callable[[], Sampler]] = {
            "bernoulli": lambda: BernoulliSampler(
                self.n_samples, self.p, include_intact=self.summary == "ridge"
            ),
            "shapley": lambda: ShapleySampler(self.n_samples),
            "one_out": OneOutSampler,
            "one_in": OneInSampler,
            "cuboid": lambda: SlidingCuboidSampler(self.kernel, self.stride, self.units),
        }
        summary = make_summary(
            self.summary, p=self.p, kernel_width=self.kernel_width, alpha=self.alpha
        )
        segmenter = None if self.sampler == "cuboid" else self.segmenter()
        return Pipeline(
            segmenter,
            samplers[self.sampler](),
            summary,
            self.removal,
            self.masks,
            self.soft_edges,
            self.blur_sigma,
            "removal",
        )


@register_method(
    "removal",
    params=RemovalParams,
    family="removal",
    description="Any REVEX composition: segmentation × sampler × removal × summary.",
    quick_params={"n_samples": 32, "n_segments": 16},
)
def removal(ctx: ExplainContext, params: RemovalParams) -> MethodOutput:
    """Runs the composition the parameters describe."""
    return run_pipeline(ctx, params.build())
