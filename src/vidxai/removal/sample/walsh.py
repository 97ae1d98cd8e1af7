"""Walsh functions: the first binary digit of the randomised Hadamard keep designs."""

from __future__ import annotations

import torch
from torch import Tensor


def walsh_digits(rows: Tensor, codes: Tensor, flips: Tensor, bits: int) -> Tensor:
    """``parity(r_i · c_j) ⊕ s_j`` for row indices ``rows`` (``k``), codes ``codes`` (``d``)
    and flip bits ``flips`` (``d``), all integers below ``2^bits``. Returns ``k×d`` int64 in
    ``{0, 1}``: column ``j`` is the Walsh function of code ``c_j`` (flipped by ``s_j``)."""
    place = 2 ** torch.arange(bits, device=rows.device)
    r_bits = ((rows.unsqueeze(1) & place) > 0).double()  # k×L
    c_bits = ((codes.unsqueeze(1) & place) > 0).double()  # d×L
    return ((r_bits @ c_bits.T).round().long() + flips) % 2


def walsh_points(rows: Tensor, codes: Tensor, flips: Tensor, bits: int, seed: int) -> Tensor:
    """``k×d`` points in ``[0, 1)`` whose first binary digit is :func:`walsh_digits` and whose
    other digits are independent uniforms from a CPU stream seeded with ``seed`` (so the first
    rows do not depend on how many are built)."""
    first = walsh_digits(rows, codes, flips, bits)
    rest = torch.rand(rows.numel(), codes.numel(), generator=torch.Generator().manual_seed(seed))
    return ((first.float() + rest.to(rows.device)) / 2).clamp(max=1.0 - 2.0**-24)
