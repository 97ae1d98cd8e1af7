"""SmoothGrad (Smilkov et al. 2017), SmoothGrad² and VarGrad (Adebayo et al. 2018) around any
method that exposes its raw attribution (:mod:`vidxai.gradient.tunnel`), like Captum's
``NoiseTunnel``: ``saliency``, ``grad_x_input``, ``integrated_gradients`` and any method
registered with :func:`~vidxai.gradient.tunnel.register_raw`.

``n_samples`` noisy copies ``x + ε_k``, ``ε_k ~ N(0, σ²)`` with ``σ = noise_level·(max x − min x)``,
are explained by the base method's per-channel (raw) attribution ``a_k`` — all samples (and, for
integrated gradients, all their path points) batched together — and combined element-wise:
``smoothgrad`` = ``mean_k a_k``, ``smoothgrad_sq`` = ``mean_k a_k²``, ``vargrad`` =
``mean_k a_k² − (mean_k a_k)²`` (Captum's definitions). The channel axis is then reduced as the
base method reduces it (its ``polarity`` and ``channel_reduction``; max of |·| for saliency, the
signed sum otherwise). Each sample's noise comes from its own seed drawn from ``ctx.generator``,
so the result does not depend on the batch size.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, get_method, register_method
from vidxai.errors import ParameterError, UnknownNameError
from vidxai.gradient.integrated_gradients import IntegratedGradientsParams, Rule
from vidxai.gradient.polarity import (
    ChannelReduction,
    Polarity,
    check_channel_reduction,
    check_polarity,
    reduce_channels,
)
from vidxai.gradient.tunnel import get_raw

VARIANTS: tuple[str, ...] = ("smoothgrad", "smoothgrad_sq", "vargrad")
#: SmoothGrad fields passed on to a base method whose parameters have a field of that name.
FORWARDED: tuple[str, ...] = ("n_steps", "rule", "baseline", "blur_sigma")
_IG = IntegratedGradientsParams()


@dataclass(frozen=True)
class SmoothGradParams:
    """Parameters of :func:`smoothgrad`.

    Attributes:
        base: the method to smooth, any method exposing its raw attribution (default
            ``saliency``; also ``grad_x_input``, ``integrated_gradients``).
        variant: ``smoothgrad`` (mean), ``smoothgrad_sq`` (mean of squares) or ``vargrad``
            (variance).
        n_samples: noisy copies (≥ 1; ≥ 2 for vargrad).
        noise_level: noise σ as a fraction of the clip's value range (max − min).
        polarity: for ``variant="smoothgrad"``; default (None): the base method's
            (``absolute`` for saliency, ``both`` otherwise). The other variants are
            non-negative and take none.
        channel_reduction: ``sum``/``mean``/``max``/``l2``; default (None): the base's.
        n_steps, rule, baseline, blur_sigma: passed to a base that has these parameters
            (integrated gradients; note ``n_steps`` defaults to 16 here).
        base_params: a dict of any further parameters of the base method.
    """

    base: str = "saliency"
    variant: Literal["smoothgrad", "smoothgrad_sq", "vargrad"] = "smoothgrad"
    n_samples: int = 25
    noise_level: float = 0.15
    polarity: Polarity | None = None
    channel_reduction: ChannelReduction | None = None
    n_steps: int = 16
    rule: Rule = _IG.rule
    baseline: str | Tensor = "black"
    blur_sigma: float = _IG.blur_sigma
    base_params: Any = None

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ParameterError(
                f"variant must be one of {', '.join(VARIANTS)}, got {self.variant!r}"
            )
        if self.n_samples < (2 if self.variant == "vargrad" else 1):
            raise ParameterError(f"n_samples must be >= 1 (>= 2 for vargrad), got {self.n_samples}")
        if not self.noise_level >= 0:
            raise ParameterError(f"noise_level must be >= 0, got {self.noise_level}")
        check_polarity(self.polarity)
        check_channel_reduction(self.channel_reduction)
        if self.polarity is not None and self.variant != "smoothgrad":
            raise ParameterError(
                f"polarity applies to variant='smoothgrad' only; {self.variant} is non-negative."
            )
        if self.base_params is not None and not isinstance(self.base_params, dict):
            raise ParameterError(
                f"base_params must be a dict of {self.base}'s parameters, got {self.base_params!r}"
            )
        # validates n_steps, rule, blur_sigma the same way integrated_gradients does
        IntegratedGradientsParams(self.baseline, self.n_steps, self.rule, self.blur_sigma)
        self.base_parameters()  # validates the base and its parameters

    def base_parameters(self) -> Any:
        """The base method's parameter dataclass, built from the forwarded fields."""
        get_raw(self.base)  # ParameterError listing the methods that can be smoothed
        try:
            spec = get_method(self.base)
        except UnknownNameError as exc:
            raise ParameterError(f"base {self.base!r} is not a registered method") from exc
        names = {f.name for f in dataclasses.fields(spec.params)}
        raw: dict[str, Any] = {k: getattr(self, k) for k in FORWARDED if k in names}
        if self.polarity is not None:
            raw["polarity"] = self.polarity
        if self.channel_reduction is not None:
            raw["channel_reduction"] = self.channel_reduction
        raw.update(self.base_params or {})
        return spec.parse_params(raw)


def noisy_copies(ctx: ExplainContext, n: int, sigma: float) -> Tensor:
    """``n×C×T×H×W`` copies of ``ctx.x`` plus Gaussian noise; copy k uses its own seed."""
    seeds = torch.randint(0, 2**62, (n,), generator=ctx.generator, device=ctx.device).tolist()
    out = ctx.x.repeat(n, 1, 1, 1, 1)
    for k, seed in enumerate(seeds):
        gen = torch.Generator(device=ctx.device).manual_seed(int(seed))
        noise = torch.randn(ctx.x.shape[1:], generator=gen, device=ctx.device, dtype=ctx.x.dtype)
        out[k].add_(noise, alpha=sigma)
    return out


def combine(raws: Tensor, variant: str) -> Tensor:
    """``K×C×T×H×W`` raw attributions of the noisy copies → ``1×C×T×H×W`` (mean / mean of
    squares / population variance ``E[a²] − E[a]²``)."""
    if variant == "smoothgrad":
        return raws.mean(dim=0, keepdim=True)
    if variant == "smoothgrad_sq":
        return raws.pow(2).mean(dim=0, keepdim=True)
    return raws.var(dim=0, unbiased=False, keepdim=True)


@register_method(
    "smoothgrad",
    params=SmoothGradParams,
    family="gradient",
    description="SmoothGrad / SmoothGrad² / VarGrad around any raw-attribution method (batched).",
    quick_params={"n_samples": 8, "n_steps": 4},
)
def smoothgrad(ctx: ExplainContext, params: SmoothGradParams) -> MethodOutput:
    """``n_samples`` (× ``n_steps`` for IG) forward + backward passes, batched; ``T×H×W`` map."""
    base = params.base_parameters()
    sigma = params.noise_level * float(ctx.x.max() - ctx.x.min())
    raws = get_raw(params.base)(ctx, base, noisy_copies(ctx, params.n_samples, sigma))
    combined = combine(raws, params.variant)
    polarity = base.polarity if params.variant == "smoothgrad" else "both"  # others are ≥ 0
    attribution = reduce_channels(combined, polarity, base.channel_reduction)
    return MethodOutput(attribution[0], {"sigma": sigma})
