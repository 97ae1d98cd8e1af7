"""The one optimisation loop shared by 2D-EP, 3D-EP and STEP (Li et al., WACV 2021).

Per iteration, for ``A`` target areas optimised jointly in one batch::

    m = smooth_mask(p)                          # A·T low-res parameter maps → A×T×H×W (+ padding)
    x' = perturb(x, m)                          # blur / fade pyramid blend, A×C×T×H×W
    E = Σ_a λ_r·reward_a + λ_a(t)·L_area,a [+ λ_core(t)·L_core,a]
    p ← clamp(SGD(lr, momentum, dampening = momentum) step on E, 0, 1)

Every area has its own parameters and its own terms, so optimising several areas in one batch
gives the same masks as optimising them one after another, only faster. The model's backward pass
(``∂E/∂x'``) is taken separately (timed as inference); the mask's own backward follows.

Pixel-sized settings of the reference are given for 112×112 inputs (mask step 7, σ 11, core
kernel 11, maximal blur 20, final smoothing 10). For other sizes they are scaled by
``s = min(H, W) / 112`` (the step and kernel sizes rounded to integers ≥ 1) unless given.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor
from tqdm.auto import tqdm

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.extremal.losses import CoreLoss, CoreSpec, area_loss
from vidxai.extremal.mask import Backend, MaskGrid, SmoothMaskGenerator, compile_available
from vidxai.extremal.perturbation import Perturbation, PerturbationType, blur_frames
from vidxai.extremal.reward import Variant, log_reward

REFERENCE_SIZE = 112
STEP_AREA_GROWTH = 1.0008668  # the reference: "doubles every ~800 iterations"
TERMS = ("reward", "probability", "area", "core", "energy")
MIN_REWARD_RANGE = 0.01  # floor of the reward range in the automatic reward weight
# ``vidxai demo`` (each method adds its own entries): 60 iterations with a larger step and an area
# weight growing 5 % per iteration localise on the demo model (mean evidence AUROC >= 0.9 on
# held-out clips) in a few seconds per clip; the defaults need 1000-2000 iterations.
DEMO_PARAMS: dict[str, Any] = {"num_iter": 60, "learning_rate": 0.5, "area_growth": 1.05}


@dataclass(frozen=True)
class ExtremalParams:
    """Parameters shared by ``ep2d``, ``ep3d`` and ``step``.

    Attributes:
        num_iter: optimisation iterations (the toolkit's default 2000).
        perturb_area: target area(s) in (0, 1), e.g. ``0.1`` or ``(0.05, 0.1, 0.2)``; several areas
            are optimised jointly in one batch.
        perturb_type: ``blur`` (default) or ``fade``.
        variant: ``preserve`` (default), ``delete`` or ``dual``.
        learning_rate: SGD learning rate (0.05).
        momentum: SGD momentum, also used as dampening (0.9).
        reward_weight: λ_r; None = the method's default: the reference's 100 for 2D/3D-EP;
            for STEP set from the reward's own range, ``λ_a / |reward(m=0) − reward(m=1)|``
            (two extra forward passes, see :func:`auto_reward_weight`) instead of the
            reference's 1, which the area term swamps whenever the model's probability
            responds weakly to blurring. ``reward_weight=1`` restores the reference.
        area_weight: λ_a at the first iteration (300).
        area_growth: λ_a is multiplied by this after each iteration; None = the reference's (1 for
            2D/3D-EP, 1.0008668 for STEP).
        mask_step: spacing of the mask parameters in pixels; None = 7 at 112 px, scaled.
        mask_sigma: smoothing kernel σ of the mask in pixels; None = 11 at 112 px, scaled.
        max_blur: σ of the strongest blur in pixels; None = 20 at 112 px, scaled.
        smooth: σ in pixels of the per-frame Gaussian applied to the summed masks for the final
            map; None = 10 at 112 px, scaled; 0 = no smoothing.
        backend: kernels: ``auto`` (= ``eager``, see :func:`choose_backend`), ``eager`` (portable
            blocked tensor code) or ``compiled`` (torch.compile-fused; falls back to eager with a
            warning where the compiler fails).
    """

    num_iter: int = 2000
    perturb_area: tuple[float, ...] = (0.1,)
    perturb_type: PerturbationType = "blur"
    variant: Variant = "preserve"
    learning_rate: float = 0.05
    momentum: float = 0.9
    reward_weight: float | None = None
    area_weight: float = 300.0
    area_growth: float | None = None
    mask_step: int | None = None
    mask_sigma: float | None = None
    max_blur: float | None = None
    smooth: float | None = None
    backend: Literal["auto", "eager", "compiled"] = "auto"

    def __post_init__(self) -> None:
        areas = self.perturb_area
        if isinstance(areas, (int, float)):
            areas = (areas,)
        try:
            areas = tuple(float(a) for a in areas)
        except (TypeError, ValueError):
            raise ParameterError(
                f"perturb_area must be a number or numbers in (0, 1), got {self.perturb_area!r}"
            ) from None
        object.__setattr__(self, "perturb_area", areas)
        if not areas:
            raise ParameterError("perturb_area needs at least one area in (0, 1)")
        bad = [a for a in areas if not 0.0 < a < 1.0]
        if bad:
            raise ParameterError(
                f"perturb_area must lie strictly between 0 and 1 (a fraction of the video), "
                f"got {', '.join(map(str, bad))}"
            )
        if isinstance(self.num_iter, bool) or self.num_iter < 1:
            raise ParameterError(f"num_iter must be >= 1, got {self.num_iter}")
        if self.perturb_type not in ("blur", "fade"):
            raise ParameterError(
                f"perturb_type must be 'blur' or 'fade', got {self.perturb_type!r}"
            )
        if self.variant not in ("preserve", "delete", "dual"):
            raise ParameterError(
                f"variant must be 'preserve', 'delete' or 'dual', got {self.variant!r}"
            )
        if self.backend not in ("auto", "eager", "compiled"):
            raise ParameterError(
                f"backend must be 'auto', 'eager' or 'compiled', got {self.backend!r}"
            )
        if not self.learning_rate > 0:
            raise ParameterError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0.0 <= self.momentum < 1.0:
            raise ParameterError(f"momentum must be in [0, 1), got {self.momentum}")
        positive = {"area_weight": self.area_weight, "area_growth": self.area_growth}
        positive |= {"mask_sigma": self.mask_sigma, "max_blur": self.max_blur}
        for name, value in positive.items():
            if value is not None and not value > 0:
                raise ParameterError(f"{name} must be > 0, got {value}")
        if self.reward_weight is not None and not self.reward_weight > 0:
            raise ParameterError(f"reward_weight must be > 0, got {self.reward_weight}")
        if self.mask_step is not None and self.mask_step < 1:
            raise ParameterError(f"mask_step must be an integer >= 1, got {self.mask_step}")
        if self.smooth is not None and self.smooth < 0:
            raise ParameterError(f"smooth must be >= 0, got {self.smooth}")


@dataclass(frozen=True)
class Setup:
    """What distinguishes the three variants, resolved for one clip."""

    name: str
    per_frame: bool  # area per frame (2D-EP) or over the volume (3D-EP, STEP)
    reward_weight: float | Literal["auto"]  # "auto": see :func:`auto_reward_weight`
    area_growth: float
    core: CoreSpec | None = None
    core_weight: float = 0.0
    core_start: int = 0  # first iteration with the core term on
    extra: dict[str, Any] = field(default_factory=dict)


def scaled(value: float | None, reference: float, scale: float) -> float:
    """A user value, or the reference's 112-px value scaled to the input."""
    return float(value) if value is not None else reference * scale


def scaled_int(value: int | None, reference: int, scale: float) -> int:
    """Like :func:`scaled`, rounded to an integer >= 1."""
    return int(value) if value is not None else max(1, math.floor(reference * scale + 0.5))


def perturb(perturbation: Perturbation, mask: Tensor, variant: Variant) -> Tensor:
    """Clips the reward reads for masks ``A×T×H×W``: preserved (``x ⊙ m``), deleted
    (``x ⊙ (1 − m)``) or both (``dual``: the ``A`` preserved clips, then the ``A`` deleted)."""
    if variant == "preserve":
        return perturbation.apply(mask)
    if variant == "delete":
        return perturbation.apply(1.0 - mask)
    return torch.cat([perturbation.apply(mask), perturbation.apply(1.0 - mask)])


def reward_range(
    ctx: ExplainContext, perturbation: Perturbation, variant: Variant, index: int
) -> float:
    """``|reward(m = 0) − reward(m = 1)|``: how much the reward changes between the fully
    perturbed and the intact clip (one no-grad batch of 2 clips, 4 for ``dual``)."""
    t, h, w = perturbation.shape[1:]
    masks = torch.stack([torch.zeros(t, h, w), torch.ones(t, h, w)]).to(ctx.device)
    with torch.no_grad():
        clips = perturb(perturbation, masks, variant)
    outputs = ctx.scorer.outputs(len(clips), lambda a, b: clips[a:b], desc="reward range")
    reward, _ = log_reward(outputs.float(), index, variant, 2)
    return float((reward[0] - reward[1]).abs())


def auto_reward_weight(area_weight: float, span: float) -> float:
    """λ_r = λ_a / max(span, MIN_REWARD_RANGE): the reward's whole range (intact → fully
    perturbed) weighs as much as the area term's initial weight, whatever the model's
    calibration (a model whose probability barely responds to blurring gets a large weight)."""
    return area_weight / max(span, MIN_REWARD_RANGE)


def choose_backend(requested: str) -> Backend:
    """``auto`` → ``eager``: since the eager kernels were rewritten (``exp2``, outer-axis
    reductions, reused cache-sized buffers) they measured faster on this project's 2-core CPU
    than the torch.compile-fused ones (mask forward + backward 70 against 98 ms, interleaved runs
    on a loaded machine), and they need no one-off compilation; ``compiled`` stays available."""
    return "compiled" if requested == "compiled" else "eager"


def run_extremal(ctx: ExplainContext, params: ExtremalParams, setup: Setup) -> MethodOutput:
    """Optimise one mask per area and return their smoothed sum as the attribution.

    Returns:
        ``MethodOutput`` with ``attribution`` ``T×H×W`` (sum of the masks over the areas, per-frame
        Gaussian smoothing, divided by its maximum) and extras ``masks`` (``A×T×H×W``, CPU),
        ``area_masks`` (the same masks by area, ``{"0.05": T×H×W, …}``, which the CLI renders),
        ``areas``, ``kept_area`` (mean of each padded mask: the fraction of the padded volume
        kept, which the area term drives to the target), ``kept_area_per_frame`` (``A×T``),
        ``loss_history`` (``{term: num_iter × A}`` lists: ``reward`` (−log p…),
        ``probability`` (target probability of the preserved clip), ``area``, ``core``
        (unweighted), ``energy`` (weighted sum)), and the resolved geometry.
    """
    if ctx.target.index is None:
        raise UnsupportedModelError(
            f"{setup.name} optimises the target's class probability; the model has a single "
            "(regression) output."
        )
    x = ctx.x[0].detach()
    t, h, w = x.shape[1:]
    scale = min(h, w) / REFERENCE_SIZE
    step = scaled_int(params.mask_step, 7, scale)
    sigma = scaled(params.mask_sigma, 11.0, scale)
    grid = MaskGrid((h, w), step, sigma)
    hp, wp = grid.padded_shape
    if setup.core is not None:
        k_t, s = setup.core.num_keyframes, setup.core.size
        if t < k_t:
            raise ParameterError(
                f"{setup.name}: the clip has {t} frames, fewer than the core kernel's "
                f"num_keyframes={k_t}; use num_keyframes <= {t}."
            )
        if min(hp, wp) < s:
            raise ParameterError(
                f"{setup.name}: core_size={s} px is larger than the padded mask {hp}×{wp}; "
                "use a smaller core_size."
            )
    areas = list(params.perturb_area)
    n_clips = 2 if params.variant == "dual" else 1
    group = max(1, ctx.batch_size // n_clips) if ctx.batch_size else len(areas)
    backend = choose_backend(params.backend)
    max_blur = scaled(params.max_blur, 20.0, scale)
    perturbation = Perturbation(x, params.perturb_type, max_blur, backend=backend)
    masker = SmoothMaskGenerator(grid, ctx.device, backend)
    auto_extra: dict[str, Any] = {}
    if setup.reward_weight == "auto":
        span = reward_range(ctx, perturbation, params.variant, int(ctx.target.index))
        weight = auto_reward_weight(params.area_weight, span)
        setup = dataclasses.replace(setup, reward_weight=weight)
        auto_extra = {"reward_range": span}

    masks, kept, history = [], [], []
    # Every batch of areas sees the same random stream, so splitting does not change results.
    rng_state = ctx.generator.get_state()
    for start in range(0, len(areas), group):
        ctx.generator.set_state(rng_state)
        batch = areas[start : start + group]
        m, padded, hist = _optimise(ctx, params, setup, grid, perturbation, masker, batch)
        masks.append(m)
        kept.append(padded.mean((2, 3)))
        history.append(hist)
    mask = torch.cat(masks)  # A×T×H×W
    hist = torch.cat(history, 2)  # num_iter × terms × A
    kept_frames = torch.cat(kept).cpu()  # A×T fraction of each padded frame kept

    smooth = scaled(params.smooth, 10.0, scale)
    attribution = blur_frames(mask.sum(0), smooth)
    peak = attribution.max()
    attribution = attribution / torch.where(peak > 0, peak, torch.ones_like(peak))
    hist_cpu = hist.cpu()
    loss_history = {name: hist_cpu[:, i].tolist() for i, name in enumerate(TERMS)}
    masks_cpu = mask.detach().cpu()
    names = [f"{a:g}" for a in areas]
    names = [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]
    extras: dict[str, Any] = {
        "masks": masks_cpu,
        "area_masks": {n: masks_cpu[i] for i, n in enumerate(names)},
        "areas": areas,
        "kept_area": kept_frames.mean(1).tolist(),
        "kept_area_per_frame": kept_frames.tolist(),
        "loss_history": loss_history,
        "mask_step": step,
        "mask_sigma": sigma,
        "max_blur": max_blur,
        "smooth": smooth,
        "backend": masker.backend if compile_available() else "eager",  # after a fallback
        "final_probability": hist_cpu[-1, 1].tolist(),
        "reward_weight": setup.reward_weight,
        **auto_extra,
        **setup.extra,
    }
    return MethodOutput(attribution=attribution.float(), extras=extras)


def _optimise(
    ctx: ExplainContext,
    params: ExtremalParams,
    setup: Setup,
    grid: MaskGrid,
    perturbation: Perturbation,
    masker: SmoothMaskGenerator,
    areas: list[float],
) -> tuple[Tensor, Tensor, Tensor]:
    """One batch of areas → (masks ``A×T×H×W``, padded ``A×T×Hp×Wp``, history ``iters×terms×A``)."""
    x = ctx.x
    t, (h, w), device = x.shape[2], grid.size, ctx.device
    hp, wp = grid.padded_shape
    a = len(areas)
    index = int(ctx.target.index)  # type: ignore[arg-type]
    core = CoreLoss(setup.core, (t, hp, wp), areas, device) if setup.core is not None else None
    p = torch.ones(a * t, *grid.param_shape, device=device, requires_grad=True)
    opt = torch.optim.SGD(
        [p], lr=params.learning_rate, momentum=params.momentum, dampening=params.momentum
    )
    hist = torch.zeros(params.num_iter, len(TERMS), a, device=device)
    # tie-breaking: one random permutation, rotated by a random offset every iteration
    gen = ctx.generator
    volume = t * hp * wp
    tie = torch.randperm(volume, generator=gen, device=device)
    tie_core = None
    if core is not None:
        tie_core = torch.randperm(core.num_responses, generator=gen, device=device)
    zero = torch.zeros(a, device=device)
    area_weight = params.area_weight
    weight = float(setup.reward_weight)
    bar = tqdm(
        range(params.num_iter), desc=setup.name, disable=not ctx.progress, leave=False, unit="it"
    )
    for it in bar:
        mask, padded = masker.generate(p)
        mask = mask.reshape(a, t, h, w)
        padded = padded.reshape(a, t, hp, wp)
        xs = perturb(perturbation, mask, params.variant)
        reward, prob, gx = _reward_and_input_grad(ctx, xs, index, params.variant, a, weight)

        shift = torch.randint(volume, (), generator=gen, device=device)
        l_area = area_loss(padded, areas, tie, setup.per_frame, shift, masker.backend)
        reg = area_weight * l_area
        l_core = zero
        if core is not None and tie_core is not None:
            shift_c = torch.randint(core.num_responses, (), generator=gen, device=device)
            l_core = core(padded, torch.remainder(tie_core + shift_c, core.num_responses))
            if it >= setup.core_start:
                reg = reg + setup.core_weight * l_core
        torch.autograd.backward([xs, reg.sum()], [gx, None])
        opt.step()
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            p.clamp_(0.0, 1.0)
            energy = weight * reward.detach() + reg.detach()
            terms = [reward.detach(), prob, l_area.detach(), l_core.detach(), energy]
            hist[it] = torch.stack(terms)
        area_weight *= setup.area_growth
        if ctx.progress and (it % 100 == 0 or it == params.num_iter - 1):
            bar.set_postfix(p=f"{float(prob.mean()):.3f}", refresh=False)
    bar.close()
    with torch.no_grad():
        mask, padded = masker.generate(p.detach())
    return mask.reshape(a, t, h, w), padded.reshape(a, t, hp, wp), hist


def _reward_and_input_grad(
    ctx: ExplainContext, xs: Tensor, index: int, variant: Variant, n_areas: int, weight: float
) -> tuple[Tensor, Tensor, Tensor]:
    """The one model pass of an iteration: forward the perturbed clips ``xs`` (``A×C×T×H×W``,
    ``2A`` for ``dual``), reward and target probability per area (``A`` each), and
    ``∂(weight·Σ reward)/∂xs`` (taken separately, timed as inference)."""
    xin = xs.detach().requires_grad_(True)
    reward, prob = log_reward(ctx.model(xin), index, variant, n_areas)
    with ctx.timer("inference"):
        (gx,) = torch.autograd.grad(reward.sum() * weight, xin)
    return reward, prob, gx
