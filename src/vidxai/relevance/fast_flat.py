"""The flat rule on a plain first convolution, without convolving all-ones tensors per channel.

zennit's ``Flat`` sets the input and every weight to one and the bias to zero: ``z = conv(1, 1)``,
``R_in = convᵀ(R / (z + ε), 1)``. With all weights one, every output channel of ``z`` is the same
(``C_in`` × the number of kernel taps inside the input at that position), and the transposed
all-ones convolution hands every input channel the same value: the sum over output channels
spread back over each kernel window. :class:`FastFlat` computes exactly that with one-channel
convolutions — ``C_out·C_in`` times less work than two full convolutions of the first layer (the
stem of a video ResNet: 3 → 64 channels, 3×7×7 kernels, at full resolution). Layers other than a
plain convolution with ``groups == 1`` (or a callable stabiliser) get zennit's own computation.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn
from zennit.rules import Flat

from vidxai.relevance.fast_rule import NumericEpsilon, as_grad_input
from vidxai.relevance.plain_layer import input_vjp, is_plain, layer_call


def _fast_path(module: nn.Module) -> bool:
    return is_plain(module) and isinstance(module, nn.modules.conv._ConvNd) and module.groups == 1


class FastFlat(NumericEpsilon, Flat):  # type: ignore[misc]
    """zennit's ``Flat`` with one-channel convolutions on plain convolutions (same result)."""

    def __init__(self, stabilizer: Any = 1e-6, zero_params: Any = None) -> None:
        super().__init__(stabilizer=stabilizer, zero_params=zero_params)
        self.keep_epsilon(stabilizer)

    def backward(self, module: Any, grad_input: Any, grad_output: Any) -> Any:
        x = self.stored_tensors["input"][0]
        if self.epsilon is None or not _fast_path(module) or grad_output[0].requires_grad:
            return super().backward(module, grad_input, grad_output)
        relevance = flat_relevance(module, x, grad_output[0], self.epsilon)
        return as_grad_input(relevance, grad_input)


def flat_relevance(module: nn.Module, x: Tensor, grad: Tensor, epsilon: float) -> Tensor:
    """``convᵀ(R / (conv(1, 1) + ε), 1)`` of a plain convolution, via one-channel convolutions.

    Args:
        module: a plain ``nn.ConvNd`` with ``groups == 1``.
        x: its input ``N×C_in×…`` (only the shape matters).
        grad: the relevance of its output ``N×C_out×…``.
        epsilon: the stabiliser (``z > 0``, so it is added).

    Returns:
        ``N×C_in×…``, every input channel the same.
    """
    assert isinstance(module, nn.modules.conv._ConvNd)
    ones_in = x.new_ones((1, 1, *x.shape[2:]))
    ones_w = x.new_ones((1, 1, *module.kernel_size))
    z = layer_call(module, ones_in, ones_w, None) * int(x.shape[1])  # taps × C_in, 1×1×…
    summed = (grad / (z + epsilon)).sum(dim=1, keepdim=True)  # N×1×…
    spread = input_vjp(module, summed, x[:, :1], ones_w)  # N×1×…: the all-ones transposed conv
    return spread.expand_as(x).contiguous()
