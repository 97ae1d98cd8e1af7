"""Attention rollout (Abnar & Zuidema, ACL 2020) for video transformers.

Per attention call (forward order) the heads are fused (``mean`` / ``max`` / ``min``), the lowest
``discard_ratio`` of each attention matrix is dropped (never the attention to the class token),
the residual is added, ``Ã = ½·A + ½·I``, and every *row* is renormalised to sum to one; the
rollout is the product ``R = Ã_L ··· Ã_1``, accumulated during the forward pass itself (each
layer's maps are dropped as soon as they are folded in). The map is the row the head reads: the
class token's (TimeSformer, without the class token itself) or the mean of all rows (VideoMAE's
mean pooling). Divided space-time attention is chained through the lifted operators of
:mod:`vidxai.relevance.tokens` (temporal, then spatial, in every block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.relevance.attention import AttentionSite, find_attention
from vidxai.relevance.token_map import readout_row, token_grid, token_layout, tokens_to_map
from vidxai.relevance.tokens import discard_lowest, fuse_heads


@dataclass(frozen=True)
class RolloutParams:
    """Parameters of :func:`attention_rollout`.

    Attributes:
        head_fusion: how the heads of one attention call are combined: ``mean`` (default),
            ``max`` or ``min``.
        discard_ratio: share of the lowest entries of every (fused) attention matrix set to 0
            before the residual is added, in ``[0, 1)``; attention to the class token is kept.
    """

    head_fusion: Literal["mean", "max", "min"] = "mean"
    discard_ratio: float = 0.0

    def __post_init__(self) -> None:
        if self.head_fusion not in ("mean", "max", "min"):
            raise ParameterError(
                f"head_fusion must be 'mean', 'max' or 'min', got {self.head_fusion!r}"
            )
        if not 0.0 <= self.discard_ratio < 1.0:
            raise ParameterError(f"discard_ratio must lie in [0, 1), got {self.discard_ratio}")


@register_method(
    "attention_rollout",
    params=RolloutParams,
    family="relevance",
    description="Attention rollout: product over layers of ½·A + ½·I (rows renormalised), "
    "class-token row (Abnar & Zuidema 2020); TimeSformer and VideoMAE.",
)
def attention_rollout(ctx: ExplainContext, params: RolloutParams) -> MethodOutput:
    """One forward pass (no backward). Map ``T×H×W``; extras: ``tokens`` (the readout row over
    the patch tokens, ``T′×h×w``), ``layers`` (attention calls folded in), ``architecture``."""
    arch = find_attention(ctx.module, "attention_rollout")
    layout = token_layout(ctx, arch)
    n_clips, n_tokens = int(ctx.x.shape[0]), arch.num_tokens(ctx.x)
    eye = torch.eye(n_tokens, device=ctx.x.device, dtype=torch.float32)
    rollout = [eye.expand(n_clips, -1, -1)]  # the running product, replaced at every call
    keep_cls = bool(layout.prefix)

    def fold(site: AttentionSite, probs: Tensor) -> None:
        fused = fuse_heads(probs.detach().float(), params.head_fusion)
        fused = discard_lowest(fused, params.discard_ratio, keep_cls and site.kind != "temporal")
        op = arch.lift(site, fused, layout)
        r = rollout[-1]
        rollout[-1] = (op.apply(r) + r) / (op.row_sums() + 1.0).unsqueeze(-1)
        calls.append(site.name)

    calls: list[str] = []
    with torch.no_grad(), arch.capture(fold):
        ctx.model(ctx.x)
    row = readout_row(rollout[-1], arch)
    attribution = tokens_to_map(ctx, arch, layout, row)[0]
    extras = {
        "tokens": token_grid(layout, row)[0].detach(),
        "layers": len(calls),
        "architecture": arch.name,
    }
    return MethodOutput(attribution.float(), extras)
