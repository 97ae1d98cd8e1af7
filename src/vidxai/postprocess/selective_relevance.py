"""The method ``selective_relevance``: any gradient, CAM or relevance map, filtered for motion.

Runs the ``base`` method on the clip (same context: the same target, engine and counts), then
keeps its relevance where the clip changes in time (:func:`vidxai.postprocess.selective_map`,
Hiley et al. 2020). The base's own extras are kept; ``base_attribution`` holds the unfiltered
map and ``kept_fraction`` the share of voxels that survive (threshold mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, MethodSpec, get_method, list_methods, register_method
from vidxai.errors import ParameterError, UnknownNameError
from vidxai.postprocess.selective import (
    SelectiveMode,
    SelectiveParams,
    SelectiveSource,
    apply_selective,
)

BASE_FAMILIES: tuple[str, ...] = ("gradient", "cam", "relevance")


def base_spec(name: str) -> MethodSpec:
    """The registered gradient / CAM / relevance method ``name`` (ParameterError otherwise)."""
    valid = sorted(s.name for s in list_methods() if s.family in BASE_FAMILIES)
    try:
        spec = get_method(name)
    except UnknownNameError as exc:
        raise ParameterError(
            f"base {name!r} is not a registered method; use one of: {', '.join(valid)}"
        ) from exc
    if spec.family not in BASE_FAMILIES:
        raise ParameterError(
            f"base {name!r} is a {spec.family} method; selective relevance filters gradient, "
            f"CAM and relevance maps: {', '.join(valid)}"
        )
    return spec


@dataclass(frozen=True)
class SelectiveRelevanceParams:
    """Parameters of :func:`selective_relevance`.

    Attributes:
        base: the method whose map is filtered (any gradient, CAM or relevance method).
        mode, threshold, sigma, source: the filter (see
            :class:`~vidxai.postprocess.selective.SelectiveParams`).
        base_params: a dict of the base method's parameters (default: its defaults), or the
            same as a JSON object string (CLI: ``--param 'base_params={"layer": "layer3"}'``).
    """

    base: str = "saliency"
    mode: SelectiveMode = "threshold"
    threshold: float = 1.0
    sigma: float = 1.0
    source: SelectiveSource = "input"
    base_params: Any = None

    def __post_init__(self) -> None:
        self.selective()  # validates the filter options
        if isinstance(self.base_params, str):
            try:
                object.__setattr__(self, "base_params", json.loads(self.base_params))
            except json.JSONDecodeError as exc:
                raise ParameterError(
                    f"base_params must be a JSON object, got {self.base_params!r} ({exc})"
                ) from None
        if self.base_params is not None and not isinstance(self.base_params, dict):
            raise ParameterError(
                f"base_params must be a dict of {self.base}'s parameters, got {self.base_params!r}"
            )
        self.base_parameters()  # validates the base and its parameters

    def selective(self) -> SelectiveParams:
        """The filter options as a :class:`SelectiveParams`."""
        return SelectiveParams(self.mode, self.threshold, self.sigma, self.source)

    def base_parameters(self) -> Any:
        """The base method's parameter dataclass (ParameterError for a bad base/parameter)."""
        return base_spec(self.base).parse_params(self.base_params or {})


@register_method(
    "selective_relevance",
    params=SelectiveRelevanceParams,
    family="postprocess",
    default_behaviour="logit",
    description="Selective relevance (Hiley et al.): a base gradient/CAM/relevance map kept only "
    "where the clip changes in time.",
)
def selective_relevance(ctx: ExplainContext, params: SelectiveRelevanceParams) -> MethodOutput:
    """The base method's passes, then the filter (no extra pass); ``T×H×W`` map."""
    spec = base_spec(params.base)
    result = spec.fn(ctx, params.base_parameters())
    out: MethodOutput = result[0] if isinstance(result, list) else result
    base_map = out.attribution.detach().float()
    filtered = apply_selective(ctx.x[:1], base_map.unsqueeze(0), params.selective())[0]
    extras = dict(out.extras)
    extras["base_attribution"] = base_map
    extras["kept_fraction"] = float((filtered != 0).float().mean())
    return MethodOutput(filtered, extras)
