"""Shapley-kernel coalition sampling (Kernel SHAP): paired or quasi-random draws, exact
enumeration when it fits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples
from vidxai.removal.sample.design import DesignName, check_design, uniform_points
from vidxai.removal.sample.stratified import stratified_coalitions


def shapley_kernel(num_features: int, sizes: Tensor) -> Tensor:
    """Shapley kernel weight of one coalition of each size: ``(M−1) / (C(M, s)·s·(M−s))``.

    Args:
        sizes: integer tensor of coalition sizes in ``1..M−1``.

    Returns:
        float64 weights of the same shape.
    """
    m = num_features
    s = sizes.double()
    log_binom = torch.lgamma(torch.tensor(m + 1.0)) - torch.lgamma(s + 1) - torch.lgamma(m - s + 1)
    return (m - 1) / (torch.exp(log_binom) * s * (m - s))


SizeDistribution = Literal["kernel", "uniform"]


@dataclass(frozen=True)
class ShapleySampler:
    """Rows: the intact clip (row 0), the fully removed clip (row 1), then coalitions.

    * If ``2^M − 2 ≤ n_samples``, every proper coalition is enumerated once with its Shapley
      kernel weight (``exact=True``; the regression then returns exact Shapley values).
    * Otherwise a coalition size ``s`` is drawn, then a uniform coalition of that size (the
      features ranked first in a random order).

    Options (each keeps the constrained regression consistent for the Shapley values, because
    the expected weighted objective is the Shapley-kernel objective in every case):

    * ``size_distribution="kernel"`` (Kernel SHAP): ``P(s) ∝ 1/(s(M−s))``, the kernel's mass
      per size, and uniform regression weights. ``"uniform"``: every size equally likely
      (sizes near ``M/2`` are sampled more, as leverage-score sampling does) with importance
      weights ``∝ 1/(s(M−s))``.
    * ``pairs=True``: each coalition comes with its complement (antithetic pairs, unbiased
      since ``P(s) = P(M−s)``); the pairs are the independent units (``unit = 2``). Pairwise
      interactions then cancel exactly in the regression.
    * ``design="sobol"``: the size (by inverse CDF) and the random order come from one
      scrambled Sobol point of ``M + 1`` coordinates per draw instead of independent uniforms
      (each point is uniform, so each coalition keeps its distribution; the sizes are
      stratified).
    * ``complete=True``: stratified by size (:mod:`~vidxai.removal.sample.stratified`): the
      size pairs ``(1, M−1), (2, M−2), …`` with the most kernel mass are enumerated with
      their exact kernel weights while the budget allows, the other sizes are drawn from the
      remaining mass (paired with ``pairs``), and a coalition drawn again costs no pass but
      adds to its weight. Exact on the enumerated strata, consistent overall. Needs
      ``size_distribution="kernel"`` and ``design="iid"``; the design depends on
      ``n_samples``, so it is not prefix-consistent (``Samples.nested = False``).

    Otherwise the draw is prefix-consistent (rows of a smaller ``n_samples`` are the first rows of a
    larger one). Forward passes: ``n_samples + 2`` (or ``2^M`` when enumerating).

    Attributes:
        n_samples: coalitions to evaluate besides the intact and fully removed clips (rounded
            up to even with ``pairs``).
        pairs: complementary pairs.
        size_distribution: ``kernel`` or ``uniform``.
        design: ``iid`` or ``sobol``.
        complete: stratify by size, enumerating the heaviest sizes.
    """

    n_samples: int = 1000
    pairs: bool = True
    size_distribution: SizeDistribution = "kernel"
    design: DesignName = "iid"
    complete: bool = False

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise ParameterError(f"n_samples must be ≥ 2 for Kernel SHAP, got {self.n_samples}")
        if self.size_distribution not in ("kernel", "uniform"):
            raise ParameterError(
                f"size_distribution must be kernel or uniform, got {self.size_distribution!r}"
            )
        check_design(self.design)
        if self.complete and (self.size_distribution != "kernel" or self.design != "iid"):
            raise ParameterError(
                "complete=True (sizes enumerated by kernel mass) draws the other sizes from the "
                "kernel itself: it needs size_distribution='kernel' and design='iid', got "
                f"{self.size_distribution!r} and {self.design!r}"
            )

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """The design matrix on ``generator``'s device; rows 0/1 are the full/empty coalitions."""
        m = num_features
        dev = generator.device
        if m < 2:
            raise ParameterError(
                f"Kernel SHAP needs at least 2 features, the segmentation gave {m}"
            )
        if m < 62 and 2**m - 2 <= self.n_samples:
            return self._enumerate(m, dev)
        if self.n_samples < m:
            raise ParameterError(
                f"Kernel SHAP needs n_samples ≥ the number of features (M={m}) to solve its "
                f"regression; got n_samples={self.n_samples}. Raise n_samples or ask for fewer "
                "segments (n_segments / grid)."
            )
        if self.complete:
            return self._stratified(m, generator)
        draws = math.ceil(self.n_samples / 2) if self.pairs else self.n_samples
        u = uniform_points(self.design, draws, m + 1, generator)
        sizes = torch.arange(1, m, device=dev)
        mass = 1.0 / (sizes.double() * (m - sizes.double()))
        prob = mass if self.size_distribution == "kernel" else torch.ones_like(mass)
        cdf = (prob / prob.sum()).cumsum(0)
        idx = torch.searchsorted(cdf, u[:, 0].double().contiguous(), right=True).clamp(max=m - 2)
        drawn = sizes[idx]
        # a uniform coalition of each drawn size: keep the features ranked first in a random order
        order = u[:, 1:].argsort(dim=1)
        first = (torch.arange(m, device=dev).unsqueeze(0) < drawn.unsqueeze(1)).float()
        coalitions = torch.zeros(draws, m, device=dev).scatter_(1, order, first)
        weights = None
        if self.size_distribution == "uniform":
            weights = mass[idx]
        if self.pairs:
            coalitions = torch.stack([coalitions, 1.0 - coalitions], dim=1).reshape(2 * draws, m)
            if weights is not None:
                weights = weights.repeat_interleave(2)  # mass(s) = mass(M − s)
        z = torch.cat([torch.ones(1, m, device=dev), torch.zeros(1, m, device=dev), coalitions])
        if weights is not None:
            weights = torch.cat([torch.zeros(2, dtype=weights.dtype, device=dev), weights])
        return Samples(
            z=z,
            kind="shapley",
            weights=weights,
            full_row=0,
            empty_row=1,
            unit=2 if self.pairs else 1,
            first_random=2,
        )

    def _stratified(self, m: int, generator: torch.Generator) -> Samples:
        dev = generator.device
        coalitions, weights, fixed = stratified_coalitions(m, self.n_samples, self.pairs, generator)
        z = torch.cat([torch.ones(1, m, device=dev), torch.zeros(1, m, device=dev), coalitions])
        w = torch.cat([torch.zeros(2, dtype=torch.float64), weights]).to(dev)
        return Samples(
            z=z,
            kind="shapley",
            weights=w,
            full_row=0,
            empty_row=1,
            unit=2 if self.pairs else 1,
            first_random=2 + fixed,
            nested=False,
        )

    @staticmethod
    def _enumerate(m: int, dev: torch.device) -> Samples:
        codes = torch.arange(1, 2**m - 1, device=dev)
        bits = ((codes.unsqueeze(1) >> torch.arange(m, device=dev)) & 1).float()
        weights = shapley_kernel(m, bits.sum(1).round().long().cpu()).to(dev)
        z = torch.cat([torch.ones(1, m, device=dev), torch.zeros(1, m, device=dev), bits])
        w = torch.cat([torch.zeros(2, dtype=weights.dtype, device=dev), weights])
        return Samples(
            z=z, kind="shapley", weights=w, full_row=0, empty_row=1, exact=True, first_random=2
        )
