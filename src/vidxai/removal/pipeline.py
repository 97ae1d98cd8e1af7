"""The one removal-based method: run any composition of REVEX stages.

segmentation → feature/sample selection → removal (fill + masks) → model (the scorer) → summary.
Every preset is a :class:`Pipeline` value; :func:`run_pipeline` is the only code that executes one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.remove import (
    BoxMasks,
    MaskLayout,
    RemovalSpec,
    Renderer,
    SegmentMasks,
    ShiftedGridMasks,
    SmoothGridMasks,
    check_removal_spec,
    make_fill,
)
from vidxai.removal.sample import (
    OneInSampler,
    OneOutSampler,
    Sampler,
    ShapleySampler,
    SlidingCuboidSampler,
)
from vidxai.removal.segment import GridSegmenter, Segmenter, pixel_video
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
    """

    segmenter: Segmenter | None
    sampler: Sampler
    summary: Summary
    removal: RemovalSpec = "black"
    masks: MaskStyle = "hard"
    soft_edges: float = 0.0
    blur_sigma: float = 8.0
    name: str = "removal"

    def __post_init__(self) -> None:
        check_removal_spec(self.removal)
        if self.masks not in ("hard", "smooth", "shifted"):
            raise ParameterError(f"masks must be hard, smooth or shifted, got {self.masks!r}")
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


def _layout(
    pipeline: Pipeline, ctx: ExplainContext, labels: Any, shape: tuple[int, int, int]
) -> tuple[int, Any]:
    """Number of features and a factory ``samples → MaskLayout`` for this pipeline."""
    if isinstance(pipeline.sampler, SlidingCuboidSampler):
        return 0, lambda s: BoxMasks(s.boxes, shape)
    m = int(labels.max()) + 1
    if pipeline.masks == "hard":
        return m, lambda s: SegmentMasks(s.z, labels)
    assert isinstance(pipeline.segmenter, GridSegmenter)
    cells = pipeline.segmenter.resolved_cells(shape)
    if pipeline.masks == "smooth":
        return math.prod(cells), lambda s: SmoothGridMasks(s.z, cells, shape)
    return ShiftedGridMasks.num_features(cells), lambda s: ShiftedGridMasks(
        s.z, cells, shape, ctx.generator
    )


def run_pipeline(ctx: ExplainContext, pipeline: Pipeline) -> MethodOutput:
    """Run one removal-based explanation; every forward pass goes through ``ctx.scorer``.

    Returns:
        attribution ``T×H×W`` on ``ctx.device`` and extras: ``segments`` (``T×H×W`` labels,
        when there is a segmentation), ``n_features``, per-feature ``feature_attribution`` and
        ``standard_error`` (sampling summaries), and the summary's own extras.
    """
    x = ctx.x
    shape: tuple[int, int, int] = tuple(x.shape[2:])  # type: ignore[assignment]
    labels = None
    if pipeline.segmenter is not None:
        with ctx.timer("segmentation"):
            has_pre = bool(getattr(ctx.classifier, "has_preprocessing", False))
            labels = pipeline.segmenter(pixel_video(x[0], ctx.mean, ctx.std, has_pre))
    num_features, make_layout = _layout(pipeline, ctx, labels, shape)
    samples = pipeline.sampler(num_features, shape, ctx.generator)
    masks: MaskLayout = make_layout(samples)
    box_mean = pipeline.removal == "mean" and isinstance(masks, BoxMasks)
    fill = (
        None
        if box_mean
        else make_fill(pipeline.removal, x, ctx.pixel_value, labels, pipeline.blur_sigma)
    )
    render = Renderer(
        x, fill, masks, pipeline.soft_edges, box_mean, reuse_buffers=x.device.type == "cpu"
    )
    scores = ctx.scorer.run(samples.n, render, desc=pipeline.name)
    out = pipeline.summary(SummaryInput(samples, scores, masks, shape, ctx.scorer.batch_size))
    out.extras["n_features"] = samples.num_features
    if labels is not None:
        out.extras["segments"] = labels
    return out


SUMMARIES = ("ridge", "shapley", "mean", "mean_pixel", "difference", "occluded")


def make_summary(name: str, *, p: float, kernel_width: float, alpha: float) -> Summary:
    """Build a summary by name (used by the generic ``removal`` method)."""
    if name not in SUMMARIES:
        raise ParameterError(f"summary must be one of {', '.join(SUMMARIES)}, got {name!r}")
    if name == "ridge":
        return LimeRidge(kernel_width, alpha)
    if name == "shapley":
        return KernelShapWLS()
    if name == "mean":
        return MeanWhenKept()
    if name == "mean_pixel":
        return PixelMean(p)
    if name == "difference":
        return Difference()
    return OccludedValue()
