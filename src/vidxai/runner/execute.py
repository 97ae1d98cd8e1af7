"""Run one work item: read its clip, explain, evaluate, and build its row (both backends).

A :class:`Worker` loads each model once (on first use) and is reused for every item; the local
backend has one, each Ray actor has one.
"""

from __future__ import annotations

import json
import time
import traceback
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vidxai.errors import TargetError, VidxaiError
from vidxai.runner.plan import WorkItem
from vidxai.runner.schema import Experiment
from vidxai.runner.sources import read_clip
from vidxai.runner.store import explanation_bytes

if TYPE_CHECKING:
    from vidxai.core.explanation import Explanation
    from vidxai.models.adapter import VideoClassifier


@dataclass
class Outcome:
    """The result of one item: its row and (ok items) its explanation.

    ``data`` holds the compressed explanation file when the worker serialised it (Ray actors
    do, so the driver only writes); else :meth:`payload` serialises ``explanation``.
    """

    row: dict[str, Any]
    data: bytes | None = None
    explanation: Explanation | None = None

    def payload(self) -> bytes | None:
        """The bytes of the item's explanation file (None for an error row)."""
        if self.data is None and self.explanation is not None:
            self.data = explanation_bytes(self.explanation)
            self.explanation = None
        return self.data


@dataclass(frozen=True)
class Clip:
    """An item's frames (``T×H×W×3`` uint8), ground truth (``T×H×W`` bool or None), and the
    seconds reading them took."""

    frames: np.ndarray
    mask: np.ndarray | None
    seconds: float


def mask_to_input(classifier: Any, mask: np.ndarray) -> np.ndarray:
    """Map a ground-truth mask on the original frames to the model input (``T×H×W`` bool).

    The mask goes through the classifier's own preprocessing (frame sampling, resize, crop) as
    a white-on-black video and is thresholded at one half.
    """
    if not getattr(classifier, "has_preprocessing", False):
        return np.asarray(mask, dtype=bool)
    frames = np.repeat(np.asarray(mask, dtype=np.uint8)[..., None] * 255, 3, axis=-1)
    x, _ = classifier.prepare(frames)
    pixels = x[0] * classifier.std[0] + classifier.mean[0]
    return (pixels > 0.5).cpu().numpy()


def default_device() -> str:
    """``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class Worker:
    """Executes items of one experiment; models are loaded once each, on first use."""

    def __init__(self, experiment: Experiment, device: str | None = None):
        self.experiment = experiment
        self.device = device or experiment.device or default_device()
        self._models: dict[int, VideoClassifier] = {}

    def model(self, index: int) -> VideoClassifier:
        if index not in self._models:
            from vidxai.runner.models import load_model_spec

            self._models[index] = load_model_spec(self.experiment.models[index])
        return self._models[index]

    def read(self, item: WorkItem) -> Clip:
        """Read an item's clip (raises VidxaiError for an unreadable video)."""
        if item.plan_error is not None:
            raise VidxaiError(item.plan_error)
        t0 = time.perf_counter()
        frames, mask, _ = read_clip(item.ref, self.experiment.clips, item.window)
        return Clip(frames, mask, time.perf_counter() - t0)

    def run(
        self, item: WorkItem, clip: Future[Clip] | None = None, *, serialise: bool = True
    ) -> Outcome:
        """Explain and evaluate one item; any failure becomes an ``error`` row (never raised).

        Args:
            item: the work item.
            clip: its clip being read in another thread (prefetch), or None to read it here.
            serialise: compress the explanation here (else the caller's :meth:`Outcome.payload`
                does, e.g. in a writer thread).
        """
        start = time.perf_counter()
        row = base_row(item, self.experiment)
        try:
            c = clip.result() if clip is not None else self.read(item)
            target = resolve_label(item.ref.label, self.model(item.model_index))
            exp = self._explain([c.frames], [target], item)[0]
            return self._finish(item, c, target, exp, row, start, serialise)
        except Exception as exc:  # the run goes on; the message is recorded
            return _failed(row, exc, start)

    def run_batch(
        self, items: list[WorkItem], clips: list[Future[Clip]], *, serialise: bool = True
    ) -> list[Outcome]:
        """Items sharing a model and a method, explained as one batch of clips by the engine
        (for methods registered ``batched=True``), then evaluated one by one.

        Items whose clip or label fails become error rows; if the batch itself fails, every item
        is explained alone, so one bad clip never costs the others.
        """
        start = time.perf_counter()
        outcomes: dict[int, Outcome] = {}
        ready: list[tuple[int, Clip, int | None]] = []
        for i, (item, clip) in enumerate(zip(items, clips)):
            try:
                target = resolve_label(item.ref.label, self.model(item.model_index))
                ready.append((i, clip.result(), target))
            except Exception as exc:
                outcomes[i] = _failed(base_row(item, self.experiment), exc, start)
        if ready:
            try:
                exps = self._explain(
                    [c.frames for _, c, _ in ready], [t for _, _, t in ready], items[ready[0][0]]
                )
            except Exception:  # isolate the failing clip(s): one by one
                for i, c, _ in ready:
                    done: Future[Clip] = Future()
                    done.set_result(c)
                    outcomes[i] = self.run(items[i], done, serialise=serialise)
            else:
                for (i, c, target), exp in zip(ready, exps):
                    row = base_row(items[i], self.experiment)
                    try:
                        outcomes[i] = self._finish(items[i], c, target, exp, row, start, serialise)
                    except Exception as exc:
                        outcomes[i] = _failed(row, exc, start)
        return [outcomes[i] for i in range(len(items))]

    def _explain(
        self, frames: list[np.ndarray], targets: list[int | None], item: WorkItem
    ) -> list[Explanation]:
        """Explain clips of one model and method (one clip, or a batch)."""
        import vidxai

        exps = vidxai.explain(
            self.model(item.model_index),
            frames if len(frames) > 1 else frames[0],
            method=item.method,
            target=targets if len(targets) > 1 else targets[0],
            seed=item.seed,
            device=self.device,
            batch_size=self.experiment.batch_size,
            progress=False,
            **item.params,
        )
        return exps if isinstance(exps, list) else [exps]

    def _finish(
        self,
        item: WorkItem,
        clip: Clip,
        target: int | None,
        exp: Explanation,
        row: dict[str, Any],
        start: float,
        serialise: bool,
    ) -> Outcome:
        """Evaluate one explanation and complete its row."""
        self._evaluate(item, clip, target, exp, row)
        row["status"] = "ok"
        outcome = Outcome(row, explanation=exp)
        if serialise:
            outcome.payload()
        row["time_item"] = time.perf_counter() - start
        return outcome

    def _evaluate(
        self, item: WorkItem, clip: Clip, target: int | None, exp: Explanation, row: dict[str, Any]
    ) -> None:
        from vidxai.metrics.evaluate import evaluate, resolve_metrics

        exp_cfg = self.experiment
        frames, mask = clip.frames, clip.mask
        row["time_read"] = clip.seconds
        classifier = self.model(item.model_index)
        row.update(explanation_columns(exp))
        row["label"] = target
        # every method is scored on the same behaviour (the probability for classifiers), so
        # the games of gradient methods (explained on logits) compare with the others
        metric_behaviour = None if exp.behaviour == "identity" else "probability"
        row["metric_behaviour"] = metric_behaviour or "identity"
        gt = mask_to_input(classifier, mask) if mask is not None else None
        specs = resolve_metrics(exp_cfg.metrics, True) if exp_cfg.metrics != () else []
        names = [s.name for s in specs if gt is not None or not s.needs_ground_truth]
        if names:
            t1 = time.perf_counter()
            ev = evaluate(
                classifier,
                frames,
                exp,
                metrics=names,
                ground_truth=gt,
                seed=item.seed,
                device=self.device,
                batch_size=exp_cfg.batch_size,
                behaviour=metric_behaviour,
                **_metric_params(exp_cfg.metric_params, specs, names),
            )
            row["time_evaluation"] = time.perf_counter() - t1
            row.update(ev.flat_scores())
            for name in ("minimal_mask", "minimal_mask_insertion"):
                if name in ev.scores:
                    row[name] = {f"{k:g}": v for k, v in ev.scores[name].items()}
            row["curves"] = ev.curves
        if item.sliding and item.window is not None and exp.geometry is not None:
            from vidxai.runner.temporal import frame_mass

            n = item.window[1] - item.window[0]
            row["frame_mass"] = frame_mass(exp.attribution, exp.geometry.frame_indices, n)


def _failed(row: dict[str, Any], exc: BaseException, start: float) -> Outcome:
    row["status"] = "error"
    row["error"] = error_message(exc)
    row["time_item"] = time.perf_counter() - start
    return Outcome(row)


def _metric_params(params: dict[str, Any], specs: list[Any], names: list[str]) -> dict[str, Any]:
    """The metric parameters some metric in ``names`` declares (others belong to a skipped
    ground-truth metric)."""
    taken = {p for s in specs if s.name in names for p in s.param_names()}
    return {k: v for k, v in params.items() if k in taken}


def resolve_label(label: int | str | None, classifier: Any) -> int | None:
    """A label (class index or name) → the class index to explain (None → top-1)."""
    if label is None or isinstance(label, int):
        return label
    names = list(classifier.class_names or [])
    if label in names:
        return names.index(label)
    from vidxai.errors import unknown_name

    if not names:
        raise TargetError(f"The label {label!r} is a class name but the model has no class names")
    raise TargetError(str(unknown_name("class name", label, names)))


def base_row(item: WorkItem, experiment: Experiment) -> dict[str, Any]:
    """The columns known before running: identity of the item."""
    model = experiment.models[item.model_index]
    return {
        "key": item.key,
        "dataset": item.ref.dataset,
        "video": item.ref.video,
        "window": item.window_label,
        "window_start": item.window[0] if item.window else None,
        "window_end": item.window[1] if item.window else None,
        "synthetic_seed": item.ref.synthetic_seed,
        "model": model.name,
        "weights": model.weights,
        "method": item.method,
        "params": item.resolved,
        "seed": item.seed,
        "label": item.ref.label if isinstance(item.ref.label, int) else None,
        "error": None,
    }


def explanation_columns(exp: Explanation) -> dict[str, Any]:
    """The row's columns taken from an Explanation (target, score, passes, timings)."""
    return {
        "target": exp.target,
        "target_name": exp.target_name,
        "behaviour": exp.behaviour,
        "score": exp.score,
        "n_forward": exp.n_forward,
        "n_backward": exp.n_backward,
        **{f"time_{k}": float(exp.timings.get(k, 0.0)) for k in ("segmentation", "inference")},
        "time_explanation": float(exp.timings.get("explanation", 0.0)),
        "time_total": float(exp.timings.get("total", sum(exp.timings.values()))),
    }


def error_message(exc: BaseException) -> str:
    """One line for a vidxai error; type, message and the last frame for anything else."""
    if isinstance(exc, VidxaiError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def decode_json_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A row read from parquet with its JSON text columns decoded."""
    from vidxai.runner.store import JSON_COLUMNS

    out = dict(row)
    for c in JSON_COLUMNS:
        if isinstance(out.get(c), str):
            out[c] = json.loads(out[c])
    return out
