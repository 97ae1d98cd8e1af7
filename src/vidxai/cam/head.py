"""Reading a "global average pooling + linear classifier" head, for Saliency Tubes and CFP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from vidxai.cam.layers import (
    LayerCapture,
    capture_outputs,
    forward_hooks,
    layer_hint,
    layer_modules,
    pick_output,
)
from vidxai.cam.layout import infer_layout, to_volume
from vidxai.cam.pyramids import ConvRecord, record_convs
from vidxai.core.context import ExplainContext
from vidxai.errors import UnsupportedModelError


@dataclass
class LinearHead:
    """The classifier reached from a layer through global average pooling.

    Attributes:
        name: dotted path of the ``nn.Linear`` inside ``ctx.module``.
        weight: its ``K×C`` weight matrix (detached).
        capture: the layer's maps ``N×C×T'×H'×W'`` on the clip (``grads`` is ``None``).
        head_input: the classifier's input on the clip (in the autograd graph when the
            convolutions were recorded).
        convs: the recorded convolutions (see :func:`vidxai.cam.pyramids.record_convs`), or
            ``None``.
    """

    name: str
    weight: Tensor
    capture: LayerCapture
    head_input: Tensor
    convs: dict[str, ConvRecord] | None = None


@contextmanager
def linear_inputs(module: nn.Module) -> Iterator[dict[str, Tensor]]:
    """Record the input of every ``nn.Linear`` in ``module``, ordered by last call."""
    store: dict[str, Tensor] = {}
    linears = {n: m for n, m in module.named_modules() if isinstance(m, nn.Linear)}

    def record(name: str, _m: nn.Module, inputs: tuple[Any, ...], _out: Any) -> None:
        if inputs and isinstance(inputs[0], Tensor):
            store.pop(name, None)
            store[name] = inputs[0]

    with forward_hooks(linears, record):
        yield store


def _pooled(acts: Tensor, rows: int) -> Tensor | None:
    """Global average of ``N×C×T'×H'×W'`` maps as ``rows×C`` (per clip or per frame)."""
    n, c, t = acts.shape[:3]
    if rows == n:
        return acts.mean(dim=(2, 3, 4))
    if rows == n * t:
        return acts.mean(dim=(3, 4)).permute(0, 2, 1).reshape(n * t, c)
    return None


def find_linear_head(
    ctx: ExplainContext, layer: str | None, method: str, with_convs: bool = False
) -> LinearHead:
    """One forward pass capturing ``layer`` and the last ``nn.Linear``'s input.

    Args:
        with_convs: also record every convolution, in an autograd graph (the input requires
            grad; nothing is back-propagated) so that data flow can be followed.

    Raises:
        UnsupportedModelError: no linear layer ran, or its input is not the global average of
            the layer's maps (per clip or per frame) — Saliency Tubes and CFP need that head.
    """
    name, modules = layer_modules(ctx, layer)
    recorder: AbstractContextManager[dict[str, ConvRecord]] = (
        record_convs(ctx.module) if with_convs else nullcontext({})
    )
    with (
        capture_outputs(modules) as store,
        linear_inputs(ctx.module) as linears,
        recorder as convs,
        torch.set_grad_enabled(with_convs),
    ):
        ctx.model(ctx.x.detach().requires_grad_(with_convs))
    name, raw = pick_output(ctx, store, name)
    layout = infer_layout(tuple(raw.shape), tuple(ctx.x.shape), layer_hint(ctx, name, raw))
    acts = to_volume(raw, layout, int(ctx.x.shape[0]))
    if not linears:
        raise UnsupportedModelError(
            f"{method} needs a linear classifier after global average pooling; this model runs "
            "no nn.Linear layer. Use gradcam or scorecam instead."
        )
    head_name, head_in = next(reversed(linears.items()))
    head = dict(ctx.module.named_modules())[head_name]
    rows = head_in.detach().reshape(-1, head_in.shape[-1])
    pooled = _pooled(acts.detach(), int(rows.shape[0]))
    scale = float(pooled.abs().max()) if pooled is not None and pooled.numel() else 1.0
    if (
        pooled is None
        or pooled.shape != rows.shape
        or not torch.allclose(pooled, rows, rtol=1e-3, atol=1e-5 * max(scale, 1e-12))
    ):
        raise UnsupportedModelError(
            f"{method} needs the maps of layer {name!r} to reach the classifier {head_name!r} "
            "through global average pooling only (a GAP + linear head), but the classifier's "
            "input is not the average of that layer's output. Name the layer that feeds the "
            "pooling with the 'layer' parameter, or use gradcam instead."
        )
    capture = LayerCapture(name, layout, acts.detach(), None, torch.empty(0))
    return LinearHead(
        head_name, head.weight.detach(), capture, head_in, convs if with_convs else None
    )
