"""The z⁺ rule with ``z`` and ``z⁺`` from one call of the layer on stacked weights.

z⁺ needs, besides the layer's output ``z = x·w + b``, the output of the layer's positive part
``z⁺ = x·w⁺ + b⁺`` (``w⁺ = max(w, 0)``) and one transposed layer:
``R_in = x ⊙ w⁺ᵀ·(R_out / (z⁺ + ε))`` (``x ≥ 0``, after a ReLU: zennit's ``ZPlus`` with its
second, ``x⁻`` copy exactly zero, :class:`~vidxai.relevance.rules.FastZPlus`).
:class:`FusedZPlusHook` evaluates the forward once with the weights ``[w; w⁺]`` stacked along the
output channels (one input unfolding, one larger matrix product instead of two), passes the first
half on as the layer's output and keeps the second half for the backward, where the transposed
layer is applied directly (:func:`~vidxai.relevance.plain_layer.input_vjp`; no modified copy of
the layer is evaluated again and no autograd graph is built for it).

The stacked call is made for one clip (a batch of 1): there PyTorch's CPU convolutions of small
3D inputs use its native kernel, whose unfolding of the input the two halves share (0.64–0.88×
the time of two calls, measured per layer). With more rows (TSM's frames are its batch) oneDNN
runs them, where a stacked call costs as much as two or more (1.4–1.8× at 2²–4² feature maps):
the layer's own forward then runs unchanged and z⁺ is one more call in the backward, with the
same kept w⁺.

Used for plain layers (:func:`~vidxai.relevance.plain_layer.is_plain`) whose rule is
:class:`~vidxai.relevance.rules.FastZPlus` with a numeric stabiliser and no zeroed parameters; a
call whose input has negative entries falls back to the rule's own two-copy backward.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from vidxai.relevance.direct_hook import DirectHook, _Relay
from vidxai.relevance.plain_layer import channel_dim, input_vjp, is_plain, layer_call
from vidxai.relevance.rules import FastZPlus

#: per layer, the stacked ``([w; w⁺], [b; b⁺])`` of its last call (weakly keyed: dropped with
#: the layer). A call reuses them only when its weights equal the stored first halves exactly.
_STACKED: weakref.WeakKeyDictionary[nn.Module, tuple[Tensor, Tensor | None]] = (
    weakref.WeakKeyDictionary()
)


def _matches(stacked: Tensor | None, value: Tensor | None) -> bool:
    """``value`` equals the first half of ``stacked`` exactly (or both are None)."""
    if stacked is None or value is None:
        return stacked is None and value is None
    half = int(value.shape[0])
    return (
        stacked.shape[0] == 2 * half
        and stacked.shape[1:] == value.shape[1:]
        and stacked.dtype == value.dtype
        and stacked.device == value.device
        and torch.equal(stacked[:half], value)
    )


def stacked_params(module: nn.Module, weight: Tensor, bias: Tensor | None) -> tuple[Any, ...]:
    """``([w; w⁺], [b; b⁺] or None)`` for the layer's current weights.

    Stacking copies every weight twice; canonized weights (BatchNorm merged anew in every call)
    are equal from call to call, so the last call's stack is reused after an exact comparison
    (one read of the weights; any change of the weights, however made, rebuilds it).
    """
    cached = _STACKED.get(module)
    if cached is not None and _matches(cached[0], weight) and _matches(cached[1], bias):
        return cached
    stacked = (
        torch.cat([weight, weight.clamp(min=0)]),
        None if bias is None else torch.cat([bias, bias.clamp(min=0)]),
    )
    _STACKED[module] = stacked
    return stacked


class _FusedRelay(torch.autograd.Function):
    """Identity on ``z``; backward ``x ⊙ w⁺ᵀ·(R / (z⁺ + ε))`` (``z⁺`` evaluated there when the
    forward did not stack it)."""

    @staticmethod
    def forward(
        ctx: Any,
        module: nn.Module,
        epsilon: float,
        x: Tensor,
        z_plus: Tensor | None,
        plus: tuple[Tensor, Tensor | None],
        out: list[Tensor],
    ) -> Tensor:
        ctx.module, ctx.epsilon = module, epsilon
        ctx.x, ctx.z_plus, ctx.plus = x.detach(), z_plus, plus
        return out[0]

    @staticmethod
    @once_differentiable  # type: ignore[misc]
    def backward(ctx: Any, grad: Tensor) -> tuple[Any, ...]:
        w_plus, b_plus = ctx.plus
        z_plus = ctx.z_plus
        if z_plus is None:
            z_plus = layer_call(ctx.module, ctx.x, w_plus, b_plus)
        scaled = grad / (z_plus + ctx.epsilon)  # z⁺ ≥ 0: zennit's stabiliser adds ε
        relevance = input_vjp(ctx.module, scaled, ctx.x, w_plus).mul_(ctx.x)
        ctx.z_plus = ctx.plus = None
        return None, None, relevance, None, None, None


class FusedZPlusHook(DirectHook):
    """z⁺ on a plain layer with one forward call on ``[w; w⁺]`` (same relevance as ``ZPlus``)."""

    @staticmethod
    def applies(rule: Any, module: nn.Module) -> bool:
        """True for a :class:`FastZPlus` rule with a numeric ε and no zeroed parameters on a
        plain convolution or dense layer."""
        return (
            isinstance(rule, FastZPlus)
            and rule.epsilon is not None
            and not rule.param_modifiers[0].zero_params
            and is_plain(module)
        )

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> Any:
        x = self.intercepted(module, args)
        if x is None:
            return None
        detached = x.detach()
        if not bool(detached.min() >= 0):  # negative inputs: zennit's two-copy rule
            self._calls.append((x, None))
            return (detached,)
        weight, bias = module._parameters["weight"], module._parameters["bias"]
        assert weight is not None
        w_stack, b_stack = stacked_params(
            module, weight.detach(), None if bias is None else bias.detach()
        )
        channels = int(weight.shape[0])
        plus = (w_stack[channels:], None if b_stack is None else b_stack[channels:])
        stack = int(x.shape[0]) == 1
        self._calls.append((x, (weight, bias, plus, stack)))
        if stack:
            module._parameters["weight"] = w_stack
            if bias is not None:
                module._parameters["bias"] = b_stack
        return (detached,)

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if not self._calls:
            return None
        x, fused = self._calls.pop()
        if fused is None:
            return _Relay.apply(self, module, x, [output])
        weight, bias, plus, stack = fused
        if not stack:  # the layer's own output; z⁺ is evaluated in the backward
            return _FusedRelay.apply(module, self.rule.epsilon, x, None, plus, [output])
        module._parameters.update({"weight": weight, "bias": bias})
        dim, channels = channel_dim(module), int(weight.shape[0])
        # detached halves: not autograd views of the stacked output, so in-place layers after
        # this one (ReLU(inplace=True)) may modify z; z⁺ lies in the other, untouched half
        z = output.narrow(dim, 0, channels).detach()
        z_plus = output.narrow(dim, channels, channels).detach()
        return _FusedRelay.apply(module, self.rule.epsilon, x, z_plus, plus, [z])

    def register(self, module: nn.Module) -> Any:
        self._module = module
        return super().register(module)

    def remove(self) -> None:
        """Also put back the weights of a call whose forward raised (no forward hook ran)."""
        for _, fused in reversed(self._calls):
            if fused is not None and fused[3]:
                self._module._parameters.update({"weight": fused[0], "bias": fused[1]})
        super().remove()
