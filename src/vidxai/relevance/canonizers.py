"""Canonizers for LRP on the zoo's CNNs: BatchNorm merged, residual sums split, not doubled.

zennit propagates relevance as a modified gradient, so every operation without a rule passes it on
by its plain gradient: ``out += identity`` gives *both* summands the full relevance (Σ R doubles at
every residual block: ×2⁸ on r3d_18) and an unmerged BatchNorm scales it. zennit's own ResNet
canonizer only knows torchvision's 2D ``BasicBlock``; on the video ResNets it silently does
nothing. Here, for every CNN of the zoo:

* **BatchNorm** is merged into the convolution before it (zennit's
  ``SequentialMergeBatchNorm``, leaving an exact identity: :class:`ExactMergeBatchNorm`; the
  leaves of all zoo CNNs are registered in forward order, so each BatchNorm directly follows
  its convolution — R(2+1)D's ``Conv2Plus1D`` ends with its
  temporal ``Conv3d``, which the block's BatchNorm then follows);
* **residual sums** of torchvision's video ``BasicBlock`` / ``Bottleneck`` (r3d_18, mc3_18,
  r2plus1d_18) and of the 2D ``BasicBlock`` / ``Bottleneck`` (TSM) go through
  ``zennit.layer.Sum``, whose rule splits relevance in proportion to each summand's
  contribution (:class:`ResNetSumCanonizer`: zennit's 2D block canonizers, with the summands
  stacked along a new first axis instead of a last one);
* **S3D**'s inception branches are concatenated: the gradient of ``cat`` hands each branch its
  own channels' relevance, which is already a split;
* **I3D**'s inception branches are concatenated too; its "SAME" padding moves into each
  convolution and its head becomes pooling + dense modules
  (:mod:`vidxai.relevance.canonize_i3d`);
* **TSM**'s temporal shift is a permutation of channels between frames (plus zero padding); its
  gradient moves each relevance back to the frame it came from. The frame consensus (mean of
  per-frame logits) becomes an average pool, so each frame gets relevance in proportion to its
  logit rather than a uniform share.

A model the canonizers do not know raises a warning (:func:`warn_if_unknown`).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn
from zennit.canonizers import AttributeCanonizer, Canonizer, SequentialMergeBatchNorm
from zennit.layer import Sum

from vidxai.errors import UnsupportedModelError
from vidxai.relevance.canonize_i3d import I3DCanonizer
from vidxai.relevance.merge_cache import NAMES, kept

#: Root module classes whose forward (and blocks) the canonizers cover.
KNOWN_MODELS = ("VideoResNet", "S3D", "TSMResNet", "DemoNet", "ResNet", "InceptionI3d")
_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_BLOCKS = ("BasicBlock", "Bottleneck", "Conv2Plus1D", "Conv3DSimple", "Conv3DNoTemporal",
           "BasicStem", "R2Plus1dStem", "TemporalSeparableConv", "SepInceptionBlock3D",
           "Conv3dNormActivation", "ShiftedConv")  # fmt: skip


class ExactMergeBatchNorm(SequentialMergeBatchNorm):  # type: ignore[misc]
    """zennit's ``SequentialMergeBatchNorm`` whose emptied BatchNorm is exactly the identity.

    zennit leaves the merged BatchNorm with mean 0, variance 1 and its ``eps``, so it still
    divides by √(1 + eps): ×(1 + 10⁻³)^(-½) per layer for I3D's eps = 10⁻³, 1 % of the logit
    over its depth, which Σ R then misses. Here the variance becomes 1 − eps.

    The emptied BatchNorm also skips its arithmetic while merged: its forward returns the input
    (the identity it computes, without a pass over the activations forward and one backward).
    The merged weights are kept from call to call (:func:`~vidxai.relevance.merge_cache.kept`:
    the same tensors while the parameters they are made from stay exactly equal), and so are the
    emptied BatchNorm's tensors and a bias-free layer's bias parameter; the modules' tensors are
    swapped through their dictionaries (no ``Module.__getattr__`` / ``__setattr__``).
    """

    @staticmethod
    def merge_batch_norm(modules: Any, batch_norm: Any) -> None:
        for module in modules:
            entry = kept(module, batch_norm)
            params: dict[str, Any] = module._parameters
            if params["bias"] is None:  # as zennit: a bias parameter while merged (removed again)
                params["bias"] = entry.bias_parameter
            else:
                params["bias"].data = entry.bias
            params["weight"].data = entry.weight
        # kept with the first layer's merge (a BatchNorm follows one layer here)
        for name, tensor in zip(NAMES, entry.emptied):
            _tensors(batch_norm, name)[name].data = tensor

    def register(self, linears: Any, batch_norm: Any) -> None:
        """zennit's ``MergeBatchNorm.register`` (keep the modules' tensors, merge), the modules'
        dictionaries read directly; the BatchNorm's forward becomes the identity."""
        self.linears, self.batch_norm = linears, batch_norm
        self.linear_params = [_weight_bias(linear) for linear in linears]
        self.batch_norm_params = {n: _tensors(batch_norm, n)[n].data for n in NAMES}
        self.merge_batch_norm(linears, batch_norm)
        batch_norm.__dict__["forward"] = _identity

    def remove(self) -> None:
        """Undo the merge (zennit's ``MergeBatchNorm.remove``; a layer without a bias gets None
        again) and the BatchNorm's identity forward."""
        if self.batch_norm is None:
            return
        for linear, (weight, bias) in zip(self.linears, self.linear_params):
            params: dict[str, Any] = linear._parameters
            params["weight"].data = weight
            if bias is None:
                params["bias"] = None
            else:
                params["bias"].data = bias
        for name, value in self.batch_norm_params.items():
            _tensors(self.batch_norm, name)[name].data = value
        self.batch_norm.__dict__.pop("forward", None)


def _weight_bias(linear: nn.Module) -> tuple[Tensor, Tensor | None]:
    """The layer's weight and bias tensors (``.data``; None without a bias)."""
    weight, bias = linear._parameters["weight"], linear._parameters["bias"]
    assert weight is not None
    return weight.data, None if bias is None else bias.data


def _tensors(batch_norm: nn.Module, name: str) -> dict[str, Any]:
    """The dictionary holding the BatchNorm's tensor ``name`` (parameters or buffers)."""
    return batch_norm._parameters if name in ("weight", "bias") else batch_norm._buffers


def _identity(x: Tensor) -> Tensor:
    """The merged BatchNorm's forward."""
    return x


def _split_sum(self: Any, identity: Tensor, out: Tensor) -> Tensor:
    """A residual block's ``relu(identity + out)`` with the sum as a ``Sum`` module."""
    # stacked along a new first axis: two contiguous blocks (a last axis interleaves them, and
    # copying into and summing over it costs more than the rest of the block's elementwise work)
    return self.relu(self.canonizer_sum(torch.stack([identity, out], dim=0)))


def _video_block_forward(self: Any, x: Tensor) -> Tensor:
    """torchvision video BasicBlock / Bottleneck forward with the residual sum as a module."""
    out = self.conv2(self.conv1(x))
    if hasattr(self, "conv3"):
        out = self.conv3(out)
    return _split_sum(self, self.downsample(x) if self.downsample is not None else x, out)


def _image_block_forward(self: Any, x: Tensor) -> Tensor:
    """torchvision 2D BasicBlock / Bottleneck forward (TSM's blocks) with the residual sum as a
    module (zennit's own 2D canonizers stack along a last axis)."""
    out = self.relu(self.bn1(self.conv1(x)))
    if hasattr(self, "conv3"):
        out = self.bn3(self.conv3(self.relu(self.bn2(self.conv2(out)))))
    else:
        out = self.bn2(self.conv2(out))
    return _split_sum(self, self.downsample(x) if self.downsample is not None else x, out)


def _block_map(name: str, module: nn.Module) -> dict[str, Any] | None:
    from torchvision.models import resnet
    from torchvision.models.video import resnet as video

    if isinstance(module, (video.BasicBlock, video.Bottleneck)):
        forward = _video_block_forward
    elif isinstance(module, (resnet.BasicBlock, resnet.Bottleneck)):
        forward = _image_block_forward
    else:
        return None
    return {"forward": forward.__get__(module), "canonizer_sum": Sum(dim=0)}


class ResNetSumCanonizer(AttributeCanonizer):
    """Residual sums of torchvision's video and 2D ResNet blocks through ``zennit.layer.Sum``."""

    def __init__(self) -> None:
        super().__init__(_block_map)

    def copy(self) -> ResNetSumCanonizer:
        return ResNetSumCanonizer()


def _tsm_forward(self: Any, x: Tensor) -> Tensor:
    """TSMResNet forward whose frame consensus is an average pool (rule: proportional split)."""
    n, c, t, h, w = x.shape
    y = x.transpose(1, 2).reshape(n * t, c, h, w)
    y = self.maxpool(self.relu(self.bn1(self.conv1(y))))
    y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
    logits = self.fc(self.avgpool(y).flatten(1))  # (N·T)×K
    frames = logits.view(n, t, -1).transpose(1, 2)  # N×K×T
    return self.canonizer_consensus(frames)[..., 0]


def _tsm_map(name: str, module: nn.Module) -> dict[str, Any] | None:
    if type(module).__name__ == "TSMResNet" and hasattr(module, "layer4"):
        pool = nn.AdaptiveAvgPool1d(1)
        return {"forward": _tsm_forward.__get__(module), "canonizer_consensus": pool}
    return None


class TSMConsensusCanonizer(AttributeCanonizer):
    """TSM's mean over frames as a pooling module, so relevance follows each frame's logit."""

    def __init__(self) -> None:
        super().__init__(_tsm_map)

    def copy(self) -> TSMConsensusCanonizer:
        return TSMConsensusCanonizer()


def video_canonizers() -> list[Canonizer]:
    """The canonizers for every CNN of the zoo (each applies only where its blocks occur)."""
    return [
        ExactMergeBatchNorm(),
        ResNetSumCanonizer(),
        TSMConsensusCanonizer(),
        I3DCanonizer(),
    ]


def check_supported(module: nn.Module, method: str) -> None:
    """Refuse transformers (LRP needs rules for attention and LayerNorm, which zennit lacks).

    Raises:
        UnsupportedModelError: naming the attention methods that do work there.
    """
    attention = any("Attention" in type(m).__name__ for m in module.modules())
    if attention or any(isinstance(m, nn.LayerNorm) for m in module.modules()):
        raise UnsupportedModelError(
            f"{method!r} has LRP rules for convolutional networks only; this model has attention "
            "or LayerNorm layers. For video transformers use 'transformer_relevance' or "
            "'attention_rollout' (TimeSformer, VideoMAE), or the CAM and gradient methods."
        )


def unknown_parts(module: nn.Module) -> list[str]:
    """Module types the canonizers were not written for (empty when the model is known).

    A known root (:data:`KNOWN_MODELS`) is fully covered. Otherwise a model made only of
    containers and single layers (every forward but the root's is a plain layer) has nothing a
    canonizer could miss except in the root's own forward; BatchNorm layers and composite modules
    of unknown types are reported.
    """
    if type(module).__name__ in KNOWN_MODELS:
        return []
    parts = set()
    for name, sub in module.named_modules():
        if not name or isinstance(sub, _CONTAINERS) or type(sub).__name__ in _BLOCKS:
            continue
        if any(True for _ in sub.children()) or isinstance(sub, nn.modules.batchnorm._BatchNorm):
            parts.add(type(sub).__name__)
    return sorted(parts)


def warn_if_unknown(module: nn.Module, method: str) -> bool:
    """Warn when the canonizers do not know parts of ``module``; True when they know it all."""
    parts = unknown_parts(module)
    if parts:
        warnings.warn(
            f"{method}: vidxai's LRP canonizers do not know {', '.join(parts)} in "
            f"{type(module).__name__}. Residual sums or normalisation inside them are not "
            "canonized, so relevance may double or leak there; check "
            "extras['conservation_gap'] (0 means Σ relevance = the target's score).",
            UserWarning,
            stacklevel=3,
        )
    return not parts
