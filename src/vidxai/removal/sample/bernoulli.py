"""Independent keep/remove draws per feature (LIME, RISE), with variance-reduction options."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples
from vidxai.removal.sample.design import DesignName, check_design, uniform_points


def check_keep_options(p: float, n_samples: int, include_intact: bool) -> None:
    """``ParameterError`` unless ``0 < p < 1`` and ``n_samples`` leaves at least one random row
    after the intact row (when ``include_intact``)."""
    if not 0.0 < p < 1.0:
        raise ParameterError(f"p (keep probability) must be strictly between 0 and 1, got {p}")
    least = 1 + int(include_intact)
    if n_samples < least:
        raise ParameterError(f"n_samples must be ≥ {least}, got {n_samples}")


def keep_samples(
    z: torch.Tensor, include_intact: bool, unit: int = 1, nested: bool = True
) -> Samples:
    """``Samples`` of the ``k×M`` random keep rows ``z``, after an intact row 0 when
    ``include_intact`` (``unit``: rows per independent draw; ``nested``: prefix-consistent)."""
    first = int(include_intact)
    if include_intact:
        z = torch.cat([torch.ones(1, z.shape[1], device=z.device), z])
    return Samples(
        z=z,
        kind="bernoulli",
        full_row=0 if include_intact else None,
        first_random=first,
        unit=unit,
        nested=nested,
    )


@dataclass(frozen=True)
class BernoulliSampler:
    """Each feature is kept with probability ``p``: ``z_ij = 1[u_ij < p]``.

    Variance reduction (each an option, each keeping every random row an exact draw of
    independent Bernoulli(p) features, so every estimator built on row averages keeps its
    expectation):

    * ``design="sobol"``: the ``u`` are a scrambled Sobol sequence instead of independent
      uniforms (quasi-random, stratified columns). Unbiased: each scrambled point is uniform.
    * ``design="hadamard"`` / ``"foldover"``: randomised Hadamard blocks (resolution IV) or
      fold-over blocks (an orthogonal block, then its complements), see
      :func:`~vidxai.removal.sample.design.uniform_points`. Every row is exactly uniform.
    * ``antithetic=True`` (needs ``p = 0.5``): rows come in complementary pairs ``(z, 1 − z)``;
      each feature is then kept in exactly half of the random rows. Unbiased for ``p = 0.5``
      only, where ``1 − z`` has the same distribution as ``z``; pairs are the independent units
      (``Samples.unit = 2``). An odd number of random rows gets one unpaired last row.

    The draw is prefix-consistent: the first ``k`` rows of ``n_samples = n`` are the rows of
    ``n_samples = k`` (same generator state).

    Attributes:
        n_samples: total rows (forward passes), including the intact row when ``include_intact``.
        p: keep probability, strictly between 0 and 1.
        include_intact: make row 0 the intact clip (LIME's convention; it anchors the surrogate).
        design: ``iid`` (REVEX), ``sobol``, ``hadamard`` or ``foldover``.
        antithetic: complementary pairs.
    """

    n_samples: int = 1000
    p: float = 0.5
    include_intact: bool = False
    design: DesignName = "iid"
    antithetic: bool = False

    def __post_init__(self) -> None:
        check_keep_options(self.p, self.n_samples, self.include_intact)
        check_design(self.design)
        if self.antithetic and self.p != 0.5:
            raise ParameterError(
                f"antithetic pairs are unbiased only for p=0.5 (got p={self.p}); "
                "set antithetic=False"
            )

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """``n_samples×M`` binary design drawn with ``generator`` on its device."""
        first = int(self.include_intact)
        n_random = self.n_samples - first
        draws = (n_random + 1) // 2 if self.antithetic else n_random
        z = (uniform_points(self.design, draws, num_features, generator) < self.p).float()
        if self.antithetic:
            z = torch.stack([z, 1.0 - z], dim=1).reshape(2 * draws, num_features)[:n_random]
        return keep_samples(z, self.include_intact, unit=2 if self.antithetic else 1)
