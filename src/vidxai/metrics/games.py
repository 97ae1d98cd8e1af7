"""Deletion and insertion games (Petsiuk et al.; REVEX's AUCEvaluator; STEP's CausalMetric).

Features (voxels, grid cells or supervoxels) are ranked by their mean attribution, highest
first; ties are broken by a random permutation drawn from the evaluation's seed, so a constant
map is scored like a random ranking rather than by position. Step ``k`` of ``n_steps`` removes
(deletion) or restores (insertion) the smallest number of top-ranked features covering at least
``k/n_steps`` of the voxels; the curve's x values are the *actual* voxel fractions, and the AUC
is the trapezoid over them (non-uniform when features differ in size). Every perturbed clip is
scored by the shared batched scorer, built on the device batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.fill import REVEX_BLUR_SIGMA, Fill, check_fill, reference_clip
from vidxai.metrics.registry import MetricInputs, MetricOutput, register_metric

Granularity = Literal["voxel", "grid", "supervoxel"]
Mode = Literal["deletion", "insertion"]


@dataclass(frozen=True)
class GameParams:
    """Parameters shared by the games and the minimal masks.

    Attributes:
        n_steps: number of steps between nothing and everything removed (>= 2).
        fill: what removed voxels become: ``"black"`` (paper), ``"gray"``, ``"mean"``,
            ``"blur"``, ``"blur2d"``, a pixel value or a reference clip (see ``metrics.fill``).
        granularity: rank ``"voxel"`` s, ``"grid"`` cells or ``"supervoxel"`` s.
        grid: cells along (T, H, W) for ``granularity="grid"``.
        segments: ``T×H×W`` integer label volume for ``granularity="supervoxel"``; None →
            SLIC supervoxels as in REVEX (``n_segments``, compactness 20, spacing (0.2, 1, 1)).
        n_segments: SLIC segments when ``segments`` is None.
        blur_sigma: σ in voxels of the ``"blur"`` fill (REVEX: 8).
    """

    n_steps: int = 100
    fill: Fill = "black"
    granularity: Granularity = "voxel"
    grid: tuple[int, ...] = (4, 7, 7)
    segments: Any = None
    n_segments: int = 200
    blur_sigma: float = REVEX_BLUR_SIGMA

    def __post_init__(self) -> None:
        if isinstance(self.n_steps, bool) or not isinstance(self.n_steps, int) or self.n_steps < 2:
            raise ParameterError(f"n_steps must be an int >= 2, got {self.n_steps!r}")
        check_fill(self.fill)
        if self.granularity not in ("voxel", "grid", "supervoxel"):
            raise ParameterError(
                f"granularity must be 'voxel', 'grid' or 'supervoxel', got {self.granularity!r}"
            )
        if len(self.grid) != 3 or any(int(g) < 1 for g in self.grid):
            raise ParameterError(f"grid must be 3 positive ints (T, H, W cells), got {self.grid}")
        if self.n_segments < 1:
            raise ParameterError(f"n_segments must be >= 1, got {self.n_segments}")
        if self.blur_sigma < 0:
            raise ParameterError(f"blur_sigma must be >= 0, got {self.blur_sigma}")

    def key(self) -> tuple[Any, ...]:
        """Hashable identity of the game (segments by object id)."""
        seg = id(self.segments) if self.segments is not None else None
        fill = id(self.fill) if isinstance(self.fill, Tensor) else self.fill
        return (
            self.n_steps,
            fill,
            self.granularity,
            tuple(self.grid),
            seg,
            self.n_segments,
            self.blur_sigma,
        )


@dataclass(frozen=True)
class GameCurve:
    """One game: ``fractions`` (ascending, 0 … 1) and the target ``scores`` at each."""

    mode: str
    fractions: list[float]
    scores: list[float]

    @property
    def auc(self) -> float:
        return trapezoid(self.fractions, self.scores)

    def as_dict(self) -> dict[str, list[float]]:
        return {"fractions": list(self.fractions), "scores": list(self.scores)}


def trapezoid(xs: list[float], ys: list[float]) -> float:
    """Area under the piecewise-linear curve through (xs, ys) (xs ascending)."""
    return float(sum((xs[i + 1] - xs[i]) * (ys[i + 1] + ys[i]) / 2 for i in range(len(xs) - 1)))


# ------------------------------------------------------------------------------------ features


def grid_labels(shape: tuple[int, int, int], grid: tuple[int, ...], device: Any = None) -> Tensor:
    """``T×H×W`` cell index of every voxel for a (gt, gh, gw) grid (cells capped at the size)."""
    idx = []
    for size, cells in zip(shape, grid):
        cells = min(int(cells), size)
        idx.append(torch.arange(size, device=device) * cells // size)
    t, h, w = idx
    gh = min(int(grid[1]), shape[1])
    gw = min(int(grid[2]), shape[2])
    return (t.view(-1, 1, 1) * gh + h.view(1, -1, 1)) * gw + w.view(1, 1, -1)


def _slic_labels(x: Tensor, inputs: MetricInputs, n_segments: int) -> Tensor:
    from vidxai.removal.segment.slic import SupervoxelSegmenter

    p0 = inputs.pixel_value(0.0).to(x.device).view(-1, 1, 1, 1)
    p1 = inputs.pixel_value(1.0).to(x.device).view(-1, 1, 1, 1)
    pixels = ((x[0] - p0) / (p1 - p0)).clamp(0, 1)
    return SupervoxelSegmenter(n_segments=n_segments)(pixels).cpu()


def feature_labels(inputs: MetricInputs, params: GameParams) -> Tensor:
    """``T×H×W`` long labels 0..M−1 (CPU) of the features the game ranks."""
    shape = tuple(inputs.attribution.shape)
    if params.granularity == "voxel":
        return torch.arange(inputs.attribution.numel()).view(shape)
    if params.granularity == "grid":
        return grid_labels(shape, params.grid)  # type: ignore[arg-type]
    key = ("segments", params.n_segments, id(params.segments))
    if key not in inputs.cache:
        if params.segments is None:
            labels = _slic_labels(inputs.x, inputs, params.n_segments)
        else:
            labels = torch.as_tensor(params.segments)
            if tuple(labels.shape) != shape:
                raise InvalidInputError(
                    f"segments must be a T×H×W label volume of shape {shape}, "
                    f"got {tuple(labels.shape)}"
                )
            if labels.is_floating_point() or labels.dtype == torch.bool:
                raise InvalidInputError(f"segments must be integer labels, got {labels.dtype}")
        inputs.cache[key] = torch.unique(labels.cpu(), return_inverse=True)[1].view(shape)
    return inputs.cache[key]


def rank_voxels(
    attribution: Tensor, labels: Tensor, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Rank features by mean attribution, highest first, ties broken at random.

    Args:
        attribution: ``T×H×W`` finite scores.
        labels: ``T×H×W`` long labels 0..M−1 (every label present).
        generator: CPU generator for the tie-breaking permutation.

    Returns:
        ``(voxel_rank T×H×W long, sizes M long)``: the rank of each voxel's feature (0 = first
        removed) and the voxel counts of the features in rank order.
    """
    flat = labels.reshape(-1).cpu()
    values = attribution.detach().reshape(-1).double().cpu()
    m = int(flat.max()) + 1
    counts = torch.bincount(flat, minlength=m)
    means = torch.zeros(m, dtype=torch.float64).index_add_(0, flat, values) / counts
    perm = torch.randperm(m, generator=generator)
    order = perm[torch.sort(means[perm], descending=True, stable=True).indices]
    rank = torch.empty(m, dtype=torch.long)
    rank[order] = torch.arange(m)
    return rank[flat].view(labels.shape), counts[order]


def step_counts(sizes: Tensor, n_steps: int) -> tuple[Tensor, list[float]]:
    """Features removed at each distinct step and the voxel fraction they cover.

    Step ``k`` takes the fewest top features covering at least ``ceil(k·V/n_steps)`` voxels;
    repeated counts are merged.

    Returns:
        ``(counts S long ascending from 0 to M, fractions S)``.
    """
    cumsize = torch.cumsum(sizes, 0)
    total = int(cumsize[-1])
    wanted = (torch.arange(n_steps + 1, dtype=torch.long) * total + n_steps - 1) // n_steps
    counts = torch.searchsorted(cumsize, wanted, side="left") + 1
    counts[wanted == 0] = 0
    counts = torch.unique(counts.clamp(max=len(sizes)))
    covered = torch.cat([torch.zeros(1, dtype=torch.long), cumsize])[counts]
    return counts, [float(c) / total for c in covered]


def game_curve(inputs: MetricInputs, params: GameParams, mode: Mode) -> GameCurve:
    """Play (or reuse from ``inputs.cache``) the deletion or insertion game.

    Costs one forward pass per distinct step (``n_steps + 1`` at most), through the scorer.
    """
    key = ("game", mode, params.key())
    if key in inputs.cache:
        return inputs.cache[key]
    if inputs.scorer is None:
        raise InvalidInputError(f"The {mode} game needs a model")
    x = inputs.x
    labels = feature_labels(inputs, params)
    gen = torch.Generator().manual_seed(inputs.generator_seed)
    voxel_rank, sizes = rank_voxels(inputs.attribution, labels, gen)
    counts, fractions = step_counts(sizes, params.n_steps)
    # Voxels in rank order; the first ``changed[k]`` of them are removed (inserted) at step k.
    ranks, order = torch.sort(voxel_rank.reshape(-1), stable=True)
    changed = torch.searchsorted(ranks, counts, side="left").tolist()
    order = order.to(x.device)
    reference = reference_clip(x, params.fill, inputs.pixel_value, params.blur_sigma)
    first, second = (reference, x) if mode == "deletion" else (x, reference)
    c = x.shape[1]
    first_flat = first.reshape(c, -1)
    second_flat = second.reshape(c, -1)

    def make_batch(start: int, stop: int) -> Tensor:
        # Clip k differs from clip k−1 only by the voxels order[changed[k−1]:changed[k]], so
        # each clip is a copy of the previous one plus a few indexed writes (exact values).
        out = torch.empty((stop - start, *second_flat.shape), dtype=x.dtype, device=x.device)
        done = 0
        for i, k in enumerate(range(start, stop)):
            out[i] = second_flat if i == 0 else out[i - 1]
            idx = order[(0 if i == 0 else done) : changed[k]]
            out[i].index_copy_(1, idx, first_flat.index_select(1, idx))
            done = changed[k]
        return out.view(stop - start, *x.shape[1:])

    scores = inputs.scorer.run(len(counts), make_batch, desc=mode)
    curve = GameCurve(mode, fractions, [float(s) for s in scores.cpu()])
    inputs.cache[key] = curve
    return curve


def _game_metric(mode: Mode):  # type: ignore[no-untyped-def]
    def metric(inputs: MetricInputs, params: GameParams) -> MetricOutput:
        curve = game_curve(inputs, params, mode)
        return MetricOutput(curve.auc, curve.as_dict())

    metric.__name__ = f"{mode}_auc"
    return metric


deletion = register_metric(
    "deletion",
    params=GameParams,
    higher_is_better=False,
    description="Deletion game AUC: remove the top-ranked voxels (lower is better).",
)(_game_metric("deletion"))

insertion = register_metric(
    "insertion",
    params=GameParams,
    higher_is_better=True,
    description="Insertion game AUC: restore the top-ranked voxels (higher is better).",
)(_game_metric("insertion"))
