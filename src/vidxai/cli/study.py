"""``vidxai study create|serve|export``: a blind user study of a run's explanations."""

from __future__ import annotations

import json
import sys

import click

from vidxai.errors import InvalidInputError


def _missing_extra(exc: ModuleNotFoundError) -> InvalidInputError:
    return InvalidInputError(
        f"vidxai study needs the 'study' extra ({exc.name} is missing): "
        'pip install "vidxai[study]"'
    )


@click.group("study")
def command() -> None:
    """Rate explanations blind (the REVEX user study): create, serve, export."""


@command.command("create")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(file_okay=False),
    help="A `vidxai run` output folder, or a folder of saved explanations (*.pt).",
)
@click.option(
    "--db",
    "db_url",
    required=True,
    help="Database URL: sqlite:///study.db, or postgresql+psycopg://user:pw@host/db.",
)
@click.option("--raters", required=True, type=click.IntRange(min=1), help="Number of raters.")
@click.option("--names", default=None, help="Comma-separated rater names, one per rater.")
@click.option(
    "--items",
    type=click.IntRange(min=1),
    default=None,
    help="Rate only this many items, drawn at random (seeded) from the source.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seeds the item draw and every rater's order.",
)
@click.option(
    "--base-url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where `vidxai study serve` is reached, for the invite links.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Write {"admin_token", "raters": [{"name", "token", "url"}]} to stdout.',
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def create(
    source: str,
    db_url: str,
    raters: int,
    names: str | None,
    items: int | None,
    seed: int,
    base_url: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Import every ok item of a run into a new study and print one invite per rater.

    Every explanation is drawn the same way (top 30 % of regions, histogram-stretched,
    positive only, one colour map) next to its clip, as MP4 (H.264) with a GIF fallback.
    Tokens are shown only now; the database keeps their SHA-256 hashes.
    """
    try:
        from vidxai.study import create_study
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from exc
    who = [n for n in names.split(",")] if names else None
    invites = create_study(
        source,
        db_url,
        raters=raters,
        names=who,
        items=items,
        seed=seed,
        base_url=base_url,
        progress=not quiet and not as_json,
    )
    if as_json:
        click.echo(json.dumps(invites.to_dict(), indent=2))
        return
    click.echo(f"Study created: {invites.n_items} items, {len(invites.raters)} raters.")
    click.echo(f"Admin token (keep it; open /admin with it): {invites.admin_token}")
    for invite in invites.raters:
        click.echo(f"  {invite.name}: {invite.url}")


@command.command("serve")
@click.option("--db", "db_url", required=True, help="Database URL of the study.")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind (loopback by default; 0.0.0.0 exposes the study).",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(db_url: str, host: str, port: int) -> None:
    """Serve the rater pages (/r/TOKEN), the admin page (/admin) and the JSON API."""
    try:
        from vidxai.study import LOOPBACK
        from vidxai.study import serve as run_server
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from exc
    if host not in LOOPBACK:
        click.echo(f"warning: serving on {host}: reachable from other machines", err=True)
    click.echo(f"Serving the study on http://{host}:{port} (Ctrl+C stops)", err=True)
    sys.stdout.flush()
    run_server(db_url, host=host, port=port)


@command.command("export")
@click.option("--db", "db_url", required=True, help="Database URL of the study.")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV file: rater, item, method, model, dataset, video, score, rated_at.",
)
def export(db_url: str, out: str) -> None:
    """Write every rating in long format to a CSV file."""
    try:
        from vidxai.study import export_ratings
    except ModuleNotFoundError as exc:
        raise _missing_extra(exc) from exc
    path = export_ratings(db_url, out)
    click.echo(f"wrote {path}")
