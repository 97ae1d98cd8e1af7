"""Resizing of ``T×H×W`` maps and ``N×C×T×H×W`` clips (``align_corners=False`` throughout)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from vidxai.errors import InvalidInputError


def _check(x: Tensor, size: tuple[int, ...], dims: int, what: str) -> tuple[int, ...]:
    if not isinstance(x, Tensor) or x.ndim < dims or not x.is_floating_point():
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
        raise InvalidInputError(f"{what} needs a float tensor with ≥ {dims} dimensions, got {got}")
    out = tuple(int(v) for v in size)
    if len(out) != dims or min(out) < 1:
        raise InvalidInputError(f"{what} needs {dims} positive output sizes, got {size!r}")
    return out


def resize_frames(x: Tensor, size: tuple[int, int], antialias: bool = True) -> Tensor:
    """Bilinear resize of every frame of a ``…×H×W`` tensor to ``size = (H', W')``.

    Args:
        x: ``…×H×W`` float tensor (``T×H×W`` maps, ``N×C×T×H×W`` clips, …).
        size: output ``(H', W')``.
        antialias: low-pass filter when shrinking (as PIL / torchvision's antialiased resize).

    Returns:
        ``…×H'×W'`` tensor (``x`` itself when the size is unchanged).

    Raises:
        InvalidInputError: not a float tensor with ≥ 2 dimensions, or a non-positive size.
    """
    out_size = _check(x, size, 2, "resize_frames")
    h, w = int(x.shape[-2]), int(x.shape[-1])
    if (h, w) == out_size:
        return x
    flat = x.reshape(-1, 1, h, w)
    out = F.interpolate(
        flat, size=out_size, mode="bilinear", align_corners=False, antialias=antialias
    )
    return out.reshape(*x.shape[:-2], *out_size)


def resize_volume(x: Tensor, size: tuple[int, int, int]) -> Tensor:
    """Trilinear resize of a ``…×T×H×W`` tensor to ``size = (T', H', W')``.

    Args:
        x: ``…×T×H×W`` float tensor (e.g. ``N×T'×H'×W'`` CAMs).
        size: output ``(T', H', W')``.

    Returns:
        ``…×T'×H'×W'`` tensor (``x`` itself when the size is unchanged).

    Raises:
        InvalidInputError: not a float tensor with ≥ 3 dimensions, or a non-positive size.
    """
    out_size = _check(x, size, 3, "resize_volume")
    t, h, w = (int(v) for v in x.shape[-3:])
    if (t, h, w) == out_size:
        return x
    flat = x.reshape(-1, 1, t, h, w)
    out = F.interpolate(flat, size=out_size, mode="trilinear", align_corners=False)
    return out.reshape(*x.shape[:-3], *out_size)
