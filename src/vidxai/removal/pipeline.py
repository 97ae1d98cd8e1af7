"""The one removal-based method: run any composition of REVEX stages.

segmentation → feature/sample selection → removal (fill + masks) → model (the scorer) → summary.
Every preset is a :class:`Pipeline` value; :func:`run_pipeline` is the only code that executes one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.budget import AutoBudget, Rounds, relative_standard_error
from vidxai.removal.remove import (
    BoxMasks,
    FillInput,
    MaskLayout,
    RemovalSpec,
    Renderer,
    ScratchBuffers,
    SegmentMasks,
    ShiftedGridMasks,
    SmoothGridMasks,
    check_removal_spec,
    make_removal_fill,
)
from vidxai.removal.sample import (
    OneInSampler,
    OneOutSampler,
    Sampler,
    Samples,
    ShapleySampler,
    SlidingCuboidSampler,
)
from vidxai.removal.segment import GridSegmenter, Segmenter, pixel_video
from vidxai.removal.stages import StageRegistry
from vidxai.removal.summarize import (
    Difference,
    KernelShapWLS,
    LimeRidge,
    MeanWhenKept,
    OccludedValue,
    PixelMean,
    Summary,
    SummaryInput,
)
from vidxai.removal.summarize.mean import MeanControl
from vidxai.removal.summarize.ridge import LIME_CONTROLS
from vidxai.removal.summarize.shapley import ShapleyControl

MaskStyle = Literal["hard", "smooth", "shifted"]


@dataclass(frozen=True)
class Pipeline:
    """A removal-based explanation method as a composition of stage components.

    Attributes:
        segmenter: segmentation stage (None for the sliding-cuboid sampler, which defines its
            own features).
        sampler: feature and sample selection stage.
        summary: summary stage.
        removal: what removed voxels become (see :data:`~vidxai.removal.remove.RemovalSpec`).
        masks: ``"hard"`` (a feature is kept or removed), ``"smooth"`` (grid cells upsampled
            trilinearly: REVEX's RISE) or ``"shifted"`` (the original RISE: a ``(c+1)`` grid
            upsampled and cropped at a random offset). The last two need the grid segmenter.
        soft_edges: standard deviation (voxels) of a per-frame blur of each mask; 0 = none.
        blur_sigma: standard deviation (voxels) of the ``"blur"`` / ``"blur2d"`` fills.
        name: label of the progress bar.
        budget: ``n_samples="auto"``: score the sampler's design (of ``budget.max_samples``
            rows) in rounds until the standard errors are small (None = score every row).
    """

    segmenter: Segmenter | None
    sampler: Sampler
    summary: Summary
    removal: RemovalSpec = "black"
    masks: MaskStyle = "hard"
    soft_edges: float = 0.0
    blur_sigma: float = 8.0
    name: str = "removal"
    budget: AutoBudget | None = None

    def __post_init__(self) -> None:
        check_removal_spec(self.removal)
        if self.masks not in MASK_LAYOUTS:
            raise ParameterError(
                f"masks must be one of {', '.join(MASK_LAYOUTS.names())}, got {self.masks!r}"
            )
        if not self.soft_edges >= 0 or not self.blur_sigma >= 0:
            raise ParameterError("soft_edges and blur_sigma must be ≥ 0")
        self._check_composition()

    def _check_composition(self) -> None:
        cuboid = isinstance(self.sampler, SlidingCuboidSampler)
        if cuboid != isinstance(self.summary, OccludedValue):
            raise ParameterError(
                "the sliding-cuboid sampler and the occluded-value summary go together"
            )
        if not cuboid and self.segmenter is None:
            raise ParameterError("this sampler needs a segmentation")
        if self.masks != "hard" and not isinstance(self.segmenter, GridSegmenter):
            raise ParameterError(f"masks={self.masks!r} needs segmentation='grid'")
        if self.masks == "shifted" and not isinstance(self.summary, PixelMean):
            raise ParameterError(
                "shifted (original RISE) masks only have a per-voxel summary: use summary "
                "'mean_pixel'"
            )
        if isinstance(self.summary, KernelShapWLS) != isinstance(self.sampler, ShapleySampler):
            raise ParameterError("the Shapley summary needs the Shapley sampler and vice versa")
        if isinstance(self.summary, Difference) and not isinstance(
            self.sampler, (OneOutSampler, OneInSampler)
        ):
            raise ParameterError("the difference summary needs the one_out or one_in sampler")


LayoutFactory = Callable[[Samples], MaskLayout]
#: Mask layouts by ``Pipeline.masks``: ``(pipeline, ctx, labels, (T, H, W)) → (M, factory)``.
MASK_LAYOUTS: StageRegistry[Callable[..., tuple[int, LayoutFactory]]] = StageRegistry("masks")


@MASK_LAYOUTS.register("hard")
def _hard(pipeline: Pipeline, ctx: ExplainContext, labels: Tensor, shape: tuple) -> tuple:
    return int(labels.max()) + 1, lambda s: SegmentMasks(s.z, labels)


@MASK_LAYOUTS.register("smooth")
def _smooth(pipeline: Pipeline, ctx: ExplainContext, labels: Tensor, shape: tuple) -> tuple:
    assert isinstance(pipeline.segmenter, GridSegmenter)
    cells = pipeline.segmenter.resolved_cells(shape)
    return math.prod(cells), lambda s: SmoothGridMasks(s.z, cells, shape)


@MASK_LAYOUTS.register("shifted")
def _shifted(pipeline: Pipeline, ctx: ExplainContext, labels: Tensor, shape: tuple) -> tuple:
    assert isinstance(pipeline.segmenter, GridSegmenter)
    cells = pipeline.segmenter.resolved_cells(shape)
    return ShiftedGridMasks.num_features(cells), lambda s: ShiftedGridMasks(
        s.z, cells, shape, ctx.generator
    )


def _layout(
    pipeline: Pipeline, ctx: ExplainContext, labels: Any, shape: tuple[int, int, int]
) -> tuple[int, LayoutFactory]:
    """Number of features and a factory ``samples → MaskLayout`` for this pipeline."""
    if isinstance(pipeline.sampler, SlidingCuboidSampler):  # the sampler defines the features
        return 0, lambda s: BoxMasks(s.boxes, shape)
    return MASK_LAYOUTS.get(pipeline.masks)(pipeline, ctx, labels, shape)


def _segment(pipeline: Pipeline, ctx: ExplainContext) -> Tensor | None:
    """Segmentation step: ``T×H×W`` labels of the clip (None without a segmenter)."""
    if pipeline.segmenter is None:
        return None
    with ctx.timer("segmentation"):
        has_pre = bool(getattr(ctx.classifier, "has_preprocessing", False))
        return pipeline.segmenter(pixel_video(ctx.x[0], ctx.mean, ctx.std, has_pre))


def _renderer(
    pipeline: Pipeline,
    ctx: ExplainContext,
    masks: MaskLayout,
    labels: Tensor | None,
    buffers: ScratchBuffers | None = None,
) -> Renderer:
    """Removal step: the batch renderer of the perturbed clips."""
    x = ctx.x
    box_mean = pipeline.removal == "mean" and isinstance(masks, BoxMasks)
    fill_input = FillInput(x, ctx.pixel_value, labels, pipeline.blur_sigma, ctx.generator)
    fill = None if box_mean else make_removal_fill(pipeline.removal, fill_input)
    reuse = x.device.type == "cpu"
    return Renderer(x, fill, masks, pipeline.soft_edges, box_mean, reuse, buffers)


def least_rows(samples: Samples) -> int:
    """Fewest rows a summary can work with: the fixed rows and, for a regression, one random
    row per feature (plus one)."""
    need = samples.num_features + 1 if samples.kind == "shapley" else 2
    return samples.first_random + need


@dataclass
class PreparedRun:
    """One explanation after the segment, sample and render steps, before scoring.

    Attributes:
        labels: ``T×H×W`` segment labels (None without a segmentation).
        samples: the sampler's design (all rows).
        masks: the mask layout rendering the rows.
        score: ``(start, stop) → stop − start`` target values of rows ``[start, stop)``
            (one ``ctx.scorer.run`` call: one engine call).
        summarize: ``(first rows, their scores) → MethodOutput`` (the summary step).
        render: ``(start, stop, out=None) → (stop − start)×C×T×H×W`` perturbed clips of rows
            ``[start, stop)`` (what ``score`` feeds the scorer; a batch of clips pools these).
    """

    labels: Tensor | None
    samples: Samples
    masks: MaskLayout
    score: Callable[[int, int], Tensor]
    summarize: Callable[[Samples, Tensor], MethodOutput]
    render: Renderer


def prepare_run(
    ctx: ExplainContext, pipeline: Pipeline, buffers: ScratchBuffers | None = None
) -> PreparedRun:
    """Segment → sample → render for ``ctx.x`` (one clip, ``1×C×T×H×W``); scoring and summary
    are returned as steps.

    Args:
        buffers: scratch buffers for the renderer (shared by the runs of a batch of clips);
            None = its own.
    """
    shape: tuple[int, int, int] = tuple(ctx.x.shape[2:])  # type: ignore[assignment]
    labels = _segment(pipeline, ctx)
    num_features, make_layout = _layout(pipeline, ctx, labels, shape)
    samples = pipeline.sampler(num_features, shape, ctx.generator)
    masks: MaskLayout = make_layout(samples)
    render = _renderer(pipeline, ctx, masks, labels, buffers)

    def summarize(rows: Samples, scores: Tensor) -> MethodOutput:
        return pipeline.summary(SummaryInput(rows, scores, masks, shape, ctx.scorer.batch_size))

    def score(start: int, stop: int) -> Tensor:
        return ctx.scorer.run(
            stop - start, lambda a, b: render(start + a, start + b), desc=pipeline.name
        )

    return PreparedRun(labels, samples, masks, score, summarize, render)


def run_pipeline(ctx: ExplainContext, pipeline: Pipeline) -> MethodOutput:
    """Run one removal-based explanation; every forward pass goes through ``ctx.scorer``.

    Steps: segment → sample → render (masks + fill) → score (``ctx.scorer.run``, one call, or
    one per round with ``pipeline.budget``) → summarize.

    Returns:
        attribution ``T×H×W`` on ``ctx.device`` and extras: ``segments`` (``T×H×W`` labels,
        when there is a segmentation), ``n_features``, ``n_samples_used`` (rows scored),
        per-feature ``feature_attribution``, ``standard_error`` and
        ``relative_standard_error`` (sampling summaries; see
        :func:`~vidxai.removal.budget.relative_standard_error`), ``rounds`` (with a budget),
        and the summary's own extras.
    """
    run = prepare_run(ctx, pipeline)
    rounds = sampling_rounds(run, pipeline)
    if rounds is None:
        return finish_run(run, run.score(0, run.samples.n))
    while (rows := rounds.next_rows()) is not None:
        rounds.add(run.score(*rows))
    assert rounds.out is not None
    return feature_extras(run, rounds.out)


def sampling_rounds(run: PreparedRun, pipeline: Pipeline) -> Rounds | None:
    """The rounds of ``n_samples="auto"`` for ``run``, or None when every row is scored at
    once (a fixed budget, an exact design, or a design without keep-masks)."""
    samples = run.samples
    if pipeline.budget is None or samples.exact or samples.z is None:
        return None
    return Rounds(samples, run.summarize, pipeline.budget, least_rows(samples))


def finish_run(run: PreparedRun, scores: Tensor) -> MethodOutput:
    """Summary step of a run whose every row was scored (``scores``: ``samples.n`` values)."""
    out = run.summarize(run.samples, scores)
    out.extras["n_samples_used"] = run.samples.n
    if "standard_error" in out.extras:
        out.extras["relative_standard_error"] = relative_standard_error(out)
    return feature_extras(run, out)


def feature_extras(run: PreparedRun, out: MethodOutput) -> MethodOutput:
    """Add ``n_features`` and (with a segmentation) ``segments`` to a run's summary."""
    out.extras["n_features"] = run.samples.num_features
    if run.labels is not None:
        out.extras["segments"] = run.labels
    return out


def _with_control(control: str, allowed: tuple[str, ...], summary: str) -> str:
    """``control`` if the summary ``summary`` supports it, else :class:`ParameterError`."""
    if control not in allowed:
        raise ParameterError(
            f"control={control!r} does not apply to summary={summary!r}; "
            f"it takes {' or '.join(repr(a) for a in allowed)}"
        )
    return control


#: Summary factories by name, called with the keyword options ``p``, ``kernel_width``,
#: ``alpha`` and ``control`` (each factory takes what it needs and rejects a ``control`` it does
#: not support).
SUMMARIES: StageRegistry[Callable[..., Summary]] = StageRegistry("summary")


@SUMMARIES.register("ridge")
def _ridge(**o: Any) -> Summary:
    control = _with_control(o["control"], LIME_CONTROLS, "ridge")
    return LimeRidge(o["kernel_width"], o["alpha"], control, o["p"])  # type: ignore[arg-type]


@SUMMARIES.register("shapley")
def _shapley(**o: Any) -> Summary:
    return KernelShapWLS(_with_control(o["control"], get_args(ShapleyControl), "shapley"))  # type: ignore[arg-type]


@SUMMARIES.register("mean")
def _mean(**o: Any) -> Summary:
    control = _with_control(o["control"], get_args(MeanControl), "mean")
    return MeanWhenKept(control, o["p"])  # type: ignore[arg-type]


@SUMMARIES.register("mean_pixel")
def _mean_pixel(**o: Any) -> Summary:
    return PixelMean(o["p"], _with_control(o["control"], ("none", "mean"), "mean_pixel") == "mean")


@SUMMARIES.register("difference")
def _difference(**o: Any) -> Summary:
    _with_control(o["control"], ("none",), "difference")
    return Difference()


@SUMMARIES.register("occluded")
def _occluded(**o: Any) -> Summary:
    _with_control(o["control"], ("none",), "occluded")
    return OccludedValue()


def make_summary(
    name: str, *, p: float, kernel_width: float, alpha: float, control: str = "none"
) -> Summary:
    """Build a summary by its registered name (used by the generic ``removal`` method).

    ``control``: ``none`` (every summary), ``mean`` (``mean_pixel``: centre the scores),
    ``regression`` (``mean``: the per-feature mean's control variate), ``triples``
    (``shapley``: the third-order control variate) or ``logistic`` (``ridge``: LIME's
    logistic control variate); another pairing is a ParameterError.
    """
    if name not in SUMMARIES:
        raise ParameterError(f"summary must be one of {', '.join(SUMMARIES.names())}, got {name!r}")
    return SUMMARIES.get(name)(p=p, kernel_width=kernel_width, alpha=alpha, control=control)
