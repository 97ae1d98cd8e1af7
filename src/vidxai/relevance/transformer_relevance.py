"""Transformer relevance (Chefer, Gur & Wolf, "Generic Attention-model Explainability", ICCV 2021).

The post-softmax attention ``A`` of every attention call and its gradient ``∇A`` of the target's
score (the logit by default) give ``Ā = mean_h((∇A ⊙ A)⁺)``; starting from ``R = I``, each call in
forward order updates ``R ← R + Ā·R``. The map is the row the head reads (the class token's,
without itself; the mean of the rows for mean pooling), i.e. ``v·R_L = v·(I + Ā_L)···(I + Ā_1)``.

That product is evaluated from the left, ``v ← v + v·Ā``, while the gradients arrive during the
backward pass (last call first), so each call's ``Ā`` lives only inside its gradient hook and no
``N×N`` matrix is ever formed: memory beyond the ordinary forward + backward is ``O(N)``.
Divided space-time attention goes through the lifted operators of :mod:`vidxai.relevance.tokens`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import InvalidInputError
from vidxai.relevance.attention import AttentionSite, find_attention
from vidxai.relevance.token_map import (
    readout_row,
    readout_vector,
    token_grid,
    token_layout,
    tokens_to_map,
)
from vidxai.relevance.tokens import TokenOp


@dataclass(frozen=True)
class TransformerRelevanceParams:
    """:func:`transformer_relevance` has no parameters (the rule of the paper, heads averaged)."""


class _LeftProduct:
    """``v ← v + v·Ā`` for each call, applied in descending call order as gradients arrive."""

    def __init__(self, v: Tensor) -> None:
        self.v = v
        self.next: int | None = None  # highest call index not yet folded in
        self.waiting: dict[int, TokenOp] = {}
        self.folded = 0

    def add(self, index: int, op: TokenOp) -> None:
        self.waiting[index] = op
        while self.next is not None and self.next in self.waiting:
            self._fold(self.waiting.pop(self.next))
            self.next -= 1

    def finish(self) -> None:
        """Fold in whatever waits (calls whose attention got no gradient count as Ā = 0)."""
        for index in sorted(self.waiting, reverse=True):
            self._fold(self.waiting.pop(index))

    def _fold(self, op: TokenOp) -> None:
        self.v = self.v + op.left(self.v)
        self.folded += 1


@register_method(
    "transformer_relevance",
    params=TransformerRelevanceParams,
    family="relevance",
    description="Chefer et al. 2021: R ← R + mean_h((∇A⊙A)⁺)·R over attention layers, "
    "class-token row; TimeSformer (divided space-time) and VideoMAE.",
)
def transformer_relevance(ctx: ExplainContext, params: TransformerRelevanceParams) -> MethodOutput:
    """One forward + one backward pass. Map ``T×H×W``; extras: ``tokens`` (``T′×h×w`` relevance
    of the patch tokens), ``layers`` (attention calls folded in), ``architecture``."""
    arch = find_attention(ctx.module, "transformer_relevance")
    layout = token_layout(ctx, arch)
    n_clips, n_tokens = int(ctx.x.shape[0]), arch.num_tokens(ctx.x)
    product = _LeftProduct(readout_vector(arch, n_clips, n_tokens, ctx.x.device))
    calls: list[Any] = []

    def on_probs(site: AttentionSite, probs: Tensor) -> None:
        index = len(calls)
        calls.append(site.name)
        if not probs.requires_grad:
            return
        # the hook holds the values only: a closure over ``probs`` itself would make a cycle
        # (tensor → its grad_fn → hook → tensor) through autograd's C++ graph, which Python's
        # collector cannot see, and every call's graph with its saved activations would leak
        values = probs.detach()

        def on_grad(grad: Tensor) -> None:
            cam = (grad.detach() * values).clamp(min=0).mean(dim=-3)
            product.add(index, arch.lift(site, cam.float(), layout))

        probs.register_hook(on_grad)

    with arch.capture(on_probs), ctx.timer("inference"), torch.enable_grad():
        xg = ctx.x.detach().requires_grad_(True)
        scores = ctx.target.score(ctx.model(xg))
        product.next = len(calls) - 1
        if not scores.requires_grad:
            raise InvalidInputError("The target score does not depend on the input.")
        torch.autograd.grad(scores.sum(), xg)
    product.finish()
    if not calls:
        raise InvalidInputError("No attention call ran in the model's forward pass.")
    row = readout_row(product.v, arch)
    extras = {
        "tokens": token_grid(layout, row)[0].detach(),
        "layers": product.folded,
        "architecture": arch.name,
    }
    return MethodOutput(tokens_to_map(ctx, arch, layout, row)[0].float(), extras)
