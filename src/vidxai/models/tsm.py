"""TSM-ResNet-18: a frame-wise 2D ResNet with the temporal shift module (Lin et al. 2019).

The clip ``N×C×T×H×W`` is folded into ``(N·T)×C×H×W`` and run through a 2D ResNet-18 whose
residual blocks shift 1/8 of their channels one frame back and 1/8 one frame forward before
their first convolution; the per-frame logits are averaged over ``T`` (average consensus).
Activations inside (e.g. ``layer4``) are ``(N·T)×C×H'×W'``.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from vidxai.errors import InvalidInputError, WeightsUnavailableError
from vidxai.models.adapter import VideoClassifier
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.options import reject_unknown, spec_with
from vidxai.models.spec import InputSpec
from vidxai.models.zoo import register_model

TSM_SPEC = InputSpec(
    num_frames=8, size=(224, 224), resize=256, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)


def temporal_shift(x: Tensor, num_frames: int, fold_div: int = 8) -> Tensor:
    """Shift channels along time in a ``(N·T)×C×H×W`` tensor (zero-padded at the ends).

    Channels ``[0, C/fold_div)`` take the next frame's values (frame ``t`` ← ``t+1``),
    channels ``[C/fold_div, 2C/fold_div)`` the previous frame's (``t`` ← ``t−1``); the rest
    stay. Returns a new tensor; ``x`` is not modified.
    """
    nt, c, h, w = x.shape
    v = x.view(nt // num_frames, num_frames, c, h, w)
    fold = c // fold_div
    out = v.new_zeros(v.shape)
    out[:, :-1, :fold] = v[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = v[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = v[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class ShiftedConv(nn.Module):
    """Temporal shift followed by a 2D convolution: ``(N·T)×C×H×W → (N·T)×C'×H'×W'``."""

    def __init__(self, conv: nn.Conv2d, num_frames: int, fold_div: int = 8) -> None:
        super().__init__()
        self.conv = conv
        self.num_frames = num_frames
        self.fold_div = fold_div

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(temporal_shift(x, self.num_frames, self.fold_div))


class TSMResNet(nn.Module):
    """ResNet-18 with residual temporal shift; ``N×3×T×H×W`` → ``N×num_classes``."""

    def __init__(self, num_frames: int = 8, num_classes: int = 400) -> None:
        super().__init__()
        from torchvision.models import resnet18

        base = resnet18(weights=None, num_classes=num_classes)
        self.num_frames = num_frames
        self.conv1, self.bn1, self.relu, self.maxpool = (
            base.conv1,
            base.bn1,
            base.relu,
            base.maxpool,
        )
        self.layer1, self.layer2 = base.layer1, base.layer2
        self.layer3, self.layer4 = base.layer3, base.layer4
        self.avgpool, self.fc = base.avgpool, base.fc
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in layer:
                block.conv1 = ShiftedConv(block.conv1, num_frames)

    def forward(self, x: Tensor) -> Tensor:
        n, c, t, h, w = x.shape
        if t != self.num_frames:
            raise InvalidInputError(f"TSMResNet was built for {self.num_frames} frames, got {t}")
        y = x.transpose(1, 2).reshape(n * t, c, h, w)
        y = self.maxpool(self.relu(self.bn1(self.conv1(y))))
        y = self.layer4(self.layer3(self.layer2(self.layer1(y))))
        logits = self.fc(self.avgpool(y).flatten(1))  # (N·T)×K
        return logits.view(n, t, -1).mean(dim=1)


@register_model(
    "tsm_r18",
    family="frame2d",
    spec=TSM_SPEC,
    default_layer="layer4",
    description="TSM ResNet-18: frame-wise 2D ResNet with temporal shift (1/8 channels each "
    "way), average consensus over frames. No published pretrained weights: train it and pass "
    "weights=PATH.",
    layout={"kind": "frames", "t": TSM_SPEC.num_frames},
)
def build_tsm(weights: str | None = None, num_classes: int | None = None, **options: Any):
    """``tsm_r18``; options ``num_frames``, ``size``, ``class_names``."""
    reject_unknown("tsm_r18", options, ("num_frames", "size", "class_names"))
    if weights == "DEFAULT":
        raise WeightsUnavailableError(
            "tsm_r18 has no published pretrained video weights in torchvision. Train it (or "
            "convert a TSM checkpoint) and pass weights=PATH, a state_dict saved with "
            "torch.save(model.module.state_dict(), PATH) (CLI: --weights PATH)."
        )
    spec = spec_with(TSM_SPEC, options.get("num_frames"), options.get("size"))
    k = num_classes or 400
    names = options.get("class_names") or (kinetics400_names() if k == 400 else None)
    return VideoClassifier(
        TSMResNet(spec.num_frames, k),
        spec,
        names,
        name="tsm_r18",
        default_layer="layer4",
        layer_layout={"kind": "frames", "t": spec.num_frames},
    )
