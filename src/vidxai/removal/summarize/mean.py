"""RISE's summary: the mean score of the perturbed clips in which a feature (or voxel) was kept."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.summarize.base import SummaryInput, feature_output
from vidxai.removal.summarize.regression import ridge_loo

MeanControl = Literal["none", "regression"]


def _kept_mean_and_se(z: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Per column of ``z`` (``n×M`` binary), the mean of ``y`` over the rows keeping it and its
    standard error; 0 and ∞ for a column never kept."""
    kept = z.sum(0)
    mean = (z.T @ y) / kept.clamp_min(1e-12)
    var = (z.T @ y**2) / kept.clamp_min(1e-12) - mean**2
    se = (var.clamp_min(0) / kept.clamp_min(1e-12)).sqrt()
    never = kept <= 0
    mean = torch.where(never, torch.zeros_like(mean), mean)
    se = torch.where(never, torch.full_like(se, float("inf")), se)
    return mean, se


@dataclass(frozen=True)
class MeanWhenKept:
    """REVEX's per-cell form: ``a_j = E[f(z) | z_j = 1]``, estimated over all rows.

    * ``control="none"`` (REVEX): ``a_j = Σ_i z_ij s_i / Σ_i z_ij``. Unbiased whenever the
      number of rows keeping ``j`` is fixed (Sobol at a power of two, antithetic pairs),
      consistent otherwise (a ratio estimator).
    * ``control="regression"``: a control variate ``G(z) = Σ_k γ_k (z_k − p)`` from a ridge
      fit of the scores on the design (penalty by leave-one-out error), and
      ``a_j = mean over rows keeping j of (s − G) + γ_j (1 − p)``, i.e. the other features'
      fitted contributions are removed from the scores before averaging. For any fixed ``γ``
      the correction has expectation 0 given ``z_j = 1`` (the features are independent with
      ``E[z_k] = p``), so the estimator targets the same ``E[f | z_j = 1]``; with ``γ``
      fitted on the same rows it is consistent (bias ``O(1/n)``). With ``γ = 0`` it is the
      plain form. On a model additive in the features it is exact.

    Standard error of feature ``j``: the standard deviation of the (corrected) scores of the
    clips that kept it, divided by the square root of their number (with the control, scaled
    by ``√(n / (n − dof − 1))``, ``dof`` the ridge fit's effective degrees of freedom; infinite
    while ``n ≤ dof + 1``). A feature that was never kept gets 0 and an infinite standard
    error.

    Attributes:
        control: ``none`` or ``regression``.
        p: keep probability the design was drawn with (the control's known mean).
    """

    control: MeanControl = "none"
    p: float = 0.5

    def __post_init__(self) -> None:
        if self.control not in ("none", "regression"):
            raise ParameterError(f"control must be none or regression, got {self.control!r}")
        if not 0.0 < self.p < 1.0:
            raise ParameterError(f"p must be strictly between 0 and 1, got {self.p}")

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        assert inp.samples.z is not None
        z = inp.samples.z.double().cpu()
        y = inp.scores.double().cpu()
        if self.control == "none":
            mean, se = _kept_mean_and_se(z, y)
            return feature_output(inp, mean, se)
        gamma, alpha, dof = ridge_loo(z, y)
        fitted = (z - self.p) @ gamma  # G(z) per row
        mean, se = _kept_mean_and_se(z, y - fitted)
        mean = mean + gamma * (1.0 - self.p)
        # in-sample residuals understate the noise by the fit's degrees of freedom
        n = z.shape[0]
        inflate = math.sqrt(n / (n - dof - 1)) if n > dof + 1 else math.inf
        return feature_output(inp, mean, se * inflate, control_alpha=alpha)


@dataclass(frozen=True)
class PixelMean:
    """The original RISE saliency per voxel: ``S(v) = Σ_i s_i·K_i(v) / (N·p)`` where ``K_i`` is
    the soft *keep* mask of clip ``i`` and ``p`` the keep probability.

    With ``centre=True`` the scores are centred on their mean ``c = s̄`` (a control variate):
    ``S(v) = c + Σ_i (s_i − c)·K_i(v) / (N·p)``. Since ``E[K(v)] = p`` for every voxel
    (upsampling averages Bernoulli(p) cells), this has the same expectation for any fixed
    ``c`` and is consistent with ``c = s̄``; it removes the term ``s̄·(K̄(v)/p − 1)``, the
    noise of how often each voxel happened to be kept.

    The masks are regenerated chunk by chunk on the device (never all held at once). The
    standard error per voxel is that of a mean of ``N`` draws of ``(s − c)·K / p``.

    Attributes:
        p: keep probability the masks were drawn with.
        centre: centre the scores on their mean.
    """

    p: float = 0.5
    centre: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.p < 1.0:
            raise ParameterError(f"p must be strictly between 0 and 1, got {self.p}")

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        n = inp.samples.n
        dev = inp.scores.device
        c = float(inp.scores.double().mean()) if self.centre else 0.0
        acc = torch.zeros(inp.shape, dtype=torch.float64, device=dev)
        acc2 = torch.zeros_like(acc)
        for start in range(0, n, max(1, inp.chunk)):
            stop = min(n, start + max(1, inp.chunk))
            weighted = (1.0 - inp.masks.removed(start, stop)).double()
            weighted *= (inp.scores[start:stop].double() - c).view(-1, 1, 1, 1)
            acc += weighted.sum(0)
            acc2 += (weighted**2).sum(0)
        mean = acc / n
        se = ((acc2 / n - mean**2).clamp_min(0) / n).sqrt() / self.p
        return MethodOutput(
            attribution=(c + mean / self.p).float(),
            extras={"standard_error": se.float()},
        )
