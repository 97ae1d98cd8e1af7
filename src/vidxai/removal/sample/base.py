"""Feature and sample selection: which features each perturbed clip keeps."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

import torch
from torch import Tensor


@dataclass(frozen=True)
class Samples:
    """The design matrix of one explanation: one row per perturbed clip, in scoring order.

    Attributes:
        z: ``n×M`` float32 on the device; ``z[i, j] = 1`` keeps feature ``j`` in clip ``i``,
            0 removes it (binary for every built-in sampler). None for the cuboid sampler, whose
            rows are described by ``boxes`` (its one-out design would be ``n×(n−1)``).
        kind: the sampler's name (``one_out``, ``one_in``, ``bernoulli``, ``shapley``, ``cuboid``).
        weights: ``n`` per-row regression weights, or None (uniform).
        full_row: index of the row keeping every feature (the intact clip), if any.
        empty_row: index of the row removing every feature, if any.
        exact: every coalition was enumerated (no sampling error).
        unit: consecutive random rows forming one independent draw (2 for antithetic pairs).
        first_random: rows before this index are fixed rows (intact / fully removed, and the
            enumerated strata of a stratified Kernel SHAP design): no sampling error.
        boxes: ``n×6`` int64 ``(t0, t1, h0, h1, w0, w1)`` cuboid removed in each row (cuboid
            sampler only; an empty box for the intact row).
        positions: cuboid positions along (t, h, w) (cuboid sampler only; ``M = ∏ positions``).
        nested: the first ``k`` rows are themselves a valid design of ``k`` rows (every
            sampler but the stratified Kernel SHAP one, whose strata depend on the budget);
            ``n_samples="auto"`` and prefix replays need it.
    """

    z: Tensor | None
    kind: str
    weights: Tensor | None = None
    full_row: int | None = None
    empty_row: int | None = None
    exact: bool = False
    unit: int = 1
    first_random: int = 0
    boxes: Tensor | None = None
    positions: tuple[int, int, int] | None = None
    nested: bool = True

    @property
    def n(self) -> int:
        """Number of perturbed clips (forward passes)."""
        if self.z is None:
            assert self.boxes is not None
            return int(self.boxes.shape[0])
        return int(self.z.shape[0])

    def head(self, n: int) -> Samples:
        """The first ``n`` rows (a prefix-consistent sampler's draw of ``n`` rows)."""
        return replace(
            self,
            z=None if self.z is None else self.z[:n],
            weights=None if self.weights is None else self.weights[:n],
            boxes=None if self.boxes is None else self.boxes[:n],
        )

    @property
    def num_features(self) -> int:
        """M, the number of features."""
        if self.z is None:
            return self.n - 1
        return int(self.z.shape[1])


class Sampler(Protocol):
    """A sampling stage: ``(M, clip shape T×H×W, generator) → Samples`` built on the generator's
    device. Randomness comes only from ``generator``."""

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples: ...
