"""``vidxai report DIR``: the paper's tables and figures from a run folder.

Writes into ``DIR/report/`` (or ``out``): ``report.html`` (one offline page, HTML tables), and

* ``auc.csv`` — deletion and insertion AUC per method × model × dataset, mean and 95 % CI
  (REVEX Tables 4–5), with ``deletion_auc_*.png/.pdf`` and ``insertion_auc_*.png/.pdf`` bars and
  ``curves_*.png`` (mean game curves);
* ``minimal_mask.csv`` and ``minimal_mask_{deletion,insertion}_*.png/.pdf`` (Figs. 12–13);
* ``timings.csv`` and ``timings_*.png/.pdf`` — seconds per explanation split into
  segmentation / inference / explanation (Fig. 9);
* ``localisation.csv`` and ``pointing_*.png`` when the dataset has ground truth;
* ``temporal_*.png`` — whole-video temporal importance of sliding-window runs;
* ``failures.csv`` — every item with status ``error`` and its message;
* ``study.csv`` and ``study_*.png`` — user-study scores per method / model / dataset
  (Figs. 14–15) when a study database URL is given.

``*`` is ``<dataset>_<model>`` (file-name safe).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vidxai.errors import InvalidInputError
from vidxai.runner import summary as S

MAX_TEMPORAL_PLOTS = 12


def _safe(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", "_".join(parts)).strip("-")


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """Rows (dicts) to CSV, columns in first-seen order."""
    columns: list[str] = []
    for r in rows:
        columns.extend(k for k in r if k not in columns)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns or ["empty"])
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return path


def _both(plot: Any, path: Path, *args: Any, **kwargs: Any) -> list[Path]:
    """Draw a figure as PNG (for the page) and PDF (for papers)."""
    return [
        plot(path.with_suffix(".png"), *args, **kwargs),
        plot(path.with_suffix(".pdf"), *args, **kwargs),
    ]


def write_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    study: str | None = None,
    title: str | None = None,
    level: float = 0.95,
) -> Path:
    """Write the report of a run folder; returns the path of ``report.html``.

    Raises:
        VideoReadError: ``run_dir`` is not a run folder.
        InvalidInputError: the run has no rows yet.
    """
    from vidxai import viz
    from vidxai.runner.store import read_results

    run = Path(run_dir)
    rows = S.decode(read_results(run).to_pylist())
    if not rows:
        raise InvalidInputError(f"The run folder {run} has no finished item yet")
    folder = Path(out) if out is not None else run / "report"
    folder.mkdir(parents=True, exist_ok=True)
    ok = [r for r in rows if r.get("status") == "ok"]
    failed = [r for r in rows if r.get("status") != "ok"]
    sections: list[dict[str, Any]] = [_overview(run, rows, ok, failed, level)]
    files: list[Path] = []
    if ok:
        sections += _auc_sections(folder, ok, level, files)
        sections += _minimal_mask_sections(folder, ok, files)
        sections += _timing_sections(folder, ok, files)
        sections += _localisation_sections(folder, ok, level, files)
        sections += _temporal_sections(folder, run, files)
    if failed:
        table = [
            {k: r.get(k) for k in ("dataset", "video", "window", "model", "method", "error")}
            for r in failed
        ]
        files.append(write_csv(folder / "failures.csv", table))
        sections.append({"title": f"Failures ({len(failed)})", "table": table})
    if study is not None:
        sections += _study_sections(folder, study, files)
    sections.append({"title": "Files", "files": files})
    name = title or f"vidxai run report: {_run_name(run)}"
    return viz.write_html_report(folder, name, sections, subtitle=str(run.resolve()))


def _run_name(run: Path) -> str:
    import json

    plan = run / "plan.json"
    if plan.is_file():
        return str(json.loads(plan.read_text()).get("name") or run.name)
    return run.name


def _overview(
    run: Path, rows: list[Any], ok: list[Any], failed: list[Any], level: float
) -> dict[str, Any]:
    from vidxai.runner.store import run_status

    status = run_status(run) if (run / "rows").is_dir() else {"remaining": 0}
    text = (
        f"{len(rows)} items: {len(ok)} ok, {len(failed)} failed, {status['remaining']} "
        f"remaining.\n\nCells show the mean over clips with a {level:.0%} confidence interval "
        "of the mean: a Student-t interval clipped to the metric's bounds (marked † when "
        "clipped), the Wilson interval for hit rates (pointing game). Every method's games are "
        "scored on the target's probability, so methods compare. ↓ lower is better, ↑ higher "
        "is better."
    )
    return {"title": "Run", "text": text}


def _per_panel(ok: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, list[Any]]]:
    """(dataset, model) → method → rows."""
    panels: dict[tuple[str, str], dict[str, list[Any]]] = {}
    for (dataset, model, method), members in S.groups(ok).items():
        panels.setdefault((dataset, model), {})[method] = members
    return panels


def _auc_sections(
    folder: Path, ok: list[dict[str, Any]], level: float, files: list[Path]
) -> list[dict[str, Any]]:
    from vidxai import viz

    columns = [c for c in ("deletion", "insertion") if any(r.get(c) is not None for r in ok)]
    if not columns:
        return []
    table = S.metric_table(ok, columns, level)
    files.append(write_csv(folder / "auc.csv", table))
    images: list[Any] = []
    for (dataset, model), methods in _per_panel(ok).items():
        for column, better in (("deletion", "lower"), ("insertion", "higher")):
            values = {}
            for m, members in methods.items():
                ci = S.metric_ci(members, column, level)
                if ci is not None:
                    values[m] = _bar(ci)
            if values:
                path = folder / f"{column}_auc_{_safe(dataset, model)}"
                png, pdf = _both(
                    viz.plot_metric_bars,
                    path,
                    values,
                    ylabel=f"{column} AUC ({better} is better)",
                    title=f"{column} AUC — {dataset}, {model}",
                )
                images.append({"path": png, "caption": f"{column} AUC, {dataset} / {model}"})
                files.append(pdf)
        curves = {m: S.mean_curves(members) for m, members in methods.items()}
        curves = {m: c for m, c in curves.items() if c}
        if curves:
            png = viz.plot_deletion_insertion(
                folder / f"curves_{_safe(dataset, model)}.png",
                curves,
                title=f"Mean game curves — {dataset}, {model}",
            )
            images.append(
                {"path": png, "caption": f"deletion / insertion curves, {dataset} / {model}"}
            )
    return [
        {
            "title": "Deletion and insertion AUC (REVEX Tables 4–5)",
            "table": S.display(table, columns),
        },
        {"title": "Deletion and insertion figures", "images": images},
    ]


def _bar(ci: Any) -> dict[str, float]:
    """A bar for plot_metric_bars; a NaN end (a single clip) draws no error bar."""
    return {
        "mean": ci.mean,
        "low": ci.mean if math.isnan(ci.low) else min(ci.low, ci.mean),
        "high": ci.mean if math.isnan(ci.high) else max(ci.high, ci.mean),
    }


def _minimal_mask_sections(
    folder: Path, ok: list[dict[str, Any]], files: list[Path]
) -> list[dict[str, Any]]:
    from vidxai import viz

    table = S.minimal_mask_table(ok)
    if not table:
        return []
    files.append(write_csv(folder / "minimal_mask.csv", table))
    images: list[Any] = []
    panels: dict[tuple[str, str, str], dict[str, dict[float, Any]]] = {}
    for r in table:
        panel = panels.setdefault((r["dataset"], r["model"], r["game"]), {})
        panel.setdefault(r["method"], {})[r["threshold"]] = r["mean_fraction"]
    for (dataset, model, game), curves in panels.items():
        path = folder / f"minimal_mask_{game}_{_safe(dataset, model)}"
        png, pdf = _both(
            viz.plot_minimal_mask,
            path,
            curves,
            title=f"Minimal mask, {game} game — {dataset}, {model}",
        )
        images.append({"path": png, "caption": f"minimal mask ({game}), {dataset} / {model}"})
        files.append(pdf)
    shown = [
        {
            **{k: r[k] for k in ("dataset", "model", "method", "game", "threshold")},
            "mean fraction": r["mean_fraction"],
            "reached": f"{r['reached']}/{r['n']}",
        }
        for r in table
    ]
    return [
        {
            "title": "Minimal mask (REVEX Figs. 12–13)",
            "text": "The smallest fraction of the video that must be kept (deletion game: "
            "removed) to reach each score threshold, averaged over the clips that reach it.",
            "images": images,
        },
        {"title": "Minimal mask table", "table": shown},
    ]


def _timing_sections(
    folder: Path, ok: list[dict[str, Any]], files: list[Path]
) -> list[dict[str, Any]]:
    from vidxai import viz

    table = S.timing_table(ok)
    files.append(write_csv(folder / "timings.csv", table))
    images: list[Any] = []
    for (dataset, model), methods in _per_panel(ok).items():
        timings = {
            m: {p: [float(r.get(f"time_{p}") or 0.0) for r in members] for p in S.TIMING_PARTS}
            for m, members in methods.items()
        }
        path = folder / f"timings_{_safe(dataset, model)}"
        png, pdf = _both(
            viz.plot_timings, path, timings, title=f"Seconds per explanation — {dataset}, {model}"
        )
        images.append({"path": png, "caption": f"time breakdown, {dataset} / {model}"})
        files.append(pdf)
    return [{"title": "Time per explanation (REVEX Fig. 9)", "table": table, "images": images}]


def _localisation_sections(
    folder: Path, ok: list[dict[str, Any]], level: float, files: list[Path]
) -> list[dict[str, Any]]:
    from vidxai import viz

    columns = [c for c in S.LOCALISATION if any(r.get(c) is not None for r in ok)]
    if not columns:
        return []
    table = S.metric_table(ok, columns, level)
    files.append(write_csv(folder / "localisation.csv", table))
    images: list[Any] = []
    if "pointing_game" in columns:
        for (dataset, model), methods in _per_panel(ok).items():
            hits = {}
            for m, members in methods.items():
                ci = S.metric_ci(members, "pointing_game", level)
                if ci is not None:
                    hits[m] = _bar(ci)
            if hits:
                png = viz.plot_pointing(folder / f"pointing_{_safe(dataset, model)}.png", hits)
                images.append({"path": png, "caption": f"pointing game, {dataset} / {model}"})
    return [
        {
            "title": "Localisation against the ground truth",
            "table": S.display(table, columns),
            "images": images,
        }
    ]


def _temporal_sections(folder: Path, run: Path, files: list[Path]) -> list[dict[str, Any]]:
    from vidxai import viz
    from vidxai.runner.store import TEMPORAL

    if not (run / TEMPORAL).is_file():
        return []
    import pyarrow.parquet as pq

    rows = pq.read_table(run / TEMPORAL).to_pylist()
    files.append(write_csv(folder / "temporal.csv", rows))
    panels: dict[tuple[str, str, str], dict[str, list[tuple[int, float]]]] = {}
    for r in rows:
        panel = panels.setdefault((r["dataset"], r["video"], r["model"]), {})
        panel.setdefault(r["method"], []).append((r["frame"], r["importance"]))
    images: list[Any] = []
    for (dataset, video, model), methods in list(panels.items())[:MAX_TEMPORAL_PLOTS]:
        frames = sorted({f for pts in methods.values() for f, _ in pts})
        curves = {}
        for m, pts in methods.items():
            lookup = dict(pts)
            curves[m] = [lookup.get(f, 0.0) for f in frames]
        name = Path(video).name
        png = viz.plot_temporal_importance(
            folder / f"temporal_{_safe(dataset, name, model)}.png",
            curves,
            frame_indices=frames,
            title=f"Temporal importance — {name}, {model}",
        )
        images.append({"path": png, "caption": f"{dataset}: {video}"})
    return [
        {
            "title": "Whole-video temporal importance (sliding windows)",
            "text": "Each frame's share of the positive attribution, averaged over the windows "
            "covering it: where in the video the evidence lies.",
            "images": images,
        }
    ]


def _study_sections(folder: Path, url: str, files: list[Path]) -> list[dict[str, Any]]:
    """User-study ratings (−2 … 2) per method, per model, per dataset and per method × model ×
    dataset (REVEX Figs. 14–15), mean with a 95 % t-interval clipped to [−2, 2]."""
    from vidxai import viz
    from vidxai.runner.study_scores import study_scores
    from vidxai.stats import mean_ci

    scores = study_scores(url)
    table: list[dict[str, Any]] = []
    images: list[Any] = []
    for by, columns in (("method", (2,)), ("model", (1,)), ("dataset", (0,)), ("all", (0, 1, 2))):
        pooled: dict[tuple[str, ...], list[float]] = {}
        for group, ratings in scores.items():
            pooled.setdefault(tuple(group[c] for c in columns), []).extend(ratings)
        bars = {}
        for key, ratings in pooled.items():
            ci = mean_ci(ratings, bounds=(-2.0, 2.0))
            label = " / ".join(key)
            table.append(
                {
                    "by": by,
                    "group": label,
                    "ratings": ci.n,
                    "score": ci.format(),
                    "mean": ci.mean,
                    "low": ci.low,
                    "high": ci.high,
                }
            )
            bars[label] = _bar(ci)
        if bars and by != "all":
            png = viz.plot_metric_bars(
                folder / f"study_by_{by}.png",
                bars,
                ylabel="rating (−2 … 2, higher is better)",
                title=f"User study per {by}",
                ylim=(-2.0, 2.0),
            )
            images.append({"path": png, "caption": f"user-study ratings per {by}"})
    files.append(write_csv(folder / "study.csv", table))
    shown = [{k: r[k] for k in ("by", "group", "ratings", "score")} for r in table]
    return [{"title": "User study (REVEX Figs. 14–15)", "table": shown, "images": images}]
