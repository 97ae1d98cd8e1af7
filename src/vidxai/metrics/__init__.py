"""Evaluation metrics: deletion/insertion games, minimal masks, drop, localisation, sanity.

``evaluate(model, video, explanation, metrics=[...])`` is the front door; metrics are declared
in a registry (:func:`list_metrics`) with their direction and what they need. Each metric
module registers its metrics with the :func:`register_metric` decorator when it is imported;
this package imports them (the registry itself imports none of them, so there is no cycle).
"""

from vidxai.metrics import drop, games, localisation, minimal_mask, sanity  # noqa: F401  (register)
from vidxai.metrics.evaluate import EvaluationResult, evaluate
from vidxai.metrics.registry import (
    MetricInputs,
    MetricOutput,
    MetricSpec,
    default_metrics,
    get_metric,
    list_metrics,
    register_metric,
)

__all__ = [
    "EvaluationResult",
    "MetricInputs",
    "MetricOutput",
    "MetricSpec",
    "default_metrics",
    "evaluate",
    "get_metric",
    "list_metrics",
    "register_metric",
]
