"""Zeroing chosen channels of a layer's output, one channel per batch row (for Ablation-CAM)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from vidxai.cam.layout import ActivationLayout


def keep_mask(raw: Tensor, layout: ActivationLayout, channels: Tensor) -> Tensor:
    """A 0/1 mask broadcastable against the raw layer output that zeroes, in batch row ``i``,
    channel ``channels[i]`` at every position of the ``N×C×T'×H'×W'`` volume.

    Args:
        raw: the layer output of ``b`` clips in ``layout`` (``frames``/``frame_tokens`` have
            ``b·T'`` rows, batch-major).
        layout: its complete layout.
        channels: ``b`` long, the channel to ablate per clip.

    Leading class tokens of ``tokens``/``frame_tokens`` layouts are left as they are (they are
    not part of the volume).
    """
    b = int(channels.shape[0])
    c = int(raw.shape[1] if layout.kind in ("ncthw", "frames") else raw.shape[-1])
    keep = torch.ones(b, c, dtype=raw.dtype, device=raw.device)
    keep[torch.arange(b, device=raw.device), channels.to(raw.device)] = 0
    kind = layout.kind
    if kind in ("frames", "frame_tokens"):
        keep = keep.repeat_interleave(raw.shape[0] // b, dim=0)
    if kind == "ncthw":
        return keep.view(b, c, 1, 1, 1)
    if kind == "nthwc":
        return keep.view(b, 1, 1, 1, c)
    if kind == "frames":
        return keep.view(-1, c, 1, 1)
    prefix = int(layout.prefix or 0)  # tokens: rows × L × C
    mask = keep.unsqueeze(1).expand(-1, raw.shape[1], -1).clone()
    mask[:, :prefix] = 1
    return mask


@contextmanager
def ablate_channels(
    module: nn.Module, layout: ActivationLayout, state: dict[str, Tensor]
) -> Iterator[None]:
    """While active, the output of ``module`` has channel ``state["channels"][i]`` zeroed in
    batch row ``i`` (``state`` is updated before each batch). The hook is removed in finally."""

    def hook(_m: nn.Module, _inp: Any, out: Any) -> Any:
        raw = out[0] if isinstance(out, (tuple, list)) else out
        ablated = raw * keep_mask(raw, layout, state["channels"])
        if isinstance(out, (tuple, list)):
            return type(out)([ablated, *out[1:]])
        return ablated

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
