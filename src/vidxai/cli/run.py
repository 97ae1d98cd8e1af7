"""``vidxai run EXPERIMENT.yaml``: explain and evaluate a whole experiment, resumably."""

from __future__ import annotations

from pathlib import Path

import click

from vidxai.errors import ParameterError


@click.command("run")
@click.argument("experiment", required=False, type=click.Path(path_type=Path))
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help='local: this process; ray: Ray actors (pip install "vidxai[ray]").',
)
@click.option(
    "--address",
    default=None,
    help="Ray cluster address (e.g. auto, ray://head:10001); default: start a local Ray.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Ray actors per model (one per GPU on a GPU cluster). Ignored by --backend local.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Run folder (overrides the file's `out:`).",
)
@click.option(
    "--status",
    "status_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Print done / failed / remaining of the run folder DIR and exit.",
)
@click.option("--retry-errors", is_flag=True, help="Run again the items recorded as errors.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(
    experiment: Path | None,
    backend: str,
    address: str | None,
    workers: int,
    out_dir: Path | None,
    status_dir: Path | None,
    retry_errors: bool,
    quiet: bool,
) -> None:
    """Run EXPERIMENT.yaml: every (dataset, video, window, model, method) item is explained,
    evaluated and committed atomically to OUT/results.parquet and OUT/attributions/. A rerun
    skips every finished item; failing items are recorded with status=error."""
    from vidxai.runner import load_experiment, run_experiment, run_status

    if status_dir is not None:
        s = run_status(status_dir)
        click.echo(
            f"{status_dir}: done {s['done']}, failed {s['failed']}, remaining {s['remaining']} "
            f"(of {s['planned']} planned)"
        )
        return
    if experiment is None:
        raise ParameterError("Give an experiment file (vidxai run EXPERIMENT.yaml) or --status DIR")
    exp = load_experiment(experiment)
    summary = run_experiment(
        exp,
        backend=backend,  # type: ignore[arg-type]
        out=out_dir,
        workers=workers,
        address=address,
        progress=not quiet,
        retry_errors=retry_errors,
    )
    click.echo(
        f"{exp.name}: {summary.ok} ok, {summary.failed} failed, {summary.skipped} already done "
        f"(of {summary.planned}) in {summary.wall:.1f} s -> {summary.out / 'results.parquet'}"
    )
