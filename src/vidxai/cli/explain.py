"""``vidxai explain``: explain one video with one method and write files people can look at.

Heavy modules (torch, matplotlib, PyAV) are imported inside the command, so ``vidxai --help``
does not load them for this module.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import click

from vidxai.cli._viz_help import VIZ_KEYS


@click.command("explain")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--model", "model_name", required=True, help="Zoo model name (see `vidxai models`).")
@click.option(
    "--weights",
    default=None,
    help="A local weights file (state_dict), DEFAULT (the published pretrained weights), or "
    "random (random weights, seeded by --seed). Required except for vidxai-demo.",
)
@click.option("--method", default="saliency", show_default=True, help="See `vidxai methods`.")
@click.option("--target", default=None, help="Class index or class name (default: top-1).")
@click.option(
    "--behaviour",
    type=click.Choice(["probability", "logit", "log_probability"]),
    default=None,
    help="Model behaviour to explain (default: the method family's, see `vidxai methods`).",
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
    "of regions, histogram stretching, over a grey copy of the video. Keys: " + VIZ_KEYS,
)
@click.option(
    "--gif/--no-gif",
    default=True,
    show_default=True,
    help="Also write a small GIF of the overlay (the MP4 is always written).",
)
@click.option("--gif-fps", default=10.0, show_default=True, type=float, help="GIF frame-rate cap.")
@click.option(
    "--gif-width", default=480, show_default=True, type=int, help="GIF width cap in pixels."
)
@click.option(
    "--gif-colors", default=128, show_default=True, type=int, help="GIF palette size (2-256)."
)
@click.option("--pdf", is_flag=True, help="Also write the frame grid as a PDF (vector labels).")
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
    gif: bool,
    gif_fps: float,
    gif_width: int,
    gif_colors: int,
    pdf: bool,
    out_dir: Path,
    quiet: bool,
) -> None:
    """Explain VIDEO (a video file or a folder of frames) and write into --out: the
    explanation (.pt, .json), the overlay on the original frames (MP4, and a small GIF),
    a frame-grid PNG (and PDF with --pdf), the temporal curve and an HTML page
    (<video>_<method>_report.html) with all of them, the numbers and the parameters."""
    import vidxai
    from vidxai import viz as vz
    from vidxai.cli._args import make_out_dir, parse_key_values
    from vidxai.cli._common import model_notes, tensor_maps, write_summary
    from vidxai.models.zoo import get_model_info, load_model
    from vidxai.video import GifOptions, read_video

    options = vz.VizOptions.from_strings(list(viz))
    caps = GifOptions(max_fps=gif_fps, max_width=gif_width, colors=gif_colors)
    method_params = parse_key_values(params)
    vidxai.get_method(method).parse_params(method_params)  # fail fast, before loading anything
    get_model_info(model_name)  # an unknown name fails before the video is decoded
    make_out_dir(out_dir)
    started = time.perf_counter()
    source = read_video(video)
    decoded = time.perf_counter()
    model = load_model(model_name, weights=weights if weights is not None else "auto", seed=seed)
    from vidxai.core.engine import check_batch_size

    bs = check_batch_size(batch_size)  # the engine's rule: a positive int or auto
    tgt: int | str | None = int(target) if target is not None and target.isdigit() else target
    explanation = vidxai.explain(  # one video in: one Explanation out
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
    assert isinstance(explanation, vidxai.Explanation)
    explained = time.perf_counter()
    stem = f"{Path(video).stem}_{method}"
    written = [explanation.save(out_dir / f"{stem}.pt")]
    written.append(write_summary(explanation, out_dir / f"{stem}.json"))
    overlays = [out_dir / f"{stem}.mp4"] + ([out_dir / f"{stem}.gif"] if gif else [])
    # the model-space map and its geometry: frames are mapped one at a time while streaming
    written += vz.save_overlays(overlays, source, explanation, options=options, gif=caps)
    grid = vz.frame_grid(
        out_dir / f"{stem}_grid.png", source, {method: explanation}, options=options, pdf=pdf
    )
    written.append(grid)
    if pdf:
        written.append(grid.with_suffix(".pdf"))
    curve = vz.temporal_importance(explanation.attribution, options.polarity)
    geometry = explanation.geometry
    written.append(
        vz.plot_temporal_importance(
            out_dir / f"{stem}_temporal.png",
            {method: curve},
            frame_indices=list(geometry.frame_indices) if geometry is not None else None,
            fps=source.fps,
        )
    )
    for key, extra in tensor_maps(explanation.extras, explanation.attribution.shape).items():
        extra_map = extra.detach().cpu().float()
        written += vz.save_overlays(
            [out_dir / f"{stem}_{key}.mp4"],
            source,
            extra_map,
            options=options,
            geometry=geometry,
        )
    pictures = time.perf_counter()
    elapsed = {
        "decode": decoded - started,
        "explain (wall)": explained - decoded,
        "pictures": pictures - explained,
    }
    page = vz.explanation_report(
        out_dir,
        explanation,
        written,
        options=options,
        command="vidxai " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "",
        video=Path(video).name,
        elapsed=elapsed,
        notes=model_notes(explanation),
        filename=f"{stem}_report.html",
    )
    written.append(page)
    label = explanation.target_name or explanation.target
    click.echo(
        f"{method}: target {label} ({explanation.behaviour} {explanation.score:.4f}), "
        f"{explanation.n_forward} forward / {explanation.n_backward} backward passes, "
        f"{explanation.timings['total']:.2f} s; pictures {elapsed['pictures']:.2f} s"
    )
    for note in model_notes(explanation):
        click.echo(f"note: {note}")
    for path in written:
        click.echo(f"  wrote {path}")
