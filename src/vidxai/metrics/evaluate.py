"""The evaluation front door: :func:`evaluate` scores one explanation with registered metrics."""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.localisation import ground_truth_mask
from vidxai.metrics.registry import (
    MetricInputs,
    MetricSpec,
    default_metrics,
    get_metric,
    list_metrics,
)


@dataclass
class EvaluationResult:
    """Scores of one explanation.

    Attributes:
        scores: metric name → score (float; bool for pointing_game / increase_in_confidence /
            sanity; ``{threshold: fraction or None}`` for the minimal masks).
        curves: metric name → named lists, e.g. ``curves["deletion"] = {"fractions": [...],
            "scores": [...]}``; ``curves["minimal_mask"] = {"thresholds": [...],
            "fractions": [...]}`` (NaN where never reached); ``curves["sanity"] =
            {"step": [...], "correlations": [...]}``.
        params: metric name → its resolved parameters; plus ``"target"`` (class index),
            ``"target_name"`` (its name, when the model has class names), ``"behaviour"``,
            ``"seed"``.
        timings: metric name → seconds (shared work is charged to the first metric using it),
            plus ``"total"`` and ``"inference"`` (the part spent inside the model's forward).
        n_forward: clips the evaluation passed forward through the model (not counting the
            re-explanations of the sanity check).
        details: metric name → extra values (pointing location, sanity layers, y / o of the drop).
        higher_is_better: metric name → the metric's declared direction (None = no direction).
    """

    scores: dict[str, Any]
    curves: dict[str, dict[str, list[float]]]
    params: dict[str, Any]
    timings: dict[str, float]
    n_forward: int = 0
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    higher_is_better: dict[str, bool | None] = field(default_factory=dict)

    def flat_scores(self) -> dict[str, Any]:
        """One scalar per key (dict scores flattened as ``name@key``), for tables and CSVs."""
        out: dict[str, Any] = {}
        for name, value in self.scores.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    out[f"{name}@{k:g}" if isinstance(k, float) else f"{name}@{k}"] = (
                        math.nan if v is None else v
                    )
            else:
                out[name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (threshold keys become strings)."""

        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, float) and math.isnan(v):
                return None
            if isinstance(v, (bool, int, float, str)) or v is None:
                return v
            return repr(v)

        return clean(dataclasses.asdict(self))

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path


def resolve_metrics(
    metrics: str | Sequence[str] | None, has_ground_truth: bool
) -> list[MetricSpec]:
    """Metric names (list or comma-separated string; None → defaults) → specs."""
    if metrics is None:
        names = default_metrics(has_ground_truth)
    elif isinstance(metrics, str):
        names = [m.strip() for m in metrics.split(",") if m.strip()]
    else:
        names = list(metrics)
    if metrics is not None and not names:
        valid = ", ".join(s.name for s in list_metrics())
        raise ParameterError(f"metrics is empty; valid: {valid}")
    specs = [get_metric(n) for n in dict.fromkeys(names)]
    if not has_ground_truth:
        needing = [s.name for s in specs if s.needs_ground_truth]
        if needing:
            raise InvalidInputError(
                f"Metric(s) {needing} need ground_truth (a T×H×W mask or a 3D box)"
            )
    return specs


def split_params(specs: list[MetricSpec], params: dict[str, Any]) -> dict[str, Any]:
    """Give each metric the keys of ``params`` it declares; a key no metric takes is an error."""
    taken = {name for s in specs for name in s.param_names()}
    unknown = sorted(set(params) - taken)
    if unknown:
        raise ParameterError(
            f"Unknown evaluation parameter(s) {unknown} for metrics "
            f"{[s.name for s in specs]}; valid: {sorted(taken)}"
        )
    return {
        s.name: s.parse_params({k: v for k, v in params.items() if k in s.param_names()})
        for s in specs
    }


def check_attribution(explanation: Any, shape: Sequence[int]) -> Tensor:
    """The attribution of an Explanation or a tensor as ``T×H×W`` float32, validated.

    Raises:
        InvalidInputError: not a tensor, wrong shape, or NaN / infinite values.
    """
    from vidxai.core.explanation import Explanation

    a = explanation.attribution if isinstance(explanation, Explanation) else explanation
    if hasattr(a, "__array__") and not isinstance(a, Tensor):
        a = torch.as_tensor(a)
    if not isinstance(a, Tensor):
        raise InvalidInputError(
            f"explanation must be a vidxai Explanation or a T×H×W tensor, got {type(a).__name__}"
        )
    a = a.detach()
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if tuple(a.shape) != tuple(shape):
        raise InvalidInputError(
            f"The attribution has shape {tuple(a.shape)} but the clip is {tuple(shape)} (T×H×W "
            "in model-input space); map external attributions to the model input first"
        )
    if not a.is_floating_point():
        a = a.float()
    if not torch.isfinite(a).all():
        raise InvalidInputError("The attribution contains NaN or infinite values")
    return a.float()


def evaluate(
    model: Any,
    video: Any,
    explanation: Any,
    metrics: str | Sequence[str] | None = None,
    target: int | str | None = None,
    ground_truth: Any = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = None,
    batch_size: int | str = "auto",
    progress: bool = False,
    behaviour: str | None = None,
    **params: Any,
) -> EvaluationResult:
    """Score an explanation of ``model`` on ``video`` with registered metrics.

    Args:
        model: a VideoClassifier, a zoo name or a plain ``nn.Module`` (as for
            :func:`vidxai.explain`).
        video: a path, a frames array ``T×H×W×3`` uint8, or a float tensor ``C×T×H×W`` in
            input space.
        explanation: an :class:`~vidxai.Explanation` or a plain ``T×H×W`` tensor (e.g. from Captum).
        metrics: names (list or ``"a,b"``); None → the metrics registered as defaults:
            deletion, insertion, both minimal masks, average drop, increase in confidence, plus
            ``pointing_game, iou, energy`` when ``ground_truth`` is given. ``"sanity"`` runs only
            when asked for (it re-explains once per randomised layer group).
        target: class index or name; None → the Explanation's target, or the top-1 class.
        ground_truth: ``T×H×W`` bool mask or box ``((t0, t1), (y0, y1), (x0, x1))`` (half-open).
        seed: seeds the tie-breaking of the games and the sanity check's re-initialisation.
        device, batch_size, progress, behaviour: as for :func:`vidxai.explain`; the behaviour
            defaults to the target's probability for every explanation, whatever behaviour the
            method used (the games' and drops' papers score probabilities, and one behaviour
            keeps the scores of different methods comparable).
        **params: metric parameters, each given to every selected metric that declares it
            (``n_steps``, ``fill``, ``granularity``, ``grid``, ``segments``, ``thresholds``,
            ``tolerance``, ``iou_threshold``, ``sanity_method`` …; see ``vidxai metrics``).

    Returns:
        :class:`EvaluationResult`.

    A constant (e.g. all-zero) attribution is scored, not refused: the games remove voxels in a
    random order, the pointing game misses, IoU is 0, energy is NaN; a warning says so.

    Raises:
        InvalidInputError: attribution shape ≠ the clip's T×H×W, NaN values, a bad ground truth,
            or a localisation metric without ground truth.
        ParameterError: unknown or bad metric parameters (``n_steps < 2``, thresholds outside
            (0, 1)…).
        UnknownNameError: unknown metric name.
    """
    from vidxai.core.context import pixel_to_input
    from vidxai.core.explanation import Explanation
    from vidxai.core.scorer import Scorer
    from vidxai.session import check_seed, open_session, split_videos

    specs = resolve_metrics(metrics, ground_truth is not None)
    metric_params = split_params(specs, params)
    seed = check_seed(seed)
    exp = explanation if isinstance(explanation, Explanation) else None
    if target is None and exp is not None:
        target = exp.target
    videos, is_batch = split_videos(video)
    if is_batch and len(videos) != 1:
        raise InvalidInputError(
            f"evaluate scores one clip at a time; got a batch of {len(videos)} clips"
        )
    t_start = time.perf_counter()
    with open_session(
        model,
        videos,
        target=target,
        behaviour=behaviour,
        device=device,
        batch_size=batch_size,
        progress=progress,
    ) as session:
        classifier, dev, x = session.classifier, session.device, session.x
        attribution = check_attribution(explanation, x.shape[2:]).to(dev)
        if attribution.max() <= attribution.min():
            warnings.warn(
                "The attribution is constant: games use a random order, the pointing game "
                "misses, IoU is 0 and energy is NaN.",
                stacklevel=2,
            )
        gt = ground_truth_mask(ground_truth, x.shape[2:]) if ground_truth is not None else None
        resolved = session.targets[0]
        counting = session.engine.model
        scorer = Scorer(session.engine, resolved)
        inputs = MetricInputs(
            attribution=attribution,
            x=x,
            scorer=scorer,
            pixel_value=lambda v: pixel_to_input(
                v, classifier.mean.to(dev), classifier.std.to(dev)
            ),
            ground_truth=gt.to(dev) if gt is not None else None,
            model=classifier,
            explanation=exp,
            target=resolved.index,
            generator_seed=seed,
        )
        inputs.cache["intact"] = session.scores[0]
        scores: dict[str, Any] = {}
        curves: dict[str, dict[str, list[float]]] = {}
        details: dict[str, dict[str, Any]] = {}
        timings: dict[str, float] = {}
        for spec in specs:
            t0 = _now(dev)
            out = spec.fn(inputs, metric_params[spec.name])
            timings[spec.name] = _now(dev) - t0
            scores[spec.name] = out.score
            if out.curve is not None:
                curves[spec.name] = out.curve
            if out.extras:
                details[spec.name] = out.extras
    timings["total"] = time.perf_counter() - t_start
    timings["inference"] = counting.stopwatch.totals.get("inference", 0.0)
    resolved_params: dict[str, Any] = {
        name: {f.name: _jsonable(getattr(p, f.name)) for f in dataclasses.fields(p)}
        for name, p in metric_params.items()
    }
    resolved_params.update(
        target=resolved.index,
        target_name=resolved.name,
        behaviour=resolved.behaviour,
        seed=seed,
    )
    return EvaluationResult(
        scores=scores,
        curves=curves,
        params=resolved_params,
        timings=timings,
        n_forward=counting.n_forward,
        details=details,
        higher_is_better={s.name: s.higher_is_better for s in specs},
    )


def _now(dev: torch.device) -> float:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return time.perf_counter()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Tensor):
        return f"<tensor {tuple(value.shape)}>"
    if callable(value):
        return getattr(value, "__name__", repr(value))
    return value
