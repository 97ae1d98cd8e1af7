"""Budget-fitted fold-over keep design: orthogonal blocks of a Hadamard order fitted to the
budget (Sylvester ``2^k`` or Paley ``q + 1``), each followed by its complements.

The fold-over design of :mod:`~vidxai.removal.sample.foldover` uses blocks of ``2^L ≥ M + 1``
rows, so its fold-over is complete only at ``2^(L+1)`` rows (512 for 154 segments): at 333
rows it is one block and 77 complements. A fold-over cancels every even interaction of the
keep indicators from the main effects (in the ±1 coding, a row and its complement flip every
odd product and keep every even one), which on the demo model is ~65–80% of what the linear
LIME fit leaves over; here the block order is the largest Hadamard order ``N`` with
``M + 1 ≤ N ≤ n/2`` (Paley's construction gives every ``q + 1`` with ``q`` a prime
``≡ 3 (mod 4)``: 104, 164, 240, 492, …), so ``n`` rows hold complete fold-overs
(328 of 333 rows for 154 segments).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.removal.sample.base import Samples
from vidxai.removal.sample.bernoulli import check_keep_options, keep_samples


def _is_prime(q: int) -> bool:
    return q > 1 and all(q % k for k in range(2, int(q**0.5) + 1))


def is_hadamard_order(n: int) -> bool:
    """``n`` is a power of two (Sylvester) or ``q + 1`` with ``q`` a prime ``≡ 3 mod 4``
    (Paley I): the orders :func:`hadamard_matrix` builds."""
    if n >= 1 and n & (n - 1) == 0:
        return True
    return n % 4 == 0 and _is_prime(n - 1)


def hadamard_matrix(n: int) -> Tensor:
    """An ``n×n`` ±1 matrix with ``H Hᵀ = n I`` and a first column of ones (float64).

    Sylvester's doubling for powers of two; Paley's construction I for ``n = q + 1``:
    ``H = I + [[0, 1ᵀ], [−1, Q]]`` with ``Q_ij = χ(j − i)`` the quadratic character mod ``q``.
    """
    if not is_hadamard_order(n):
        raise ParameterError(f"no Hadamard construction for order {n}")
    if n & (n - 1) == 0:
        h = torch.ones(1, 1, dtype=torch.float64)
        while h.shape[0] < n:
            h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)])
    else:
        q = n - 1
        chi = -torch.ones(q, dtype=torch.float64)
        chi[torch.tensor(sorted({k * k % q for k in range(1, q)}))] = 1.0
        chi[0] = 0.0
        i = torch.arange(q)
        s = torch.zeros(n, n, dtype=torch.float64)
        s[0, 1:], s[1:, 0] = 1.0, -1.0
        s[1:, 1:] = chi[(i.unsqueeze(0) - i.unsqueeze(1)) % q]
        h = torch.eye(n, dtype=torch.float64) + s
    return h * h[:, :1]  # rows signed so that the first column is all ones


def fitted_order(n_random: int, d: int) -> int:
    """The block order: the largest Hadamard order ``N`` with ``d + 1 ≤ N ≤ n_random / 2``,
    else (too few rows for one fold-over) the smallest ``N ≥ d + 1``."""
    for order in range(max(d + 1, n_random // 2), d, -1):
        if order <= n_random // 2 and is_hadamard_order(order):
            return order
    order = d + 1
    while not is_hadamard_order(order):
        order += 1
    return order


def fitted_points(n: int, d: int, generator: torch.Generator) -> Tensor:
    """``n×d`` points in ``[0, 1)`` from fold-over blocks of ``2N`` rows, ``N`` =
    :func:`fitted_order` ``(n, d)``.

    First half of a block: ``d`` random distinct non-constant columns of
    :func:`hadamard_matrix` ``(N)``, each times a random sign, rows in a random order; the
    first binary digit of ``u_ij`` is 1 where that entry is −1, the other digits independent
    uniforms. Second half: the complements ``1 − u`` of the first half's rows in another random
    order. Given the matrix, the signs are independent fair coins, so every row is exactly
    uniform on the cube (``1 − u`` is uniform when ``u`` is): a keep mask ``u < p`` is an exact
    draw of independent Bernoulli(p) features. After the first ``N`` rows of a block the
    indicators ``u < 0.5`` are balanced and pairwise orthogonal; after ``2N`` no main effect
    is aliased with any even interaction (for ``p = 0.5``). The design depends on ``n``
    (not prefix-consistent).
    """
    dev = generator.device
    order = fitted_order(n, d)
    cols = hadamard_matrix(order)[:, 1:]
    blocks, built = [], 0
    while built < n:
        pick = torch.randperm(order - 1, generator=generator, device=dev)[:d].cpu()
        signs = torch.randint(0, 2, (d,), generator=generator, device=dev).cpu() * 2 - 1
        rows = torch.randperm(order, generator=generator, device=dev).cpu()
        again = torch.randperm(order, generator=generator, device=dev).cpu()
        seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=dev).item())
        first = (cols[rows][:, pick] * signs < 0).float()
        rest = torch.rand(order, d, generator=torch.Generator().manual_seed(seed))
        half = ((first + rest) / 2).clamp(max=1.0 - 2.0**-24)
        folded = (1.0 - half[again]).clamp(max=1.0 - 2.0**-24)
        blocks.append(torch.cat([half, folded]))
        built += 2 * order
    return torch.cat(blocks)[:n].to(dev)


@dataclass(frozen=True)
class FittedFoldoverSampler:
    """Each feature kept with probability ``p`` on budget-fitted fold-over points
    (:func:`fitted_points`); every random row an exact Bernoulli(p) draw, so LIME's
    population objective, and its estimand, are those of independent draws.

    Attributes:
        n_samples: total rows, including the intact row when ``include_intact``.
        p: keep probability, strictly between 0 and 1.
        include_intact: make row 0 the intact clip.
    """

    n_samples: int = 1000
    p: float = 0.5
    include_intact: bool = True

    def __post_init__(self) -> None:
        check_keep_options(self.p, self.n_samples, self.include_intact)

    def __call__(
        self, num_features: int, shape: tuple[int, int, int], generator: torch.Generator
    ) -> Samples:
        """``n_samples×M`` binary design on the generator's device (``nested=False``)."""
        u = fitted_points(self.n_samples - int(self.include_intact), num_features, generator)
        return keep_samples((u < self.p).float(), self.include_intact, nested=False)
