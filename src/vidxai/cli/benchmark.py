"""``vidxai benchmark``: a preset of ``vidxai run`` — synthetic clips (or videos) × methods."""

from __future__ import annotations

from pathlib import Path

import click

from vidxai.cli._args import parse_key_values
from vidxai.errors import ParameterError


def parse_method_params(items: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``("lime3d:n_samples=200", …)`` → ``{"lime3d": {"n_samples": "200"}}``."""
    out: dict[str, dict[str, str]] = {}
    for item in items:
        method, sep, rest = item.partition(":")
        if not sep or not method.strip():
            raise ParameterError(f"--method-param expects METHOD:KEY=VALUE, got {item!r}")
        out.setdefault(method.strip(), {}).update(parse_key_values([rest], "--method-param"))
    return out


@click.command("benchmark")
@click.option("--model", "model_name", required=True, help="Zoo model name (see `vidxai models`).")
@click.option("--weights", default=None, help="Local weights file (state_dict), or DEFAULT.")
@click.option(
    "--methods", default=None, help="Comma-separated method names (default: every method)."
)
@click.option(
    "--clips",
    "n_clips",
    default=None,
    type=click.IntRange(1, 10_000),
    help="Number of synthetic ground-truth benchmark clips.",
)
@click.option(
    "--clip-seed",
    default=20_000_000,
    show_default=True,
    help="First seed of the synthetic clips (outside the demo model's training seeds).",
)
@click.option(
    "--videos",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Video file or frame folder (repeatable); the top-1 class is explained.",
)
@click.option(
    "--metrics", default=None, help="Comma-separated metrics (default: see `vidxai evaluate`)."
)
@click.option(
    "--param", "params", multiple=True, metavar="KEY=VALUE", help="Metric parameter (n_steps=…)."
)
@click.option(
    "--method-param",
    "method_params",
    multiple=True,
    metavar="METHOD:KEY=VALUE",
    help="Parameter of one method, e.g. lime3d:n_samples=500.",
)
@click.option("--quick", is_flag=True, help="Use each method's fast settings (smoke runs).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of every explanation.")
@click.option(
    "--device", default=None, help="cpu, cuda, cuda:1 … (default: CUDA when available, else CPU)."
)
@click.option(
    "--batch-size",
    default="auto",
    show_default=True,
    help="Clips per forward pass (int), or auto.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Run folder: results.parquet, attributions/, results.csv, report/.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(
    model_name: str,
    weights: str | None,
    methods: str | None,
    n_clips: int | None,
    clip_seed: int,
    videos: tuple[Path, ...],
    metrics: str | None,
    params: tuple[str, ...],
    method_params: tuple[str, ...],
    quick: bool,
    seed: int,
    device: str | None,
    batch_size: str,
    out_dir: Path,
    quiet: bool,
) -> None:
    """Explain clips with several methods and evaluate every explanation: a preset of
    `vidxai run` (resumable; rerunning skips finished items). Writes the run store into --out
    (results.parquet, attributions/), results.csv, and the report (report/report.html with
    tables of mean and bounded 95 % CI per method, plots)."""
    from vidxai.core.engine import check_batch_size
    from vidxai.runner import run_experiment
    from vidxai.runner.preset import benchmark_experiment
    from vidxai.runner.report import write_csv, write_report
    from vidxai.runner.store import read_results
    from vidxai.runner.summary import decode, metric_table

    bs = check_batch_size(batch_size)  # the engine's rule: a positive int or auto
    if bs != "auto" and not isinstance(bs, int):
        raise ParameterError(f"--batch-size must be a positive integer or auto, got {batch_size!r}")
    experiment = benchmark_experiment(
        model_name,
        out_dir,
        weights=weights,
        methods=[m.strip() for m in methods.split(",") if m.strip()] if methods else None,
        clips=n_clips,
        clip_seed=clip_seed,
        videos=videos,
        metrics=[m.strip() for m in metrics.split(",") if m.strip()] if metrics else None,
        metric_params=parse_key_values(params),
        method_params=parse_method_params(method_params),
        quick=quick,
        seed=seed,
        device=device,
        batch_size=bs,
    )
    summary = run_experiment(experiment, out=out_dir, progress=not quiet)
    rows = decode(read_results(out_dir).to_pylist())
    write_csv(out_dir / "results.csv", rows)
    page = write_report(out_dir, title=f"vidxai benchmark: {model_name}")
    columns = [
        c
        for c in ("deletion", "insertion", "pointing_game")
        if any(r.get(c) is not None for r in rows)
    ]
    click.echo(_markdown(metric_table(rows, columns), columns))
    for r in rows:
        if r.get("status") == "error":
            click.echo(f"failed {r['method']} on {r['video']}: {r['error']}")
    click.echo(
        f"{summary.ok} ok, {summary.failed} failed, {summary.skipped} already done; "
        f"wrote {out_dir / 'results.parquet'}, {out_dir / 'results.csv'}, {page}"
    )


def _markdown(table: list[dict[str, object]], columns: list[str]) -> str:
    """The summary as a Markdown table for the terminal."""
    head = "| method | model | clips | " + " | ".join(columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 3)]
    for r in table:
        cells = " | ".join(str(r.get(c, "–")) for c in columns)
        lines.append(f"| {r['method']} | {r['model']} | {r['n']} | {cells} |")
    return "\n".join(lines)
