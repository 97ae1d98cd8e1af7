"""The six REVEX video methods as declarations of stage components, plus the generic ``removal``.

Each preset builds a :class:`~vidxai.removal.pipeline.Pipeline` from its parameters and hands
it to :func:`~vidxai.removal.batch.run_pipeline_batch`. Every method is registered
``batched=True``: with N clips, each clip is prepared alone (its own generator and target, so
the same draws as explaining it alone) and the rows of all clips are scored in one engine call
whose batches mix clips; with ``n_samples="auto"`` each clip runs its own rounds, clip by clip.
Either way, one output per clip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.removal.batch import run_pipeline_batch
from vidxai.removal.budget import AutoBudget
from vidxai.removal.params import BudgetFields, RemovalFields, SegmentationFields
from vidxai.removal.pipeline import SUMMARIES, MaskStyle, Pipeline, make_summary
from vidxai.removal.sample import (
    BernoulliSampler,
    OneInSampler,
    OneOutSampler,
    Sampler,
    ShapleySampler,
    SlidingCuboidSampler,
)
from vidxai.removal.sample.design import DesignName
from vidxai.removal.sample.fitted import FittedFoldoverSampler
from vidxai.removal.sample.shapley import SizeDistribution
from vidxai.removal.segment import SegmentationName
from vidxai.removal.stages import StageRegistry
from vidxai.removal.summarize import (
    Difference,
    KernelShapWLS,
    LimeRidge,
    MeanWhenKept,
    OccludedValue,
    PixelMean,
    Summary,
)
from vidxai.removal.summarize.ridge import LimeControl
from vidxai.removal.summarize.shapley import ShapleyControl


@dataclass(frozen=True)
class _Segmented(RemovalFields, SegmentationFields):
    """Segmentation + removal fields (see their classes)."""

    def __post_init__(self) -> None:
        SegmentationFields.__post_init__(self)
        RemovalFields.__post_init__(self)

    def pipeline(
        self,
        sampler: Sampler,
        summary: Summary,
        name: str,
        masks: MaskStyle = "hard",
        budget: AutoBudget | None = None,
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
            budget,
        )


@dataclass(frozen=True)
class _Sampled(BudgetFields, _Segmented):
    """Segmentation + removal + sample budget fields (see their classes)."""

    def __post_init__(self) -> None:
        _Segmented.__post_init__(self)
        BudgetFields.__post_init__(self)


# ----------------------------------------------------------------------------------- 3D LIME


#: lime3d's keep designs: the point designs of :mod:`~vidxai.removal.sample.design` and the
#: budget-fitted fold-over (:mod:`~vidxai.removal.sample.fitted`).
LimeDesign = Literal["fitted", "foldover", "sobol", "hadamard", "iid"]


@dataclass(frozen=True)
class Lime3DParams(_Sampled):
    """3D LIME: SLIC supervoxels, Bernoulli(p) keep draws, LIME-kernel ridge regression.

    Attributes:
        n_samples: forward passes (row 0 is the intact clip), or ``"auto"`` (see
            :class:`~vidxai.removal.params.BudgetFields`: ``tolerance``, ``max_samples``).
        p: keep probability of each segment.
        kernel_width: LIME kernel width on the cosine distance (0.25).
        alpha: ridge penalty (REVEX: 1), or ``"auto"``: chosen by exact leave-one-out
            error, capped so that it vanishes relative to ``n_samples`` (see
            :class:`~vidxai.removal.summarize.LimeRidge`).
        design: keep draws from ``fitted`` (default: fold-over blocks of the largest
            Hadamard order ``N ≤ n/2``, e.g. complete fold-overs in 328 of 333 rows for 154
            segments; it depends on the budget, so ``n_samples="auto"`` uses ``foldover``; see
            :class:`~vidxai.removal.sample.fitted.FittedFoldoverSampler`), ``foldover`` (an
            orthogonal Hadamard block of ``2^L ≥ M + 1`` rows, then its complements; full
            rank from ``2^L`` rows on), ``sobol`` (scrambled Sobol points: rank-deficient
            below ``2^(L+1)`` rows), ``hadamard`` (randomised resolution IV blocks) or
            ``iid`` uniforms (REVEX).
        antithetic: complementary pairs ``(z, 1 − z)`` (needs ``p = 0.5``; off by default:
            a pair spends two passes on one direction of the design, which measured worse
            below M samples). ``design="iid", antithetic=False, control="none"`` is REVEX.
        control: ``logistic`` (default) or ``none`` (LIME's fit, REVEX): control variate from a
            logistic surrogate with adjacent-segment pairs whose population fit is computed on
            free synthetic rows (consistent for the same estimand, exact when the linear fit
            is; see :class:`~vidxai.removal.summarize.LimeRidge`).
    """

    p: float = 0.5
    kernel_width: float = 0.25
    alpha: float | Literal["auto"] = 1.0
    design: LimeDesign = "fitted"
    antithetic: bool = False
    control: LimeControl = "logistic"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        if self.design == "fitted" and self.antithetic:
            raise ParameterError("design='fitted' is a fold-over already; set antithetic=False")
        if self.design == "fitted" and self.n_samples != "auto":
            sampler: Sampler = FittedFoldoverSampler(self.rows, self.p, True)
        else:  # the rounds of "auto" need a prefix-consistent design: the nested fold-over
            design = cast(DesignName, "foldover" if self.design == "fitted" else self.design)
            sampler = BernoulliSampler(self.rows, self.p, True, design, self.antithetic)
        return self.pipeline(
            sampler,
            LimeRidge(self.kernel_width, self.alpha, self.control, self.p),
            "lime3d",
            budget=self.budget(),
        )


@register_method(
    "lime3d",
    params=Lime3DParams,
    family="removal",
    batched=True,
    description="3D LIME (REVEX): supervoxels kept with p=0.5, LIME-kernel ridge coefficients "
    "(logistic control variate).",
    quick_params={"n_samples": 64, "n_segments": 16},
)
def lime3d(ctx: ExplainContext, params: Lime3DParams) -> list[MethodOutput]:
    """Per-segment ridge coefficients; extras: standard_error, segments, intercept, r2."""
    return run_pipeline_batch(ctx, params.build())


# ----------------------------------------------------------------------------- 3D Kernel SHAP


@dataclass(frozen=True)
class KernelShap3DParams(_Sampled):
    """3D Kernel SHAP: SLIC, Shapley-kernel coalitions (enumerated when 2^M−2 ≤ n_samples),
    constrained WLS with exact efficiency.

    Attributes:
        n_samples: coalitions besides the intact and fully removed clips (rounded up to even
            with pairs); must be ≥ the number of segments unless every coalition fits; or
            ``"auto"`` (``tolerance``, ``max_samples``).
        pairs: each coalition with its complement (antithetic pairs; default).
        size_distribution: coalition sizes drawn ∝ the kernel's mass ``kernel`` (Kernel SHAP)
            or ``uniform`` with importance weights.
        design: ``iid`` (default: Sobol points measured no better here, see the fidelity
            benchmark) or ``sobol`` (quasi-random sizes and orders).
        complete: stratify by size: enumerate the sizes with the most kernel mass while the
            budget allows, draw the rest (see :class:`~vidxai.removal.sample.ShapleySampler`).
            ``None`` (default): on with a fixed ``n_samples``, ``size_distribution="kernel"``
            and ``design="iid"``; off with ``n_samples="auto"`` (its rounds need a
            prefix-consistent design) or the other draws. ``False``: REVEX's sampler.
        control: ``triples`` (default): the regression runs on the residual of a ridge fit
            of the interactions up to order 3, whose exact Shapley values are added back
            (consistent, exact on additive models; used with 3 to 20 features, see
            :class:`~vidxai.removal.summarize.KernelShapWLS`); ``none``: Kernel SHAP's
            plain regression (REVEX).
    """

    pairs: bool = True
    size_distribution: SizeDistribution = "kernel"
    design: DesignName = "iid"
    complete: bool | None = None
    control: ShapleyControl = "triples"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        plain = self.size_distribution == "kernel" and self.design == "iid"
        complete = (plain if self.complete is None else self.complete) and self.n_samples != "auto"
        sampler = ShapleySampler(
            self.rows, self.pairs, self.size_distribution, self.design, complete
        )
        summary = KernelShapWLS(self.control)
        return self.pipeline(sampler, summary, "kernel_shap3d", budget=self.budget())


@register_method(
    "kernel_shap3d",
    params=KernelShap3DParams,
    family="removal",
    batched=True,
    description="3D Kernel SHAP (REVEX): Shapley-kernel coalitions, constrained WLS (exact "
    "efficiency).",
    quick_params={"n_samples": 64, "n_segments": 16},
)
def kernel_shap3d(ctx: ExplainContext, params: KernelShap3DParams) -> list[MethodOutput]:
    """Per-segment Shapley values; extras: standard_error, base_value, full_value, exact."""
    return run_pipeline_batch(ctx, params.build())


# ----------------------------------------------------------------------------------- 3D RISE


@dataclass(frozen=True)
class Rise3DParams(_Sampled):
    """3D RISE: a 4×7×7 grid, Bernoulli(p) cells, soft upsampled masks, mean score when kept.

    Attributes:
        segmentation: ``grid`` by default; other segmentations use hard masks and the
            per-segment form.
        n_samples: forward passes (masks), or ``"auto"`` (``tolerance``, ``max_samples``).
        p: keep probability of each cell.
        form: ``cell`` (REVEX: per-cell mean when kept, masks upsampled trilinearly, the cell
            values upsampled the same way) or ``pixel`` (original RISE: per-voxel
            Σ s·mask / (N·p) with masks from a (c+1) grid cropped at random offsets).
        design: ``foldover`` (default, see lime3d), ``sobol``, ``hadamard`` or ``iid``
            (REVEX) keep draws.
        antithetic: complementary pairs (needs ``p = 0.5``; off by default, see lime3d).
        control: control variate of the estimator: ``auto`` (``regression`` for the cell
            form, ``mean`` for the pixel form), ``none`` (REVEX / RISE), ``regression``
            (cell form: other cells' fitted effects removed, see
            :class:`~vidxai.removal.summarize.MeanWhenKept`) or ``mean`` (pixel form: scores
            centred on their mean, see :class:`~vidxai.removal.summarize.PixelMean`).
    """

    segmentation: SegmentationName = "grid"
    p: float = 0.5
    form: Literal["cell", "pixel"] = "cell"
    design: DesignName = "foldover"
    antithetic: bool = False
    control: Literal["auto", "none", "mean", "regression"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        sampler = BernoulliSampler(self.rows, self.p, False, self.design, self.antithetic)
        grid = self.segmentation == "grid"
        budget = self.budget()
        if self.form == "pixel":
            if not grid:
                raise ParameterError("rise3d form='pixel' needs segmentation='grid'")
            if self.control == "regression":
                raise ParameterError("control='regression' needs form='cell'")
            summary: Summary = PixelMean(self.p, self.control in ("auto", "mean"))
            return self.pipeline(sampler, summary, "rise3d", "shifted", budget)
        if self.control == "mean":
            raise ParameterError("control='mean' needs form='pixel' (use 'regression')")
        control = "regression" if self.control == "auto" else self.control
        summary = MeanWhenKept(control, self.p)  # type: ignore[arg-type]
        return self.pipeline(sampler, summary, "rise3d", "smooth" if grid else "hard", budget)


@register_method(
    "rise3d",
    params=Rise3DParams,
    family="removal",
    batched=True,
    description="3D RISE (REVEX): random 4×7×7 cell masks upsampled softly, mean score when kept.",
    quick_params={"n_samples": 64},
)
def rise3d(ctx: ExplainContext, params: Rise3DParams) -> list[MethodOutput]:
    """Mean score when kept; extras: standard_error (per cell, or per voxel for ``pixel``)."""
    return run_pipeline_batch(ctx, params.build())


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
    batched=True,
    description="LV LOCO (REVEX): drop in score when one supervoxel is removed (M+1 passes).",
    quick_params={"n_segments": 16},
)
def loco(ctx: ExplainContext, params: LocoParams) -> list[MethodOutput]:
    """Per-segment score drops; extras: segments, intact_score."""
    return run_pipeline_batch(ctx, params.build())


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
    batched=True,
    description="LV Univariate Predictors (REVEX): gain when only one supervoxel is kept.",
    quick_params={"n_segments": 16},
)
def univariate(ctx: ExplainContext, params: UnivariateParams) -> list[MethodOutput]:
    """Per-segment score gains over the fully removed clip; extras: segments, removed_score."""
    return run_pipeline_batch(ctx, params.build())


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
    batched=True,
    description="3D Sampled Occlusion Sensitivity (REVEX): score drop per strided cuboid, "
    "averaged per voxel.",
    quick_params={"kernel": (2, 2, 2), "stride": (1, 1, 1)},
)
def occlusion3d(ctx: ExplainContext, params: Occlusion3DParams) -> list[MethodOutput]:
    """Mean drop of the cuboids covering each voxel; extras: occluded_scores, positions."""
    return run_pipeline_batch(ctx, params.build())


# ------------------------------------------------------------------------- generic composition

#: Sampler factories of the generic ``removal`` method by name: ``RemovalParams → Sampler``.
SAMPLERS: StageRegistry[Callable[[RemovalParams], Sampler]] = StageRegistry("sampler")
SAMPLERS.register("bernoulli")(
    lambda o: BernoulliSampler(o.rows, o.p, o.summary == "ridge", o.design, o.antithetic)
)
SAMPLERS.register("shapley")(lambda o: ShapleySampler(o.rows, o.antithetic, "kernel", o.design))
SAMPLERS.register("one_out")(lambda o: OneOutSampler())
SAMPLERS.register("one_in")(lambda o: OneInSampler())
SAMPLERS.register("cuboid")(lambda o: SlidingCuboidSampler(o.kernel, o.stride, o.units))

SamplerName = Literal["bernoulli", "shapley", "one_out", "one_in", "cuboid"]
SummaryName = Literal["ridge", "shapley", "mean", "mean_pixel", "difference", "occluded"]
assert set(SUMMARIES) == set(SummaryName.__args__)  # type: ignore[attr-defined]
assert set(SAMPLERS) == set(SamplerName.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class RemovalParams(_Sampled):
    """Any composition of the stages.

    Attributes:
        sampler: ``bernoulli`` (keep with ``p``; with the ridge summary row 0 is the intact
            clip), ``shapley`` (Kernel SHAP coalitions), ``one_out``, ``one_in``, ``cuboid``
            (sliding cuboid; ignores the segmentation).
        summary: ``ridge`` (LIME), ``shapley`` (constrained WLS; needs ``shapley``), ``mean``
            (mean score when kept, per feature), ``mean_pixel`` (RISE per voxel),
            ``difference`` (needs ``one_out``/``one_in``), ``occluded`` (needs ``cuboid``).
        masks: ``hard``, ``smooth`` or ``shifted`` (the last two need ``segmentation="grid"``).
        n_samples, p: sample count (or ``"auto"``: ``tolerance``, ``max_samples``) and keep
            probability (random samplers).
        design, antithetic: keep draws (``iid`` or ``sobol``; complementary pairs) of the
            ``bernoulli`` and ``shapley`` samplers (for ``shapley``, ``antithetic`` = pairs).
        control: ``none``, ``mean`` (``mean_pixel``: centred scores), ``regression``
            (``mean``: control variate), ``triples`` (``shapley``: third-order control
            variate) or ``logistic`` (``ridge``: LIME's logistic control variate); a control
            the summary does not take is a ParameterError.
        kernel_width, alpha: LIME kernel width and ridge penalty (``ridge``).
        kernel, stride, units: cuboids of the ``cuboid`` sampler.
    """

    sampler: SamplerName = "bernoulli"
    summary: SummaryName = "ridge"
    masks: MaskStyle = "hard"
    p: float = 0.5
    kernel_width: float = 0.25
    alpha: float = 1.0
    design: DesignName = "iid"
    antithetic: bool = False
    control: Literal["none", "mean", "regression", "triples", "logistic"] = "none"
    kernel: tuple[int, int, int] = (4, 7, 7)
    stride: tuple[int, int, int] = (2, 2, 2)
    units: Literal["fraction", "voxels"] = "fraction"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.build()

    def build(self) -> Pipeline:
        summary = make_summary(
            self.summary,
            p=self.p,
            kernel_width=self.kernel_width,
            alpha=self.alpha,
            control=self.control,
        )
        segmenter = None if self.sampler == "cuboid" else self.segmenter()
        return Pipeline(
            segmenter,
            SAMPLERS.get(self.sampler)(self),
            summary,
            self.removal,
            self.masks,
            self.soft_edges,
            self.blur_sigma,
            "removal",
            self.budget(),
        )


@register_method(
    "removal",
    params=RemovalParams,
    family="removal",
    batched=True,
    description="Any REVEX composition: segmentation × sampler × removal × summary.",
    quick_params={"n_samples": 32, "n_segments": 16},
)
def removal(ctx: ExplainContext, params: RemovalParams) -> list[MethodOutput]:
    """Runs the composition the parameters describe."""
    return run_pipeline_batch(ctx, params.build())
