"""Kernel SHAP's summary: Shapley-kernel weighted least squares, efficiency as a constraint."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.summarize.base import SummaryInput, feature_output
from vidxai.removal.summarize.shapley_control import (
    control_applies,
    fit_interactions,
    interaction_sets,
    interaction_shapley,
    monomials,
)

ShapleyControl = Literal["none", "triples"]

#: Groups of drawn units that the jackknife of the controlled estimate leaves out in turn.
JACKKNIFE_GROUPS = 20


def constrained_wls(
    x: Tensor, t: Tensor, w: Tensor, delta: float, unit: int = 1, fixed: int = 0
) -> tuple[Tensor, Tensor]:
    """Solve ``min Σ_i w_i (t_i − x_iᵀφ)²`` subject to ``Σ_j φ_j = delta``.

    The constraint is built in: ``φ = delta/M·1 + P v`` with ``P = I − 11ᵀ/M``, and ``v`` is the
    minimum-norm least-squares solution (so rank-deficient designs are fine and the result is
    symmetric in the features). The sum is then exactly ``delta`` up to float64 rounding.

    Standard errors come from the sandwich (M-estimation) covariance
    ``H⁺ (Σ_u g_u g_uᵀ) H⁺`` with ``H = (XP)ᵀW(XP)`` and ``g_u`` the summed score
    ``w_i (XP)_i e_i`` of each independent unit of ``unit`` consecutive rows (antithetic pairs),
    scaled by ``n_u / (n_u − M + 1)`` when ``n_u > M − 1``. With ``fixed`` leading rows
    (enumerated strata: no sampling error) only the drawn units enter, centred on their mean
    (the variance of a stratum's sampled sum), scaled by ``n_u / (n_u − 1)``.

    Args:
        x: ``n×M`` float64 coalitions; t: ``n`` targets ``f(z) − f(∅)``; w: ``n`` weights;
        delta: ``f(x) − f(∅)``; unit: rows per independent draw; fixed: leading rows that
        were enumerated, not drawn.

    Returns:
        ``(phi M, standard_error M)`` float64.
    """
    m = x.shape[1]
    xp = x - x.mean(1, keepdim=True)  # X·P
    r = t - (delta / m) * x.sum(1)
    sw = w.sqrt().unsqueeze(1)
    v = torch.linalg.lstsq(sw * xp, sw[:, 0] * r, driver="gelsd").solution
    phi = delta / m + (v - v.mean())
    phi = phi + (delta - phi.sum()) / m
    resid = t - x @ phi
    scores = ((w * resid).unsqueeze(1) * xp)[fixed:]  # drawn rows × M
    drawn = scores.shape[0]
    if unit > 1 and drawn % unit == 0:
        scores = scores.view(drawn // unit, unit, m).sum(1)
    n_units = scores.shape[0]
    h_inv = torch.linalg.pinv(xp.T @ (w.unsqueeze(1) * xp), hermitian=True)
    if fixed and n_units <= 1:  # nothing to estimate a stratum's spread from
        return phi, torch.full_like(phi, math.inf)
    if fixed:
        scores = scores - scores.mean(0)
    cov = h_inv @ (scores.T @ scores) @ h_inv
    if fixed and n_units > 1:
        cov = cov * (n_units / (n_units - 1))
    elif not fixed and n_units > m - 1:
        cov = cov * (n_units / (n_units - m + 1))
    return phi, cov.diagonal().clamp_min(0).sqrt()


@dataclass(frozen=True)
class KernelShapWLS:
    """Shapley values by Kernel SHAP's constrained weighted regression.

    Needs the Shapley sampler's design: row ``full_row`` (intact), row ``empty_row`` (all
    removed) and coalitions after them (the enumerated strata of a stratified design first,
    up to ``first_random``). Efficiency holds exactly: ``Σ_j φ_j = f(x) − f(all removed)``.
    With exact enumeration the values are exact and the standard errors are 0.

    ``control="triples"``: the regression runs on the residual of a ridge fit of the model's
    interactions up to order 3, whose Shapley values are added exactly
    (:mod:`~vidxai.removal.summarize.shapley_control`): consistent for the same Shapley
    values, exact on additive models, efficiency kept. Used with 3 to 20 features (beyond
    that ``C(M, 3)`` terms are too many) and at least half as many coalitions as the fit has
    terms (:func:`~vidxai.removal.summarize.shapley_control.control_applies`);
    ``extras["control"]`` says what was used. Its standard errors are a delete-a-group
    jackknife of the whole estimate (fit and regression redone without each of
    :data:`JACKKNIFE_GROUPS` groups of drawn units), because the fit is made on the same rows:
    the residual regression's own errors, the fit taken as fixed, were measured 8× too small.

    Attributes:
        control: ``none`` (Kernel SHAP) or ``triples``.
    """

    control: ShapleyControl = "none"

    def __post_init__(self) -> None:
        if self.control not in ("none", "triples"):
            raise ParameterError(f"control must be 'none' or 'triples', got {self.control!r}")

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        s = inp.samples
        assert s.z is not None and s.full_row is not None and s.empty_row is not None
        y = inp.scores.double().cpu()
        rows = slice(2, s.n)  # rows 0 and 1 are the full and empty coalitions
        x = s.z[rows].double().cpu()
        w = torch.ones(x.shape[0], dtype=torch.float64)
        if s.weights is not None:
            w = s.weights[rows].double().cpu()
            w = w / w.mean()
        m = x.shape[1]
        use = self.control == "triples" and not s.exact and control_applies(m, x.shape[0])
        f_full, f_empty = float(y[s.full_row]), float(y[s.empty_row])
        fixed = max(0, s.first_random - 2)
        ends = (f_full, f_empty)
        if use:
            phi = _controlled(x, y[rows], w, ends, s.unit, fixed)
            se = _jackknife_se(x, y[rows], w, ends, s.unit, fixed, phi)
        else:
            phi, se = constrained_wls(x, y[rows] - f_empty, w, f_full - f_empty, s.unit, fixed)
        if s.exact:
            se = torch.zeros_like(se)
        return feature_output(
            inp,
            phi,
            se,
            base_value=f_empty,
            full_value=f_full,
            exact=s.exact,
            efficiency_gap=float(phi.sum()) - (f_full - f_empty),
            control="triples" if use else "none",
        )


def _controlled(
    x: Tensor, y: Tensor, w: Tensor, ends: tuple[float, float], unit: int, fixed: int
) -> Tensor:
    """The controlled estimate ``φ(g) + KernelSHAP(f − g)`` (see :class:`KernelShapWLS`).

    Args:
        x: ``n×M`` float64 coalitions (without the intact and empty rows); y: their ``n``
        scores; w: ``n`` weights; ends: ``(f(x), f(∅))``; unit, fixed: as
        :func:`constrained_wls`.

    Returns:
        ``φ`` (``M`` float64).
    """
    m = x.shape[1]
    sets = interaction_sets(m)
    coef, intercept = fit_interactions(x, y, w)
    full = torch.ones(1, m, dtype=torch.float64)
    g_full = intercept + float(monomials(full, sets) @ coef)
    values = y - (intercept + monomials(x, sets) @ coef)
    r_full, r_empty = ends[0] - g_full, ends[1] - intercept  # (f − g)(1), (f − g)(0)
    phi, _ = constrained_wls(x, values - r_empty, w, r_full - r_empty, unit, fixed)
    return phi + interaction_shapley(coef, m)


def _jackknife_se(
    x: Tensor,
    y: Tensor,
    w: Tensor,
    ends: tuple[float, float],
    unit: int,
    fixed: int,
    phi: Tensor,
    groups: int = JACKKNIFE_GROUPS,
) -> Tensor:
    """Delete-a-group jackknife standard errors of :func:`_controlled`.

    The drawn units (``unit`` consecutive rows after the ``fixed`` enumerated ones) are dealt
    round-robin into ``G = min(groups, units)`` groups; each replicate drops one group and
    scales the remaining drawn rows' weights by ``drawn / kept`` (they stand for the same
    probability mass), and ``se² = (G − 1)/G · Σ_g (φ_(g) − φ̄)²``.

    Returns:
        ``M`` float64 standard errors (``inf`` with fewer than 2 drawn units).
    """
    drawn = x.shape[0] - fixed
    n_units = drawn // unit if unit > 1 and drawn % unit == 0 else drawn
    per = drawn // n_units if n_units else 1
    g = min(groups, n_units)
    if g < 2:
        return torch.full_like(phi, math.inf)
    group_of = torch.arange(n_units).remainder(g).repeat_interleave(per)
    reps = []
    for k in range(g):
        keep = torch.cat([torch.ones(fixed, dtype=torch.bool), group_of != k])
        wk = w.clone()
        wk[fixed:] *= drawn / float((group_of != k).sum())
        reps.append(_controlled(x[keep], y[keep], wk[keep], ends, unit, fixed))
    stack = torch.stack(reps)
    return ((g - 1) / g * (stack - stack.mean(0)).pow(2).sum(0)).sqrt()
