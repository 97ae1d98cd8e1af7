"""Attention probabilities from Hugging Face's attention dispatch, without forward hooks.

Models whose attention modules call ``ALL_ATTENTION_FUNCTIONS.get_interface(
config._attn_implementation, eager_attention_forward)`` (VideoMAE in transformers ≥ 4.48) let a
registered function compute the attention. :func:`recording` registers one, ``vidxai_probs``:
the eager arithmetic (``softmax(Q·Kᵀ · scaling + mask)·V``, the same operations in the same
order as HF's ``eager_attention_forward``, so the outputs are the eager ones) that also hands
the probabilities ``B×heads×n×n`` to the caller's callback, keyed by the attention module. It
replaces ``eager`` + a forward hook per module (on a tiny 4-layer VideoMAE the hooks cost as much
as the switch to eager attention: ≈ 0.2 ms of a 2 ms pass).

The callback lives in a :class:`contextvars.ContextVar`: a call in another thread or context, or
an attention module the caller did not ask for, computes the attention without recording.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import Tensor, nn

#: the attention implementation name vidxai registers with Hugging Face.
NAME = "vidxai_probs"

OnModuleProbs = Callable[[nn.Module, Tensor], None]
_RECORDERS: ContextVar[tuple[Mapping[int, nn.Module], OnModuleProbs] | None] = ContextVar(
    "vidxai_attention_recorder", default=None
)
_REGISTERED: list[bool] = []


def _probs_attention(
    module: nn.Module,
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attention_mask: Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **_kwargs: Any,
) -> tuple[Tensor, Tensor]:
    """HF's eager attention (``query``, ``key``, ``value``: ``B×heads×n×d``) → output
    ``B×n×heads×d`` and probabilities ``B×heads×n×n`` (handed to the active recorder)."""
    if scaling is None:
        scaling = query.size(-1) ** -0.5
    weights = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        weights = weights + attention_mask
    weights = nn.functional.softmax(weights, dim=-1)
    if dropout > 0.0:
        weights = nn.functional.dropout(weights, p=dropout, training=module.training)
    active = _RECORDERS.get()
    if active is not None and id(module) in active[0]:
        active[1](module, weights)
    output = torch.matmul(weights, value).transpose(1, 2).contiguous()
    return output, weights


def dispatches(module: nn.Module) -> bool:
    """True when ``module``'s class is defined in a module that dispatches its attention through
    HF's ``ALL_ATTENTION_FUNCTIONS`` (so a registered implementation is what it runs)."""
    home = sys.modules.get(type(module).__module__)
    return home is not None and "ALL_ATTENTION_FUNCTIONS" in vars(home) and _register()


def _register() -> bool:
    """Register :data:`NAME` with HF's ``AttentionInterface`` once (False where it has none)."""
    if _REGISTERED:
        return _REGISTERED[0]
    try:
        from transformers import AttentionInterface
    except ImportError:
        _REGISTERED.append(False)
        return False
    AttentionInterface.register(NAME, _probs_attention)
    _REGISTERED.append(True)
    return True


@contextmanager
def recording(
    config: Any, modules: Mapping[int, nn.Module], on_probs: OnModuleProbs
) -> Iterator[None]:
    """Within the block, ``config``'s attention runs as :data:`NAME` and every call of one of
    ``modules`` (keyed by ``id``) calls ``on_probs(module, probs)``; the implementation and the
    recorder are restored in ``finally``."""
    before = getattr(config, "_attn_implementation", None)
    token = _RECORDERS.set((modules, on_probs))
    try:
        config._attn_implementation = NAME
        yield
    finally:
        config._attn_implementation = before
        _RECORDERS.reset(token)
