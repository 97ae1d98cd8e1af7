"""LIME's ridge penalty chosen by exact leave-one-out error of the weighted fit."""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Penalties tried, as powers of ten of the Gram matrix's mean eigenvalue.
LOG10_GRID = (-4.0, 1.0)
GRID_POINTS = 11


def penalty_grid(mean_eigenvalue: float, n: int, m: int) -> list[float]:
    """Candidate penalties: 0 and ``λ̄·10^k`` (``k`` on :data:`LOG10_GRID`), capped at
    ``10·λ̄·√(M/n)``.

    ``λ̄`` (the Gram matrix's mean eigenvalue) grows like ``n``, so the cap grows like ``√n``:
    the chosen penalty vanishes relative to the data term as ``n`` grows (``α/n → 0``), which
    keeps the ridge fit consistent for the same least-squares estimand as a fixed penalty.
    """
    top = 10.0 * mean_eigenvalue * math.sqrt(m / max(n, 1))
    lo, hi = LOG10_GRID
    grid = [mean_eigenvalue * 10.0**k for k in torch.linspace(lo, hi, GRID_POINTS).tolist()]
    return sorted({0.0, *(min(a, top) for a in grid)})


def loo_penalty(x: Tensor, y: Tensor, w: Tensor) -> float:
    """The penalty of a weighted ridge fit (unpenalised intercept) with the smallest exact
    leave-one-out error ``Σ_i w_i (e_i / (1 − h_ii))²`` over :func:`penalty_grid`.

    With ``X̃ = √w (x − x̄_w)`` and its SVD ``U S Vᵀ``, the hat matrix of penalty ``α`` is
    ``U diag(s²/(s²+α)) Uᵀ`` plus the intercept's ``w_i / Σw``; the residuals and leverages
    of every penalty follow from one SVD.

    Args:
        x: ``n×M`` float64 design; y: ``n`` float64 scores; w: ``n`` non-negative weights.

    Returns:
        The chosen ``α ≥ 0`` (0 when there are fewer than 3 rows).
    """
    n, m = x.shape
    if n < 3 or m == 0:
        return 0.0
    sw = w.sum()
    xm, ym = (w @ x) / sw, (w @ y) / sw
    root = w.sqrt()
    xt = root.unsqueeze(1) * (x - xm)
    yt = root * (y - ym)
    u, sv, _ = torch.linalg.svd(xt, full_matrices=False)
    s2 = sv**2
    uty = u.T @ yt
    base_lev = w / sw
    best, best_alpha = math.inf, 0.0
    for alpha in penalty_grid(float(s2.sum()) / m, n, m):
        shrink = s2 / (s2 + alpha)
        resid = yt - u @ (shrink * uty)  # √w-scaled residuals
        lev = (u**2) @ shrink + base_lev
        err = float(((resid / (1.0 - lev).clamp_min(1e-9)) ** 2).sum())
        if err < best:
            best, best_alpha = err, alpha
    return best_alpha
