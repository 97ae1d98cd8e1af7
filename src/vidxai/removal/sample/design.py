"""Uniform point sets behind the keep masks: plain pseudo-random or scrambled Sobol.

Every design returns ``n×d`` points in ``[0, 1)`` whose rows are each *marginally* uniform on
the unit cube, so a keep mask ``u < p`` is, row by row, an exact draw of independent
Bernoulli(p) features. Estimators that are averages over rows (RISE's mean when kept, the
population objective of a regression) therefore keep their expectation; only the dependence
between rows changes, which is what reduces the variance.

Both designs are prefix-consistent: the first ``k`` rows of a draw of ``n ≥ k`` rows are the
draw of ``k`` rows with the same generator state (so ``n_samples="auto"`` can draw in rounds).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.quasirandom import SobolEngine

from vidxai.errors import ParameterError

DesignName = Literal["iid", "sobol"]
DESIGNS: tuple[str, ...] = ("iid", "sobol")


def check_design(design: str) -> None:
    """ParameterError unless ``design`` is a known point design."""
    if design not in DESIGNS:
        raise ParameterError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")


def uniform_points(design: str, n: int, d: int, generator: torch.Generator) -> Tensor:
    """``n×d`` float32 points in ``[0, 1)`` on the generator's device.

    * ``iid``: independent uniforms (``torch.rand``).
    * ``sobol``: a Sobol sequence with Owen-style scrambling and a random digital shift
      (``torch.quasirandom.SobolEngine(scramble=True)``), seeded from ``generator``; each point
      is uniform on the cube, and every column is stratified (with ``n`` a power of two, exactly
      ``n/2`` points fall below 0.5 in each column).
    """
    dev = generator.device
    if design == "iid":
        return torch.rand(n, d, generator=generator, device=dev)
    check_design(design)
    if d > SobolEngine.MAXDIM:
        raise ParameterError(
            f"design='sobol' supports at most {SobolEngine.MAXDIM} features, got {d}; "
            "use design='iid'"
        )
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
    engine = SobolEngine(d, scramble=True, seed=seed)
    return engine.draw(n, dtype=torch.float32).to(dev)
