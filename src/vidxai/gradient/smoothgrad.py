"""SmoothGrad (Smilkov et al. 2017), SmoothGrad² and VarGrad (Adebayo et al. 2018) over any
gradient method: ``saliency``, ``grad_x_input`` or ``integrated_gradients``.

``n_samples`` noisy copies ``x + ε_k``, ``ε_k ~ N(0, σ²)`` with ``σ = noise_level·(max x − min x)``,
are explained by the base method's per-channel (raw) attribution — all samples (and, for
integrated gradients, all their path points) batched together — and combined:
``smoothgrad`` = mean, ``smoothgrad_sq`` = mean of squares, ``vargrad`` = variance. The
channel axis is then reduced as the base method does (max for saliency, sum otherwise).
Each sample's noise comes from its own seed drawn from ``ctx.generator``, so the result does
not depend on the batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.gradient.baselines import make_baseline
from vidxai.gradient.grad_x_input import GradXInputParams, grad_x_input_raw
from vidxai.gradient.integrated_gradients import IntegratedGradientsParams, integrated_gradients_raw
from vidxai.gradient.paths import path_gradients
from vidxai.gradient.polarity import Polarity, check_polarity, reduce_attribution, reduce_channels
from vidxai.gradient.saliency import SaliencyParams

Base = Literal["saliency", "grad_x_input", "integrated_gradients"]
BASES: tuple[str, ...] = ("saliency", "grad_x_input", "integrated_gradients")
VARIANTS: tuple[str, ...] = ("smoothgrad", "smoothgrad_sq", "vargrad")
_IG = IntegratedGradientsParams()
# each base method's own default polarity (absolute for saliency, signed sums otherwise)
_DEFAULT_POLARITY = {
    "saliency": SaliencyParams().polarity,
    "grad_x_input": GradXInputParams().polarity,
    "integrated_gradients": _IG.polarity,
}


@dataclass(frozen=True)
class SmoothGradParams:
    """Parameters of :func:`smoothgrad`.

    Attributes:
        base: the gradient method to smooth: ``saliency`` (default), ``grad_x_input`` or
            ``integrated_gradients``.
        variant: ``smoothgrad`` (mean), ``smoothgrad_sq`` (mean of squares) or ``vargrad``
            (variance).
        n_samples: noisy copies (≥ 1; ≥ 2 for vargrad).
        noise_level: noise σ as a fraction of the clip's value range (max − min).
        polarity: for ``variant="smoothgrad"``; default: the base method's (``absolute`` for
            saliency, ``both`` otherwise). The other variants are non-negative.
        n_steps, rule, baseline, blur_sigma: integrated-gradients settings (base
            ``integrated_gradients`` only).
    """

    base: Base = "saliency"
    variant: Literal["smoothgrad", "smoothgrad_sq", "vargrad"] = "smoothgrad"
    n_samples: int = 25
    noise_level: float = 0.15
    polarity: Polarity | None = None
    n_steps: int = 16
    rule: str = _IG.rule
    baseline: str | Tensor = "black"
    blur_sigma: float = _IG.blur_sigma

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise ParameterError(f"base must be one of {', '.join(BASES)}, got {self.base!r}")
        if self.variant not in VARIANTS:
            raise ParameterError(
                f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}"
            )
        if self.n_samples < (2 if self.variant == "vargrad" else 1):
            raise ParameterError(f"n_samples must be >= 1 (>= 2 for vargrad), got {self.n_samples}")
        if self.noise_level < 0:
            raise ParameterError(f"noise_level must be >= 0, got {self.noise_level}")
        check_polarity(self.polarity)
        if self.polarity is not None and self.variant != "smoothgrad":
            raise ParameterError(
                f"polarity applies to variant='smoothgrad' only; {self.variant} is non-negative."
            )
        # validates n_steps, rule, blur_sigma the same way integrated_gradients does
        IntegratedGradientsParams(self.baseline, self.n_steps, self.rule, self.blur_sigma)  # type: ignore[arg-type]


def noisy_copies(ctx: ExplainContext, n: int, sigma: float) -> Tensor:
    """``n×C×T×H×W`` copies of ``ctx.x`` plus Gaussian noise; copy k uses its own seed."""
    seeds = torch.randint(0, 2**62, (n,), generator=ctx.generator, device=ctx.device).tolist()
    out = ctx.x.repeat(n, 1, 1, 1, 1)
    for k, seed in enumerate(seeds):
        gen = torch.Generator(device=ctx.device).manual_seed(int(seed))
        noise = torch.randn(ctx.x.shape[1:], generator=gen, device=ctx.device, dtype=ctx.x.dtype)
        out[k].add_(noise, alpha=sigma)
    return out


def _raw_function(ctx: ExplainContext, params: SmoothGradParams) -> Callable[[Tensor], Tensor]:
    if params.base == "saliency":
        return lambda xs: path_gradients(ctx, xs, desc="smoothgrad")
    if params.base == "grad_x_input":
        return lambda xs: grad_x_input_raw(ctx, xs)
    baseline = make_baseline(ctx, params.baseline, params.blur_sigma)
    return lambda xs: integrated_gradients_raw(ctx, xs, baseline, params.n_steps, params.rule)


@register_method(
    "smoothgrad",
    params=SmoothGradParams,
    family="gradient",
    description="SmoothGrad / SmoothGrad² / VarGrad over saliency, grad×input or IG (batched).",
    quick_params={"n_samples": 8, "n_steps": 4},
)
def smoothgrad(ctx: ExplainContext, params: SmoothGradParams) -> MethodOutput:
    """``n_samples`` (× ``n_steps`` for IG) forward + backward passes, batched; ``T×H×W`` map."""
    sigma = params.noise_level * float(ctx.x.max() - ctx.x.min())
    raws = _raw_function(ctx, params)(noisy_copies(ctx, params.n_samples, sigma))
    reduce = reduce_channels if params.base == "saliency" else reduce_attribution
    if params.variant == "smoothgrad":
        polarity = params.polarity or _DEFAULT_POLARITY[params.base]
        attribution = reduce(raws.mean(dim=0, keepdim=True), polarity)
    elif params.variant == "smoothgrad_sq":
        attribution = reduce(raws.pow(2).mean(dim=0, keepdim=True), "absolute")
    else:
        attribution = reduce(raws.var(dim=0, unbiased=False, keepdim=True), "absolute")
    return MethodOutput(attribution[0], {"sigma": sigma})
