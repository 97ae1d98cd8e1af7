"""``vidxai explain``: explain one video with one method and write files people can look at."""

from __future__ import annotations

from pathlib import Path

import click

from vidxai.cli._common import make_out_dir, parse_key_values, tensor_maps, write_summary
from vidxai.viz.options import VizOptions

_VIZ_KEYS = "; ".join(line.split(":")[0] for line in VizOptions.describe().splitlines())


@click.command("explain")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--model", "model_name", required=True, help="Zoo model name (see `vidxai models`).")
@click.option("--weights", default=None, help="Local weights file (state_dict), or DEFAULT.")
@click.option("--method", default="saliency", show_default=True, help="See `vidxai methods`.")
@click.option("--target", default=None, help="Class index or class name (default: top-1).")
@click.option(
    "--behaviour",
    type=click.Choice(["probability", "logit", "log_probability"]),
    default=None,
    help="Model behaviour to explain (default: probability).",
)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Method parameter.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default=None, help="cpu, cuda, cuda:1… (default: cpu).")
@click.option("--batch-size", default="auto", show_default=True)
@click.option(
    "--viz",
    "viz",
    multiple=True,
    metavar="KEY=VALUE",
    help="Picture option; defaults follow the REVEX user study: positive relevance only, top 30% "
    "of regions, histogram stretching, over a grey copy of the video. Keys: " + _VIZ_KEYS,
)
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path))
@click.option("--quiet", is_flag=True, help="No progress bars.")
def command(
    video: Path,
    model_name: str,
    weights: str | None,
    method: str,
    target: str | None,
    behaviour: str | None,
    params: tuple[str, ...],
    seed: int,
    device: str | None,
    batch_size: str,
    viz: tuple[str, ...],
    out_dir: Path,
    quiet: bool,
) -> None:
    """Explain VIDEO (a video file or a folder of frames) and write the explanation file, an
    overlay GIF on the original frames and a frame-grid PNG into --out."""
    import vidxai
    from vidxai import viz as vz
    from vidxai.models.zoo import get_model_info, load_model
    from vidxai.video import read_video

    options = vz.VizOptions.from_strings(list(viz))
    method_params = parse_key_values(params)
    vidxai.get_method(method).parse_params(method_params)  # fail fast, before loading anything
    get_model_info(model_name)  # an unknown name fails before the video is decoded
    make_out_dir(out_dir)
    source = read_video(video)
    model = load_model(model_name, weights=weights)
    bs: int | str = int(batch_size) if batch_size.isdigit() else batch_size
    tgt: int | str | None = int(target) if target is not None and target.isdigit() else target
    explanation = vidxai.explain(
        model,
        source,
        method=method,
        target=tgt,
        seed=seed,
        device=device,
        batch_size=bs,
        progress=not quiet,
        behaviour=behaviour,
        **method_params,
    )
    stem = f"{Path(video).stem}_{method}"
    written = [explanation.save(out_dir / f"{stem}.pt")]
    written.append(write_summary(explanation, out_dir / f"{stem}.json"))
    original = explanation.to_original()
    written.append(
        vz.save_overlay(out_dir / f"{stem}.gif", source.frames, original, source.fps, options)
    )
    written.append(
        vz.frame_grid(
            out_dir / f"{stem}_grid.png", source.frames, {method: original}, options=options
        )
    )
    for key, extra in tensor_maps(explanation.extras, explanation.attribution.shape).items():
        mapped = explanation.geometry.to_original(extra.detach().cpu().float())
        written.append(
            vz.save_overlay(
                out_dir / f"{stem}_{key}.gif", source.frames, mapped, source.fps, options
            )
        )
    label = explanation.target_name or explanation.target
    click.echo(
        f"{method}: target {label} ({explanation.behaviour} {explanation.score:.4f}), "
        f"{explanation.n_forward} forward / {explanation.n_backward} backward passes, "
        f"{explanation.timings['total']:.2f} s"
    )
    for path in written:
        click.echo(f"  wrote {path}")
