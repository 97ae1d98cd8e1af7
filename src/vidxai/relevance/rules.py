"""A faster z⁺ rule for the layers of ReLU networks, exactly zennit's ``ZPlus`` otherwise.

zennit's ``ZPlus`` evaluates two modified copies of each layer, ``x⁺·w⁺`` and ``x⁻·w⁻`` (with the
bias dropped from the second), and back-propagates through both. After a ReLU the input has no
negative part, so the second copy is exactly zero and its forward and backward passes are wasted
work; in a video CNN every convolution but the first reads a ReLU's output. :class:`FastZPlus`
checks the stored input and, when it is non-negative, evaluates only the first copy — the same
relevance, about a third less computation per layer; otherwise it runs zennit's two-copy rule.

On that path z⁺ = x·w⁺ + b⁺ ≥ 0, where zennit's stabiliser ``z + (𝟙[z = 0] + sign z)·ε`` is
exactly ``z + ε``: one addition instead of five passes over the layer's output.
"""

from __future__ import annotations

from typing import Any

import torch
from zennit.core import ParamMod
from zennit.rules import ZPlus


class FastZPlus(ZPlus):  # type: ignore[misc]
    """zennit's ``ZPlus`` with a one-copy path for non-negative inputs (same result)."""

    def __init__(self, stabilizer: Any = 1e-6, zero_params: Any = None) -> None:
        super().__init__(stabilizer=stabilizer, zero_params=zero_params)
        self.epsilon = float(stabilizer) if isinstance(stabilizer, (int, float)) else None

    def copy(self) -> FastZPlus:
        new = super().copy()
        new.epsilon = self.epsilon
        return new  # type: ignore[no-any-return]

    def backward(self, module: Any, grad_input: Any, grad_output: Any) -> Any:
        original = self.stored_tensors["input"][0]
        if not bool(original.min() >= 0):
            return super().backward(module, grad_input, grad_output)
        x = original.detach().requires_grad_()  # a new leaf on the same memory: no copy
        with ParamMod.ensure(self.param_modifiers[0])(module) as modified, torch.enable_grad():
            z = self.output_modifiers[0](modified.forward(x))
        if self.epsilon is None:  # a callable stabiliser: zennit's mapping
            scaled = self.gradient_mapper(grad_output[0], [z])[0]
        else:  # R / stabilised z⁺ (z⁺ ≥ 0: the stabiliser adds ε)
            scaled = grad_output[0] / (z.detach() + self.epsilon)
        (grad,) = torch.autograd.grad(
            z, x, grad_outputs=scaled, create_graph=grad_output[0].requires_grad
        )
        relevance = grad.mul_(x) if not grad.requires_grad else grad * x
        return tuple(relevance if g.shape == relevance.shape else None for g in grad_input)
