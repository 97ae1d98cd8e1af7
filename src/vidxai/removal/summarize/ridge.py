"""LIME's summary: a weighted ridge regression on the design, weighted by the LIME kernel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError
from vidxai.removal.summarize.base import SummaryInput, feature_output
from vidxai.removal.summarize.lime_control import LogisticPairsControl, adjacent_pairs
from vidxai.removal.summarize.ridge_cv import loo_penalty

#: LIME's control variates: ``none`` (LIME's fit) or ``logistic`` (see
#: :mod:`~vidxai.removal.summarize.lime_control`).
LimeControl = Literal["none", "logistic"]
LIME_CONTROLS: tuple[str, ...] = ("none", "logistic")


def lime_kernel(z: Tensor, width: float) -> Tensor:
    """LIME's sample weights: ``sqrt(exp(−d²/width²))`` with ``d`` the cosine distance of each
    row of ``z`` (``n×M``) to the all-ones row (``d = 1`` for an all-zero row). Returns ``n``."""
    ones_norm = z.shape[1] ** 0.5
    norms = z.norm(dim=1)
    cos = z.sum(1) / (norms * ones_norm).clamp_min(1e-12)
    d = torch.where(norms > 0, 1.0 - cos, torch.ones_like(cos))
    return torch.exp(-(d**2) / width**2).sqrt()


def weighted_ridge(
    x: Tensor, y: Tensor, w: Tensor, alpha: float, unit: int = 1, first: int = 0
) -> tuple[Tensor, Tensor, Tensor, float]:
    """Weighted ridge regression with an unpenalised intercept (scikit-learn's ``Ridge`` with
    ``sample_weight``), plus heteroscedasticity-consistent sandwich standard errors with the
    HC1 correction ``u / (u − M − 1)`` for ``u`` independent units (infinite while
    ``u ≤ M + 1``: the fit then interpolates and its residuals say nothing).

    Args:
        x: ``n×M`` float64; y: ``n``; w: ``n`` non-negative weights; alpha: penalty ≥ 0.
        unit, first: rows ``first, first+1, …`` form independent units of ``unit`` rows
            (antithetic pairs); the standard errors sum each unit's scores first.

    Returns:
        ``(coef M, intercept (0-d), standard_error M, weighted R²)``.
    """
    sw = w.sum()
    xm = (w @ x) / sw
    ym = (w @ y) / sw
    xc, yc = x - xm, y - ym
    gram = xc.T @ (w.unsqueeze(1) * xc)
    a = gram + alpha * torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    a_inv = torch.linalg.pinv(a, hermitian=True)
    coef = a_inv @ (xc.T @ (w * yc))
    resid = yc - xc @ coef
    scores = (w * resid).unsqueeze(1) * xc  # n×M
    if unit > 1:
        head, tail = scores[:first], scores[first:]
        whole = tail.shape[0] // unit * unit
        grouped = tail[:whole].view(-1, unit, tail.shape[1]).sum(1)
        scores = torch.cat([head, grouped, tail[whole:]])
    meat = scores.T @ scores
    cov = a_inv @ meat @ a_inv
    dof = scores.shape[0] - x.shape[1] - 1  # independent units − slopes − intercept
    cov = cov * (scores.shape[0] / dof) if dof > 0 else torch.full_like(cov, float("inf"))
    se = cov.diagonal().clamp_min(0).sqrt()
    ss_tot = float(w @ yc**2)
    r2 = 1.0 - float(w @ resid**2) / ss_tot if ss_tot > 0 else 1.0
    return coef, ym - xm @ coef, se, r2


@dataclass(frozen=True)
class LimeRidge:
    """Attribution of feature ``j`` = its coefficient in a LIME-kernel-weighted ridge fit of the
    target score on the keep indicators (REVEX/LIME: kernel width 0.25, ``alpha = 1``).

    The estimand is the kernel-weighted least-squares fit under the sampler's row distribution
    (the fixed penalty's weight vanishes as ``n`` grows); every built-in sampler option keeps
    each row an exact Bernoulli(p) draw, so the estimand is the same and the fit consistent.
    With antithetic pairs the standard errors treat each pair as one independent unit.

    ``alpha="auto"`` picks the penalty by exact leave-one-out error of the weighted fit
    (:func:`~vidxai.removal.summarize.ridge_cv.loo_penalty`); its candidates are capped so
    that the penalty vanishes relative to ``n`` as ``n`` grows, so the fit stays consistent
    for the same estimand. The penalty used is reported as ``extras["alpha"]``.

    ``control="logistic"``: the fit runs on ``f − θg`` and ``θ`` times ``g``'s population fit is
    added back, ``g`` a logistic surrogate with adjacent-segment pairs fitted on the rows and
    its population fit computed on free synthetic Bernoulli(``p``) rows
    (:mod:`~vidxai.removal.summarize.lime_control`): consistent for the same estimand, exact
    (``θ = 0``) when the linear fit reproduces the scores. It needs segment labels (hard
    segment masks) and probabilities in [0, 1]; otherwise LIME's own fit is returned and
    ``extras["control"]`` says why. The standard errors stay those of LIME's own fit: ``g``
    is fitted on the same rows (~1000 terms for 150 segments), so the sandwich errors of the fit
    on ``f − θg`` would understate the error (and stop ``n_samples="auto"`` far too early);
    LIME's are conservative for the controlled fit.

    Attributes:
        kernel_width: width of the LIME kernel on the cosine distance.
        alpha: ridge penalty (0 = weighted least squares) or ``"auto"``.
        control: ``none`` (LIME) or ``logistic``.
        p: keep probability of the sampler's rows (the synthetic rows of the control).
    """

    kernel_width: float = 0.25
    alpha: float | Literal["auto"] = 1.0
    control: LimeControl = "none"
    p: float = 0.5

    def __post_init__(self) -> None:
        if not self.kernel_width > 0:
            raise ParameterError(f"kernel_width must be > 0, got {self.kernel_width}")
        if self.alpha != "auto" and not (
            isinstance(self.alpha, (int, float))
            and not isinstance(self.alpha, bool)
            and self.alpha >= 0
        ):
            raise ParameterError(f"alpha must be ≥ 0 or 'auto', got {self.alpha!r}")
        if self.control not in LIME_CONTROLS:
            raise ParameterError(
                f"control must be one of {', '.join(LIME_CONTROLS)}, got {self.control!r}"
            )

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        assert inp.samples.z is not None
        z = inp.samples.z.double().cpu()
        y = inp.scores.double().cpu()
        w = lime_kernel(z, self.kernel_width)
        s = inp.samples
        alpha = loo_penalty(z, y, w) if self.alpha == "auto" else float(self.alpha)
        coef, intercept, se, r2 = weighted_ridge(z, y, w, alpha, s.unit, s.first_random)
        if self.control == "none":
            return feature_output(inp, coef, se, intercept=float(intercept), r2=r2, alpha=alpha)
        return self._controlled(inp, z, y, w, alpha, (coef, intercept, se, r2))

    def _controlled(
        self, inp: SummaryInput, z: Tensor, y: Tensor, w: Tensor, alpha: float, plain: tuple
    ) -> MethodOutput:
        """The fit with the logistic control variate (LIME's own fit ``plain`` if skipped)."""
        coef, intercept, se, r2 = plain
        ctl = LogisticPairsControl()
        labels = getattr(inp.masks, "labels", None)
        pairs = adjacent_pairs(labels) if labels is not None else None
        why = "no segment labels" if pairs is None else ctl.skip_reason(z, y, pairs)
        if why is not None or pairs is None:
            out = feature_output(inp, coef, se, intercept=float(intercept), r2=r2, alpha=alpha)
            out.extras["control"] = f"skipped: {why}"
            return out
        g, g_slopes, g_intercept = ctl.fit(
            z, y, w, pairs, self.p, lambda rows: lime_kernel(rows, self.kernel_width)
        )
        g_coef, g_icpt, _, _ = weighted_ridge(z, g, w, alpha)
        r_f, r_g = y - intercept - z @ coef, g - g_icpt - z @ g_coef
        denom = float(w @ r_g**2)
        theta = float(w @ (r_f * r_g)) / denom if denom > 0 else 0.0
        c_coef, c_icpt, _, _ = weighted_ridge(z, y - theta * g, w, alpha)
        coef = c_coef + theta * g_slopes
        intercept = float(c_icpt) + theta * g_intercept
        return feature_output(
            inp,
            coef,
            se,  # LIME's own (conservative: see the class docstring)
            intercept=intercept,
            r2=r2,
            alpha=alpha,
            control="logistic",
            control_theta=theta,
            control_pairs=int(pairs.shape[0]),
        )
