"""Methods × clips: explain each clip with each method, evaluate each explanation, tabulate.

:func:`run_benchmark` returns a :class:`BenchmarkResult` (one row per method × clip, plus the
curves and timings grouped per method); :func:`write_benchmark` writes ``results.csv``,
``summary.csv`` / ``summary.md`` (mean and 95 % interval per method) and the plots (through
:mod:`vidxai.viz`, the only module that draws) and ``report.html``.
"""

from __future__ import annotations

import csv
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidxai.errors import InvalidInputError

#: Summary columns with the direction that makes a method better.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("deletion", "lower"),
    ("insertion", "higher"),
    ("average_drop", "lower"),
    ("increase_in_confidence", "higher"),
    ("pointing_game", "higher"),
    ("iou", "higher"),
    ("energy", "higher"),
    ("n_forward", ""),
    ("time_total", ""),
)
TIMING_PARTS = ("segmentation", "inference", "explanation")


@dataclass(frozen=True)
class BenchmarkClip:
    """One clip to explain.

    Attributes:
        name: shown in the tables.
        frames: ``T×H×W×3`` uint8 (the original video).
        target: class to explain (None → the model's top-1).
        mask: ``T×H×W`` bool ground truth on ``frames`` (None → no localisation metrics).
    """

    name: str
    frames: np.ndarray
    target: int | None = None
    mask: np.ndarray | None = None


@dataclass
class BenchmarkResult:
    """Everything measured.

    Attributes:
        rows: one dict per method × clip: method, clip, target, correct (top-1 = target),
            score, n_forward, n_backward, time_segmentation / time_inference /
            time_explanation / time_total, eval_seconds, and every flattened metric score
            (``minimal_mask@0.5`` …).
        curves: method → ``{"deletion": {"fractions": [...], "scores": [[clip 1], …]},
            "insertion": …}``.
        minimal_masks: method → ``{"deletion" | "insertion": {threshold: [fraction or None
            per clip]}}``.
        skipped: method → reason, for methods that cannot run on the model.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    minimal_masks: dict[str, dict[str, dict[float, list[float | None]]]] = field(
        default_factory=dict
    )
    skipped: dict[str, str] = field(default_factory=dict)

    def methods(self) -> list[str]:
        return list(dict.fromkeys(r["method"] for r in self.rows))

    def column(self, method: str, name: str) -> list[float]:
        """Finite values of ``name`` over the method's clips (bools as 0/1)."""
        out = []
        for r in self.rows:
            if r["method"] == method and r.get(name) is not None:
                v = float(r[name])
                if math.isfinite(v):
                    out.append(v)
        return out

    def summary(self) -> list[dict[str, Any]]:
        """Per method: mean and 95 % half-width (normal, of the mean) of each summary column."""
        table = []
        for method in self.methods():
            row: dict[str, Any] = {"method": method, "clips": len(self.column(method, "score"))}
            for name, _ in SUMMARY_COLUMNS:
                mean, half = mean_ci(self.column(method, name))
                row[name] = mean
                row[f"{name}_ci95"] = half
            table.append(row)
        return table


def mean_ci(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and the half-width of its normal 95 % interval (None for too few values)."""
    if not values:
        return None, None
    arr = np.asarray(values, dtype=np.float64)
    if arr.size < 2:
        return float(arr.mean()), None
    return float(arr.mean()), float(1.96 * arr.std(ddof=1) / math.sqrt(arr.size))


def synthetic_clips(n: int, seed: int = 20_000_000) -> list[BenchmarkClip]:
    """``n`` clips of the synthetic ground-truth benchmark (true class as target, actor mask).

    The default seeds lie outside the demo model's training and held-out ranges.
    """
    from vidxai.data.synthetic import make_dataset

    data = make_dataset(n, seed)
    return [BenchmarkClip(f"synthetic-{c.seed}", c.frames, c.label, c.mask) for c in data]


def video_clips(paths: Iterable[str | Path]) -> list[BenchmarkClip]:
    """Clips read from video files or frame folders (top-1 target, no ground truth)."""
    from vidxai.video import read_video

    return [BenchmarkClip(Path(p).name, read_video(p).frames) for p in paths]


def mask_to_input(classifier: Any, mask: np.ndarray) -> np.ndarray:
    """Map a ground-truth mask on the original frames to the model input (T×H×W bool).

    The mask goes through the classifier's own preprocessing (frame sampling, resize, crop) as
    a white-on-black video and is thresholded at one half.
    """
    if not getattr(classifier, "has_preprocessing", False):
        return np.asarray(mask, dtype=bool)
    frames = np.repeat(np.asarray(mask, dtype=np.uint8)[..., None] * 255, 3, axis=-1)
    x, _ = classifier.prepare(frames)
    pixels = x[0] * classifier.std[0] + classifier.mean[0]
    return (pixels > 0.5).cpu().numpy()


def run_benchmark(
    model: Any,
    methods: Sequence[str],
    clips: Sequence[BenchmarkClip],
    *,
    metrics: Sequence[str] | None = None,
    metric_params: dict[str, Any] | None = None,
    method_params: dict[str, dict[str, Any]] | None = None,
    quick: bool = False,
    seed: int = 0,
    device: str | None = None,
    batch_size: int | str = "auto",
    log: Any = None,
) -> BenchmarkResult:
    """Explain every clip with every method and evaluate each explanation.

    Args:
        model: a VideoClassifier or zoo name.
        methods: registered method names.
        clips: what to explain.
        metrics: metric names (None → the defaults, plus localisation for clips with a mask).
        metric_params: parameters for :func:`vidxai.evaluate` (``n_steps``, ``fill`` …).
        method_params: method → its parameters (overrides ``quick``).
        quick: start from each method's ``quick_params`` (fast settings for smoke runs).
        seed: seed of every explanation and evaluation.
        log: callable taking one line of progress text (e.g. ``click.echo``), or None.

    Returns:
        :class:`BenchmarkResult`.
    """
    import vidxai
    from vidxai.api import resolve_model
    from vidxai.errors import UnsupportedModelError
    from vidxai.metrics.evaluate import evaluate

    if not clips:
        raise InvalidInputError("The benchmark needs at least one clip")
    classifier = resolve_model(model)
    specs = [vidxai.get_method(m) for m in methods]
    method_params = method_params or {}
    result = BenchmarkResult()
    for c_idx, clip in enumerate(clips):
        gt = mask_to_input(classifier, clip.mask) if clip.mask is not None else None
        predicted = top1(classifier, clip.frames, device)
        for spec in specs:
            if spec.name in result.skipped:
                continue
            params = {**(spec.quick_params if quick else {}), **method_params.get(spec.name, {})}
            try:
                exp = vidxai.explain(
                    classifier,
                    clip.frames,
                    method=spec.name,
                    target=clip.target,
                    seed=seed,
                    device=device,
                    batch_size=batch_size,
                    progress=False,
                    **params,
                )
            except UnsupportedModelError as exc:
                result.skipped[spec.name] = str(exc)
                if log:
                    log(f"  {spec.name}: skipped ({exc})")
                continue
            t0 = time.perf_counter()
            ev = evaluate(
                classifier,
                clip.frames,
                exp,
                metrics=metrics,
                ground_truth=gt,
                seed=seed,
                device=device,
                batch_size=batch_size,
                **(metric_params or {}),
            )
            row = _row(spec.name, clip, exp, ev, time.perf_counter() - t0, predicted)
            result.rows.append(row)
            _collect(result, spec.name, ev)
            if log:
                log(f"  [{c_idx + 1}/{len(clips)}] {spec.name:<22} " + _brief(row))
    return result


def top1(classifier: Any, frames: np.ndarray, device: str | None) -> int | None:
    """The model's top-1 class on the clip (None for a regression output)."""
    import torch

    from vidxai.api import resolve_device, resolve_video
    from vidxai.core.hooks import eval_mode, preserved_device

    dev = resolve_device(device, classifier)
    x, _ = resolve_video(frames, classifier, dev)
    with preserved_device(classifier, dev), eval_mode(classifier), torch.no_grad():
        out = classifier(x)
    return int(out.argmax(-1)[0]) if out.ndim == 2 and out.shape[1] > 1 else None


def _row(
    method: str, clip: BenchmarkClip, exp: Any, ev: Any, eval_seconds: float, predicted: Any
) -> dict[str, Any]:
    return {
        "method": method,
        "clip": clip.name,
        "target": exp.target,
        "target_name": exp.target_name,
        "predicted": predicted,
        "correct": None if clip.target is None else predicted == clip.target,
        "score": exp.score,
        "n_forward": exp.n_forward,
        "n_backward": exp.n_backward,
        **{f"time_{k}": exp.timings.get(k, 0.0) for k in (*TIMING_PARTS, "total")},
        "eval_seconds": eval_seconds,
        "eval_n_forward": ev.n_forward,
        **ev.flat_scores(),
    }


def _collect(result: BenchmarkResult, method: str, ev: Any) -> None:
    per_method = result.curves.setdefault(method, {})
    for game in ("deletion", "insertion"):
        if game in ev.curves:
            entry = per_method.setdefault(
                game, {"fractions": ev.curves[game]["fractions"], "scores": [], "auc": []}
            )
            if entry["fractions"] == ev.curves[game]["fractions"]:
                entry["scores"].append(ev.curves[game]["scores"])
            entry["auc"].append(ev.scores[game])
    masks = result.minimal_masks.setdefault(method, {})
    for name, game in (("minimal_mask", "deletion"), ("minimal_mask_insertion", "insertion")):
        if name in ev.scores:
            table = masks.setdefault(game, {})
            for th, frac in ev.scores[name].items():
                table.setdefault(th, []).append(frac)


def _brief(row: dict[str, Any]) -> str:
    parts = []
    for key in ("deletion", "insertion", "pointing_game", "n_forward", "time_total"):
        v = row.get(key)
        if isinstance(v, bool):
            parts.append(f"{key}={'hit' if v else 'miss'}")
        elif isinstance(v, float):
            parts.append(f"{key}={v:.3f}")
        elif v is not None:
            parts.append(f"{key}={v}")
    return " ".join(parts)


# ----------------------------------------------------------------------------------- output


def markdown_table(summary: list[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The summary as a Markdown table of ``mean ± half-width`` cells."""
    names = [c for c, _ in SUMMARY_COLUMNS] if columns is None else list(columns)
    names = [n for n in names if any(r.get(n) is not None for r in summary)]
    arrows = {c: {"lower": " ↓", "higher": " ↑"}.get(d, "") for c, d in SUMMARY_COLUMNS}
    head = "| method | clips | " + " | ".join(f"{n}{arrows.get(n, '')}" for n in names) + " |"
    lines = [head, "|" + "---|" * (len(names) + 2)]
    for r in summary:
        cells = []
        for n in names:
            mean, half = r.get(n), r.get(f"{n}_ci95")
            if mean is None:
                cells.append("–")
            elif n == "n_forward":
                cells.append(f"{mean:.0f}")
            else:
                cells.append(f"{mean:.3f}" + (f" ± {half:.3f}" if half is not None else ""))
        lines.append(f"| {r['method']} | {r['clips']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def minimal_mask_table(result: BenchmarkResult, game: str) -> str:
    """Markdown: mean minimal-mask fraction per method and threshold (clips reaching it / all)."""
    tables = {m: t[game] for m, t in result.minimal_masks.items() if game in t}
    if not tables:
        return ""
    thresholds = sorted({th for t in tables.values() for th in t})
    lines = [
        "| method | "
        + " | ".join(f"p {'≤' if game == 'deletion' else '≥'} {th:g}" for th in thresholds)
        + " |",
        "|---|" + "---|" * len(thresholds),
    ]
    for method, table in tables.items():
        cells = []
        for th in thresholds:
            fracs = table.get(th, [])
            reached = [f for f in fracs if f is not None]
            if not reached:
                cells.append(f"– (0/{len(fracs)})")
            else:
                suffix = "" if len(reached) == len(fracs) else f" ({len(reached)}/{len(fracs)})"
                cells.append(f"{np.mean(reached):.3f}{suffix}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def timing_table(result: BenchmarkResult) -> str:
    """Markdown: mean seconds per explanation split as in REVEX Fig. 9, and passes."""
    lines = [
        "| method | segmentation s | inference s | explanation s | total s | forward | backward |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in result.methods():
        cells = [mean_ci(result.column(m, f"time_{p}"))[0] or 0.0 for p in (*TIMING_PARTS, "total")]
        fwd = mean_ci(result.column(m, "n_forward"))[0] or 0.0
        bwd = mean_ci(result.column(m, "n_backward"))[0] or 0.0
        lines.append(
            f"| {m} | " + " | ".join(f"{c:.3f}" for c in cells) + f" | {fwd:.0f} | {bwd:.0f} |"
        )
    return "\n".join(lines)


def _mean_masks(tables: dict[float, list[float | None]]) -> dict[float, float | None]:
    """Mean fraction over the clips that reach each threshold (None if none does)."""
    out: dict[float, float | None] = {}
    for th, fracs in tables.items():
        reached = [f for f in fracs if f is not None]
        out[th] = float(np.mean(reached)) if reached else None
    return out


def write_benchmark(result: BenchmarkResult, out_dir: str | Path, title: str = "") -> list[Path]:
    """Write ``results.csv``, ``summary.csv``, ``summary.md``, plots and ``report.html``."""
    from vidxai import viz

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [_write_csv(out / "results.csv", result.rows)]
    summary = result.summary()
    written.append(_write_csv(out / "summary.csv", summary))
    table = markdown_table(summary)
    parts = [table, timing_table(result)]
    parts += [minimal_mask_table(result, g) for g in ("deletion", "insertion")]
    (out / "summary.md").write_text("\n\n".join(p for p in parts if p) + "\n")
    written.append(out / "summary.md")
    methods = result.methods()
    images: list[Any] = []
    if not methods:
        return written
    for name, label in (
        ("deletion", "deletion AUC (lower is better)"),
        ("insertion", "insertion AUC (higher is better)"),
    ):
        values = {m: result.column(m, name) for m in methods if result.column(m, name)}
        if values:
            images.append(
                viz.plot_metric_bars(
                    out / f"{name}_auc.png",
                    values,
                    ylabel=label,
                    title=f"{name} AUC, mean and 95 % CI",
                )
            )
    curves = {m: c for m, c in result.curves.items() if c}
    if curves:
        images.append(
            viz.plot_deletion_insertion(
                out / "curves.png", curves, title="Mean game curves (95 % band)"
            )
        )
    for game in ("deletion", "insertion"):
        masks = {m: _mean_masks(t[game]) for m, t in result.minimal_masks.items() if game in t}
        if masks:
            images.append(
                viz.plot_minimal_mask(
                    out / f"minimal_mask_{game}.png",
                    masks,
                    title=f"Minimal mask, {game} game (mean over clips reaching each threshold)",
                )
            )
    timings = {m: {p: result.column(m, f"time_{p}") for p in TIMING_PARTS} for m in methods}
    images.append(
        viz.plot_timings(
            out / "timings.png", timings, title="Seconds per explanation (REVEX Fig. 9)"
        )
    )
    hits = {
        m: result.column(m, "pointing_game") for m in methods if result.column(m, "pointing_game")
    }
    if hits:
        images.append(viz.plot_pointing(out / "pointing.png", hits))
    written.extend(images)
    sections = [
        {
            "title": "Summary",
            "text": "Mean over clips with the 95 % interval of the mean.",
            "code": "\n\n".join(p for p in parts if p),
        },
        {"title": "Plots", "images": images},
        {"title": "Per clip", "table": result.rows, "files": [out / "results.csv"]},
    ]
    if result.skipped:
        sections.append(
            {
                "title": "Skipped methods",
                "table": [{"method": m, "reason": r} for m, r in result.skipped.items()],
            }
        )
    written.append(viz.write_html_report(out, title or "vidxai benchmark", sections))
    return written


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns or ["method"])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return path
