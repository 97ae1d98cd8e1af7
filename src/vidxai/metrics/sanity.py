"""Model-randomisation sanity check (Adebayo et al., 2018), cascading from the top.

A copy of the model has its parameter groups re-initialised one after another, from the output
layer down (cumulatively); after each step the same method explains the same class on the same
clip with the same seed, and the Spearman rank correlation with the original map is recorded.
A faithful method's map must change when the model it explains is destroyed: the check
**passes** when the correlation with the fully randomised model is below ``max_correlation``
(of absolute values by default, so that a sign flip does not count as a change). A method that
ignores the model (an edge detector on the input) keeps ρ = 1 and fails. A randomised map that
goes flat counts as ρ = 0; a constant original map gives NaN and fails.

Re-initialisation: every parameter ``p`` of a group becomes ``mean(p) + std(p)·N(0, 1)`` drawn
from the evaluation's seeded generator, so scales are kept (a constant parameter such as a
fresh normalisation scale stays as it is). Groups are taken in module-definition order, which is
assumed to be the forward order.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.registry import MetricInputs, MetricOutput, register_metric

#: ``explainer(model, x 1×C×T×H×W, target) -> T×H×W`` for methods outside the registry.
Explainer = Callable[[nn.Module, Tensor, "int | None"], Tensor]


@dataclass(frozen=True)
class SanityParams:
    """Parameters of the sanity check.

    Attributes:
        sanity_method: a registered method name, or an ``Explainer`` callable
            ``(model, x 1×C×T×H×W, target) -> T×H×W``; None → the Explanation's own method.
        sanity_params: that method's parameters (dict); None → the Explanation's parameters.
        layers: dotted module names of the groups to randomise, top first; None → automatic.
        granularity: automatic groups: ``"block"`` (top-level children with parameters) or
            ``"layer"`` (every module owning parameters).
        max_correlation: pass when the final correlation is below this.
        absolute: correlate absolute values (Adebayo et al.'s stricter variant).
    """

    sanity_method: Any = None
    sanity_params: Any = None
    layers: tuple[str, ...] | None = None
    granularity: Literal["block", "layer"] = "block"
    max_correlation: float = 0.5
    absolute: bool = True

    def __post_init__(self) -> None:
        if self.granularity not in ("block", "layer"):
            raise ParameterError(f"granularity must be 'block' or 'layer', got {self.granularity}")
        if not -1.0 < self.max_correlation <= 1.0:
            raise ParameterError(f"max_correlation must lie in (-1, 1], got {self.max_correlation}")
        if self.sanity_params is not None and not isinstance(self.sanity_params, dict):
            raise ParameterError("sanity_params must be a dict of method parameters")


def rankdata(values: Tensor) -> Tensor:
    """Ranks 0..n−1 of a 1-D tensor, ties sharing their average rank (float64)."""
    v = values.double()
    _, inverse, counts = torch.unique(v, sorted=True, return_inverse=True, return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    avg = starts.double() + (counts.double() - 1) / 2
    return avg[inverse]


def spearman(a: Tensor, b: Tensor) -> float:
    """Spearman rank correlation of two equally shaped tensors (NaN if one is constant)."""
    ra, rb = rankdata(a.reshape(-1).cpu()), rankdata(b.reshape(-1).cpu())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float((ra * ra).sum()) * float((rb * rb).sum()))
    return float((ra * rb).sum()) / denom if denom > 0 else math.nan


def _owns_params(m: nn.Module) -> bool:
    return any(True for _ in m.parameters(recurse=False))


def parameter_groups(module: nn.Module, granularity: str) -> list[str]:
    """Names of the groups to randomise, in cascade order (top = last defined, first)."""
    if granularity == "layer":
        names = [n for n, m in module.named_modules() if _owns_params(m)]
    else:
        prefix, root = "", module
        while True:
            kids = [(n, m) for n, m in root.named_children() if any(True for _ in m.parameters())]
            if len(kids) == 1 and not _owns_params(root):
                prefix, root = f"{prefix}{kids[0][0]}.", kids[0][1]
                continue
            names = [f"{prefix}{n}" for n, _ in kids]
            if _owns_params(root):
                names.append(prefix.rstrip(".") or "")
            break
    return list(reversed(names))


def randomise_(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module``'s parameters in place: ``mean + std·N(0, 1)`` per tensor."""
    with torch.no_grad():
        for p in module.parameters():
            if p.numel() < 2:
                continue
            mean, std = p.mean(), p.std()
            noise = torch.randn(p.shape, generator=generator, dtype=torch.float32)
            p.copy_((mean + std * noise.to(p.device, p.dtype)).to(p.dtype))


def _explainer(inputs: MetricInputs, params: SanityParams) -> Explainer:
    method = params.sanity_method
    exp = inputs.explanation
    if callable(method):
        return method
    if method is None:
        if exp is None:
            raise ParameterError(
                "The sanity check needs sanity_method (a method name or a callable) when the "
                "explanation is a plain tensor"
            )
        method = exp.method
    import vidxai
    from vidxai.core.registry import get_method

    spec = get_method(method)
    raw = params.sanity_params
    if raw is None:
        raw = dict(exp.params) if exp is not None and exp.method == method else {}
    names = {f.name for f in dataclasses.fields(spec.params)}
    batch_size = raw.get("batch_size", "auto")
    method_params = {k: v for k, v in raw.items() if k in names}
    seed = exp.seed if exp is not None else inputs.generator_seed
    behaviour = exp.behaviour if exp is not None and exp.behaviour != "identity" else None

    def run(model: nn.Module, x: Tensor, target: int | None) -> Tensor:
        out = vidxai.explain(
            model,
            x[0],
            method=method,
            target=target,
            seed=seed,
            batch_size=batch_size,
            progress=False,
            behaviour=behaviour,
            **method_params,
        )
        assert not isinstance(out, list)  # one clip in, one Explanation out
        return out.attribution

    return run


@register_metric(
    "sanity",
    params=SanityParams,
    higher_is_better=True,
    family="sanity",
    default=False,
    description="Cascading model randomisation: passes when the map decorrelates (Adebayo et al.).",
)
def sanity(inputs: MetricInputs, params: SanityParams) -> MetricOutput:
    if inputs.model is None:
        raise InvalidInputError("The sanity check needs the model")
    explainer = _explainer(inputs, params)
    model = copy.deepcopy(inputs.model)
    root = getattr(model, "module", model)
    groups = list(params.layers) if params.layers else parameter_groups(root, params.granularity)
    modules = dict(root.named_modules())
    missing = [g for g in groups if g not in modules]
    if missing or not groups:
        from vidxai.errors import unknown_name

        if not groups:
            raise InvalidInputError("The model has no parameters to randomise")
        raise unknown_name("layer", missing[0], [n for n in modules if n])
    original = inputs.attribution.detach()
    gen = torch.Generator().manual_seed(inputs.generator_seed)
    correlations = []
    for name in groups:
        randomise_(modules[name], gen)
        randomised = explainer(model, inputs.x, inputs.target).detach()
        if tuple(randomised.shape) != tuple(original.shape):
            raise InvalidInputError(
                f"The sanity explainer returned shape {tuple(randomised.shape)}, "
                f"expected {tuple(original.shape)}"
            )
        a, b = (original.abs(), randomised.abs()) if params.absolute else (original, randomised)
        rho = spearman(a, b)
        if math.isnan(rho) and a.max() > a.min():
            rho = 0.0  # the randomised map went flat: no rank shared with the original
        correlations.append(rho)
    final = correlations[-1]
    passed = bool(not math.isnan(final) and final < params.max_correlation)
    curve = {"step": [float(i + 1) for i in range(len(groups))], "correlations": correlations}
    extras = {
        "layers": [g or "<root>" for g in groups],
        "correlations": correlations,
        "final_correlation": final,
    }
    return MetricOutput(passed, curve, extras)
