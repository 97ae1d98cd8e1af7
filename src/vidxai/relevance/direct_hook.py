"""A zennit ``BasicHook`` rule attached so that the layer's own backward pass never runs.

zennit attaches a rule to a layer with an identity node before it and a tensor hook that
*replaces* the gradient arriving there: the layer's ordinary backward pass (for a convolution, a
full transposed convolution) still runs, and its result is thrown away. :class:`DirectHook` runs
the layer's forward on a detached input — no graph, no saved tensors — and hands its output on
through :class:`_Relay`, an autograd node whose backward is the rule's own
``BasicHook.backward`` (same modifiers, gradient mapper and reducer, so the same relevance).

:class:`DirectPass` does the same for zennit's ``Pass`` (activations), whose backward hands the
relevance on unchanged.

Each call of a layer keeps its own input in its node, so a layer used twice in one forward pass
gets each call's relevance from that call's input (zennit's stored input holds the last call
only).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from zennit.core import BasicHook, RemovableHandle, RemovableHandleList

from vidxai.errors import UnsupportedModelError


class _Relay(torch.autograd.Function):
    """Identity on the layer's output; backward = the rule's relevance for the layer's input."""

    @staticmethod
    def forward(
        ctx: Any, hook: DirectHook, module: nn.Module, x: Tensor, out: list[Tensor]
    ) -> Tensor:
        # ``out`` comes in a list: not an input of the node, so it becomes the node's own output
        # (an input returned as-is would be a view, which in-place layers after it may not modify)
        ctx.hook, ctx.module, ctx.x = hook, module, x.detach()
        return out[0]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[None, None, Tensor | None, None]:
        rule = ctx.hook.rule
        rule.stored_tensors["input"] = (ctx.x,)
        try:
            (relevance,) = rule.backward(ctx.module, (ctx.x,), (grad,))
        finally:
            rule.stored_tensors.clear()
        return None, None, relevance, None


class _PassRelay(torch.autograd.Function):
    """Identity on the layer's output; backward: the output's relevance, unchanged (``Pass``)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, out: list[Tensor]) -> Tensor:
        return out[0]

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


class DirectHook:
    """A zennit ``BasicHook`` rule whose layer's own backward never runs.

    ``register(module)`` adds a forward pre-hook (the layer sees its input detached: no graph)
    and a forward hook (the output goes through :class:`_Relay`). A call whose input needs no
    gradient runs plainly (there is nothing to propagate to). zennit's rules re-run the layer on
    one input, so a call with several inputs raises :class:`UnsupportedModelError`.
    """

    def __init__(self, rule: BasicHook) -> None:
        self.rule = rule
        self.active = True
        self._calls: list[Any] = []  # per open call: what its forward hook needs

    def copy(self) -> DirectHook:
        return type(self)(self.rule.copy())

    def intercepted(self, module: nn.Module, args: tuple[Any, ...]) -> Tensor | None:
        """The graph input of a call this hook handles (None: let the call run plainly)."""
        grads = [isinstance(a, Tensor) and a.requires_grad for a in args]
        if not (self.active and torch.is_grad_enabled() and any(grads)):
            return None
        if len(args) != 1:
            raise UnsupportedModelError(
                f"The LRP rule {type(self.rule).__name__} of {type(module).__name__} takes one "
                f"input; this layer was called with {len(args)}."
            )
        return args[0]  # type: ignore[no-any-return]

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        x = self.intercepted(module, args)
        if x is None:
            return None
        self._calls.append(x)
        return (x.detach(),)

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if not self._calls:
            return None
        x = self._calls.pop()
        return _Relay.apply(self, module, x, [output])

    def remove(self) -> None:
        self._calls.clear()
        self.rule.remove()

    def register(self, module: nn.Module) -> RemovableHandleList:
        return RemovableHandleList(
            [
                RemovableHandle(self),
                module.register_forward_pre_hook(self._pre),
                module.register_forward_hook(self._post),
            ]
        )


class DirectPass(DirectHook):
    """zennit's ``Pass`` (an elementwise layer hands the relevance of its output on unchanged)
    without zennit's mechanism: no identity node, copy of the input or discarded backward of the
    layer (the ReLU's mask) — the layer runs on its detached input and :class:`_PassRelay` is
    its backward."""

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if not self._calls:
            return None
        return _PassRelay.apply(self._calls.pop(), [output])
