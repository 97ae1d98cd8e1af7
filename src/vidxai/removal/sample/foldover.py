"""Fold-over Hadamard keep design: an orthogonal block, then its complements."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from vidxai.removal.sample.walsh import walsh_points


def foldover_points(n: int, d: int, generator: torch.Generator) -> Tensor:
    """``n×d`` points in ``[0, 1)`` from independent fold-over blocks of ``2b`` rows,
    ``b = 2^L`` with ``L`` the smallest such that ``2^L ≥ d + 1``.

    First half of a block: column ``j`` is the Walsh function of a code ``c_j`` (``d``
    distinct *nonzero* codes of ``L`` bits, drawn at random) XOR a random bit ``s_j``, rows in
    a random order; the first binary digit of ``u_ij`` is ``parity(r_i · c_j) ⊕ s_j``, the
    other digits independent uniforms. Second half: the complements ``1 − u`` of the first
    half's rows, in another random order.

    * Every row is exactly uniform on the cube (given the codes, the ``s_j`` are independent
      fair bits, and ``1 − u`` is uniform when ``u`` is), so a keep mask ``u < p`` is an exact
      draw of independent Bernoulli(p) features and every estimator built on row averages
      (LIME's population objective, RISE's means) keeps its expectation.
    * After the first ``b`` rows of a block the indicators ``u < 0.5`` are balanced and
      pairwise orthogonal after centring (an orthogonal main-effect design, full rank with
      the intercept, ``b ≥ d + 1``); a scrambled Sobol sequence of fewer than ``2^(L+1)``
      points is not (its columns repeat: rank 164 of 201 at 333 points for ``d = 200``).
    * After the whole block, with ``p = 0.5`` each row's complement is in the design (a
      fold-over): no main effect is aliased with a two-feature interaction (resolution IV).

    Prefix-consistent: every block draws the same randomness whatever ``n``; the last block
    is cut short.
    """
    dev = generator.device
    bits = max(1, math.ceil(math.log2(d + 1)))
    b = 2**bits
    nonzero = torch.arange(1, b, device=dev)
    blocks = []
    for start in range(0, n, 2 * b):
        need = min(2 * b, n - start)
        codes = nonzero[torch.randperm(b - 1, generator=generator, device=dev)[:d]]
        flips = torch.randint(0, 2, (d,), generator=generator, device=dev)
        rows = torch.randperm(b, generator=generator, device=dev)
        again = torch.randperm(b, generator=generator, device=dev)
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
        half = walsh_points(rows, codes, flips, bits, seed)  # b×d
        folded = (1.0 - half[again]).clamp(max=1.0 - 2.0**-24)
        blocks.append(torch.cat([half, folded])[:need])
    return torch.cat(blocks)
