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
same kept w⁺. For one clip, layers whose PyTorch kernel choice is slow at one thread run on
oneDNN (:mod:`~vidxai.relevance.conv_kernel`: the stacked forward of 1×1-spatial kernels, the
transposed stride-1 layer with flipped w⁺, kept with the stack).

Used for plain layers (:func:`~vidxai.relevance.plain_layer.is_plain`) whose rule is
:class:`~vidxai.relevance.rules.FastZPlus` with a numeric stabiliser and no zeroed parameters; a
call whose input has negative entries falls back to the rule's own two-copy backward.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from vidxai.relevance.conv_kernel import flipped, forward_kernel, transposable
from vidxai.relevance.direct_hook import DirectHook, _Relay
from vidxai.relevance.merge_cache import adopt, same_memory, same_values
from vidxai.relevance.plain_layer import channel_dim, input_vjp, is_plain, layer_call
from vidxai.relevance.rules import FastZPlus


@dataclass
class Stacked:
    """A layer's stacked parameters ``[w; w⁺]``, ``[b; b⁺]`` (or None) and, made at the first
    backward that runs the transposed layer on oneDNN, ``conv_kernel.flipped(w⁺)``."""

    weight: Tensor
    bias: Tensor | None
    flipped: Tensor | None = None

    def plus(self) -> tuple[Tensor, Tensor | None]:
        """``(w⁺, b⁺)``: the second halves."""
        half = int(self.weight.shape[0]) // 2
        return self.weight[half:], None if self.bias is None else self.bias[half:]


#: per layer, the stacked parameters of its last call (weakly keyed: dropped with the layer).
#: A call reuses them only when its weights equal the stored first halves exactly.
_STACKED: weakref.WeakKeyDictionary[nn.Module, Stacked] = weakref.WeakKeyDictionary()


def _matches(stacked: Tensor | None, value: Tensor | None) -> bool:
    """``value`` equals the first half of ``stacked`` exactly (or both are None)."""
    if stacked is None or value is None:
        return stacked is None and value is None
    half = int(value.shape[0])
    return stacked.shape[0] == 2 * half and same_values(stacked[:half], value)


def stacked_params(module: nn.Module, weight: Tensor, bias: Tensor | None) -> Stacked:
    """The :class:`Stacked` parameters of the layer's current weights.

    Stacking copies every weight twice, so the last call's stack is reused: without a look at
    the values when the layer's weights are the stack's own first half (BatchNorm-merged
    weights: :mod:`~vidxai.relevance.merge_cache` hands that half out again, see :func:`adopt`
    there), else after an exact comparison (one read of the weights; any change of the weights,
    however made, rebuilds it).
    """
    cached = _STACKED.get(module)
    if cached is not None and _current(cached, weight, bias):
        return cached
    stacked = Stacked(
        torch.cat([weight, weight.clamp(min=0)]),
        None if bias is None else torch.cat([bias, bias.clamp(min=0)]),
    )
    _STACKED[module] = stacked
    adopt(module, weight, stacked.weight[: weight.shape[0]])
    return stacked


def _current(cached: Stacked, weight: Tensor, bias: Tensor | None) -> bool:
    """The stack holds ``weight`` (its own first half, or equal values) and ``bias`` (equal
    values: a bias is small)."""
    if not _matches(cached.bias, bias):
        return False
    own = cached.weight.shape[0] == 2 * weight.shape[0]
    own = own and same_memory(cached.weight[: weight.shape[0]], weight)
    return own or _matches(cached.weight, weight)


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
        stacked: Stacked,
        out: list[Tensor],
    ) -> Tensor:
        ctx.module, ctx.epsilon = module, epsilon
        ctx.x, ctx.z_plus, ctx.stacked = x.detach(), z_plus, stacked
        return out[0]

    @staticmethod
    @once_differentiable  # type: ignore[misc]
    def backward(ctx: Any, grad: Tensor) -> tuple[Any, ...]:
        stacked: Stacked = ctx.stacked
        w_plus, b_plus = stacked.plus()
        z_plus = ctx.z_plus
        if z_plus is None:
            z_plus = layer_call(ctx.module, ctx.x, w_plus, b_plus)
        # z⁺ ≥ 0: zennit's stabiliser adds ε (in place: z⁺ is this node's own tensor)
        scaled = torch.div(grad, z_plus.add_(ctx.epsilon), out=z_plus)
        if stacked.flipped is None and transposable(ctx.module, scaled):
            stacked.flipped = flipped(w_plus)
        relevance = input_vjp(ctx.module, scaled, ctx.x, w_plus, stacked.flipped).mul_(ctx.x)
        ctx.z_plus = ctx.stacked = None
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
        stacked = stacked_params(module, weight.detach(), None if bias is None else bias.detach())
        stack = int(x.shape[0]) == 1
        self._calls.append((x, (weight, bias, stacked, stack)))
        if stack:
            params: dict[str, Any] = module._parameters
            params["weight"] = stacked.weight
            if bias is not None:
                params["bias"] = stacked.bias
            kernel = forward_kernel(module, detached)
            if kernel is not None:  # this call's convolution on oneDNN (conv_kernel)
                module.__dict__["_conv_forward"] = kernel
        return (detached,)

    def _post(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if not self._calls:
            return None
        x, fused = self._calls.pop()
        if fused is None:
            return _Relay.apply(self, module, x, [output])
        weight, bias, stacked, stack = fused
        if not stack:  # the layer's own output; z⁺ is evaluated in the backward
            return _FusedRelay.apply(module, self.rule.epsilon, x, None, stacked, [output])
        _restore(module, weight, bias)
        dim, channels = channel_dim(module), int(weight.shape[0])
        # detached halves: not autograd views of the stacked output, so in-place layers after
        # this one (ReLU(inplace=True)) may modify z; z⁺ lies in the other, untouched half
        z = output.narrow(dim, 0, channels).detach()
        z_plus = output.narrow(dim, channels, channels).detach()
        return _FusedRelay.apply(module, self.rule.epsilon, x, z_plus, stacked, [z])

    def register(self, module: nn.Module) -> Any:
        self._module = module
        return super().register(module)

    def remove(self) -> None:
        """Also put back the weights of a call whose forward raised (no forward hook ran)."""
        for _, fused in reversed(self._calls):
            if fused is not None and fused[3]:
                _restore(self._module, fused[0], fused[1])
        super().remove()


def _restore(module: nn.Module, weight: Tensor, bias: Tensor | None) -> None:
    """Put the layer's own parameters (and its class's ``_conv_forward``) back after a stacked
    call."""
    params: dict[str, Any] = module._parameters
    params.update({"weight": weight, "bias": bias})
    module.__dict__.pop("_conv_forward", None)
