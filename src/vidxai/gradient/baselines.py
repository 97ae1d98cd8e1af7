"""Reference clips for path methods: black, blurred, noise, or a user's clip."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.errors import ParameterError, VidxaiError

BASELINES: tuple[str, ...] = ("black", "blur", "noise")


def gaussian_blur_frames(x: Tensor, sigma: float) -> Tensor:
    """Blur each frame of ``N×C×T×H×W`` clips with a spatial Gaussian of ``sigma`` pixels.

    Separable convolution with replicated borders; ``sigma <= 0`` returns ``x`` unchanged.
    """
    if sigma <= 0:
        return x
    radius = max(1, math.ceil(3 * sigma))
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    n, c, t, h, w = x.shape
    frames = x.permute(0, 2, 1, 3, 4).reshape(n * t * c, 1, h, w)
    frames = F.pad(frames, (radius, radius, 0, 0), mode="replicate")
    frames = F.conv2d(frames, kernel.view(1, 1, 1, -1))
    frames = F.pad(frames, (0, 0, radius, radius), mode="replicate")
    frames = F.conv2d(frames, kernel.view(1, 1, -1, 1))
    return frames.reshape(n, t, c, h, w).permute(0, 2, 1, 3, 4).contiguous()


def make_baseline(ctx: ExplainContext, baseline: Any, blur_sigma: float = 10.0) -> Tensor:
    """The baseline clip ``1×C×T×H×W`` in model-input space.

    Args:
        baseline: ``"black"`` (pixel value 0), ``"blur"`` (the clip blurred per frame with
            ``blur_sigma`` pixels), ``"noise"`` (uniform random pixels from ``ctx.generator``),
            a tensor ``C×T×H×W`` / ``1×C×T×H×W`` in model-input space, or a path to a video
            (prepared like the explained video).

    Raises:
        ParameterError: an unknown name or a clip of another shape.
    """
    x = ctx.x
    if isinstance(baseline, str) and baseline in BASELINES:
        if baseline == "black":
            return ctx.pixel_value(0.0).view(1, -1, 1, 1, 1).expand_as(x).clone()
        if baseline == "blur":
            return gaussian_blur_frames(x, blur_sigma)
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
