"""Reference clips for path methods: black, blurred, noise, or a user's clip."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.errors import ParameterError, VidxaiError
from vidxai.removal.remove.blur import blur_video

BASELINES: tuple[str, ...] = ("black", "blur", "noise")


def make_baseline(ctx: ExplainContext, baseline: Any, blur_sigma: float = 10.0) -> Tensor:
    """The baseline clip ``1×C×T×H×W`` in model-input space.

    Args:
        baseline: ``"black"`` (pixel value 0), ``"blur"`` (each frame blurred with a Gaussian
            of ``blur_sigma`` pixels, as the removal stage's 2D blur fill), ``"noise"``
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
            return blur_video(x, blur_sigma, mode="2d")
        low = ctx.pixel_value(0.0).view(1, -1, 1, 1, 1)
        high = ctx.pixel_value(1.0).view(1, -1, 1, 1, 1)
        u = torch.rand(x.shape, generator=ctx.generator, device=ctx.device, dtype=x.dtype)
        return low + u * (high - low)
    if isinstance(baseline, str) and ctx.classifier is not None:
        from vidxai.api import resolve_video

        try:
            clip, _ = resolve_video(baseline, ctx.classifier, ctx.device)
        except VidxaiError as exc:
            raise ParameterError(
                f"baseline must be one of {', '.join(BASELINES)}, a tensor or a readable video "
                f"path; {baseline!r} is none of these ({exc})"
            ) from exc
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
