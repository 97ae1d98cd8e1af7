"""What the fast LRP rules need to know about a plain convolution or dense layer.

A layer is *plain* when its forward is exactly ``F.conv{1,2,3}d`` (zero padding given as numbers)
or ``F.linear`` with the module's own ``weight`` and ``bias``: no canonizer or subclass replaced
its forward. For such a layer the rules can evaluate it with other weights and take the
transposed map (the gradient with respect to the input) directly, without building an autograd
graph for a modified copy of the layer.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def is_plain(module: nn.Module) -> bool:
    """True for an ``nn.Conv1d/2d/3d`` with zero padding given as numbers, or an ``nn.Linear``,
    whose forward is the base class's (subclasses that only change ``__init__``, like
    torchvision's ``Conv3DSimple``, count) and not replaced by a canonizer."""
    if "forward" in module.__dict__ or "_conv_forward" in module.__dict__:
        return False
    if isinstance(module, nn.Linear):
        return type(module).forward is nn.Linear.forward
    base = next((c for c in _CONVS if isinstance(module, c)), None)
    return (
        base is not None
        and type(module).forward is base.forward
        and type(module)._conv_forward is base._conv_forward  # type: ignore[attr-defined]
        and getattr(module, "padding_mode", "zeros") == "zeros"
        and not isinstance(getattr(module, "padding", 0), str)
    )


def channel_dim(module: nn.Module) -> int:
    """The output's channel (feature) dimension: 1 for a convolution, -1 for a dense layer."""
    return -1 if isinstance(module, nn.Linear) else 1


def input_vjp(module: nn.Module, grad: Tensor, x: Tensor, weight: Tensor) -> Tensor:
    """``(∂ layer(x; weight) / ∂x)ᵀ · grad``: the transposed layer applied to ``grad``.

    Args:
        module: a plain layer (:func:`is_plain`), for its stride, padding, dilation, groups.
        grad: a tensor shaped like the layer's output (``N×C'×…`` or ``…×C'``).
        x: the layer's input (``N×C×…`` or ``…×C``; only its shape matters).
        weight: the weights to transpose, shaped like ``module.weight``.

    Returns:
        A new tensor shaped like ``x``.
    """
    if isinstance(module, nn.Linear):
        return grad @ weight
    assert isinstance(module, nn.modules.conv._ConvNd)
    zeros = [0] * len(module.kernel_size)
    (result, _, _) = torch.ops.aten.convolution_backward(
        grad,
        x,
        weight,
        None,
        list(module.stride),
        list(module.padding),  # type: ignore[arg-type]
        list(module.dilation),
        False,
        zeros,
        module.groups,
        [True, False, False],
    )
    return result  # type: ignore[no-any-return]
