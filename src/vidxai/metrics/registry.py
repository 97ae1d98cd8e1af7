"""Metric registry with declarative metadata.

Each metric is a function ``fn(inputs: MetricInputs, params) -> MetricOutput`` registered with
its typed parameter dataclass and what it needs. The metadata (direction, whether it needs a
ground truth or a model) is what :func:`vidxai.metrics.evaluate.evaluate`, the CLI and the
benchmark tables read; nothing else is special-cased by name.

Several metrics may share one piece of work (the deletion game feeds both the deletion AUC and
the deletion minimal mask); they do so through :attr:`MetricInputs.cache`.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from vidxai.core.registry import convert_value
from vidxai.errors import ParameterError, unknown_name

__all__ = [
    "MetricInputs",
    "MetricOutput",
    "MetricSpec",
    "default_metrics",
    "get_metric",
    "list_metrics",
    "register_metric",
]


@dataclass
class MetricInputs:
    """What a metric receives.

    Attributes:
        attribution: T×H×W float32 on ``x``'s device (finite; higher = more evidence).
        x: 1×C×T×H×W float32 clip in model-input space (never modified).
        scorer: object with ``run(n, make_batch) -> Tensor n`` (the shared batched scorer) or None
            when no model was given.
        pixel_value: maps a pixel-space value in [0, 1] to a C tensor in model-input space.
        ground_truth: T×H×W bool mask on ``x``'s device, or None.
        model: the VideoClassifier, for metrics that re-explain (sanity), or None.
        explanation: the Explanation being evaluated, or None for a plain tensor.
        target: class index (None for regression).
        generator_seed: seed for every random choice a metric makes (tie-breaking, re-init).
        cache: shared between the metrics of one evaluation (e.g. the game curves).
    """

    attribution: Tensor
    x: Tensor
    scorer: Any
    pixel_value: Callable[[Any], Tensor]
    ground_truth: Tensor | None = None
    model: Any = None
    explanation: Any = None
    target: int | None = None
    generator_seed: int = 0
    cache: dict[Any, Any] = field(default_factory=dict)


@dataclass
class MetricOutput:
    """A metric's result: ``score`` (float, bool, dict or None) and optional ``curve``."""

    score: Any
    curve: dict[str, list[float]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSpec:
    """Declarative description of a metric.

    Attributes:
        name: key of the score in ``EvaluationResult.scores``.
        fn: ``fn(inputs, params) -> MetricOutput``.
        params: frozen dataclass type of the metric's parameters.
        higher_is_better: True / False, or None when the score has no direction (e.g. a dict).
        needs_ground_truth: needs a T×H×W mask or a 3D box.
        needs_model: runs the model (forward passes through the scorer, or re-explanations).
        description: one line for the CLI and the docs.
        family: "faithfulness", "localisation" or "sanity".
        default: run when :func:`~vidxai.metrics.evaluate` is given ``metrics=None`` (and, for
            a metric needing one, a ground truth).
    """

    name: str
    fn: Callable[[MetricInputs, Any], MetricOutput]
    params: type
    higher_is_better: bool | None
    needs_ground_truth: bool
    needs_model: bool
    description: str
    family: str
    default: bool = True

    def param_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(self.params))

    def parse_params(self, raw: dict[str, Any]) -> Any:
        """Build the params dataclass from ``raw`` (strings from the CLI are converted).

        Unknown keys raise :class:`ParameterError` listing the valid ones.
        """
        valid = self.param_names()
        unknown = sorted(set(raw) - set(valid))
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {unknown} for metric {self.name!r}; valid: {list(valid)}"
            )
        hints = typing.get_type_hints(self.params)
        values = {}
        for key, value in raw.items():
            try:
                values[key] = convert_value(value, hints[key])
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"Parameter {key!r} of metric {self.name!r}: cannot use {value!r} ({exc})."
                ) from None
        try:
            return self.params(**values)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"Bad parameter for metric {self.name!r}: {exc}") from exc


_REGISTRY: dict[str, MetricSpec] = {}


def register_metric(
    name: str,
    *,
    params: type,
    higher_is_better: bool | None,
    needs_ground_truth: bool = False,
    needs_model: bool = True,
    family: str = "faithfulness",
    description: str = "",
    default: bool = True,
) -> Callable[[Callable[[MetricInputs, Any], MetricOutput]], Callable[..., MetricOutput]]:
    """Decorator registering ``fn`` as the metric ``name``."""

    def deco(fn: Callable[[MetricInputs, Any], MetricOutput]) -> Callable[..., MetricOutput]:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"metric {name!r} is registered twice")
        if not dataclasses.is_dataclass(params):
            raise TypeError("params must be a dataclass type")
        _REGISTRY[name] = MetricSpec(
            name=name,
            fn=fn,
            params=params,
            higher_is_better=higher_is_better,
            needs_ground_truth=needs_ground_truth,
            needs_model=needs_model,
            description=description,
            family=family,
            default=default,
        )
        return fn

    return deco


def _load_builtin() -> None:
    # The package's __init__ imports the metric modules, whose decorators register them; by
    # the time this module runs the package is (being) imported, so this is a cheap no-op that
    # only matters if the package import was bypassed. The registry never names the modules.
    importlib.import_module("vidxai.metrics")


def get_metric(name: str) -> MetricSpec:
    """The :class:`MetricSpec` called ``name`` (UnknownNameError with close matches)."""
    _load_builtin()
    if name not in _REGISTRY:
        raise unknown_name("metric", name, _REGISTRY)
    return _REGISTRY[name]


_BUILTIN_ORDER = (
    "deletion",
    "insertion",
    "minimal_mask",
    "minimal_mask_insertion",
    "average_drop",
    "increase_in_confidence",
    "pointing_game",
    "iou",
    "energy",
    "sanity",
)


def default_metrics(has_ground_truth: bool) -> list[str]:
    """Names of the metrics run when none are named (ground-truth metrics only with one)."""
    return [
        s.name
        for s in list_metrics()
        if s.default and (has_ground_truth or not s.needs_ground_truth)
    ]


def list_metrics() -> list[MetricSpec]:
    """Every registered metric: the built-in ones in a fixed order, then the others."""
    _load_builtin()
    rank = {n: i for i, n in enumerate(_BUILTIN_ORDER)}
    return sorted(_REGISTRY.values(), key=lambda s: rank.get(s.name, len(rank)))
