"""From one value per token to a ``T×H×W`` map, through the CAM token-layout code.

The token layout (class token or not, the ``T′×h×w`` grid, time- or space-major order) is read
from the model's declaration (``VideoClassifier.layer_layout``, written by the zoo) with
:mod:`vidxai.cam.layout`, the same code the CAM methods use; for a plain module the attention
adapter's knowledge of the architecture (:mod:`vidxai.relevance.attention`) is the hint.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vidxai.cam.layout import ActivationLayout, coerce_layout, cover, infer_layout, to_volume
from vidxai.core.context import ExplainContext
from vidxai.relevance.attention import AttentionModel


def token_layout(ctx: ExplainContext, arch: AttentionModel) -> ActivationLayout:
    """The complete token layout of ``ctx.x``'s tokens (grid, class tokens, order)."""
    declared = getattr(ctx.classifier, "layer_layout", None) if ctx.classifier else None
    hint = coerce_layout(declared) if isinstance(declared, dict) else None
    # the attention hooks see the model's real token order; a declaration must agree with it
    if (
        hint is None
        or hint.kind != "tokens"
        or hint.prefix not in (None, arch.prefix)
        or hint.order != arch.order
    ):
        hint = ActivationLayout("tokens", prefix=arch.prefix, order=arch.order)
    n = int(ctx.x.shape[0])
    return infer_layout((n, arch.num_tokens(ctx.x), 1), tuple(ctx.x.shape), hint)


def readout_row(r: Tensor, arch: AttentionModel) -> Tensor:
    """The row of the ``B×N×N`` token matrix the head reads: ``B×N``.

    The class token's row (``cls``), the mean of all rows (mean pooling) or the first row.
    """
    if arch.readout == "mean":
        return r.mean(dim=1)
    return r[:, 0]


def readout_vector(arch: AttentionModel, n_clips: int, n_tokens: int, device: Any) -> Tensor:
    """The row vector ``v`` (``B×1×N``) with ``v·R`` = :func:`readout_row` of ``R``: ``e_0``
    (class token or first token) or ``1/N`` everywhere (mean of the rows)."""
    if arch.readout == "mean":
        return torch.full((n_clips, 1, n_tokens), 1.0 / n_tokens, device=device)
    v = torch.zeros(n_clips, 1, n_tokens, device=device)
    v[:, :, 0] = 1.0
    return v


def token_grid(layout: ActivationLayout, row: Tensor) -> Tensor:
    """``B×N`` values of all tokens → ``B×T′×h×w`` on the patch grid (class tokens dropped)."""
    return to_volume(row.unsqueeze(-1), layout, int(row.shape[0]))[:, 0]


def tokens_to_map(
    ctx: ExplainContext, arch: AttentionModel, layout: ActivationLayout, row: Tensor
) -> Tensor:
    """``B×N`` values of all tokens (class tokens included, ignored) → ``B×T×H×W``.

    Each patch token's value fills its patch's pixels in every frame of its tubelet.
    """
    volume = token_grid(layout, row)
    size = (int(ctx.x.shape[2]), int(ctx.x.shape[3]), int(ctx.x.shape[4]))
    return cover(volume, arch.cell, size)
