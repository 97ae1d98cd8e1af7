"""Ridge regression with its penalty chosen by exact leave-one-out error (the control variate
of :class:`~vidxai.removal.summarize.mean.MeanWhenKept`)."""

from __future__ import annotations

import torch
from torch import Tensor


def ridge_loo(x: Tensor, y: Tensor, grid: int = 13) -> tuple[Tensor, float, float]:
    """Ridge coefficients of ``y`` on ``x`` with an unpenalised intercept, the penalty ``α``
    picked from a log grid by the closed-form leave-one-out residuals ``e_i / (1 − h_ii)``.

    Args:
        x: ``n×M`` float64; y: ``n`` float64.
        grid: number of penalties tried, ``α = s_max² · 10^k`` for ``k`` in ``[−5, 1]``.

    Returns:
        ``(coef M, alpha, dof)`` with ``dof = tr(H)`` the fit's effective degrees of freedom
        (slopes; the intercept adds one more); ``coef`` are zeros when ``n < 3``.
    """
    n, m = x.shape
    if n < 3:
        return torch.zeros(m, dtype=x.dtype), float("inf"), 0.0
    xc = x - x.mean(0)
    yc = y - y.mean()
    u, sv, vt = torch.linalg.svd(xc, full_matrices=False)
    uty = u.T @ yc
    s2 = sv**2
    top = float(s2.max()) if s2.numel() else 1.0
    best: tuple[float, float] = (float("inf"), float("inf"))
    for k in torch.linspace(-5.0, 1.0, grid).tolist():
        alpha = max(top, 1e-12) * 10.0**k
        shrink = s2 / (s2 + alpha)
        resid = yc - u @ (shrink * uty)
        lev = (u**2) @ shrink + 1.0 / n
        loo = resid / (1.0 - lev).clamp_min(1e-9)
        err = float((loo**2).mean())
        if err < best[0]:
            best = (err, alpha)
    alpha = best[1]
    coef = vt.T @ (sv / (s2 + alpha) * uty)
    return coef, alpha, float((s2 / (s2 + alpha)).sum())
