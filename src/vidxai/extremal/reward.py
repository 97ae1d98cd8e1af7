"""Rewards of extremal perturbations: preserve, delete, dual (STEP's ``simple_log_reward``).

The reward reads the target's *probability* ``p = softmax(logits)[target]`` whatever behaviour the
explanation's target uses (the reference expects a softmax model; vidxai applies the softmax to
the logits itself, in log space for stability):

* ``preserve``: ``−log p(x ⊙ m)`` (keep the mask, the class must survive);
* ``delete``: ``−log(1 − p(x ⊙ (1 − m)))`` (remove the mask, the class must vanish);
* ``dual``: the sum of both, the batch holding the preserved clips then the deleted ones.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Variant = Literal["preserve", "delete", "dual"]
VARIANTS: tuple[str, ...] = ("preserve", "delete", "dual")


def neg_log_prob(logits: Tensor, index: int) -> Tensor:
    """``−log softmax(logits)[index]`` per row: ``N×K`` → ``N``."""
    return torch.logsumexp(logits, 1) - logits[:, index]


def neg_log_not_prob(logits: Tensor, index: int) -> Tensor:
    """``−log(1 − softmax(logits)[index])`` per row, computed stably: ``N×K`` → ``N``."""
    others = torch.cat([logits[:, :index], logits[:, index + 1 :]], 1)
    return torch.logsumexp(logits, 1) - torch.logsumexp(others, 1)


def log_reward(logits: Tensor, index: int, variant: Variant, n_masks: int) -> tuple[Tensor, Tensor]:
    """Reward per mask and the target probability of each preserved (or deleted) clip.

    Args:
        logits: ``n_masks×K`` outputs (``2·n_masks×K`` for ``dual``: preserved clips first).
        index: target class.
        variant: ``preserve``, ``delete`` or ``dual``.
        n_masks: number of masks ``A``.

    Returns:
        ``(reward A, probability A)``; the probability is that of the preserved clip (of the
        deleted clip for ``delete``).
    """
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"expected N×K logits with K >= 2, got {tuple(logits.shape)}")
    if variant == "preserve":
        reward = neg_log_prob(logits, index)
        shown = logits
    elif variant == "delete":
        reward = neg_log_not_prob(logits, index)
        shown = logits
    elif variant == "dual":
        shown = logits[:n_masks]
        reward = neg_log_prob(shown, index) + neg_log_not_prob(logits[n_masks:], index)
    else:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    prob = torch.softmax(shown.detach(), 1)[:, index]
    return reward, prob


def row_rewards(logits: Tensor, index: Tensor, deleted: Tensor | None) -> tuple[Tensor, Tensor]:
    """Reward term and target probability of every row, each row against its own target.

    Rows of several clips (and areas) share one batch; a ``dual`` reward is the sum of one
    preserved and one deleted row, so every row's term can be computed alone.

    Args:
        logits: ``R×K`` outputs (``K >= 2``).
        index: ``R`` long, the target class of each row.
        deleted: ``R`` bool: the row shows ``x ⊙ (1 − m)`` (term ``−log(1 − p)``) rather than
            ``x ⊙ m`` (term ``−log p``); None: no row does (``preserve``).

    Returns:
        ``(term R, probability R)`` (the probability detached).
    """
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"expected R×K logits with K >= 2, got {tuple(logits.shape)}")
    idx = index.view(-1, 1)
    total = torch.logsumexp(logits, 1)
    target = logits.gather(1, idx)[:, 0]
    term = total - target
    if deleted is not None:
        others = torch.logsumexp(logits.scatter(1, idx, float("-inf")), 1)
        term = torch.where(deleted, total - others, term)
    prob = torch.exp(target.detach() - total.detach())
    return term, prob
