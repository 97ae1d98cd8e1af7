"""Kernel SHAP coalitions stratified by size: the sizes with the most kernel mass enumerated,
the rest sampled (with complements) from the remaining mass, duplicates reweighted.

The Shapley-kernel objective is a sum over coalition sizes, ``Σ_s μ(s)·E_{|S|=s}[L(S)]`` with
``μ(s) = (M−1)/(s(M−s))`` the kernel's mass of size ``s``. Sizes ``1, M−1`` carry the most mass,
then ``2, M−2``, … Each size pair is a stratum: enumerating a stratum replaces its sampled
average by the exact sum (no sampling error there), so small budgets become exact where the
kernel mass is. The rule (the one the ``shap`` library's KernelExplainer follows): a stratum
is enumerated while its coalitions number no more than the rows a proportional allocation of
the budget left would give it (every coalition would be drawn at least once on average).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Most random draws per needed distinct unit before giving up on finding more.
MAX_DRAWS_PER_UNIT = 50


def size_mass(m: int) -> Tensor:
    """``μ(s) = (M−1)/(s(M−s))`` for ``s = 1..M−1`` (float64, index ``s − 1``)."""
    s = torch.arange(1, m, dtype=torch.float64)
    return (m - 1) / (s * (m - s))


def complete_strata(m: int, budget: int) -> list[int]:
    """Lower sizes ``s ≤ M/2`` of the size pairs ``(s, M−s)`` to enumerate within ``budget`` rows.

    Pair ``s`` holds ``2·C(M, s)`` coalitions (``C(M, M/2)`` for the middle size) and is taken
    while that is ≤ the budget left times its share of the kernel mass not yet enumerated.
    """
    mass = size_mass(m)
    left_mass, left_rows, out = float(mass.sum()), float(budget), []
    for s in range(1, m // 2 + 1):
        middle = 2 * s == m
        count = math.comb(m, s) * (1 if middle else 2)
        share = float(mass[s - 1]) * (1 if middle else 2)
        if left_mass <= 0 or count > left_rows * share / left_mass + 1e-9:
            break
        out.append(s)
        left_mass -= share
        left_rows -= count
    return out


def size_rows(m: int, s: int, device: torch.device) -> Tensor:
    """Every coalition of size ``s`` as ``C(M, s)×M`` float32 rows (lexicographic order)."""
    idx = torch.combinations(torch.arange(m, device=device), s) if s > 0 else None
    rows = torch.zeros(math.comb(m, s), m, device=device)
    if idx is not None:
        rows.scatter_(1, idx.reshape(-1, s), 1.0)
    return rows


def enumerated_rows(m: int, sizes: list[int], pairs: bool, device: torch.device) -> Tensor:
    """Every coalition of the strata ``sizes`` (each with its complement size), as rows.

    With ``pairs`` each coalition is followed by its complement (the middle size's coalitions
    are listed once each, paired with their complements); otherwise size ``s`` then size
    ``M − s``.
    """
    blocks = []
    for s in sizes:
        low = size_rows(m, s, device)
        if 2 * s == m:
            low = low[low[:, 0] == 1]  # one of each complementary pair
        blocks.append(torch.stack([low, 1.0 - low], 1).reshape(-1, m) if pairs else low)
        if not pairs:
            blocks.append(1.0 - low)
    return torch.cat(blocks) if blocks else torch.zeros(0, m, device=device)


def _keys(rows: Tensor, pairs: bool) -> Tensor:
    """One integer-coded key row per coalition (per complementary pair with ``pairs``)."""
    if pairs:  # the member of the pair that keeps feature 0
        rows = torch.where(rows[:, :1] > 0, rows, 1.0 - rows)
    return rows.to(torch.uint8)


def draw_remaining(
    m: int, sizes: Tensor, prob: Tensor, units: int, pairs: bool, generator: torch.Generator
) -> tuple[Tensor, Tensor, int]:
    """Draw coalitions of the sizes ``sizes`` (probabilities ``prob``; uniform within a size)
    until ``units`` distinct ones (pairs with ``pairs``) were seen, counting repeats.

    Returns:
        ``(rows units×M, multiplicity units, draws)``: the distinct draws in order of first
        appearance, how often each was drawn, and the number of draws up to the last new one
        (fewer distinct rows when the strata hold fewer, after ``MAX_DRAWS_PER_UNIT·units``
        draws).
    """
    dev = generator.device
    cdf = (prob / prob.sum()).cumsum(0)
    seen: list[Tensor] = []
    total, distinct, cap = 0, 0, MAX_DRAWS_PER_UNIT * max(units, 1)
    while units > 0 and distinct < units and total < cap:
        batch = max(16, units - distinct)
        u = torch.rand(batch, generator=generator, device=dev, dtype=torch.float64)
        drawn = sizes[torch.searchsorted(cdf, u, right=True).clamp(max=sizes.numel() - 1)]
        order = torch.rand(batch, m, generator=generator, device=dev).argsort(dim=1)
        first = (torch.arange(m, device=dev).unsqueeze(0) < drawn.unsqueeze(1)).float()
        seen.append(torch.zeros(batch, m, device=dev).scatter_(1, order, first))
        total += batch
        distinct = int(torch.unique(_keys(torch.cat(seen), pairs), dim=0).shape[0])
    if not seen:
        return torch.zeros(0, m, device=dev), torch.zeros(0, dtype=torch.float64), 0
    allrows = torch.cat(seen)
    _, inverse = torch.unique(_keys(allrows, pairs), dim=0, return_inverse=True)
    first_at = torch.full((int(inverse.max()) + 1,), allrows.shape[0], dtype=torch.long)
    first_at.scatter_reduce_(0, inverse.cpu(), torch.arange(allrows.shape[0]), "amin")
    keep = first_at.sort().values[:units]  # the first `units` distinct draws
    draws = int(keep[-1]) + 1
    mult = torch.bincount(inverse.cpu()[:draws], minlength=first_at.numel()).double()
    return allrows[keep.to(dev)], mult[inverse.cpu()[keep]], draws


def stratified_coalitions(
    m: int, n_rows: int, pairs: bool, generator: torch.Generator
) -> tuple[Tensor, Tensor, int]:
    """The stratified Kernel SHAP design of at most ``n_rows`` coalitions (no full / empty row).

    Rows: the enumerated strata (see :func:`complete_strata`), each coalition with its exact
    kernel weight ``k(s) = μ(s)/C(M, s)``; then the rows drawn from the remaining sizes with
    probability ∝ ``μ(s)`` (with their complements when ``pairs``), a coalition drawn ``c``
    times among ``D`` draws weighing ``c·R/D`` (halved per row of a pair), ``R`` the mass left.
    The weighted objective is, stratum by stratum, the Shapley-kernel objective: exactly for
    the enumerated strata, in expectation per draw for the others (the reweighted duplicates
    are the with-replacement estimator, so the fit is consistent for the Shapley values).

    Returns:
        ``(z n×M, weights n float64, enumerated)``: ``enumerated`` rows come first.
    """
    dev = generator.device
    strata = complete_strata(m, n_rows)
    fixed = enumerated_rows(m, strata, pairs, dev)
    mass = size_mass(m)
    per_size = {s: float(mass[s - 1]) / math.comb(m, s) for s in strata}  # k(s) = k(M − s)
    sizes_fixed = fixed.sum(1).round().long().cpu().tolist()
    w_fixed = torch.tensor([per_size[min(s, m - s)] for s in sizes_fixed], dtype=torch.float64)
    left = [s for s in range(1, m) if min(s, m - s) not in strata]
    rows_left = n_rows - fixed.shape[0]
    if not left or rows_left <= 0:
        return fixed, w_fixed, fixed.shape[0]
    sizes = torch.tensor(left, device=dev)
    prob = mass[[s - 1 for s in left]].to(dev)
    per = 2 if pairs else 1
    units = math.ceil(rows_left / per)
    drawn, mult, draws = draw_remaining(m, sizes, prob, units, pairs, generator)
    w = mult * float(prob.sum()) / (draws * per)
    if pairs:
        drawn = torch.stack([drawn, 1.0 - drawn], 1).reshape(-1, m)
        w = w.repeat_interleave(2)
    return torch.cat([fixed, drawn]), torch.cat([w_fixed, w.cpu()]), fixed.shape[0]
