"""Reference clips for path methods: black, blurred, noise, or a user's clip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.errors import ParameterError, VidxaiError
from vidxai.ops.blur import blur2d

BASELINES: tuple[str, ...] = ("black", "blur", "noise")


def make_baseline(ctx: ExplainContext, baseline: Any, blur_sigma: float = 10.0) -> Tensor:
    """The baseline clip ``1×C×T×H×W`` in model-input space.

    Args:
        baseline: ``"black"`` (pixel value 0), ``"blur"`` (each frame blurred with a Gaussian
            of ``blur_sigma`` pixels, :func:`vidxai.ops.blur.blur2d`), ``"noise"``
            (uniform random pixels from ``ctx.generator``), a tensor ``C×T×H×W`` or
            ``1×C×T×H×W`` in model-input space, or a path to a video (prepared like the
            explained video).

    Raises:
        ParameterError: an unknown name or a clip of another shape.
    """
    x = ctx.x
    if isinstance(baseline, str) and baseline in BASELINES:
        if baseline == "black":
            return ctx.pixel_value(0.0).view(1, -1, 1, 1, 1).expand_as(x).clone()
        if baseline == "blur":
            return blur2d(x, blur_sigma)
        low = ctx.pixel_value(0.0).view(1, -1, 1, 1, 1)
        high = ctx.pixel_value(1.0).view(1, -1, 1, 1, 1)
        u = torch.rand(x.shape, generator=ctx.generator, device=ctx.device, dtype=x.dtype)
        return low + u * (high - low)
    if isinstance(baseline, (str, Path)):
        clip = _clip_from_video(ctx, baseline)
    elif isinstance(baseline, Tensor):
        clip = baseline.detach().to(device=ctx.device, dtype=x.dtype)
        clip = clip if clip.ndim == 5 else clip.unsqueeze(0)
    else:
        raise ParameterError(
            f"baseline must be one of {', '.join(BASELINES)}, a tensor or a video path; "
            f"got {baseline!r}."
        )
    if clip.shape != x.shape:
        raise ParameterError(
            f"The baseline clip has shape {tuple(clip.shape)}, the explained clip "
            f"{tuple(x.shape)} (N×C×T×H×W); they must match."
        )
    if not torch.isfinite(clip).all():
        raise ParameterError("The baseline clip contains NaN or infinite values.")
    return clip


def _clip_from_video(ctx: ExplainContext, path: str | Path) -> Tensor:
    """A video file prepared like the explained clip → ``1×C×T×H×W`` (ParameterError if not)."""
    from vidxai.video import read_video, validate_frames

    hint = f"baseline must be one of {', '.join(BASELINES)}, a tensor or a readable video path"
    classifier = ctx.classifier
    if classifier is None or not classifier.has_preprocessing:
        raise ParameterError(
            f"{hint}; {str(path)!r} is not a baseline name, and a video path needs a model with "
            "an input contract (a VideoClassifier with an InputSpec) to be prepared."
        )
    try:
        frames = validate_frames(read_video(path).frames, min_frames=2, name=str(path))
        clip, _ = classifier.prepare(frames)
    except VidxaiError as exc:
        raise ParameterError(f"{hint}; {str(path)!r} is none of these ({exc})") from exc
    return clip.unsqueeze(0).to(ctx.device)
