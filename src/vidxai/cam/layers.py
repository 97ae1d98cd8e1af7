"""Finding the CAM layer, capturing its output (and gradient) in one forward(/backward) pass.

The layer is, in order: the ``layer`` parameter (a dotted module path inside the user's module),
the classifier's ``default_layer``, or — for plain modules — the last module whose output is a
spatio-temporal map or a token sequence (found during the same forward pass, at no extra cost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from vidxai.cam.layout import ActivationLayout, coerce_layout, infer_layout, to_volume
from vidxai.core.context import ExplainContext
from vidxai.core.hooks import find_layer
from vidxai.errors import InvalidInputError, ParameterError, TargetError


@dataclass
class LayerCapture:
    """A layer's output on the clip, as a volume.

    Attributes:
        name: dotted path of the layer inside ``ctx.module``.
        layout: the (completed) layout of the raw output.
        acts: ``N×C×T'×H'×W'`` activations (detached).
        grads: ``N×C×T'×H'×W'`` gradient of the target score w.r.t. them, or ``None``.
        scores: ``N`` target values of the forward pass.
    """

    name: str
    layout: ActivationLayout
    acts: Tensor
    grads: Tensor | None
    scores: Tensor


def first_tensor(out: Any) -> Tensor | None:
    """A module output → the tensor in it (first element of a tuple/list), else ``None``."""
    if isinstance(out, Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    return None


@contextmanager
def forward_hooks(
    modules: Mapping[str, nn.Module], record: Callable[[str, nn.Module, Any, Any], None]
) -> Iterator[None]:
    """Call ``record(name, module, inputs, output)`` after each forward of each module.

    The hooks are removed in ``finally``, whatever happens inside the block.
    """
    handles = []
    try:
        for name, module in modules.items():
            handles.append(module.register_forward_hook(partial(_call, record, name)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _call(record: Callable[..., None], name: str, module: nn.Module, inp: Any, out: Any) -> None:
    record(name, module, inp, out)


@contextmanager
def capture_outputs(modules: Mapping[str, nn.Module]) -> Iterator[dict[str, Tensor]]:
    """Record each module's latest output tensor; hooks are removed in ``finally``.

    Yields a dict ``name → tensor`` ordered by when each module last finished its forward.
    """
    store: dict[str, Tensor] = {}

    def record(name: str, _m: nn.Module, _inp: Any, out: Any) -> None:
        tensor = first_tensor(out)
        if tensor is not None:
            store.pop(name, None)
            store[name] = tensor

    with forward_hooks(modules, record):
        yield store


def require_class_target(ctx: ExplainContext, method: str) -> int:
    """The target class index; TargetError for a regression (single-output) target."""
    if not ctx.target.requires_class or ctx.target.index is None:
        raise TargetError(
            f"Method {method!r} needs a class target (it reads the classifier's weights for one "
            "class), but this model has a single regression output. Use a gradient method or "
            "gradcam instead."
        )
    return int(ctx.target.index)


def layer_hint(
    ctx: ExplainContext, name: str, act: Tensor, n_clips: int | None = None
) -> ActivationLayout | None:
    """The declared layout of layer ``name`` (``VideoClassifier.layer_layout``), if any.

    ``n_clips`` is the number of clips in the pass that produced ``act`` (default all).
    """
    declared = getattr(ctx.classifier, "layer_layout", None) if ctx.classifier is not None else None
    default = getattr(ctx.classifier, "default_layer", None) if ctx.classifier is not None else None
    if isinstance(declared, Mapping) and "kind" not in declared:
        declared = declared.get(name)
    elif name != default:
        declared = None
    hint = coerce_layout(declared)
    # Hugging Face TimeSformer orders patch tokens space-major (h, w, t).
    if (
        hint is None
        and act.ndim == 3
        and act.shape[0] == (ctx.x.shape[0] if n_clips is None else n_clips)
        and any(type(m).__name__.startswith("Timesformer") for m in ctx.module.modules())
    ):
        hint = ActivationLayout("tokens", order="hwt")
    return hint


def _is_map(t: Tensor, input_shape: tuple[int, ...]) -> bool:
    try:
        layout = infer_layout(tuple(t.shape), input_shape)
    except (InvalidInputError, ParameterError):
        return False
    vol = to_volume(t, layout, int(input_shape[0]))
    return vol.shape[2] * vol.shape[3] * vol.shape[4] > 1


def pick_output(
    ctx: ExplainContext,
    store: dict[str, Tensor],
    name: str | None,
    input_shape: tuple[int, ...] | None = None,
) -> tuple[str, Tensor]:
    """The named layer's output, or (``name=None``) the last spatio-temporal output.

    ``input_shape`` is the ``N×C×T×H×W`` shape of the clips that ran (default ``ctx.x``'s).
    """
    shape = tuple(ctx.x.shape) if input_shape is None else input_shape
    if name is not None:
        if name not in store:
            raise ParameterError(
                f"Layer {name!r} did not run (or returned no tensor) in the model's forward pass."
            )
        return name, store[name]
    for candidate in reversed(store):
        if _is_map(store[candidate], shape):
            return candidate, store[candidate]
    raise InvalidInputError(
        "Could not find a layer with a spatio-temporal output in this model; name one with the "
        "'layer' parameter."
    )


def layer_modules(
    ctx: ExplainContext, layer: str | None
) -> tuple[str | None, dict[str, nn.Module]]:
    """The modules to hook: the named/default layer, or every submodule for auto-detection."""
    name = layer or (getattr(ctx.classifier, "default_layer", None) if ctx.classifier else None)
    if name:
        return name, {name: find_layer(ctx.module, name)}
    return None, {n: m for n, m in ctx.module.named_modules() if n}


def run_layer(ctx: ExplainContext, layer: str | None, with_grad: bool) -> LayerCapture:
    """One forward pass on the clips ``ctx.x`` (and one backward to the layer when ``with_grad``).

    The passes go through the engine, in batches of clips (each clip scored against its own
    target); the captured volumes of the batches are concatenated in clip order.

    Args:
        layer: dotted module path, or ``None`` for the default/automatic layer.
        with_grad: also compute ``∂score/∂activations`` (back-propagating only down to the layer).

    Raises:
        UnknownNameError: ``layer`` names no module (the message lists the nearest names).
    """
    name, modules = layer_modules(ctx, layer)
    parts: list[LayerCapture] = []

    def step(start: int, stop: int) -> None:
        x = ctx.x[start:stop]
        rows = torch.arange(start, stop, device=x.device)
        chosen: str | None = name
        with capture_outputs(modules) as store:
            if with_grad:
                with torch.enable_grad():
                    # The input requires grad so that the graph exists even for frozen parameters.
                    scores = ctx.clip_score(ctx.model(x.detach().requires_grad_(True)), rows)
                    chosen, raw = pick_output(ctx, store, name, tuple(x.shape))
                    raw_grad = None
                    if raw.requires_grad and scores.requires_grad:
                        with ctx.timer("inference"):
                            (raw_grad,) = torch.autograd.grad(scores.sum(), raw, allow_unused=True)
                if raw_grad is None:
                    raise InvalidInputError(
                        f"The target's gradient does not reach layer {chosen!r} (its output is "
                        "not connected to the prediction by autograd); choose another layer."
                    )
            else:
                with torch.no_grad():
                    scores = ctx.clip_score(ctx.model(x), rows)
                chosen, raw = pick_output(ctx, store, name, tuple(x.shape))
                raw_grad = None
        n = int(x.shape[0])
        hint = layer_hint(ctx, chosen, raw, n)
        layout = infer_layout(tuple(raw.shape), tuple(x.shape), hint)
        acts = to_volume(raw.detach(), layout, n)
        grads = to_volume(raw_grad, layout, n) if raw_grad is not None else None
        parts.append(LayerCapture(chosen, layout, acts, grads, scores.detach()))

    run = ctx.engine.backward_batches if with_grad else ctx.engine.run_batches
    run(ctx.n_clips, step)
    first = parts[0]
    grads = None if first.grads is None else torch.cat([c.grads for c in parts])  # type: ignore[misc]
    return LayerCapture(
        first.name,
        first.layout,
        torch.cat([c.acts for c in parts]),
        grads,
        torch.cat([c.scores for c in parts]),
    )
