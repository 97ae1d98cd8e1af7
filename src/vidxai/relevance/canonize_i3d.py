"""LRP canonizer for I3D (:mod:`vidxai.models.i3d`): padding inside the convolutions, pooled head.

I3D's Inception branches are concatenated (the gradient of ``cat`` hands each branch its own
channels' relevance: already a split, no residual sums) and every BatchNorm follows its
convolution (merged by ``SequentialMergeBatchNorm``). Two things still need a canonical form:

* **"SAME" padding** is applied with ``F.pad`` *before* each convolution, so the padded zeros
  are inputs of the layer as far as a rule sees. Rules that give relevance to zero inputs (the
  flat rule and the z^B box rule of the first layer) then hand part of it to the padding, which
  ``F.pad``'s gradient drops: ≈ 20 % of Σ R lost on a 32² clip. Here each ``Unit3D``'s
  convolution pads inside its own forward, as a convolution's built-in zero padding does: the
  rules see the unpadded input, and the padding is a constant of the layer (the function is
  unchanged). Max pools keep their outer padding: their gradient routes relevance to the
  maximum, and a padded zero can only be the maximum of a window of zeros after a ReLU, which
  receives no relevance from the z-rules above it.
* **The head** averages ``min(2, T′)×H′×W′`` windows and the per-time logits with functional
  calls, whose gradients share relevance uniformly; both become pooling modules (zennit's
  proportional rule for pools, like TSM's consensus), and the 1×1×1 classifier convolution
  becomes the dense layer it is (a ``Linear`` sharing its weights), so the composites give it
  their dense-layer rule (ε) as on the other zoo CNNs, not their convolution rule (z⁺, γ, αβ).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn
from zennit.canonizers import AttributeCanonizer

from vidxai.models.i3d import I3DHead, Unit3D, same_padding


class HeadPool(nn.AvgPool3d):
    """I3D's head pool as a module: average of ``min(2, T′)×H′×W′`` windows, stride 1."""

    def __init__(self) -> None:
        super().__init__(kernel_size=1, stride=1)

    def forward(self, x: Tensor) -> Tensor:
        t, h, w = x.shape[2:]
        return F.avg_pool3d(x, (min(2, t), h, w), stride=1)


def same_pads(conv: nn.Conv3d, x: Tensor) -> list[int]:
    """TensorFlow "SAME" padding of ``x`` (``N×C×T×H×W``) for ``conv``, in ``F.pad`` order."""
    pads: list[int] = []
    for dim in (4, 3, 2):  # F.pad wants the last dimension first
        pads.extend(
            same_padding(int(x.shape[dim]), conv.kernel_size[dim - 2], conv.stride[dim - 2])
        )
    return pads


def _padded_conv_forward(self: nn.Conv3d, x: Tensor) -> Tensor:
    """The convolution with TensorFlow "SAME" zero padding inside the layer."""
    return self._conv_forward(F.pad(x, same_pads(self, x)), self.weight, self.bias)


def is_padded_conv(module: nn.Module) -> bool:
    """True for a convolution whose forward this canonizer replaced (padding inside)."""
    forward = module.__dict__.get("forward")
    return getattr(forward, "__func__", None) is _padded_conv_forward


def _unit_forward(self: Unit3D, x: Tensor) -> Tensor:
    return self.relu(self.bn(self.conv(x)))


def _head_forward(self: Any, x: Tensor) -> Tensor:
    pooled = self.dropout(self.canonizer_pool(x))  # N×C×T″×1×1
    logits = self.canonizer_linear(pooled.flatten(2).transpose(1, 2))  # N×T″×K
    return self.canonizer_consensus(logits.transpose(1, 2))[..., 0]


def _as_linear(conv: nn.Conv3d) -> nn.Linear:
    """The 1×1×1 convolution as a ``Linear`` over channels (weights shared, not copied)."""
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    linear.weight = nn.Parameter(conv.weight.detach().flatten(1), requires_grad=False)
    if conv.bias is not None:
        linear.bias = nn.Parameter(conv.bias.detach(), requires_grad=False)
    return linear


def _i3d_targets(module: nn.Module) -> list[tuple[nn.Module, dict[str, Any]]]:
    if isinstance(module, Unit3D):
        return [
            (module, {"forward": _unit_forward.__get__(module)}),
            (module.conv, {"forward": _padded_conv_forward.__get__(module.conv)}),
        ]
    if isinstance(module, I3DHead):
        attributes = {
            "forward": _head_forward.__get__(module),
            "canonizer_pool": HeadPool(),
            "canonizer_linear": _as_linear(module.classifier),
            "canonizer_consensus": nn.AdaptiveAvgPool1d(1),
        }
        return [(module, attributes)]
    return []


class I3DCanonizer(AttributeCanonizer):
    """I3D's padding moved into its convolutions and its head as pooling + dense modules."""

    def __init__(self) -> None:
        super().__init__(lambda name, module: None)

    def apply(self, root_module: nn.Module) -> list[I3DCanonizer]:
        instances = []
        for module in list(root_module.modules()):
            for target, attributes in _i3d_targets(module):
                instance = self.copy()
                instance.register(target, attributes)
                instances.append(instance)
        return instances

    def copy(self) -> I3DCanonizer:
        return I3DCanonizer()
