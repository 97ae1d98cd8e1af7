"""Activation layouts: any layer output → an ``N×C×T'×H'×W'`` volume for the CAM core.

Video networks put their feature maps in several shapes:

* ``"ncthw"``: 3D conv maps ``N×C×T'×H'×W'`` (R3D, R(2+1)D, S3D, X3D …);
* ``"nthwc"``: channels-last 3D maps ``N×T'×H'×W'×C`` (torchvision Swin3D);
* ``"frames"``: frame-wise 2D maps ``(N·T')×C×H'×W'``, batch-major (TSN/TSM-like nets);
* ``"tokens"``: transformer tokens ``N×(P + T'·h·w)×C`` with ``P`` leading class/distillation
  tokens; patch tokens ordered time-major (``order="thw"``, VideoMAE, MViT) or space-major
  (``order="hwt"``, Hugging Face TimeSformer);
* ``"frame_tokens"``: per-frame token sequences ``(N·T')×(P + h·w)×C`` (TimeSformer's spatial
  attention, ViT applied frame by frame).

:func:`to_volume` reshapes (views and permutes only, so gradients reshape the same way),
:func:`cover` spreads one value per token over the input voxels it was made from, and
:func:`infer_layout` guesses the layout and token grid from the activation's shape and the
input's shape when the model does not declare it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError

LayoutKind = Literal["ncthw", "nthwc", "frames", "tokens", "frame_tokens"]
KINDS: tuple[str, ...] = ("ncthw", "nthwc", "frames", "tokens", "frame_tokens")

_ALIASES = {
    "cthw": "ncthw",
    "cnn3d": "ncthw",
    "conv3d": "ncthw",
    "3d": "ncthw",
    "thwc": "nthwc",
    "channels_last": "nthwc",
    "frame2d": "frames",
    "2d": "frames",
    "nt_chw": "frames",
    "transformer": "tokens",
    "token": "tokens",
    "timesformer": "tokens",
}


@dataclass(frozen=True)
class ActivationLayout:
    """How a layer's output is laid out.

    Attributes:
        kind: one of :data:`KINDS`.
        grid: ``(T', h, w)`` token grid for ``tokens`` / ``frame_tokens`` (``None`` = infer).
        prefix: leading non-patch tokens per sequence (``None`` = infer).
        order: order of patch tokens for ``tokens``: ``"thw"`` (time-major) or ``"hwt"``.
    """

    kind: LayoutKind
    grid: tuple[int, int, int] | None = None
    prefix: int | None = None
    order: Literal["thw", "hwt"] = "thw"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ParameterError(f"Unknown activation layout {self.kind!r}; use one of {KINDS}.")
        if self.order not in ("thw", "hwt"):
            raise ParameterError(f"Token order must be 'thw' or 'hwt', got {self.order!r}.")


def coerce_layout(value: Any) -> ActivationLayout | None:
    """Read a layout hint: ``None``, a kind name (or alias), a mapping, or a layout object.

    Mappings and objects may carry ``kind``, the token grid as ``grid`` or ``t``/``h``/``w``,
    the leading tokens as ``prefix`` (or ``num_prefix_tokens``, or ``cls``: bool) and
    ``order``; this is how a :class:`~vidxai.models.adapter.VideoClassifier`'s
    ``layer_layout`` is read (``{"kind": "tokens", "cls": True, "t": 8, "h": 14, "w": 14,
    "order": "hwt"}``). Frame-wise layouts take ``T'`` from the batch dimension.
    """
    if value is None or isinstance(value, ActivationLayout):
        return value
    if isinstance(value, str):
        kind = _ALIASES.get(value.lower(), value.lower())
        order = "hwt" if value.lower() == "timesformer" else "thw"
        return ActivationLayout(kind, order=order)  # type: ignore[arg-type]
    get = value.get if isinstance(value, Mapping) else (lambda k, d=None: getattr(value, k, d))
    kind = get("kind", None) or get("layout", None)
    if kind is None:
        raise ParameterError(f"A layer layout needs a 'kind'; got {value!r}.")
    base = coerce_layout(str(kind))
    assert base is not None
    grid = get("grid", None)
    if grid is None and base.kind in ("tokens", "frame_tokens"):
        t, h, w = get("t", None), get("h", None), get("w", None)
        if h is not None and w is not None and (t is not None or base.kind == "frame_tokens"):
            grid = (t or 1, h, w)
    prefix = get("prefix", None)
    if prefix is None:
        prefix = get("num_prefix_tokens", None)
    if prefix is None and get("cls", None) is not None:
        prefix = int(bool(get("cls", None)))
    return ActivationLayout(
        base.kind,
        grid=tuple(int(g) for g in grid) if grid is not None else None,  # type: ignore[arg-type]
        prefix=int(prefix) if prefix is not None else None,
        order=get("order", None) or base.order,
    )


def _divisors_desc(n: int) -> list[int]:
    return [d for d in range(n, 0, -1) if n % d == 0]


def _spatial_grid(n_tokens: int, size: tuple[int, int]) -> tuple[int, int] | None:
    """``(h, w)`` with ``h·w = n_tokens`` whose aspect ratio matches ``size`` (H, W)."""
    if n_tokens <= 0:
        return None
    height, width = size
    best: tuple[float, tuple[int, int]] | None = None
    for h in range(1, n_tokens + 1):
        if n_tokens % h:
            continue
        w = n_tokens // h
        if h > height or w > width:
            continue
        mismatch = abs(math.log((height / h) / (width / w)))
        exact = height % h == 0 and width % w == 0
        key = mismatch + (0.0 if exact else 0.05)
        if mismatch < 0.25 and (best is None or key < best[0]):
            best = (key, (h, w))
    return best[1] if best else None


def _token_grid(
    n_seq: int, frames: int | None, input_thw: tuple[int, int, int], prefix: int | None
) -> tuple[int, tuple[int, int, int]] | None:
    """Find ``(prefix, (T', h, w))`` for a sequence of ``n_seq`` tokens.

    ``frames`` fixes ``T'`` (frame tokens); otherwise the largest ``T'`` dividing ``T`` whose
    spatial factorisation fits is taken (a tubelet of 1 before 2 …).
    """
    t_in, h_in, w_in = input_thw
    prefixes = [prefix] if prefix is not None else [0, 1, 2]
    for p in prefixes:
        n = n_seq - p
        if n <= 0:
            continue
        if frames is not None:  # per-frame sequences: the tokens are one frame's h·w patches
            hw = _spatial_grid(n, (h_in, w_in))
            if hw is not None:
                return p, (frames, hw[0], hw[1])
            continue
        for t in _divisors_desc(t_in):
            if n % t:
                continue
            hw = _spatial_grid(n // t, (h_in, w_in))
            if hw is not None:
                return p, (t, hw[0], hw[1])
    return None


def _plausible_5d(thw: tuple[int, ...], input_thw: tuple[int, int, int]) -> float:
    """Lower is more plausible; ``inf`` when a map dimension exceeds the input's."""
    if any(a > b for a, b in zip(thw, input_thw)):
        return math.inf
    return abs(math.log((input_thw[1] / thw[1]) / (input_thw[2] / thw[2])))


def infer_layout(
    shape: tuple[int, ...], input_shape: tuple[int, ...], hint: ActivationLayout | None = None
) -> ActivationLayout:
    """Complete ``hint`` (or guess a layout) from an activation shape and the input shape.

    Args:
        shape: the activation's shape.
        input_shape: the model input's ``N×C×T×H×W`` shape.
        hint: a partial layout (kind known, grid/prefix possibly not).

    Raises:
        InvalidInputError: the shape fits no layout.
    """
    n = int(input_shape[0])
    input_thw = (int(input_shape[2]), int(input_shape[3]), int(input_shape[4]))
    kind = hint.kind if hint is not None else None
    ndim = len(shape)
    if kind is None:
        if ndim == 5:
            a = _plausible_5d(shape[2:], input_thw)
            b = _plausible_5d(shape[1:4], input_thw)
            kind = "nthwc" if b < a else "ncthw"
        elif ndim == 4:
            kind = "frames"
        elif ndim == 3:
            kind = "tokens" if shape[0] == n else "frame_tokens"
        else:
            raise InvalidInputError(
                f"A CAM layer must output a 3D/2D feature map or transformer tokens; this layer "
                f"outputs shape {tuple(shape)}. Choose another layer with the 'layer' parameter."
            )
    expected_ndim = {"ncthw": 5, "nthwc": 5, "frames": 4, "tokens": 3, "frame_tokens": 3}[kind]
    if ndim != expected_ndim:
        raise InvalidInputError(
            f"Layer output of shape {tuple(shape)} does not have the {kind!r} layout "
            f"({expected_ndim} dimensions)."
        )
    if kind in ("frames", "frame_tokens") and shape[0] % n:
        raise InvalidInputError(
            f"Frame-wise layer output of shape {tuple(shape)} does not split into {n} clip(s)."
        )
    if kind not in ("tokens", "frame_tokens"):
        return ActivationLayout(kind)  # type: ignore[arg-type]
    order = hint.order if hint is not None else "thw"
    prefix = hint.prefix if hint is not None else None
    if hint is not None and hint.grid is not None:
        t, h, w = hint.grid
        if kind == "frame_tokens":
            t = shape[0] // n
        n_grid = h * w if kind == "frame_tokens" else t * h * w
        p = shape[1] - n_grid if prefix is None else prefix
        if p >= 0 and p + n_grid == shape[1]:
            return ActivationLayout(kind, grid=(t, h, w), prefix=p, order=order)  # type: ignore[arg-type]
        # A declared grid for another input size: fall back to inferring it.
    frames = shape[0] // n if kind == "frame_tokens" else None
    found = _token_grid(int(shape[1]), frames, input_thw, prefix)
    if found is None:
        raise InvalidInputError(
            f"Cannot lay {shape[1]} tokens out on a time × height × width grid for an input of "
            f"{input_thw[0]}×{input_thw[1]}×{input_thw[2]} (T×H×W). Give the layout explicitly "
            "(VideoClassifier.layer_layout)."
        )
    p, grid = found
    return ActivationLayout(kind, grid=grid, prefix=p, order=order)  # type: ignore[arg-type]


def to_volume(act: Tensor, layout: ActivationLayout, n: int) -> Tensor:
    """Reshape an activation to ``N×C×T'×H'×W'`` (views/permutes only; autograd-friendly).

    Args:
        act: the layer output (or its gradient) in ``layout``.
        layout: a complete layout (see :func:`infer_layout`).
        n: the batch size N of the model input.
    """
    kind = layout.kind
    if kind == "ncthw":
        return act
    if kind == "nthwc":
        return act.permute(0, 4, 1, 2, 3)
    if kind == "frames":
        m, c, h, w = act.shape
        return act.reshape(n, m // n, c, h, w).permute(0, 2, 1, 3, 4)
    assert layout.grid is not None and layout.prefix is not None
    t, h, w = layout.grid
    patches = act[:, layout.prefix :, :]
    c = act.shape[-1]
    if kind == "frame_tokens":
        return patches.reshape(n, t, h, w, c).permute(0, 4, 1, 2, 3)
    if layout.order == "hwt":
        return patches.reshape(n, h, w, t, c).permute(0, 4, 3, 1, 2)
    return patches.reshape(n, t, h, w, c).permute(0, 4, 1, 2, 3)


def cover(values: Tensor, cell: tuple[int, int, int], size: tuple[int, int, int]) -> Tensor:
    """Token values on their grid → input voxels: each token fills the voxels it was made from.

    Args:
        values: ``N×T'×h×w`` one value per token (e.g. :func:`to_volume` of a token row).
        cell: ``(frames, height, width)`` of input one token covers (tubelet × patch).
        size: ``(T, H, W)`` of the model input.

    Returns:
        ``N×T×H×W``; voxels no token covers (a remainder the patch embedding drops) are 0.
    """
    n, t, h, w = values.shape
    ct, ch, cw = cell
    # one copy: every value broadcast over its cell (as three repeat_interleave calls, which
    # copy three times)
    cells = values[:, :, None, :, None, :, None].expand(n, t, ct, h, ch, w, cw)
    out = cells.reshape(n, t * ct, h * ch, w * cw)[:, : size[0], : size[1], : size[2]]
    pad = [0, size[2] - out.shape[3], 0, size[1] - out.shape[2], 0, size[0] - out.shape[1]]
    if any(pad):
        out = torch.nn.functional.pad(out, pad)
    return out
