"""``vidxai evaluate``: score a saved explanation with the registered metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vidxai.cli._args import parse_key_values


def load_attribution(path: Path) -> Any:
    """An Explanation (``.pt`` written by vidxai) or a plain T×H×W tensor (``.pt`` / ``.npy``)."""
    import numpy as np
    import torch

    from vidxai import load_explanation
    from vidxai.errors import VideoReadError

    if not path.is_file():
        raise VideoReadError(f"No explanation file at {path}")
    if path.suffix == ".npy":
        try:
            return torch.from_numpy(np.load(path, allow_pickle=False))
        except (OSError, ValueError) as exc:
            raise VideoReadError(f"{path} is not a readable .npy array: {exc}") from exc
    try:
        return load_explanation(path)
    except VideoReadError:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a corrupt or foreign file
            raise VideoReadError(f"{path} is neither an explanation nor a tensor file") from exc
        if not isinstance(data, torch.Tensor):
            raise VideoReadError(
                f"{path} holds a {type(data).__name__}, not a T×H×W tensor"
            ) from None
        return data


def parse_ground_truth(mask: Path | None, box: str | None) -> Any:
    """``--ground-truth mask.npy`` (T×H×W bool) or ``--box t0,t1,y0,y1,x0,x1`` (half-open)."""
    import numpy as np

    from vidxai.errors import InvalidInputError, VideoReadError

    if mask is not None and box is not None:
        raise InvalidInputError("Give --ground-truth or --box, not both")
    if mask is not None:
        try:
            return np.load(mask, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise VideoReadError(f"{mask} is not a readable .npy mask: {exc}") from exc
    if box is not None:
        try:
            v = [int(p) for p in box.replace(" ", "").split(",")]
        except ValueError:
            v = []
        if len(v) != 6:
            raise InvalidInputError(f"--box expects t0,t1,y0,y1,x0,x1 (6 integers), got {box!r}")
        return ((v[0], v[1]), (v[2], v[3]), (v[4], v[5]))
    return None


def format_scores(scores: dict[str, Any]) -> list[str]:
    """One line per metric."""
    lines = []
    for name, value in scores.items():
        if isinstance(value, dict):
            shown = ", ".join(
                f"{k:g}: {'-' if v is None else f'{v:.3f}'}" for k, v in value.items()
            )
            lines.append(f"  {name:<24} {{{shown}}}")
        elif isinstance(value, float):
            lines.append(f"  {name:<24} {value:.4f}")
        else:
            lines.append(f"  {name:<24} {value}")
    return lines


@click.command("evaluate")
@click.argument("explanation", type=click.Path(path_type=Path))
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--model", "model_name", required=True, help="Zoo model name (see `vidxai models`).")
@click.option(
    "--weights",
    default=None,
    help="A local weights file (state_dict), DEFAULT (the published pretrained weights), or "
    "random (random weights, seeded by --seed). Required except for vidxai-demo.",
)
@click.option(
    "--metrics",
    default=None,
    help="Comma-separated metric names (default: deletion, insertion, minimal masks, average "
    "drop; plus pointing_game, iou, energy with a ground truth). `sanity` runs only when named.",
)
@click.option("--target", default=None, help="Class index or name (default: the explanation's).")
@click.option(
    "--ground-truth",
    "mask",
    default=None,
    type=click.Path(path_type=Path),
    help="T×H×W bool mask (.npy) in model-input space.",
)
@click.option("--box", default=None, help="Ground-truth box t0,t1,y0,y1,x0,x1 (half-open).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Metric parameter, e.g. n_steps=100, fill=blur, granularity=grid, thresholds=0.1,0.5.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default=None, help="cpu, cuda, cuda:1… (default: the model's device).")
@click.option(
    "--batch-size",
    default="auto",
    show_default=True,
    help="Clips per pass through the model: a positive integer or auto.",
)
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(path_type=Path),
    help="Write evaluation.json and curve plots here.",
)
def command(
    explanation: Path,
    video: Path,
    model_name: str,
    weights: str | None,
    metrics: str | None,
    target: str | None,
    mask: Path | None,
    box: str | None,
    params: tuple[str, ...],
    seed: int,
    device: str | None,
    batch_size: str,
    out_dir: Path | None,
) -> None:
    """Score EXPLANATION (a vidxai .pt file, or a T×H×W tensor in .pt/.npy) of VIDEO."""
    from vidxai.metrics import evaluate
    from vidxai.models.zoo import load_model
    from vidxai.video import read_video

    attribution = load_attribution(explanation)
    ground_truth = parse_ground_truth(mask, box)
    metric_params: dict[str, Any] = parse_key_values(params)
    frames = read_video(video).frames
    model = load_model(model_name, weights=weights if weights is not None else "auto", seed=seed)
    from vidxai.core.engine import check_batch_size

    bs = check_batch_size(batch_size)  # the engine's rule: a positive int or auto
    tgt: int | str | None = int(target) if target is not None and target.isdigit() else target
    result = evaluate(
        model,
        frames,
        attribution,
        metrics=metrics,
        target=tgt,
        ground_truth=ground_truth,
        seed=seed,
        device=device,
        batch_size=bs,
        **metric_params,
    )
    name, index = result.params.get("target_name"), result.params["target"]
    shown = f"{name} ({index})" if name is not None else str(index)
    click.echo(f"target {shown}, {result.n_forward} forward passes")
    for line in format_scores(result.scores):
        click.echo(line)
    if out_dir is not None:
        from vidxai import viz

        out_dir.mkdir(parents=True, exist_ok=True)
        written = [result.save(out_dir / "evaluation.json")]
        games = {k: v for k, v in result.curves.items() if k in ("deletion", "insertion")}
        if games:
            written.append(viz.plot_deletion_insertion(out_dir / "deletion_insertion.png", games))
        masks: dict[str, Any] = {
            k: result.scores[k]
            for k in ("minimal_mask", "minimal_mask_insertion")
            if k in result.scores
        }
        if masks:
            written.append(viz.plot_minimal_mask(out_dir / "minimal_mask.png", masks))
        for path in written:
            click.echo(f"  wrote {path}")


@click.command("metrics")
def metrics_command() -> None:
    """List the evaluation metrics: direction, what they need, parameters and defaults."""
    import dataclasses

    from vidxai.metrics import list_metrics

    for spec in list_metrics():
        direction = {True: "higher is better", False: "lower is better", None: "-"}[
            spec.higher_is_better
        ]
        needs = [
            n
            for n, flag in (("model", spec.needs_model), ("ground truth", spec.needs_ground_truth))
            if flag
        ]
        click.echo(f"{spec.name}  [{spec.family}; {direction}; needs {', '.join(needs) or '-'}]")
        click.echo(f"    {spec.description}")
        for f in dataclasses.fields(spec.params):
            click.echo(f"    {f.name} = {f.default!r}")


commands = [command, metrics_command]
