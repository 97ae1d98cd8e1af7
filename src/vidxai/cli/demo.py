"""``vidxai demo``: every registered method on a few benchmark clips with the bundled model."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import click

from vidxai.cli._common import write_summary

_GAME_METRICS = ("deletion", "insertion", "pointing_game")


def _evaluate(model: Any, clip: Any, explanation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deletion/insertion AUC and the pointing game against the clip's evidence mask.

    Returns ``(scores, curves)``.
    """
    from vidxai.metrics import evaluate

    result = evaluate(
        model, clip.frames, explanation, metrics=list(_GAME_METRICS), ground_truth=clip.mask
    )
    return {name: result.scores.get(name) for name in _GAME_METRICS}, dict(result.curves)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "hit" if value else "miss"
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


def run_demo(
    out_dir: Path,
    n_clips: int = 3,
    methods: list[str] | None = None,
    progress: bool = True,
    quick: bool = False,
) -> list[dict[str, Any]]:
    """Explain ``n_clips`` synthetic benchmark clips with every method; write files and a table.

    Methods run with their default parameters, except where a method declares ``demo_params``
    (e.g. fewer optimisation iterations); ``quick=True`` uses each method's ``quick_params``
    instead (a smoke run in seconds).

    Returns the summary rows (one per method × clip).
    """
    import vidxai
    from vidxai import viz as vz
    from vidxai.data.synthetic import CLASS_NAMES, make_clip
    from vidxai.errors import UnsupportedModelError
    from vidxai.models.zoo import load_model

    model = load_model("vidxai-demo")
    specs = [vidxai.get_method(m) for m in methods] if methods else vidxai.list_methods()
    out_dir.mkdir(parents=True, exist_ok=True)
    options = vz.VizOptions()
    rows: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    for i in range(n_clips):
        clip = make_clip(i)
        maps: dict[str, Any] = {}
        curves: dict[str, Any] = {}
        gifs: list[dict[str, Any]] = []
        for spec in specs:
            settings = spec.quick_params if quick else spec.demo_params
            if settings and i == 0 and progress:
                defaults = {p.name: p.default for p in spec.param_info()}
                changed = ", ".join(f"{k}={v} (default {defaults[k]})" for k, v in settings.items())
                click.echo(f"  {spec.name}: the demo uses {changed} to stay fast")
            start = time.perf_counter()
            try:
                exp = vidxai.explain(
                    model, clip.frames, method=spec.name, progress=False, **settings
                )
            except UnsupportedModelError as exc:
                click.echo(f"  {spec.name}: skipped ({exc})")
                continue
            seconds = time.perf_counter() - start
            stem = f"clip{i}_{spec.name}"
            exp.save(out_dir / f"{stem}.pt")
            write_summary(exp, out_dir / f"{stem}.json")
            maps[spec.name] = exp
            gif = vz.save_overlay(out_dir / f"{stem}.gif", clip.frames, exp, 8.0, options)
            gifs.append({"path": gif.name, "caption": spec.name})
            scores, curves[spec.name] = _evaluate(model, clip, exp)
            row = {
                "clip": i,
                "label": clip.label,
                "method": spec.name,
                "target": exp.target_name or exp.target,
                "score": exp.score,
                "n_forward": exp.n_forward,
                "n_backward": exp.n_backward,
                "seconds": seconds,
                **scores,
                "gif": gif.name,
            }
            rows.append(row)
            if progress:
                click.echo("  " + "  ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k != "gif"))
        grid = vz.frame_grid(out_dir / f"clip{i}_grid.png", clip.frames, maps, options=options)
        games = vz.plot_deletion_insertion(
            out_dir / f"clip{i}_games.png", curves, title=f"clip {i}: deletion / insertion"
        )
        sections.append(
            {
                "title": f"Clip {i}: true class {CLASS_NAMES[clip.label]}",
                "text": "Rows: methods; columns: sampled frames. The evidence is the red square "
                "while it moves; the coloured discs are distractors.",
                "images": [grid, games, *gifs],
            }
        )
    table = out_dir / "summary.csv"
    with table.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["method"])
        writer.writeheader()
        writer.writerows(rows)
    sections.insert(
        0,
        {
            "title": "Summary (mean over clips)",
            "text": "deletion: AUC of the target probability as the most relevant voxels are "
            "removed (lower is better); insertion: as they are restored (higher is better); "
            "pointing_game: share of clips whose attribution peak lies on the evidence.",
            "table": _mean_rows(rows),
        },
    )
    vz.write_html_report(out_dir, "vidxai demo", sections)
    return rows


@click.command("demo")
@click.option(
    "--out", "out_dir", default="vidxai-demo", show_default=True, type=click.Path(path_type=Path)
)
@click.option("--clips", "n_clips", default=3, show_default=True, type=click.IntRange(1, 64))
@click.option("--methods", default=None, help="Comma-separated subset (default: every method).")
@click.option("--quick", is_flag=True, help="Tiny settings for every method (a smoke run).")
@click.option("--quiet", is_flag=True)
def command(out_dir: Path, n_clips: int, methods: str | None, quick: bool, quiet: bool) -> None:
    """Explain synthetic benchmark clips (known evidence) with the bundled demo model, using
    every registered method; writes overlays, frame grids, summary.csv and report.html."""
    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    rows = run_demo(out_dir, n_clips, names, progress=not quiet, quick=quick)
    click.echo(_table(rows))
    click.echo(f"wrote {out_dir}/summary.csv and {out_dir}/report.html")


_COLUMNS = ("score", "n_forward", "n_backward", "seconds", *_GAME_METRICS)


def _mean_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per method: the mean of each column over clips (None where nothing is known)."""
    by_method: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_method.setdefault(row["method"], []).append(row)
    out = []
    for method, rs in by_method.items():
        mean: dict[str, Any] = {"method": method}
        for col in _COLUMNS:
            vals = [float(r[col]) for r in rs if r.get(col) is not None]
            mean[col] = round(sum(vals) / len(vals), 4) if vals else None
        out.append(mean)
    return out


def _fmt_mean(column: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if column.startswith("n_") else f"{value:.3f}"


def _table(rows: list[dict[str, Any]]) -> str:
    """The per-method means as aligned text."""
    lines = ["method".ljust(24) + "".join(c.rjust(14) for c in _COLUMNS)]
    for mean in _mean_rows(rows):
        cells = [_fmt_mean(c, mean[c]) for c in _COLUMNS]
        lines.append(mean["method"].ljust(24) + "".join(c.rjust(14) for c in cells))
    return "\n".join(lines)
