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
