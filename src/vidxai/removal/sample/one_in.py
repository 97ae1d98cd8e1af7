"""Univariate selection: the fully removed clip, then each feature restored alone."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.removal.sample.base import Samples


@dataclass(frozen=True)
class OneInSampler:
    """Rows: all removed (row 0), then row ``1 + j`` keeps only feature ``j`` (M + 1 rows)."""

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """Deterministic ``(M+1)×M`` design; ``generator`` is unused."""
        dev = generator.device
        z = torch.zeros(num_features + 1, num_features, device=dev)
        z[1:].fill_diagonal_(1.0)
        return Samples(z=z, kind="one_in", empty_row=0, first_random=num_features + 1)
