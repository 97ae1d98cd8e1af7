"""RISE's summary: the mean score of the perturbed clips in which a feature (or voxel) was kept."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.summarize.base import SummaryInput, feature_output


@dataclass(frozen=True)
class MeanWhenKept:
    """REVEX's per-cell form: ``a_j = Σ_i z_ij s_i / Σ_i z_ij`` over all rows.

    Standard error of feature ``j``: the standard deviation of the scores of the clips that kept
    it, divided by the square root of their number. A feature that was never kept gets 0 and
    an infinite standard error.
    """

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        assert inp.samples.z is not None
        z = inp.samples.z.double().cpu()
        y = inp.scores.double().cpu()
        kept = z.sum(0)
        mean = (z.T @ y) / kept.clamp_min(1e-12)
        var = (z.T @ y**2) / kept.clamp_min(1e-12) - mean**2
        se = (var.clamp_min(0) / kept.clamp_min(1e-12)).sqrt()
        never = kept <= 0
        mean = torch.where(never, torch.zeros_like(mean), mean)
        se = torch.where(never, torch.full_like(se, float("inf")), se)
        return feature_output(inp, mean, se)


@dataclass(frozen=True)
class PixelMean:
    """The original RISE saliency per voxel: ``S(v) = Σ_i s_i·K_i(v) / (N·p)`` where ``K_i`` is
    the soft *keep* mask of clip ``i`` and ``p`` the keep probability.

    The masks are regenerated chunk by chunk on the device (never all held at once). The
    standard error per voxel is that of a mean of ``N`` draws of ``s·K / p``.

    Attributes:
        p: keep probability the masks were drawn with.
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.p < 1.0:
            raise ParameterError(f"p must be strictly between 0 and 1, got {self.p}")

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        n = inp.samples.n
        dev = inp.scores.device
        acc = torch.zeros(inp.shape, dtype=torch.float64, device=dev)
        acc2 = torch.zeros_like(acc)
        for start in range(0, n, max(1, inp.chunk)):
            stop = min(n, start + max(1, inp.chunk))
            weighted = (1.0 - inp.masks.removed(start, stop)).double()
            weighted *= inp.scores[start:stop].double().view(-1, 1, 1, 1)
            acc += weighted.sum(0)
            acc2 += (weighted**2).sum(0)
        mean = acc / n
        se = ((acc2 / n - mean**2).clamp_min(0) / n).sqrt() / self.p
        return MethodOutput(
            attribution=(mean / self.p).float(),
            extras={"standard_error": se.float()},
        )
