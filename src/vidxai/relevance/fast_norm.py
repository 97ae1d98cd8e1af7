"""The proportional (norm) rule at a residual sum in one pass, exactly zennit's ``Norm`` there.

At a ``zennit.layer.Sum`` (the canonizers route every residual sum through one: summands stacked
along ``dim``) zennit's ``Norm`` re-evaluates the sum inside an autograd graph, stabilises it
(``z + (𝟙[z = 0] + sign z)·ε``: five passes) and back-propagates through it. The rule is
``R_i = x_i · R / stab(z)`` with ``z = Σ_i x_i``: :class:`FastNorm` computes that directly (the
stabiliser as one ``where``). Other modules (average pools) get zennit's computation.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from zennit.layer import Sum
from zennit.rules import Norm

from vidxai.relevance.fast_rule import NumericEpsilon, as_grad_input


class FastNorm(NumericEpsilon, Norm):  # type: ignore[misc]
    """zennit's ``Norm`` with a direct computation on ``zennit.layer.Sum`` (same result)."""

    def __init__(self, stabilizer: Any = 1e-6) -> None:
        super().__init__(stabilizer=stabilizer)
        self.keep_epsilon(stabilizer)

    def backward(self, module: Any, grad_input: Any, grad_output: Any) -> Any:
        if self.epsilon is None or type(module) is not Sum or grad_output[0].requires_grad:
            return super().backward(module, grad_input, grad_output)
        x = self.stored_tensors["input"][0]
        relevance = sum_relevance(x, grad_output[0], int(module.dim), self.epsilon)
        return as_grad_input(relevance, grad_input)


def sum_relevance(x: Tensor, grad: Tensor, dim: int, epsilon: float) -> Tensor:
    """``x ⊙ R / stab(Σ_dim x)`` (``R`` broadcast back along ``dim``).

    Args:
        x: the stacked summands (``dim`` indexes them).
        grad: the relevance of the sum (``x``'s shape without ``dim``).
        dim: the summed dimension.
        epsilon: zennit's stabiliser: ``+ε`` where the sum is ≥ 0, ``−ε`` where it is < 0.
    """
    z = x.sum(dim=dim)
    stabilised = torch.where(z >= 0, z + epsilon, z - epsilon)
    return x * (grad / stabilised).unsqueeze(dim)
