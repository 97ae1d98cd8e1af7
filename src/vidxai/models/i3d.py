"""I3D in the zoo: Inception-v1 inflated to 3D (Carreira & Zisserman, CVPR 2017).

The network follows DeepMind's definition: TensorFlow "SAME" padding computed from the input
size at run time, batch norm with ``eps=0.001`` after every convolution but the classifier,
Inception modules of four branches (1×1×1; 1×1×1 → 3×3×3; 1×1×1 → 3×3×3; 3×3×3 max-pool →
1×1×1), inputs scaled to [−1, 1], and a classifier that is a 1×1×1 convolution applied to a
``min(2, T')×H'×W'`` average pool with stride 1, its per-time logits averaged over time.

Weights: there is no official PyTorch download, so ``weights="DEFAULT"`` explains how to get
a file. ``weights=PATH`` takes either this module's own ``state_dict`` or the widely used
checkpoints converted from DeepMind's TensorFlow release (the ``pytorch-i3d`` key layout:
``Conv3d_1a_7x7.conv3d.weight``, ``Mixed_3b.b1a.bn.running_mean``, ``logits.conv3d.bias`` …),
with or without a ``module.`` prefix; :func:`convert_state_dict` maps the latter.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidxai.errors import WeightsUnavailableError
from vidxai.models.adapter import VideoClassifier
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.options import reject_unknown, spec_with
from vidxai.models.spec import InputSpec
from vidxai.models.zoo import register_model

SPEC = InputSpec(
    num_frames=64,
    size=(224, 224),
    resize=256,
    mean=(0.5, 0.5, 0.5),  # (x − 0.5) / 0.5 maps [0, 1] pixels to [−1, 1]
    std=(0.5, 0.5, 0.5),
)
DEFAULT_LAYER = "features.mixed_5c"

# (in_channels, (b0, b1 reduce, b1, b2 reduce, b2, b3)) of each Inception module
_MIXED: dict[str, tuple[int, tuple[int, int, int, int, int, int]]] = {
    "mixed_3b": (192, (64, 96, 128, 16, 32, 32)),
    "mixed_3c": (256, (128, 128, 192, 32, 96, 64)),
    "mixed_4b": (480, (192, 96, 208, 16, 48, 64)),
    "mixed_4c": (512, (160, 112, 224, 24, 64, 64)),
    "mixed_4d": (512, (128, 128, 256, 24, 64, 64)),
    "mixed_4e": (512, (112, 144, 288, 32, 64, 64)),
    "mixed_4f": (528, (256, 160, 320, 32, 128, 128)),
    "mixed_5b": (832, (256, 160, 320, 32, 128, 128)),
    "mixed_5c": (832, (384, 192, 384, 48, 128, 128)),
}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding ``(before, after)`` of one dimension of length ``size``."""
    total = max(kernel - stride, 0) if size % stride == 0 else max(kernel - size % stride, 0)
    return total // 2, total - total // 2


def _pad_same(x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...]) -> Tensor:
    pads: list[int] = []
    for dim in (4, 3, 2):  # F.pad wants the last dimension first
        pads.extend(same_padding(int(x.shape[dim]), kernel[dim - 2], stride[dim - 2]))
    return F.pad(x, pads) if any(pads) else x


class Unit3D(nn.Module):
    """Conv3d ("SAME" padding, no bias) → BatchNorm3d → ReLU; ``N×C×T×H×W`` → ``N×C'×T'×H'×W'``."""

    def __init__(
        self, c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]
    ) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.conv = nn.Conv3d(c_in, c_out, kernel, stride, bias=False)
        self.bn = nn.BatchNorm3d(c_out, eps=0.001, momentum=0.01)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.bn(self.conv(_pad_same(x, self.kernel, self.stride))))


class MaxPoolSame(nn.Module):
    """3D max pooling with TensorFlow "SAME" zero padding (inputs are ≥ 0 after ReLU)."""

    def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride
        self.pool = nn.MaxPool3d(kernel, stride)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(_pad_same(x, self.kernel, self.stride))


class Inception3D(nn.Module):
    """An inflated Inception module: four branches concatenated along channels."""

    def __init__(self, c_in: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        b0, b1r, b1, b2r, b2, b3 = widths
        one, three = (1, 1, 1), (3, 3, 3)
        self.branch0 = Unit3D(c_in, b0, one, one)
        self.branch1 = nn.Sequential(Unit3D(c_in, b1r, one, one), Unit3D(b1r, b1, three, one))
        self.branch2 = nn.Sequential(Unit3D(c_in, b2r, one, one), Unit3D(b2r, b2, three, one))
        self.branch3 = nn.Sequential(MaxPoolSame(three, one), Unit3D(c_in, b3, one, one))
        self.out_channels = b0 + b1 + b2 + b3

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], dim=1
        )


class I3DHead(nn.Module):
    """Average pool ``min(2, T')×H'×W'`` (stride 1) → dropout → 1×1×1 conv → mean over time."""

    def __init__(self, c_in: int, num_classes: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Conv3d(c_in, num_classes, 1, bias=True)

    def forward(self, x: Tensor) -> Tensor:
        t, h, w = x.shape[2:]
        pooled = F.avg_pool3d(x, (min(2, t), h, w), stride=1)
        return self.classifier(self.dropout(pooled)).mean(dim=(2, 3, 4))


class InceptionI3d(nn.Module):
    """I3D: ``N×3×T×H×W`` in [−1, 1] → ``N×num_classes`` logits.

    ``features`` holds the stem and the nine Inception modules (the default CAM layer is
    ``features.mixed_5c``, output ``N×1024×T/8×H/32×W/32``); ``head`` the classifier.
    """

    def __init__(self, num_classes: int = 400, dropout: float = 0.5) -> None:
        super().__init__()
        layers: OrderedDict[str, nn.Module] = OrderedDict(
            conv1a=Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            pool2a=MaxPoolSame((1, 3, 3), (1, 2, 2)),
            conv2b=Unit3D(64, 64, (1, 1, 1), (1, 1, 1)),
            conv2c=Unit3D(64, 192, (3, 3, 3), (1, 1, 1)),
            pool3a=MaxPoolSame((1, 3, 3), (1, 2, 2)),
        )
        for name, (c_in, widths) in _MIXED.items():
            if name == "mixed_4b":
                layers["pool4a"] = MaxPoolSame((3, 3, 3), (2, 2, 2))
            if name == "mixed_5b":
                layers["pool5a"] = MaxPoolSame((2, 2, 2), (2, 2, 2))
            layers[name] = Inception3D(c_in, widths)
        self.features = nn.Sequential(layers)
        self.head = I3DHead(1024, num_classes, dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


_BRANCHES = {"b0": "branch0", "b1a": "branch1.0", "b1b": "branch1.1", "b2a": "branch2.0"}
_BRANCHES.update({"b2b": "branch2.1", "b3b": "branch3.1"})
_STEM = {"Conv3d_1a_7x7": "conv1a", "Conv3d_2b_1x1": "conv2b", "Conv3d_2c_3x3": "conv2c"}


def _convert_key(key: str) -> str | None:
    """One key of the converted-checkpoint layout → this module's key (None: not such a key)."""
    parts = key.split(".")
    if parts[0] == "logits" and parts[1:2] == ["conv3d"]:
        return ".".join(["head", "classifier", *parts[2:]])
    if parts[0] in _STEM and len(parts) >= 3:
        layer = {"conv3d": "conv", "bn": "bn"}.get(parts[1])
        return None if layer is None else ".".join(["features", _STEM[parts[0]], layer, *parts[2:]])
    match = re.fullmatch(r"Mixed_(\d[a-z])", parts[0])
    if match and len(parts) >= 4 and parts[1] in _BRANCHES:
        layer = {"conv3d": "conv", "bn": "bn"}.get(parts[2])
        if layer is None:
            return None
        head = ["features", f"mixed_{match.group(1)}", _BRANCHES[parts[1]], layer]
        return ".".join(head + parts[3:])
    return None


def convert_state_dict(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """A state_dict in this module's layout, from either layout (a ``module.`` prefix is dropped).

    Keys already in this module's layout pass unchanged; keys of the converted DeepMind
    checkpoints (``pytorch-i3d`` naming) are renamed. Unknown keys pass unchanged, so the
    strict load that follows names them.
    """
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        key = key[len("module.") :] if key.startswith("module.") else key
        out[_convert_key(key) or key] = value
    return out


def _build(
    weights: str | None,
    num_classes: int | None,
    num_frames: int | None = None,
    size: Any = None,
    class_names: list[str] | None = None,
    dropout: float = 0.5,
) -> VideoClassifier:
    if weights == "DEFAULT":
        raise WeightsUnavailableError(
            "I3D has no official PyTorch download. Use the Kinetics-400 checkpoint converted "
            "from DeepMind's release (e.g. rgb_imagenet.pt of the pytorch-i3d project, or any "
            "state_dict of vidxai's InceptionI3d) and pass weights='rgb_imagenet.pt' "
            "(CLI: --weights rgb_imagenet.pt); both key layouts load."
        )
    spec = spec_with(SPEC, num_frames, size)
    n = num_classes or 400
    module = InceptionI3d(n, dropout)
    names = class_names if class_names is not None else (kinetics400_names() if n == 400 else None)
    return VideoClassifier(
        module,
        spec,
        names,
        name="i3d",
        default_layer=DEFAULT_LAYER,
        layer_layout={"kind": "conv3d"},
    )


@register_model(
    "i3d",
    family="cnn3d",
    spec=SPEC,
    default_layer=DEFAULT_LAYER,
    description="I3D (Carreira & Zisserman 2017): Inception-v1 inflated to 3D; loads converted "
    "DeepMind Kinetics-400 checkpoints.",
    layout={"kind": "conv3d"},
    state_dict_converter=convert_state_dict,
)
def build_i3d(weights: str | None = None, num_classes: int | None = None, **options: Any):
    reject_unknown("i3d", options, ("num_frames", "size", "class_names", "dropout"))
    return _build(weights, num_classes, **options)
