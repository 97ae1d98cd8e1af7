"""From an experiment to work items: one per (dataset, video, window, model, method).

Each item has a stable ``key``: the first 20 hex digits of the SHA-256 of the canonical JSON of
(dataset name, video id, window, model name / weights / module / options, method, the method's
resolved parameters, seed). Rerunning the same file therefore gives the same keys, and changing
any of these (a parameter, the seed, a window) gives new ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from vidxai.errors import VidxaiError
from vidxai.runner.schema import Experiment, ModelSpec
from vidxai.runner.sources import VideoRef, count_frames, list_videos, windows


@dataclass(frozen=True)
class WorkItem:
    """One explanation to compute (picklable: it travels to Ray workers).

    Attributes:
        key: stable hash (see the module docstring).
        ref: the video.
        window: ``(start, end)`` original frames, or None for the whole video.
        model_index: index into ``Experiment.models``.
        method: registered method name.
        params: the method's parameters as written in the file.
        resolved: every resolved parameter of the method (JSON-able).
        seed: the experiment's seed.
        sliding: True when the window is one of a sliding-window series.
        plan_error: why the item could not be planned (e.g. the video cannot be read to count
            its frames); the item is then recorded as an error.
    """

    key: str
    ref: VideoRef
    window: tuple[int, int] | None
    model_index: int
    method: str
    params: dict[str, Any]
    resolved: dict[str, Any]
    seed: int
    sliding: bool = False
    plan_error: str | None = None

    @property
    def window_label(self) -> str:
        """``"start:end"``, ``"all"`` or ``"sliding"`` (an unplanned sliding series)."""
        if self.window is None:
            return "sliding" if self.sliding else "all"
        return f"{self.window[0]}:{self.window[1]}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def resolved_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every parameter of ``method`` with ``params`` applied (JSON-able)."""
    from vidxai.core.registry import get_method

    parsed = get_method(method).parse_params(dict(params))
    return _jsonable({f.name: getattr(parsed, f.name) for f in dataclasses.fields(parsed)})


def model_identity(model: ModelSpec) -> dict[str, Any]:
    """What identifies a model in the key: name, weights, module, options, num_classes."""
    return _jsonable(model.to_dict())


def item_key(
    dataset: str,
    video_id: str,
    window: str,
    model: ModelSpec,
    method: str,
    resolved: dict[str, Any],
    seed: int,
) -> str:
    """The stable key of one item (see the module docstring)."""
    payload = {
        "dataset": dataset,
        "video": video_id,
        "window": window,
        "model": model_identity(model),
        "method": method,
        "params": resolved,
        "seed": seed,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def plan_items(experiment: Experiment) -> list[WorkItem]:
    """Every item of the experiment, ordered by model, then method, then dataset, video, window
    (so one model's items run together and items of one method can be batched)."""
    methods = [(m.name, m.params, resolved_params(m.name, m.params)) for m in experiment.methods]
    clips = experiment.clips
    per_video: list[tuple[VideoRef, list[tuple[int, int] | None], str | None]] = []
    for dataset in experiment.datasets:
        for ref in list_videos(dataset):
            if clips.mode != "sliding":
                per_video.append((ref, windows(clips, None), None))
                continue
            try:
                per_video.append((ref, windows(clips, count_frames(ref)), None))
            except VidxaiError as exc:
                per_video.append((ref, [None], str(exc)))
    items = []
    for m_index, model in enumerate(experiment.models):
        for method, params, resolved in methods:
            for ref, wins, error in per_video:
                for win in wins:
                    item = WorkItem(
                        key="",
                        ref=ref,
                        window=win,
                        model_index=m_index,
                        method=method,
                        params=dict(params),
                        resolved=resolved,
                        seed=experiment.seed,
                        sliding=clips.mode == "sliding",
                        plan_error=error,
                    )
                    key = item_key(
                        ref.dataset,
                        ref.video_id,
                        item.window_label,
                        model,
                        method,
                        resolved,
                        experiment.seed,
                    )
                    items.append(dataclasses.replace(item, key=key))
    return items
