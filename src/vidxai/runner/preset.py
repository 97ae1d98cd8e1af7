"""``vidxai benchmark`` as a preset of the runner: a synthetic (or listed) dataset × methods."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidxai.errors import ParameterError
from vidxai.runner.schema import (
    DEFAULT_SYNTHETIC_SEED,
    DatasetSpec,
    Experiment,
    MethodEntry,
    ModelSpec,
)


def benchmark_experiment(
    model: str,
    out: Path,
    *,
    weights: str | None = None,
    methods: Sequence[str] | None = None,
    clips: int | None = None,
    clip_seed: int = DEFAULT_SYNTHETIC_SEED,
    videos: Sequence[Path] = (),
    metrics: Sequence[str] | None = None,
    metric_params: dict[str, Any] | None = None,
    method_params: dict[str, dict[str, Any]] | None = None,
    quick: bool = False,
    seed: int = 0,
    device: str | None = None,
    batch_size: int | str = "auto",
) -> Experiment:
    """The experiment ``vidxai benchmark`` runs: ``clips`` synthetic clips (true class as target,
    actor mask as ground truth) or the given ``videos`` (top-1 target), every method (or
    ``methods``) with its defaults, its quick settings (``quick``) and ``method_params``.

    The videos are listed in ``out/videos.csv`` (a ``csv`` dataset). Validation is that of an
    experiment file: unknown names and bad parameters raise before any work.
    """
    from vidxai.core.registry import get_method, list_methods
    from vidxai.metrics.evaluate import resolve_metrics, split_params
    from vidxai.models.zoo import list_models

    if (clips is None) == (not videos):
        raise ParameterError(
            "Give either --clips N (synthetic ground-truth clips) or --videos PATH "
            "(repeatable), not both and not neither"
        )
    if model not in {m.name for m in list_models()}:
        from vidxai.errors import unknown_name

        raise unknown_name("model", model, [m.name for m in list_models()])
    names = list(methods) if methods else [s.name for s in list_methods()]
    per_method = dict(method_params or {})
    unknown = sorted(set(per_method) - set(names))
    if unknown:
        raise ParameterError(f"--method-param names methods not benchmarked: {unknown}")
    entries = []
    for name in names:
        spec = get_method(name)
        params = {**(spec.quick_params if quick else {}), **per_method.get(name, {})}
        spec.parse_params(dict(params))
        entries.append(MethodEntry(spec.name, params))
    specs = resolve_metrics(list(metrics) if metrics else None, clips is not None)
    split_params(specs, dict(metric_params or {}))
    out.mkdir(parents=True, exist_ok=True)
    if clips is not None:
        dataset = DatasetSpec("synthetic", "synthetic", clips=clips, seed=clip_seed)
    else:
        listing = out / "videos.csv"
        listing.write_text("path\n" + "".join(f"{Path(v).resolve()}\n" for v in videos))
        dataset = DatasetSpec("videos", "csv", path=listing)
    return Experiment(
        name=f"benchmark-{model}",
        datasets=(dataset,),
        models=(ModelSpec(model, weights=weights),),
        methods=tuple(entries),
        metrics=tuple(s.name for s in specs) if metrics else None,
        metric_params=dict(metric_params or {}),
        seed=seed,
        out=out,
        batch_size=batch_size,
        device=device,
    )
