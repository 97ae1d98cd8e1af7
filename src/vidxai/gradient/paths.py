"""Batched input gradients along straight paths: the engine of every gradient method.

Saliency, gradient × input, integrated gradients and their SmoothGrad versions all need
``Σ_i w_i·∇f(b + α_i·(x_k − b))`` for K inputs ``x_k`` and S path points each. Here all K·S points
go through the model in batches of ``ctx.batch_size`` with one backward pass per batch (halving
the batch on out-of-memory), instead of one pass per point.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from vidxai.core.context import ExplainContext

RULES: tuple[str, ...] = ("gauss_legendre", "midpoint", "trapezoid", "left", "right")


def quadrature(n_steps: int, rule: str = "gauss_legendre") -> tuple[Tensor, Tensor]:
    """Nodes ``α`` in [0, 1] and weights (summing to 1) for ∫₀¹ g(α) dα with ``n_steps`` points.

    Rules: ``gauss_legendre`` (exact for polynomials of degree < 2·n_steps), ``midpoint``,
    ``trapezoid`` (includes both ends), ``left``/``right`` Riemann sums.

    Returns:
        ``(alphas S, weights S)`` float64 tensors.
    """
    n = n_steps
    if rule == "gauss_legendre":
        nodes, gl_weights = np.polynomial.legendre.leggauss(n)
        return torch.from_numpy((nodes + 1) / 2), torch.from_numpy(gl_weights / 2)
    if rule == "midpoint":
        alphas = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        return alphas, torch.full((n,), 1.0 / n, dtype=torch.float64)
    if rule == "trapezoid":
        if n == 1:
            return torch.tensor([0.5], dtype=torch.float64), torch.ones(1, dtype=torch.float64)
        alphas = torch.linspace(0, 1, n, dtype=torch.float64)
        weights = torch.full((n,), 1.0 / (n - 1), dtype=torch.float64)
        weights[[0, -1]] /= 2
        return alphas, weights
    if rule in ("left", "right"):
        alphas = torch.arange(n, dtype=torch.float64) / n + (1.0 / n if rule == "right" else 0)
        return alphas, torch.full((n,), 1.0 / n, dtype=torch.float64)
    raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


def path_gradients(
    ctx: ExplainContext,
    inputs: Tensor,
    baseline: Tensor | None = None,
    alphas: Tensor | None = None,
    weights: Tensor | None = None,
    desc: str = "gradients",
    clips: Tensor | None = None,
) -> Tensor:
    """Weighted sums of input gradients along straight paths, batched by the engine.

    Args:
        inputs: ``K×C×T×H×W`` end points ``x_k``.
        baseline: ``1×C×T×H×W`` or ``K×C×T×H×W`` start points ``b`` (``None``: zero). With
            no baseline, alphas and weights: the plain gradients at the inputs.
        alphas: ``S`` path positions in [0, 1] (default ``[1]``).
        weights: ``S`` weights of the points (default all 1).
        clips: ``K`` long, the clip of ``ctx.x`` each input belongs to (its target is used);
            None: every input against ``ctx.target`` for one clip, or — when ``ctx`` holds
            ``N > 1`` clips and ``K = N`` — input ``k`` against clip ``k``'s target.

    Returns:
        ``K×C×T×H×W``: ``Σ_i w_i·∇f(b + α_i·(x_k − b))`` for each k.
    """
    dtype, device = inputs.dtype, inputs.device
    if clips is None and ctx.n_clips > 1:
        if inputs.shape[0] != ctx.n_clips:
            raise ValueError(
                "path_gradients on several clips needs clips= (the clip of each input)"
            )
        clips = torch.arange(ctx.n_clips, device=device)
    plain = baseline is None and alphas is None and weights is None  # ∇f at the inputs
    alphas = torch.ones(1) if alphas is None else alphas
    weights = torch.ones_like(alphas) if weights is None else weights
    alphas = alphas.to(device=device, dtype=dtype)
    weights = weights.to(device=device, dtype=dtype)
    n_inputs, n_steps = int(inputs.shape[0]), int(alphas.shape[0])
    total = n_inputs * n_steps
    acc = inputs.new_empty(inputs.shape) if plain else torch.zeros_like(inputs)
    shape = (-1,) + (1,) * (inputs.ndim - 1)
    engine = ctx.engine
    if not plain:  # x_k − b once; path points are built in one reused buffer
        base = inputs.new_zeros((1, *inputs.shape[1:])) if baseline is None else baseline
        diff = inputs - base
        buffer = inputs.new_empty((min(engine.grad_batch_size, total), *inputs.shape[1:]))

    def make_batch(start: int, stop: int) -> Tensor:
        if plain:
            return inputs[start:stop]
        points = buffer[: stop - start]
        # b_k + α_i·(x_k − b_k), one fused write per input k in the batch
        for kk in range(start // n_steps, (stop - 1) // n_steps + 1):
            lo, hi = max(start, kk * n_steps), min(stop, (kk + 1) * n_steps)
            base_k = base[kk : kk + 1] if base.shape[0] > 1 else base
            torch.addcmul(
                base_k,
                alphas[lo % n_steps : (hi - 1) % n_steps + 1].view(shape),
                diff[kk : kk + 1],
                out=points[lo - start : hi - start],
            )
        return points

    def score(outputs: Tensor, start: int, stop: int) -> Tensor:
        if clips is None:
            return ctx.target.score(outputs)
        k = torch.arange(start, stop, device=clips.device) // n_steps
        return ctx.clip_score(outputs, clips[k])

    def consume(start: int, stop: int, _values: Tensor, grads: Tensor) -> None:
        if plain:
            acc[start:stop] = grads
            return
        flat = torch.arange(start, stop, device=device)
        k, i = flat // n_steps, flat % n_steps
        acc.index_add_(0, k, grads.mul_(weights[i].view(shape)))

    engine.input_grads(total, make_batch, score, consume, desc)
    return acc
