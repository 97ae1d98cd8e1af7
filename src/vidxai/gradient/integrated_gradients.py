"""Integrated gradients (Sundararajan et al. 2017) for video, batched, with a completeness check.

``IG(x) = (x − b) ⊙ ∫₀¹ ∇f(b + α(x − b)) dα``, the integral by a quadrature rule with
``n_steps`` points; all points go through the model in batches with one backward pass per batch.
Completeness says ``Σ IG = f(x) − f(b)``; the gap between the two is reported in
``extras["completeness_gap"]`` (absolute) and ``extras["relative_completeness_gap"]`` (divided
by ``|f(x) − f(b)|``) so a user can see whether ``n_steps`` was enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.gradient.baselines import make_baseline
from vidxai.gradient.paths import RULES, path_gradients, quadrature
from vidxai.gradient.polarity import (
    ChannelReduction,
    Polarity,
    check_channel_reduction,
    check_polarity,
    reduce_channels,
)
from vidxai.gradient.tunnel import register_raw

Rule = Literal["gauss_legendre", "midpoint", "trapezoid", "left", "right"]


@dataclass(frozen=True)
class IntegratedGradientsParams:
    """Parameters of :func:`integrated_gradients`.

    Attributes:
        baseline: ``black`` (default), ``blur``, ``noise`` (uniform random pixels), a tensor
            ``C×T×H×W`` in model-input space, or a path to a video of the same length.
        n_steps: points on the path (≥ 1).
        rule: quadrature rule: ``gauss_legendre`` (default), ``midpoint``, ``trapezoid``,
            ``left``, ``right``.
        blur_sigma: Gaussian sigma in pixels for the ``blur`` baseline.
        polarity: ``both`` (default, signed: with the channel sum, Σ map = Σ IG),
            ``positive``, ``negative`` or ``absolute`` (``|·|``); see
            :mod:`vidxai.gradient.polarity`.
        channel_reduction: ``sum`` (default, keeps completeness), ``mean``, ``max`` or ``l2``.
    """

    baseline: str | Tensor = "black"
    n_steps: int = 32
    rule: Rule = "gauss_legendre"
    blur_sigma: float = 10.0
    polarity: Polarity = "both"
    channel_reduction: ChannelReduction = "sum"

    def __post_init__(self) -> None:
        if self.n_steps < 1:
            raise ParameterError(f"n_steps must be >= 1, got {self.n_steps}")
        if self.blur_sigma < 0:
            raise ParameterError(f"blur_sigma must be >= 0, got {self.blur_sigma}")
        if self.rule not in RULES:
            raise ParameterError(f"rule must be one of {', '.join(RULES)}, got {self.rule!r}")
        check_polarity(self.polarity)
        check_channel_reduction(self.channel_reduction)


def integrated_gradients_raw(
    ctx: ExplainContext, inputs: Tensor, baseline: Tensor, n_steps: int, rule: str
) -> Tensor:
    """``K×C×T×H×W`` inputs → their per-channel integrated gradients from ``baseline``."""
    alphas, weights = quadrature(n_steps, rule)
    grads = path_gradients(ctx, inputs, baseline, alphas, weights, desc="integrated_gradients")
    return grads.mul_(inputs - baseline)  # in place: grads is ours, a fresh K-clip sum


@register_raw("integrated_gradients")
def _raw(ctx: ExplainContext, params: IntegratedGradientsParams, inputs: Tensor) -> Tensor:
    baseline = make_baseline(ctx, params.baseline, params.blur_sigma)
    return integrated_gradients_raw(ctx, inputs, baseline, params.n_steps, params.rule)


@register_method(
    "integrated_gradients",
    params=IntegratedGradientsParams,
    family="gradient",
    batched=True,
    description="Integrated gradients along the straight path from a baseline (batched).",
    quick_params={"n_steps": 8},
)
def integrated_gradients(
    ctx: ExplainContext, params: IntegratedGradientsParams
) -> list[MethodOutput]:
    """``n_steps`` forward + backward passes per clip (batched, all clips together) and 2 forward
    passes per clip for the completeness check; one output per clip."""
    n = ctx.n_clips
    baseline = make_baseline(ctx, params.baseline, params.blur_sigma)
    raw = integrated_gradients_raw(ctx, ctx.x, baseline, params.n_steps, params.rule)
    ends = torch.cat([ctx.x, baseline.expand_as(ctx.x)])  # N intact clips, then N baselines
    rows = torch.arange(2 * n, device=ctx.x.device) % n
    values = ctx.engine.scores(
        2 * n,
        lambda a, b: ends[a:b],
        lambda out, a, b: ctx.clip_score(out, rows[a:b]),
        desc="integrated_gradients",
    )
    reduced = reduce_channels(raw, params.polarity, params.channel_reduction)
    outputs = []
    for i in range(n):
        f_x, f_b = float(values[i]), float(values[n + i])
        delta = f_x - f_b
        gap = float(raw[i].double().sum()) - delta
        extras = {
            "completeness_gap": gap,
            "relative_completeness_gap": abs(gap) / abs(delta) if delta != 0 else float("inf"),
            "score": f_x,
            "baseline_score": f_b,
        }
        outputs.append(MethodOutput(reduced[i], extras))
    return outputs
