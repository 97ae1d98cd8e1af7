"""The one optimisation loop shared by 2D-EP, 3D-EP and STEP (Li et al., WACV 2021).

Per iteration, for ``N`` clips × ``A`` target areas optimised jointly in one batch::

    m = smooth_mask(p)                          # N·A·T low-res parameter maps → N·A×T×H×W
    x' = perturb(x, m)                          # each clip's blur / fade pyramid blend
    E = Σ λ_r,i·reward_i,a + λ_a(t)·L_area,i,a [+ λ_core(t)·L_core,i,a]
    p ← clamp(SGD(lr, momentum, dampening = momentum) step on E, 0, 1)

Every (clip, area) has its own parameters, terms, target, reward weight and tie-breaking stream
(from its clip's generator), and SGD acts element by element, so a clip optimised in a batch
gets the masks it gets alone, and several areas in one batch the masks of one area at a time
(to float rounding) — only faster. The model pass of an iteration is one engine call over all
rows (:func:`_reward_and_input_grad`; the engine splits it into batches and backs off on
out-of-memory); the mask's own backward follows.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from tqdm.auto import tqdm

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.extremal.auto_weight import clip_weights
from vidxai.extremal.losses import CoreLoss, area_loss
from vidxai.extremal.mask import Backend, MaskGrid, SmoothMaskGenerator, compile_available
from vidxai.extremal.params import (
    DEMO_PARAMS,
    REFERENCE_SIZE,
    STEP_AREA_GROWTH,
    ExtremalParams,
    Setup,
    scaled,
    scaled_int,
)
from vidxai.extremal.perturbation import Perturbation
from vidxai.extremal.result import TERMS, clip_output
from vidxai.extremal.reward import row_rewards
from vidxai.extremal.rows import RowLayout

__all__ = [
    "DEMO_PARAMS",
    "REFERENCE_SIZE",
    "STEP_AREA_GROWTH",
    "ExtremalParams",
    "Setup",
    "choose_backend",
    "run_extremal",
]


def choose_backend(requested: str) -> Backend:
    """``auto`` → ``eager``: the eager kernels measured faster on this project's 2-core CPU
    than the torch.compile-fused ones (see the Speed section of docs/sections/extremal.md), and
    they need no one-off compilation; ``compiled`` stays available."""
    return "compiled" if requested == "compiled" else "eager"


@dataclass(frozen=True)
class Problem:
    """Everything the loop needs for ``N`` clips, resolved once."""

    grid: MaskGrid
    perturbation: Perturbation
    masker: SmoothMaskGenerator
    areas: list[float]
    index: Tensor  # N long: each clip's target class
    weights: Tensor  # N: each clip's reward weight λ_r


def _target_indices(ctx: ExplainContext, name: str) -> Tensor:
    """``N`` long target classes; a regression target raises UnsupportedModelError."""
    if any(t.index is None for t in ctx.targets):
        raise UnsupportedModelError(
            f"{name} optimises the target's class probability; the model has a single "
            "(regression) output."
        )
    return torch.tensor([int(t.index) for t in ctx.targets], device=ctx.device)  # type: ignore[arg-type]


def _check_core(setup: Setup, t: int, padded: tuple[int, int]) -> None:
    if setup.core is None:
        return
    k_t, s = setup.core.num_keyframes, setup.core.size
    if t < k_t:
        raise ParameterError(
            f"{setup.name}: the clip has {t} frames, fewer than the core kernel's "
            f"num_keyframes={k_t}; use num_keyframes <= {t}."
        )
    if min(padded) < s:
        raise ParameterError(
            f"{setup.name}: core_size={s} px is larger than the padded mask "
            f"{padded[0]}×{padded[1]}; use a smaller core_size."
        )


def run_extremal(ctx: ExplainContext, params: ExtremalParams, setup: Setup) -> list[MethodOutput]:
    """Optimise one mask per area for every clip of ``ctx.x`` and return, per clip, their
    smoothed sum as the attribution (see :func:`~vidxai.extremal.result.clip_output` for the
    extras; here the resolved settings, ``reward_weight`` and, when automatic,
    ``reward_range``).

    Returns:
        ``N`` MethodOutputs, attribution ``T×H×W`` each.
    """
    index = _target_indices(ctx, setup.name)
    x = ctx.x.detach()
    t, h, w = x.shape[2:]
    scale = min(h, w) / REFERENCE_SIZE
    step = scaled_int(params.mask_step, 7, scale)
    sigma = scaled(params.mask_sigma, 11.0, scale)
    grid = MaskGrid((h, w), step, sigma)
    _check_core(setup, t, grid.padded_shape)
    backend = choose_backend(params.backend)
    max_blur = scaled(params.max_blur, 20.0, scale)
    perturbation = Perturbation(x, params.perturb_type, max_blur, backend=backend)
    masker = SmoothMaskGenerator(grid, ctx.device, backend)
    weights, spans = clip_weights(
        ctx, perturbation, params.variant, index, setup.reward_weight, params.area_weight
    )
    areas = list(params.perturb_area)
    weight_t = torch.tensor(weights, device=ctx.device)
    problem = Problem(grid, perturbation, masker, areas, index, weight_t)
    mask, padded, hist = _optimise(ctx, params, setup, problem)

    a = len(areas)
    smooth = scaled(params.smooth, 10.0, scale)
    settings = {
        "mask_step": step,
        "mask_sigma": sigma,
        "max_blur": max_blur,
        "smooth": smooth,
        "backend": masker.backend if compile_available() else "eager",  # after a fallback
    }
    outputs = []
    for i in range(ctx.n_clips):
        rows = slice(i * a, (i + 1) * a)
        extra = {**settings, "reward_weight": weights[i], **setup.extra}
        if spans is not None:
            extra["reward_range"] = spans[i]
        history = hist[:, :, rows]
        outputs.append(clip_output(mask[rows], padded[rows], history, areas, smooth, extra))
    return outputs


def _draw(high: int, gens: list[torch.Generator], device: torch.device) -> Tensor:
    """One random integer in ``[0, high)`` from each clip's generator: ``N`` long."""
    return torch.stack([torch.randint(high, (), generator=g, device=device) for g in gens])


def _optimise(
    ctx: ExplainContext, params: ExtremalParams, setup: Setup, problem: Problem
) -> tuple[Tensor, Tensor, Tensor]:
    """All clips and areas at once → (masks ``(N·A)×T×H×W``, padded ``(N·A)×T×Hp×Wp``,
    history ``iters×terms×(N·A)``); row ``i·A + a`` is area ``a`` of clip ``i``."""
    grid, areas, device = problem.grid, problem.areas, ctx.device
    t, (h, w) = ctx.x.shape[2], grid.size
    hp, wp = grid.padded_shape
    n, a = ctx.n_clips, len(areas)
    layout = RowLayout(n, a, params.variant)
    clip_of_row = layout.clip_of_row(device)
    row_index, row_weight = problem.index[clip_of_row], problem.weights[clip_of_row]
    deleted = layout.deleted(device) if params.variant != "preserve" else None
    mask_weight = problem.weights.repeat_interleave(a)  # N·A
    core = None
    if setup.core is not None:
        core = CoreLoss(setup.core, (t, hp, wp), areas * n, device)
    p = torch.ones(n * a * t, *grid.param_shape, device=device, requires_grad=True)
    opt = torch.optim.SGD(
        [p], lr=params.learning_rate, momentum=params.momentum, dampening=params.momentum
    )
    hist = torch.zeros(params.num_iter, len(TERMS), n * a, device=device)
    # tie-breaking, per clip from its own generator: one random permutation, rotated by a
    # random offset every iteration
    gens = ctx.generators
    volume = t * hp * wp
    tie, tie_core = [], []
    for g in gens:
        tie.append(torch.randperm(volume, generator=g, device=device))
        if core is not None:
            tie_core.append(torch.randperm(core.num_responses, generator=g, device=device))
    ties = torch.stack(tie)  # N×V
    ties_core = torch.stack(tie_core) if core is not None else None  # N×R
    zero = torch.zeros(n * a, device=device)
    area_weight = params.area_weight
    bar = tqdm(
        range(params.num_iter), desc=setup.name, disable=not ctx.progress, leave=False, unit="it"
    )
    with ctx.engine.quiet():
        for it in bar:
            mask, padded = problem.masker.generate(p)
            mask = mask.reshape(n * a, t, h, w)
            padded = padded.reshape(n * a, t, hp, wp)
            xs = problem.perturbation.apply(layout.row_masks(mask))
            term, prob_rows, gx = _reward_and_input_grad(ctx, xs, row_index, deleted, row_weight)
            reward = layout.per_mask(term).reshape(-1)  # N·A
            prob = layout.shown(prob_rows).reshape(-1)

            shift = _draw(volume, gens, device)
            l_area = area_loss(padded, areas, ties, setup.per_frame, shift, problem.masker.backend)
            reg = area_weight * l_area
            l_core = zero
            if core is not None and ties_core is not None:
                r = core.num_responses
                rotated = torch.remainder(ties_core + _draw(r, gens, device)[:, None], r)
                l_core = core(padded, rotated.repeat_interleave(a, 0))
                if it >= setup.core_start:
                    reg = reg + setup.core_weight * l_core
            torch.autograd.backward([xs, reg.sum()], [gx, None])
            opt.step()
            opt.zero_grad(set_to_none=True)
            with torch.no_grad():
                p.clamp_(0.0, 1.0)
                energy = mask_weight * reward + reg.detach()
                terms = [reward, prob, l_area.detach(), l_core.detach(), energy]
                hist[it] = torch.stack(terms)
            area_weight *= setup.area_growth
            if ctx.progress and (it % 100 == 0 or it == params.num_iter - 1):
                bar.set_postfix(p=f"{float(prob.mean()):.3f}", refresh=False)
    bar.close()
    with torch.no_grad():
        mask, padded = problem.masker.generate(p.detach())
    return mask.reshape(n * a, t, h, w), padded.reshape(n * a, t, hp, wp), hist


def _reward_and_input_grad(
    ctx: ExplainContext, xs: Tensor, index: Tensor, deleted: Tensor | None, weight: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The one model pass of an iteration, through the engine (batches, out-of-memory back-off):
    forward the perturbed rows ``xs`` (``R×C×T×H×W``), each row's reward term and target
    probability against its own clip's target, and ``∂(Σ weight·term)/∂xs``.

    Args:
        xs: ``R`` perturbed clips (not modified).
        index: ``R`` long, the target class of each row.
        deleted: ``R`` bool, rows showing ``x ⊙ (1 − m)`` (None: none, ``preserve``).
        weight: ``R`` reward weight of each row's clip.

    Returns:
        ``(term R, probability R, grads R×C×T×H×W)``, all detached.
    """
    n = int(xs.shape[0])
    terms = xs.new_empty(n)
    probs = xs.new_empty(n)
    grads: list[Tensor] = []

    def score(outputs: Tensor, start: int, stop: int) -> Tensor:
        rows = None if deleted is None else deleted[start:stop]
        term, prob = row_rewards(outputs.float(), index[start:stop], rows)
        terms[start:stop] = term.detach()
        probs[start:stop] = prob
        return term * weight[start:stop]

    def consume(start: int, stop: int, values: Tensor, g: Tensor) -> None:
        grads.append(g)  # batches arrive in order, once each

    ctx.engine.input_grads(n, lambda s, e: xs[s:e], score, consume, desc="extremal")
    return terms, probs, grads[0] if len(grads) == 1 else torch.cat(grads)
