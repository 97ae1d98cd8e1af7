"""One modified backward pass through a zennit composite, and the conservation it keeps."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from zennit.core import Composite

from vidxai.core.context import ExplainContext
from vidxai.core.hooks import eval_mode
from vidxai.relevance.canonizers import check_supported, warn_if_unknown
from vidxai.relevance.direct import direct


def first_conv_ndim(module: nn.Module) -> int:
    """Spatial dimensions of the first convolution (3 for Conv3d, 2 for frame-wise Conv2d)."""
    for m in module.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            return len(m.kernel_size)
    return 3


def input_bounds(ctx: ExplainContext) -> tuple[Tensor, Tensor]:
    """Lowest and highest input values (pixels 0 and 1, normalised) as ``1×C×1…`` for ZBox."""
    ones = (1,) * first_conv_ndim(ctx.module)
    return ctx.pixel_value(0.0).view(1, -1, *ones), ctx.pixel_value(1.0).view(1, -1, *ones)


def output_seed(outputs: Tensor, scores: Tensor, index: int | None, scale: bool) -> Tensor:
    """The relevance put on the model's outputs: the target's score on its class (``scale``),
    or 1 there (a plain modified gradient); for a single-output model, on that output."""
    seed = torch.zeros_like(outputs)
    value = scores.detach() if scale else torch.ones_like(scores)
    if outputs.ndim == 1:
        return value.reshape(outputs.shape)
    seed[:, 0 if index is None else index] = value
    return seed


def modified_backward(
    ctx: ExplainContext, composite: Composite, method: str, scale: bool = True
) -> tuple[Tensor, Tensor, dict[str, Any]]:
    """Run ``ctx.x`` forward and back through ``ctx.module`` with ``composite`` registered.

    Args:
        scale: start from the target's score (LRP: Σ relevance ≈ the score) instead of 1.

    Returns:
        ``(relevance N×C×T×H×W, scores N, extras)``; extras carry ``canonized`` (the canonizers
        knew the whole model). Hooks and canonizers are removed in ``finally``; the model is in
        eval mode for the pass (BatchNorm merged with its running statistics).
    """
    check_supported(ctx.module, method)
    known = warn_if_unknown(ctx.module, method)
    context = direct(composite).context(ctx.module)  # the layers' own backward never runs
    with eval_mode(ctx.module), context, ctx.timer("inference"), torch.enable_grad():
        xg = ctx.x.detach().requires_grad_(True)
        outputs = ctx.model(xg)
        scores = ctx.target.score(outputs)
        seed = output_seed(outputs, scores, ctx.target.index, scale)
        (relevance,) = torch.autograd.grad(outputs, xg, grad_outputs=seed)
    return relevance.detach(), scores.detach(), {"canonized": known}


def conservation(relevance: Tensor, scores: Tensor) -> dict[str, float]:
    """``relevance_sum`` = Σ R and ``conservation_gap`` = |Σ R − f(x)| / |f(x)| (first clip)."""
    total = float(relevance[0].double().sum())
    f = float(scores[0])
    gap = abs(total - f) / abs(f) if f != 0 else float("inf") if total != 0 else 0.0
    return {"relevance_sum": total, "conservation_gap": gap}
