"""``vidxai demo``: every registered method on a few benchmark clips with the bundled model."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import click

_GAME_METRICS = ("deletion", "insertion", "pointing_game")
_GAME_STEPS = 25  # steps of the deletion / insertion curves in the demo (vidxai evaluate: 100)


def _evaluate(model: Any, clip: Any, explanation: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deletion/insertion AUC and the pointing game against the clip's evidence mask.

    Returns ``(scores, curves)``.
    """
    from vidxai.metrics import evaluate

    result = evaluate(
        model,
        clip.frames,
        explanation,
        metrics=list(_GAME_METRICS),
        ground_truth=clip.mask,
        n_steps=_GAME_STEPS,
    )
    return {name: result.scores.get(name) for name in _GAME_METRICS}, dict(result.curves)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "hit" if value else "miss"
    if isinstance(value, float):
        return f"{value:.3f}"
    return "-" if value is None else str(value)


HELD_OUT_SEED = 20_000_000
"""First seed of the demo's clips: the demo model was trained on seeds 0–9600, the benchmark's
held-out clips start here."""

LEFT_OUT = {
    "removal": "the generic removal composition with its defaults is lime3d; see lime3d",
}
"""Methods the demo does not run by default, with the reason printed on the page."""


def demo_methods(methods: list[str] | None) -> tuple[list[Any], dict[str, str]]:
    """The methods to run (every registered one but :data:`LEFT_OUT`, or those asked for)."""
    import vidxai

    if methods:
        return [vidxai.get_method(m) for m in methods], {}
    specs = [s for s in vidxai.list_methods() if s.name not in LEFT_OUT]
    return specs, dict(LEFT_OUT)


def run_demo(
    out_dir: Path,
    n_clips: int = 2,
    methods: list[str] | None = None,
    progress: bool = True,
    quick: bool = False,
) -> list[dict[str, Any]]:
    """Explain ``n_clips`` held-out benchmark clips with every method; write files and a table.

    The clips are the ground-truth benchmark's held-out clips (seeds from
    :data:`HELD_OUT_SEED`; the demo model never saw them). Methods run with their default
    parameters, except where a method declares ``demo_params`` (shorter settings that still
    localise); ``quick=True`` uses each method's ``quick_params`` instead (a smoke run).
    One progress bar runs over methods × clips, with the method's own bar for long ones.

    Returns the summary rows (one per method × clip).
    """
    from tqdm.auto import tqdm

    import vidxai
    from vidxai import viz as vz
    from vidxai.cli._common import DEMO_MODEL_NOTE, write_summary
    from vidxai.data.synthetic import CLASS_NAMES, make_clip
    from vidxai.errors import UnsupportedModelError
    from vidxai.models.zoo import load_model

    model = load_model("vidxai-demo")
    specs, left_out = demo_methods(methods)
    out_dir.mkdir(parents=True, exist_ok=True)
    options = vz.VizOptions()
    rows: list[dict[str, Any]] = []
    sections: list[dict[str, Any]] = []
    notes = [
        DEMO_MODEL_NOTE,
        f"The clips are held-out clips of the benchmark (seeds {HELD_OUT_SEED} to "
        f"{HELD_OUT_SEED + n_clips - 1}); the demo model was trained on seeds 0–9600.",
    ]
    shortened = []
    for spec in specs:
        settings = spec.quick_params if quick else spec.demo_params
        if settings:
            defaults = {p.name: p.default for p in spec.param_info()}
            changed = ", ".join(f"{k}={v} (default {defaults.get(k)})" for k, v in settings.items())
            shortened.append(f"{spec.name}: {changed}")
    if shortened:
        notes.append("Shortened settings to stay fast: " + "; ".join(shortened) + ".")
    notes += [f"{name} is left out: {why}." for name, why in left_out.items()]
    skipped: dict[str, str] = {}
    bar = tqdm(total=n_clips * len(specs), desc="demo", unit="explanation", disable=not progress)
    for i in range(n_clips):
        clip = make_clip(HELD_OUT_SEED + i)
        maps: dict[str, Any] = {}
        curves: dict[str, Any] = {}
        videos: list[dict[str, Any]] = []
        for spec in specs:
            bar.set_postfix_str(f"clip {i} {spec.name}", refresh=True)
            settings = spec.quick_params if quick else spec.demo_params
            start = time.perf_counter()
            try:
                exp = vidxai.explain(
                    model, clip.frames, method=spec.name, progress=progress, **settings
                )
                assert isinstance(exp, vidxai.Explanation)  # one clip in, one out
            except UnsupportedModelError as exc:
                skipped[spec.name] = str(exc)
                bar.update(1)
                continue
            seconds = time.perf_counter() - start
            stem = f"clip{i}_{spec.name}"
            exp.save(out_dir / f"{stem}.pt")
            write_summary(exp, out_dir / f"{stem}.json")
            maps[spec.name] = exp
            (mp4,) = vz.save_overlays([out_dir / f"{stem}.mp4"], clip.frames, exp, 8.0, options)
            videos.append({"path": mp4.name, "caption": spec.name})
            scores, curves[spec.name] = _evaluate(model, clip, exp)
            rows.append(
                {
                    "clip": i,
                    "label": clip.label,
                    "method": spec.name,
                    "target": exp.target_name or exp.target,
                    "score": exp.score,
                    "n_forward": exp.n_forward,
                    "n_backward": exp.n_backward,
                    "seconds": seconds,
                    **scores,
                    "overlay": mp4.name,
                }
            )
            bar.update(1)
        grid = vz.frame_grid(  # PNG only: a 30-row PDF twin costs as much as the explanations
            out_dir / f"clip{i}_grid.png", clip.frames, maps, 6, options=options, pdf=False
        )
        games = vz.plot_deletion_insertion(
            out_dir / f"clip{i}_games.png", curves, title=f"clip {i}: deletion / insertion"
        )
        sections.append(
            {
                "title": f"Clip {i} (seed {HELD_OUT_SEED + i}): "
                f"true class {CLASS_NAMES[clip.label]}",
                "text": "Rows: methods; columns: sampled frames. The evidence is the red square "
                "while it moves; the coloured discs are distractors.",
                "images": [grid, games, *videos],
            }
        )
    bar.close()
    notes += [f"{name} was skipped: {why}" for name, why in skipped.items()]
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
    vz.write_html_report(out_dir, "vidxai demo", sections, notes=notes)
    if progress:
        for note in notes:
            click.echo(f"note: {note}")
    return rows


@click.command("demo")
@click.option(
    "--out", "out_dir", default="vidxai-demo", show_default=True, type=click.Path(path_type=Path)
)
@click.option(
    "--clips",
    "n_clips",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Held-out benchmark clips to explain (each adds ~30 s on a 2-core CPU).",
)
@click.option("--methods", default=None, help="Comma-separated subset (default: every method).")
@click.option("--quick", is_flag=True, help="Tiny settings for every method (a smoke run).")
@click.option("--quiet", is_flag=True, help="No progress bars or per-method lines.")
def command(out_dir: Path, n_clips: int, methods: str | None, quick: bool, quiet: bool) -> None:
    """Explain held-out clips of the synthetic benchmark (known evidence) with the bundled demo
    model, using every registered method; writes MP4 overlays, frame grids, summary.csv and
    report.html. The demo model knows only this synthetic benchmark."""
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
