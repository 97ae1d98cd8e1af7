"""Fills: the clip that removed (or deleted) voxels are replaced with.

Used by the removal stage (REVEX's "remove" step) and by the metrics that blend towards a
reference clip (deletion / insertion games, average drop), so both remove voxels the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.ops.blur import blur2d, blur3d

#: A fill: ``"black"``, ``"gray"``, ``"mean"`` (segment / clip mean colour), ``"blur"`` (3D
#: Gaussian), ``"blur2d"`` (per frame), a pixel value in [0, 1] (float, or one per channel), a
#: tensor of 1 or C values (a constant in model-input space), or a reference video tensor
#: ``C×T×H×W`` in model-input space.
Fill = str | float | tuple[float, ...] | Tensor

FILL_NAMES: tuple[str, ...] = ("black", "gray", "mean", "blur", "blur2d")


def check_fill(spec: object) -> None:
    """Validate a fill without the clip (``ParameterError`` on a bad one)."""
    if isinstance(spec, Tensor):
        return
    if isinstance(spec, str):
        if spec not in FILL_NAMES:
            raise ParameterError(
                f"a fill is one of {', '.join(FILL_NAMES)}, a pixel value in [0, 1] or a "
                f"reference video tensor, got {spec!r}"
            )
        return
    values = spec if isinstance(spec, tuple) else (spec,)
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not values or not ok or not all(0.0 <= v <= 1.0 for v in values):  # type: ignore[operator]
        raise ParameterError(
            f"a fill colour is a pixel-space value in [0, 1] (one, or one per channel), got "
            f"{spec!r}"
        )


def segment_means(x: Tensor, labels: Tensor) -> Tensor:
    """Each voxel replaced by the mean colour of its segment over the whole clip.

    Args:
        x: ``1×C×T×H×W``; labels: ``T×H×W`` int64 in ``0..M−1``.

    Returns:
        ``1×C×T×H×W``.
    """
    c = x.shape[1]
    m = int(labels.max()) + 1
    flat = labels.flatten()
    sums = torch.zeros(c, m, dtype=x.dtype, device=x.device).index_add_(1, flat, x[0].flatten(1))
    counts = torch.bincount(flat, minlength=m).to(x.dtype).clamp_min(1)
    return (sums / counts)[:, flat].view_as(x)


def _reference(spec: Tensor, x: Tensor) -> Tensor:
    c = x.shape[1]
    if spec.ndim <= 1 and spec.numel() in (1, c):
        # a constant already in model-input (normalised) space: one value or one per channel
        constant = spec.detach().to(device=x.device, dtype=x.dtype).reshape(-1)
        return constant.expand(c).reshape(1, c, 1, 1, 1).clone()
    ref = spec.detach()
    if ref.ndim == 5 and ref.shape[0] == 1:
        ref = ref[0]
    if tuple(ref.shape) != tuple(x.shape[1:]) or not ref.is_floating_point():
        raise InvalidInputError(
            f"A reference video fill must be a float tensor C×T×H×W = "
            f"{'×'.join(map(str, x.shape[1:]))} in model-input space (like the clip), got "
            f"{ref.dtype} {tuple(spec.shape)}"
        )
    if not torch.isfinite(ref).all():
        raise InvalidInputError("The reference video contains NaN or infinite values")
    return ref.to(device=x.device, dtype=x.dtype).unsqueeze(0)


def make_fill(
    spec: Fill,
    x: Tensor,
    pixel_value: Callable[[Any], Tensor],
    labels: Tensor | None,
    blur_sigma: float,
) -> Tensor:
    """The clip every removed voxel is taken from, in model-input space.

    Args:
        spec: the fill (see :data:`Fill`). Colours are pixel-space values converted with
            ``pixel_value`` (so ``"black"`` is the input-space value of black).
        x: ``1×C×T×H×W`` clip in model-input space.
        pixel_value: pixel-space value(s) in [0, 1] → ``C`` tensor in input space.
        labels: ``T×H×W`` segmentation (needed by ``"mean"``; one segment = the clip's mean
            colour), or None.
        blur_sigma: standard deviation (voxels) of the ``"blur"``/``"blur2d"`` fills
            (:func:`vidxai.ops.blur.blur3d` / :func:`~vidxai.ops.blur.blur2d`).

    Returns:
        ``1×C×T×H×W`` fill on ``x``'s device (``1×C×1×1×1`` for a constant colour, which
        broadcasts).

    Raises:
        InvalidInputError: a reference video whose shape is not the clip's ``C×T×H×W``.
        ParameterError: a bad fill.
    """
    check_fill(spec)
    if isinstance(spec, Tensor):
        return _reference(spec, x)
    if spec == "blur":
        return blur3d(x, blur_sigma)
    if spec == "blur2d":
        return blur2d(x, blur_sigma)
    if spec == "mean":
        if labels is None:
            raise ParameterError("the 'mean' fill needs a segmentation")
        return segment_means(x, labels)
    c = x.shape[1]
    value: object = {"black": 0.0, "gray": 0.5}.get(spec, spec) if isinstance(spec, str) else spec
    if isinstance(value, tuple) and len(value) not in (1, c):
        raise ParameterError(f"a fill colour needs 1 or {c} values, got {len(value)}")
    colour = pixel_value(list(value) if isinstance(value, tuple) else value)
    return colour.reshape(-1).expand(c).reshape(1, c, 1, 1, 1).to(x.dtype)  # broadcasts
