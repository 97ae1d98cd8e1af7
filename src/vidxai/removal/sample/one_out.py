"""Leave-one-covariate-out selection: the intact clip, then each feature removed alone."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.removal.sample.base import Samples


@dataclass(frozen=True)
class OneOutSampler:
    """Rows: intact clip (row 0), then row ``1 + j`` removes only feature ``j`` (M + 1 rows)."""

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """Deterministic ``(M+1)×M`` design; ``generator`` is unused."""
        dev = generator.device
        z = torch.ones(num_features + 1, num_features, device=dev)
        z[1:].fill_diagonal_(0.0)
        return Samples(z=z, kind="one_out", full_row=0, first_random=num_features + 1)
