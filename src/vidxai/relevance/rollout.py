"""Attention rollout (Abnar & Zuidema, ACL 2020) for video transformers.

Per attention call (forward order) the heads are fused (``mean`` / ``max`` / ``min``), the lowest
``discard_ratio`` of each attention matrix is dropped (never the attention to the class token),
the residual is added, ``Ã = ½·A + ½·I``, and every *row* is renormalised to sum to one; the
rollout is the product ``R = Ã_L ··· Ã_1``. The map is the row the head reads: the class token's
(TimeSformer, without the class token itself) or the mean of all rows (VideoMAE's mean pooling),
``v·R`` for the readout vector ``v``.

Only that row is needed, so it is evaluated from the left after the forward pass,
``v ← (v ⊘ d)·A + v ⊘ d`` with ``d = A·1 + 1`` the renormalisation of each call, from the last
call to the first: no ``N×N`` product is formed (``O(N)`` work per call on top of the fused
attention, instead of an ``N×N`` product per call). With ``mean`` fusion and nothing discarded
every row of ``A`` is a row of probabilities, so ``d`` is known without reading ``A`` (each
map's sum is checked against its row count once; a model whose rows do not sum to one, e.g. one
that masks heads after the softmax, gets ``d`` measured). The pass stops at the last attention
call (:meth:`~vidxai.relevance.attention.AttentionModel.run_to_last`): the last block's MLP and
the head are never run. It keeps each call's head-fused attention until then — for divided
space-time attention the per-patch ``T×T`` and per-frame ``(1+P)×(1+P)`` blocks (≈ 1/T of an
``N×N`` matrix per block pair at 8 frames), for joint attention one ``N×N`` matrix per layer (a
twelfth of one layer's raw probabilities per layer with 12 heads). Divided space-time attention
is chained through the lifted operators of :mod:`vidxai.relevance.tokens` (temporal, then
spatial, in every block).
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
from vidxai.relevance.token_map import readout_vector, token_grid, token_layout, tokens_to_map
from vidxai.relevance.tokens import TokenOp, discard_lowest, fuse_heads


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
    """One forward pass, up to the last attention call (no backward). Map ``T×H×W``; extras:
    ``tokens`` (the readout row over the patch tokens, ``T′×h×w``), ``layers`` (attention calls
    folded in), ``architecture``."""
    arch = find_attention(ctx.module, "attention_rollout")
    layout = token_layout(ctx, arch)
    keep_cls = bool(layout.prefix)
    # mean-fused probabilities keep rows that sum to one: the row normalisers are then known
    # (None) — checked once, on the sums of all recorded maps against their row counts
    structural = params.head_fusion == "mean" and params.discard_ratio == 0.0
    calls: list[tuple[TokenOp, Tensor | None]] = []  # each call's operator and row normaliser
    fused_calls: list[tuple[AttentionSite, Tensor]] = []  # structural: fused maps, lifted later

    def record(site: AttentionSite, probs: Tensor) -> None:
        probs = probs.detach()
        fused = fuse_heads(probs if probs.dtype == torch.float32 else probs.float(),
                           params.head_fusion)  # fmt: skip
        if structural:
            fused_calls.append((site, fused))
            return
        fused = discard_lowest(fused, params.discard_ratio, keep_cls and site.kind != "temporal")
        op = arch.lift(site, fused, layout)
        calls.append((op, op.row_sums() + 1.0))

    with torch.no_grad():  # the pass stops at the last attention call: nothing after it is read
        arch.run_to_last(ctx.model, ctx.x, record)
    ctx.model.n_forward += int(ctx.x.shape[0])  # a pass, though its head never ran
    with torch.no_grad():
        if fused_calls:
            calls = [(arch.lift(site, fused, layout), None) for site, fused in fused_calls]
            totals = torch.stack([fused.sum() for _, fused in fused_calls]).tolist()
            rows = [fused.shape[:-1].numel() for _, fused in fused_calls]
            if any(abs(s - n) > 1e-4 * n for s, n in zip(totals, rows)):  # not probabilities
                calls = [(op, op.row_sums() + 1.0) for op, _ in calls]
            fused_calls.clear()
        n_calls = len(calls)
        v = readout_vector(arch, int(ctx.x.shape[0]), arch.num_tokens(ctx.x), ctx.x.device)
        while calls:  # v·Ã_L···Ã_1, the last call first; each call's maps dropped once used
            op, norm = calls.pop()
            v = op.rollout_left(v, norm)
        row = v[:, 0]
    attribution = tokens_to_map(ctx, arch, layout, row)[0]
    extras = {
        "tokens": token_grid(layout, row)[0].detach(),
        "layers": n_calls,
        "architecture": arch.name,
    }
    return MethodOutput(attribution.float(), extras)
