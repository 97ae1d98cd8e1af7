"""Evaluation metrics: deletion/insertion games, minimal masks, drop, localisation, sanity.

``evaluate(model, video, explanation, metrics=[...])`` is the front door; metrics are declared
in a registry (:func:`list_metrics`) with their direction and what they need.
"""

from vidxai.metrics.evaluate import DEFAULT_METRICS, EvaluationResult, evaluate
from vidxai.metrics.registry import (
    MetricInputs,
    MetricOutput,
    MetricSpec,
    get_metric,
    list_metrics,
    register_metric,
)

__all__ = [
    "DEFAULT_METRICS",
    "EvaluationResult",
    "MetricInputs",
    "MetricOutput",
    "MetricSpec",
    "evaluate",
    "get_metric",
    "list_metrics",
    "register_metric",
]
