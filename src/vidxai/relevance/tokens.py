"""Attention maps lifted to operators on the whole token sequence.

A transformer with joint attention mixes its ``N`` tokens with one ``N×N`` matrix per head. Divided
space-time attention (TimeSformer) instead attends over frames for each patch (temporal) and over
``[CLS, patches]`` within each frame (spatial); to chain such layers (rollout, relevance
propagation) each is *lifted* to an operator ``M`` on all ``N = prefix + P·T`` tokens without ever
building the ``N×N`` matrix:

* :class:`JointOp`: ``M = A`` (``B×N×N``);
* :class:`TemporalOp`: block-diagonal per patch ``p``: row ``(p, t)`` holds ``A_p[t, :]`` on the
  tokens ``(p, ·)``; the class-token row is zero (the class token takes no part);
* :class:`SpatialOp`: block-diagonal per frame ``t``: row ``(p, t)`` holds ``A_t[1 + p, 0]`` on the
  class token and ``A_t[1 + p, 1 + q]`` on the tokens ``(q, t)``; the class-token row is the mean
  over its ``T`` per-frame copies (TimeSformer averages the class token's outputs over frames).

Patch token ``(p, t)`` sits at index ``prefix + p·T + t`` for ``order="hwt"`` (Hugging Face
TimeSformer, space-major) and at ``prefix + t·P + p`` for ``order="thw"``.

Every operator offers ``apply(R) = M·R`` (``R``: ``B×N×K``, rows are tokens), ``left(r) = r·M``
(``r``: ``B×K×N``), ``row_sums() = M·1`` (``B×N``) and the rollout step
``rollout_left(v, d) = (v ⊘ d)·M + v ⊘ d``. With ``d = None`` the attention rows are taken to sum
to one (softmax probabilities, heads averaged): then ``d = M·1 + 1`` is known without reading ``M``
— 2 on every row, 1 on the class-token row of a temporal operator (which is zero) — and the step
for one row vector (``K = 1``, the order of Hugging Face TimeSformer) is one batched
multiply-add per call (``torch.baddbmm``) with no intermediate ``N``-sized copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import torch
from torch import Tensor

Order = Literal["thw", "hwt"]


class TokenOp(Protocol):
    """A (lifted) head-fused attention operator on ``N`` tokens."""

    def apply(self, r: Tensor) -> Tensor:
        """``M·R`` for ``R`` of shape ``B×N×K``."""
        ...

    def left(self, r: Tensor) -> Tensor:
        """``r·M`` for ``r`` of shape ``B×K×N``."""
        ...

    def row_sums(self) -> Tensor:
        """``M·1``, shape ``B×N``."""
        ...

    def rollout_left(self, v: Tensor, norm: Tensor | None) -> Tensor:
        """``(v ⊘ d)·M + v ⊘ d`` for ``v`` of shape ``B×K×N`` and row normaliser ``d`` (``B×N``;
        ``None``: rows of probabilities, ``d = M·1 + 1`` structurally)."""
        ...


def _scaled_step(op: TokenOp, v: Tensor, norm: Tensor) -> Tensor:
    """The generic rollout step ``(v ⊘ d)·M + v ⊘ d``."""
    scaled = v / norm.unsqueeze(1)
    return op.left(scaled) + scaled


def fuse_heads(attn: Tensor, how: str) -> Tensor:
    """Fuse the heads of ``…×heads×n×n`` attention: ``mean``, ``max`` or ``min`` → ``…×n×n``."""
    if how == "mean":
        return attn.mean(dim=-3)
    if how == "max":
        return attn.amax(dim=-3)
    if how == "min":
        return attn.amin(dim=-3)
    raise ValueError(f"unknown head fusion {how!r}")


def discard_lowest(attn: Tensor, ratio: float, keep_first_column: bool) -> Tensor:
    """Zero the lowest ``ratio`` share of the entries of every ``n×n`` matrix (a new tensor).

    Args:
        attn: ``…×n×n`` fused attention.
        ratio: share of each matrix's entries to drop, in ``[0, 1)``.
        keep_first_column: never drop attention to the class token (column 0).
    """
    if ratio <= 0:
        return attn
    n = attn.shape[-1]
    flat = attn.reshape(-1, n * n)
    k = int(ratio * n * n)
    if k == 0:
        return attn
    ranked = flat.clone()
    if keep_first_column:
        ranked.view(-1, n, n)[:, :, 0] = torch.inf
    idx = ranked.topk(k, dim=-1, largest=False).indices
    out = flat.clone()
    out.scatter_(-1, idx, 0.0)
    if keep_first_column:  # the class-token column may have been picked when k > n·(n−1)
        out.view(-1, n, n)[:, :, 0] = flat.view(-1, n, n)[:, :, 0]
    return out.view(attn.shape)


def _patches(r: Tensor, prefix: int, num_patches: int, frames: int, order: Order) -> Tensor:
    """Token rows ``B×N×K`` → patch rows ``B×P×T×K`` (a view when possible)."""
    b, _, k = r.shape
    body = r[:, prefix:]
    if order == "hwt":
        return body.reshape(b, num_patches, frames, k)
    return body.reshape(b, frames, num_patches, k).transpose(1, 2)


def _tokens(patches: Tensor, order: Order) -> Tensor:
    """Patch rows ``B×P×T×K`` → token rows ``B×(P·T)×K`` in ``order``."""
    b, p, t, k = patches.shape
    if order == "hwt":
        return patches.reshape(b, p * t, k)
    return patches.transpose(1, 2).reshape(b, p * t, k)


@dataclass(frozen=True)
class JointOp:
    """Joint attention over all tokens: ``attn`` is ``B×N×N`` (heads fused)."""

    attn: Tensor

    def apply(self, r: Tensor) -> Tensor:
        return self.attn @ r

    def left(self, r: Tensor) -> Tensor:
        return r @ self.attn

    def row_sums(self) -> Tensor:
        return self.attn.sum(dim=-1)

    def rollout_left(self, v: Tensor, norm: Tensor | None) -> Tensor:
        if norm is not None:
            return _scaled_step(self, v, norm)
        half = v * 0.5  # every row of M sums to one: d = 2
        return torch.baddbmm(half, half, self.attn)


@dataclass(frozen=True)
class TemporalOp:
    """Attention over frames per patch: ``attn`` is ``B×P×T×T``; ``prefix`` class tokens."""

    attn: Tensor
    prefix: int = 1
    order: Order = "hwt"

    def _dims(self) -> tuple[int, int]:
        return int(self.attn.shape[1]), int(self.attn.shape[2])

    def apply(self, r: Tensor) -> Tensor:
        p, t = self._dims()
        mixed = self.attn @ _patches(r, self.prefix, p, t, self.order)  # B×P×T×K
        head = torch.zeros_like(r[:, : self.prefix])
        return torch.cat([head, _tokens(mixed, self.order)], dim=1)

    def left(self, r: Tensor) -> Tensor:
        p, t = self._dims()
        rows = _patches(r.transpose(1, 2), self.prefix, p, t, self.order)  # B×P×T×K
        mixed = self.attn.transpose(-1, -2) @ rows  # (r·A)ᵀ = Aᵀ·rᵀ
        head = torch.zeros_like(r[:, :, : self.prefix])
        return torch.cat([head, _tokens(mixed, self.order).transpose(1, 2)], dim=2)

    def row_sums(self) -> Tensor:
        sums = self.attn.sum(dim=-1).unsqueeze(-1)  # B×P×T×1
        head = sums.new_zeros(sums.shape[0], self.prefix)
        return torch.cat([head, _tokens(sums, self.order)[..., 0]], dim=1)

    def rollout_left(self, v: Tensor, norm: Tensor | None) -> Tensor:
        if norm is not None:
            return _scaled_step(self, v, norm)
        # d = 1 on the class-token rows (zero rows: they keep v) and 2 on the patch rows; M's
        # class-token columns are zero too, so the class tokens' entries pass through unchanged
        p, t = self._dims()
        b, k, n = v.shape
        head = v[:, :, : self.prefix]
        if self.order == "hwt" and k == 1:
            half = v[:, 0, self.prefix :].reshape(b * p, 1, t) * 0.5
            body = torch.baddbmm(half, half, self.attn.reshape(b * p, t, t))
            return torch.cat([head, body.reshape(b, 1, n - self.prefix)], dim=2)
        half = v * 0.5
        out = self.left(half) + half
        out[:, :, : self.prefix] = head
        return out


@dataclass(frozen=True)
class SpatialOp:
    """Attention within each frame over ``[CLS, patches]``: ``attn`` is ``B×T×(1+P)×(1+P)``."""

    attn: Tensor
    order: Order = "hwt"

    def _dims(self) -> tuple[int, int]:
        return int(self.attn.shape[2]) - 1, int(self.attn.shape[1])

    def apply(self, r: Tensor) -> Tensor:
        p, t = self._dims()
        patches = _patches(r, 1, p, t, self.order).transpose(1, 2)  # B×T×P×K
        cls = r[:, :1].unsqueeze(1).expand(-1, t, -1, -1)  # B×T×1×K
        mixed = self.attn @ torch.cat([cls, patches], dim=2)  # B×T×(1+P)×K
        head = mixed[:, :, 0].mean(dim=1, keepdim=True)  # B×1×K
        return torch.cat([head, _tokens(mixed[:, :, 1:].transpose(1, 2), self.order)], dim=1)

    def left(self, r: Tensor) -> Tensor:
        p, t = self._dims()
        cols = r.transpose(1, 2)  # B×N×K
        patches = _patches(cols, 1, p, t, self.order).transpose(1, 2)  # B×T×P×K
        cls = (cols[:, :1] / t).unsqueeze(1).expand(-1, t, -1, -1)  # B×T×1×K
        mixed = self.attn.transpose(-1, -2) @ torch.cat([cls, patches], dim=2)  # B×T×(1+P)×K
        head = mixed[:, :, 0].sum(dim=1, keepdim=True)  # B×1×K
        body = _tokens(mixed[:, :, 1:].transpose(1, 2), self.order)
        return torch.cat([head, body], dim=1).transpose(1, 2)

    def row_sums(self) -> Tensor:
        sums = self.attn.sum(dim=-1)  # B×T×(1+P)
        head = sums[:, :, 0].mean(dim=1, keepdim=True)
        body = _tokens(sums[:, :, 1:].transpose(1, 2).unsqueeze(-1), self.order)[..., 0]
        return torch.cat([head, body], dim=1)

    def rollout_left(self, v: Tensor, norm: Tensor | None) -> Tensor:
        if norm is not None:
            return _scaled_step(self, v, norm)
        half = v * 0.5  # every row of M (the class token's: a mean of rows) sums to one: d = 2
        p, t = self._dims()
        b, k, n = v.shape
        if self.order != "hwt" or k != 1:
            return self.left(half) + half
        # per frame the row [v_cls / T, v_(·, t)] times A_t plus itself; the class token's
        # entry is the sum of its per-frame entries (the mean of T rows, transposed)
        patches = half[:, 0, 1:].reshape(b, p, t).transpose(1, 2)  # B×T×P
        cls = (half[:, :, :1] / t).expand(b, t, 1)  # B×T×1
        rows = torch.cat([cls, patches], dim=2).reshape(b * t, 1, 1 + p)
        out = torch.baddbmm(rows, rows, self.attn.reshape(b * t, 1 + p, 1 + p)).reshape(b, t, 1 + p)
        head = out[:, :, :1].sum(dim=1, keepdim=True)  # B×1×1
        body = out[:, :, 1:].transpose(1, 2).reshape(b, 1, n - 1)
        return torch.cat([head, body], dim=2)
