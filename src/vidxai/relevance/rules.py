"""A faster z⁺ rule for the layers of ReLU networks, exactly zennit's ``ZPlus`` otherwise.

zennit's ``ZPlus`` evaluates two modified copies of each layer, ``x⁺·w⁺`` and ``x⁻·w⁻`` (with the
bias dropped from the second), and back-propagates through both. After a ReLU the input has no
negative part, so the second copy is exactly zero and its forward and backward passes are wasted
work; in a video CNN every convolution but the first reads a ReLU's output. :class:`FastZPlus`
checks the stored input and, when it is non-negative, evaluates only the first copy — the same
relevance, about a third less computation per layer; otherwise it runs zennit's two-copy rule.
"""

from __future__ import annotations

from typing import Any

import torch
from zennit.core import ParamMod
from zennit.rules import ZPlus


class FastZPlus(ZPlus):  # type: ignore[misc]
    """zennit's ``ZPlus`` with a one-copy path for non-negative inputs (same result)."""

    def backward(self, module: Any, grad_input: Any, grad_output: Any) -> Any:
        original = self.stored_tensors["input"][0]
        if not bool((original >= 0).all()):
            return super().backward(module, grad_input, grad_output)
        x = original.detach().requires_grad_()  # a new leaf on the same memory: no copy
        with ParamMod.ensure(self.param_modifiers[0])(module) as modified, torch.enable_grad():
            z = self.output_modifiers[0](modified.forward(x))
        scaled = self.gradient_mapper(grad_output[0], [z])[0]  # R / stabilised z⁺
        (grad,) = torch.autograd.grad(
            z, x, grad_outputs=scaled, create_graph=grad_output[0].requires_grad
        )
        relevance = x * grad
        return tuple(relevance if g.shape == relevance.shape else None for g in grad_input)
