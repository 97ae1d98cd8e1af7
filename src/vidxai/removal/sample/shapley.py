"""Shapley-kernel coalition sampling (Kernel SHAP): paired draws, exact enumeration when it fits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples


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


@dataclass(frozen=True)
class ShapleySampler:
    """Rows: the intact clip (row 0), the fully removed clip (row 1), then coalitions.

    * If ``2^M − 2 ≤ n_samples``, every proper coalition is enumerated once with its Shapley
      kernel weight (``exact=True``; the regression then returns exact Shapley values).
    * Otherwise coalition sizes are drawn with probability ∝ ``1 / (s·(M−s))`` (the kernel's mass
      per size) and a uniform coalition of that size is taken, together with its complement
      (antithetic pairs). Under this sampling the kernel weights are uniform. An odd
      ``n_samples`` is rounded up to the next even number.

    Forward passes: ``n_samples + 2`` (or ``2^M`` when enumerating).

    Attributes:
        n_samples: coalitions to evaluate besides the intact and fully removed clips.
    """

    n_samples: int = 1000

    def __post_init__(self) -> None:
        if self.n_samples < 2:
            raise ParameterError(f"n_samples must be ≥ 2 for Kernel SHAP, got {self.n_samples}")

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
        pairs = math.ceil(self.n_samples / 2)
        sizes = torch.arange(1, m, device=dev)
        mass = 1.0 / (sizes.double() * (m - sizes.double()))
        drawn = sizes[torch.multinomial(mass.float(), pairs, replacement=True, generator=generator)]
        # a uniform coalition of each drawn size: keep the features ranked first in a random order
        order = torch.rand(pairs, m, generator=generator, device=dev).argsort(dim=1)
        first = (torch.arange(m, device=dev).unsqueeze(0) < drawn.unsqueeze(1)).float()
        coalitions = torch.zeros(pairs, m, device=dev).scatter_(1, order, first)
        paired = torch.stack([coalitions, 1.0 - coalitions], dim=1).reshape(2 * pairs, m)
        z = torch.cat([torch.ones(1, m, device=dev), torch.zeros(1, m, device=dev), paired])
        return Samples(z=z, kind="shapley", full_row=0, empty_row=1, unit=2, first_random=2)

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
