"""``vidxai benchmark``: methods × clips, every explanation evaluated; CSV, tables and plots."""

from __future__ import annotations

from pathlib import Path

import click

from vidxai.cli._common import parse_key_values
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
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default=None)
@click.option("--batch-size", default="auto", show_default=True)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True)
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
    """Explain clips with several methods, evaluate every explanation, and write results.csv
    (one row per method × clip), summary.csv/.md (mean and 95 % CI per method), plots and
    report.html into --out."""
    import vidxai
    from vidxai.metrics.benchmark import (
        markdown_table,
        run_benchmark,
        synthetic_clips,
        video_clips,
        write_benchmark,
    )
    from vidxai.models.zoo import load_model

    if (n_clips is None) == (not videos):
        raise ParameterError("Give either --clips N (synthetic benchmark) or --videos PATH ...")
    names = (
        [m.strip() for m in methods.split(",") if m.strip()]
        if methods
        else [s.name for s in vidxai.list_methods()]
    )
    per_method = parse_method_params(method_params)
    for name in names:  # fail fast on names and parameters, before any work
        vidxai.get_method(name).parse_params(per_method.get(name, {}))
    unknown = sorted(set(per_method) - set(names))
    if unknown:
        raise ParameterError(f"--method-param names methods not benchmarked: {unknown}")
    clips = synthetic_clips(n_clips, clip_seed) if n_clips is not None else video_clips(videos)
    model = load_model(model_name, weights=weights)
    bs: int | str = int(batch_size) if batch_size.isdigit() else batch_size
    result = run_benchmark(
        model,
        names,
        clips,
        metrics=[m.strip() for m in metrics.split(",")] if metrics else None,
        metric_params=parse_key_values(params),
        method_params=per_method,
        quick=quick,
        seed=seed,
        device=device,
        batch_size=bs,
        log=None if quiet else click.echo,
    )
    written = write_benchmark(result, out_dir, title=f"vidxai benchmark: {model_name}")
    click.echo(markdown_table(result.summary()))
    for method, reason in result.skipped.items():
        click.echo(f"skipped {method}: {reason}")
    for path in written:
        click.echo(f"  wrote {path}")
