"""Independent keep/remove draws per feature (LIME, RISE)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples


@dataclass(frozen=True)
class BernoulliSampler:
    """Each feature is kept independently with probability ``p``.

    Attributes:
        n_samples: total rows (forward passes), including the intact row when ``include_intact``.
        p: keep probability, strictly between 0 and 1.
        include_intact: make row 0 the intact clip (LIME's convention; it anchors the surrogate).
    """

    n_samples: int = 1000
    p: float = 0.5
    include_intact: bool = False

    def __post_init__(self) -> None:
        if not 0.0 < self.p < 1.0:
            raise ParameterError(
                f"p (keep probability) must be strictly between 0 and 1, got {self.p}"
            )
        if self.n_samples < 1 + int(self.include_intact):
            least = 1 + int(self.include_intact)
            raise ParameterError(f"n_samples must be ≥ {least}, got {self.n_samples}")

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """``n_samples×M`` binary design drawn with ``generator`` on its device."""
        dev = generator.device
        u = torch.rand(self.n_samples, num_features, generator=generator, device=dev)
        z = (u < self.p).float()
        first = 0
        if self.include_intact:
            z[0] = 1.0
            first = 1
        return Samples(
            z=z, kind="bernoulli", full_row=0 if self.include_intact else None, first_random=first
        )
