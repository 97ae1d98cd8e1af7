"""What the fast LRP rules need to know about a plain convolution or dense layer.

A layer is *plain* when its forward is exactly ``F.conv{1,2,3}d`` (zero padding given as numbers)
or ``F.linear`` with the module's own ``weight`` and ``bias``: no canonizer or subclass replaced
its forward — or when it is an I3D convolution whose canonized forward zero-pads its input
("SAME") before the convolution (:mod:`vidxai.relevance.canonize_i3d`): that padding is part of
the layer, and :func:`layer_call` and :func:`input_vjp` include it. For such a layer the rules
can evaluate it with other weights and take the transposed map (the gradient with respect to
the input) directly, without building an autograd graph for a modified copy of the layer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidxai.relevance.canonize_i3d import is_padded_conv, same_pads
from vidxai.relevance.conv_kernel import transposable, transposed_conv

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def is_plain(module: nn.Module) -> bool:
    """True for an ``nn.Conv1d/2d/3d`` with zero padding given as numbers, or an ``nn.Linear``,
    whose forward is the base class's (subclasses that only change ``__init__``, like
    torchvision's ``Conv3DSimple``, count) and not replaced by a canonizer — except I3D's
    canonized convolutions, whose forward pads its input first (:func:`layer_call`)."""
    replaced = "forward" in module.__dict__ and not is_padded_conv(module)
    if replaced or "_conv_forward" in module.__dict__:
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


def layer_call(module: nn.Module, x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The plain layer's function with other parameters: ``layer(x; weight, bias)``."""
    if isinstance(module, nn.Linear):
        return F.linear(x, weight, bias)
    assert isinstance(module, nn.modules.conv._ConvNd)
    if is_padded_conv(module):
        x = F.pad(x, same_pads(module, x))  # type: ignore[arg-type]
    return module._conv_forward(x, weight, bias)  # type: ignore[no-any-return,operator]


def channel_dim(module: nn.Module) -> int:
    """The output's channel (feature) dimension: 1 for a convolution, -1 for a dense layer."""
    return -1 if isinstance(module, nn.Linear) else 1


def input_vjp(
    module: nn.Module, grad: Tensor, x: Tensor, weight: Tensor, flipped: Tensor | None = None
) -> Tensor:
    """``(∂ layer(x; weight) / ∂x)ᵀ · grad``: the transposed layer applied to ``grad``.

    Args:
        module: a plain layer (:func:`is_plain`), for its stride, padding, dilation, groups.
        grad: a tensor shaped like the layer's output (``N×C'×…`` or ``…×C'``).
        x: the layer's input (``N×C×…`` or ``…×C``; only its shape matters).
        weight: the weights to transpose, shaped like ``module.weight``.
        flipped: ``conv_kernel.flipped(weight)``, if at hand: a :func:`~vidxai.relevance.
            conv_kernel.transposable` layer then runs the transposed layer as a oneDNN
            convolution with them.

    Returns:
        A new tensor shaped like ``x``.
    """
    if isinstance(module, nn.Linear):
        return grad @ weight
    assert isinstance(module, nn.modules.conv._ConvNd)
    zeros = [0] * len(module.kernel_size)
    pads = same_pads(module, x) if is_padded_conv(module) else [0] * (2 * len(zeros))  # type: ignore[arg-type]
    # the convolution's input (padded inside the layer): only its shape is read
    shape = [
        *x.shape[:2],
        *(int(x.shape[2 + d]) + pads[-2 - 2 * d] + pads[-1 - 2 * d] for d in range(len(zeros))),
    ]
    if flipped is not None and transposable(module, grad):
        result = transposed_conv(module, grad, flipped)  # type: ignore[arg-type]
    else:
        (result, _, _) = torch.ops.aten.convolution_backward(
            grad,
            x.new_empty(shape) if any(pads) else x,
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
    if any(pads):  # the gradient of F.pad: drop the padded border
        for d in range(len(zeros)):
            before = pads[-2 - 2 * d]
            result = result.narrow(2 + d, before, int(x.shape[2 + d]))
        result = result.contiguous()
    return result  # type: ignore[no-any-return]
