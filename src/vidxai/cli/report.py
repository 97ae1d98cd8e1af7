"""``vidxai report DIR``: the paper's tables and figures from a run folder."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Report folder (default: DIR/report).",
)
@click.option(
    "--study",
    default=None,
    help="User-study ratings: a database URL (sqlite:///study.db) or a `vidxai study export` CSV.",
)
@click.option("--title", default=None, help="Page title.")
def command(run_dir: Path, out_dir: Path | None, study: str | None, title: str | None) -> None:
    """Write DIR/report/report.html (offline) with CSV, PNG and PDF files: deletion/insertion
    AUC per method × model × dataset with 95 % CIs, minimal-mask curves, the time breakdown,
    localisation, failures, sliding-window temporal importance and user-study scores."""
    from vidxai.runner.report import write_report

    page = write_report(run_dir, out_dir, study=study, title=title)
    click.echo(f"wrote {page}")
