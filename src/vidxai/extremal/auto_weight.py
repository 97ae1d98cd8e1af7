"""STEP's automatic reward weight: ``λ_r = λ_a / |reward(m = 0) − reward(m = 1)|`` per clip.

How far the reward moves between the intact and the fully perturbed clip depends on the model's
calibration; weighting the reward by the inverse of that range makes losing the whole evidence
cost as much as the area term's initial weight, whatever the model.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.extremal.perturbation import Perturbation
from vidxai.extremal.reward import Variant, row_rewards
from vidxai.extremal.rows import RowLayout

MIN_REWARD_RANGE = 0.01  # floor of the reward range in the automatic reward weight


def reward_ranges(
    ctx: ExplainContext, perturbation: Perturbation, variant: Variant, index: Tensor
) -> list[float]:
    """``|reward(m = 0) − reward(m = 1)|`` of every clip: how much its reward changes between
    the fully perturbed and the intact clip. One no-grad engine pass over ``2N`` rows (``4N``
    for ``dual``), each row against its own clip's target.

    Args:
        ctx: the call's context (its engine runs the pass).
        perturbation: the pyramids of the ``N`` clips.
        variant: ``preserve``, ``delete`` or ``dual``.
        index: ``N`` long, the target class of each clip.

    Returns:
        ``N`` ranges.
    """
    n = perturbation.n_clips
    t, h, w = perturbation.shape[1:]
    layout = RowLayout(n, 2, variant)  # two "areas" per clip: the masks 0 and 1
    one = torch.stack([torch.zeros(t, h, w), torch.ones(t, h, w)]).to(ctx.device)
    with torch.no_grad():
        clips = perturbation.apply(layout.row_masks(one.repeat(n, 1, 1, 1)))
    outputs = ctx.engine.outputs(len(clips), lambda a, b: clips[a:b], desc="reward range")
    rows = index[layout.clip_of_row(ctx.device)]
    term, _ = row_rewards(outputs.float(), rows, layout.deleted(ctx.device))
    reward = layout.per_mask(term)  # N×2
    return (reward[:, 0] - reward[:, 1]).abs().tolist()


def auto_reward_weight(area_weight: float, span: float) -> float:
    """λ_r = λ_a / max(span, MIN_REWARD_RANGE): the reward's whole range (intact → fully
    perturbed) weighs as much as the area term's initial weight, whatever the model's
    calibration (a model whose probability barely responds to blurring gets a large weight)."""
    return area_weight / max(span, MIN_REWARD_RANGE)


def clip_weights(
    ctx: ExplainContext,
    perturbation: Perturbation,
    variant: Variant,
    index: Tensor,
    weight: float | Literal["auto"],
    area_weight: float,
) -> tuple[list[float], list[float] | None]:
    """Reward weight of every clip: the fixed ``weight``, or for ``"auto"`` each clip's own
    :func:`auto_reward_weight` from its reward range.

    Returns:
        ``(weights N, ranges N)``; ranges is None for a fixed weight (no model pass).
    """
    if weight != "auto":
        return [float(weight)] * perturbation.n_clips, None
    spans = reward_ranges(ctx, perturbation, variant, index)
    return [auto_reward_weight(area_weight, s) for s in spans], spans
