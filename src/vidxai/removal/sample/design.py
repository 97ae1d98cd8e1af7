"""Uniform point sets behind the keep masks: plain pseudo-random, scrambled Sobol, or
randomised Hadamard blocks.

Every design returns ``n×d`` points in ``[0, 1)`` whose rows are each *marginally* uniform on
the unit cube, so a keep mask ``u < p`` is, row by row, an exact draw of independent
Bernoulli(p) features. Estimators that are averages over rows (RISE's mean when kept, the
population objective of a regression) therefore keep their expectation; only the dependence
between rows changes, which is what reduces the variance.

Both designs are prefix-consistent: the first ``k`` rows of a draw of ``n ≥ k`` rows are the
draw of ``k`` rows with the same generator state (so ``n_samples="auto"`` can draw in rounds).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor
from torch.quasirandom import SobolEngine

from vidxai.errors import ParameterError
from vidxai.removal.sample.foldover import foldover_points
from vidxai.removal.sample.walsh import walsh_points

DesignName = Literal["iid", "sobol", "hadamard", "foldover"]
DESIGNS: tuple[str, ...] = ("iid", "sobol", "hadamard", "foldover")


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
    * ``hadamard``: randomised Hadamard blocks (:func:`hadamard_points`): each column of a
      block is exactly balanced at 0.5 and every two columns are exactly orthogonal there.
    * ``foldover``: an orthogonal Hadamard half-block of ``2^L ≥ M + 1`` rows followed by its
      complements ``1 − u`` (:func:`~vidxai.removal.sample.foldover.foldover_points`): full
      rank from ``2^L`` rows on, resolution IV over the whole block.
    """
    dev = generator.device
    if design == "iid":
        return torch.rand(n, d, generator=generator, device=dev)
    check_design(design)
    if design == "hadamard":
        return hadamard_points(n, d, generator)
    if design == "foldover":
        return foldover_points(n, d, generator)
    if d > SobolEngine.MAXDIM:
        raise ParameterError(
            f"design='sobol' supports at most {SobolEngine.MAXDIM} features, got {d}; "
            "use design='iid'"
        )
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
    engine = SobolEngine(d, scramble=True, seed=seed)
    return engine.draw(n, dtype=torch.float32).to(dev)


def hadamard_points(n: int, d: int, generator: torch.Generator) -> Tensor:
    """``n×d`` points from independent randomised Hadamard blocks of ``b = 2^L`` rows, ``L``
    the smallest with ``2^(L−1) ≥ d``.

    In each block, column ``j`` is the Walsh function of a code ``c_j``: ``d`` distinct codes
    of ``L`` bits with an odd number of ones, drawn at random, XOR a random bit ``s_j``, in a
    random row order: the first binary digit of ``u_ij`` is ``parity(r_i · c_j) ⊕ s_j`` and
    the other digits are independent uniforms. Given the codes, the ``s_j`` are independent
    fair bits, so every row is exactly uniform on the cube (a keep mask ``u < p`` is an exact
    draw of independent Bernoulli(p) features). Over a whole block the indicators
    ``u < 0.5`` are balanced and pairwise orthogonal after centring (``c_j ⊕ c_k ≠ 0``), and,
    the codes being of odd weight, no main effect is aliased with an interaction of two others
    (``c_i ⊕ c_k`` has even weight: a resolution IV design). Blocks are independent; the last
    one is cut short (a random subset of its rows). Prefix-consistent: every block draws the
    same randomness whatever ``n``.
    """
    dev = generator.device
    bits = 1 + max(0, math.ceil(math.log2(d)))
    b = 2**bits
    place = 2 ** torch.arange(bits, device=dev)
    all_codes = torch.arange(b, device=dev)
    odd = all_codes[((all_codes.unsqueeze(1) & place) > 0).sum(1) % 2 == 1]  # 2^(L−1) codes
    blocks = []
    for start in range(0, n, b):
        need = min(b, n - start)  # the last block: only its first rows are built
        codes = odd[torch.randperm(odd.numel(), generator=generator, device=dev)[:d]]
        flips = torch.randint(0, 2, (d,), generator=generator, device=dev)
        rows = torch.randperm(b, generator=generator, device=dev)[:need]
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
        blocks.append(walsh_points(rows, codes, flips, bits, seed))  # need×d
    return torch.cat(blocks)
