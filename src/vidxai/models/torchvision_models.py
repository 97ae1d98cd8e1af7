"""torchvision video models in the zoo: r3d_18, mc3_18, r2plus1d_18, s3d, mvit_v2_s, swin3d_t.

Input specs follow torchvision's Kinetics-400 weights (``Weights.DEFAULT.transforms()`` and
the documented clip lengths); ``num_frames=`` and ``size=`` override them (e.g. for tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import nn

from vidxai.core.hooks import eval_mode
from vidxai.errors import VidxaiError, WeightsUnavailableError
from vidxai.models.adapter import VideoClassifier
from vidxai.models.heads import replace_head
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.options import reject_unknown, spec_with
from vidxai.models.spec import InputSpec
from vidxai.models.weights import how_to_supply, network_available
from vidxai.models.zoo import register_model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Layout = Callable[[InputSpec], dict[str, Any]]


def _conv3d_layout(spec: InputSpec) -> dict[str, Any]:
    return {"kind": "conv3d"}


def _mvit_layout(spec: InputSpec) -> dict[str, Any]:
    # patch embedding: stride (2, 4, 4); three (1, 2, 2) query poolings up to block 14
    h, w = spec.size
    return {
        "kind": "tokens", "cls": True, "order": "thw",
        "t": math.ceil(spec.num_frames / 2), "h": math.ceil(h / 32), "w": math.ceil(w / 32),
    }  # fmt: skip


def _swin_layout(spec: InputSpec) -> dict[str, Any]:
    # patch embedding (2, 4, 4), three spatial 2×2 patch mergings; output N×T'×H'×W'×C
    h, w = spec.size
    return {
        "kind": "channels_last",
        "t": math.ceil(spec.num_frames / 2), "h": math.ceil(h / 32), "w": math.ceil(w / 32),
    }  # fmt: skip


@dataclass(frozen=True)
class _TvModel:
    builder: str
    weights_enum: str
    head: str
    family: str
    default_layer: str
    spec: InputSpec
    layout: Layout
    description: str


# antialias=False: torchvision's video presets (weights.transforms()) resize without it
_R_SPEC = InputSpec(num_frames=16, size=(112, 112), resize=(128, 171), antialias=False)
_MODELS = {
    "r3d_18": _TvModel(
        "r3d_18",
        "R3D_18_Weights",
        "fc",
        "cnn3d",
        "layer4",
        _R_SPEC,
        _conv3d_layout,
        "ResNet3D-18 (Tran et al. 2018), 3D convolutions throughout; Kinetics-400.",
    ),
    "mc3_18": _TvModel(
        "mc3_18",
        "MC3_18_Weights",
        "fc",
        "cnn3d",
        "layer4",
        _R_SPEC,
        _conv3d_layout,
        "Mixed-convolution ResNet-18: 3D convs in the stem, 2D convs after; Kinetics-400.",
    ),
    "r2plus1d_18": _TvModel(
        "r2plus1d_18",
        "R2Plus1D_18_Weights",
        "fc",
        "cnn3d",
        "layer4",
        _R_SPEC,
        _conv3d_layout,
        "R(2+1)D-18: 3D convs factorised into spatial 2D + temporal 1D; Kinetics-400.",
    ),
    "s3d": _TvModel(
        "s3d",
        "S3D_Weights",
        "classifier.1",
        "cnn3d",
        "features.15",
        InputSpec(num_frames=64, size=(224, 224), resize=(256, 256), antialias=False),
        _conv3d_layout,
        "S3D (Xie et al. 2018), separable 3D Inception; Kinetics-400 (64 frames by default, "
        "torchvision reports accuracy at 128).",
    ),
    "mvit_v2_s": _TvModel(
        "mvit_v2_s",
        "MViT_V2_S_Weights",
        "head.1",
        "transformer",
        "blocks.14",
        InputSpec(
            num_frames=16,
            size=(224, 224),
            resize=256,
            mean=(0.45,) * 3,
            std=(0.225,) * 3,
            antialias=False,
        ),
        _mvit_layout,
        "MViTv2-S multiscale vision transformer (class-token head); Kinetics-400. Default CAM "
        "layer: the first block at the final resolution, whose patch tokens reach the class "
        "token (the last block's patch tokens do not).",
    ),
    "swin3d_t": _TvModel(
        "swin3d_t",
        "Swin3D_T_Weights",
        "head",
        "transformer",
        "norm",
        InputSpec(
            num_frames=32,
            size=(224, 224),
            resize=256,
            mean=IMAGENET_MEAN,
            std=IMAGENET_STD,
            antialias=False,
        ),
        _swin_layout,
        "Video Swin Transformer, tiny; shifted 3D windows, mean-pooled head; Kinetics-400.",
    ),
}


def _pretrained(fn: Callable[..., nn.Module], enum: Any, name: str) -> nn.Module:
    url = str(enum.url)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    if not cached.is_file() and not network_available(urlparse(url).hostname or ""):
        raise WeightsUnavailableError(
            f"Cannot get the pretrained weights of {name!r}: {url} is not in the torch hub cache "
            f"and there is no network connection. "
            + how_to_supply(name, url)
            + f" Or place the downloaded file at {cached}."
        )
    try:
        return fn(weights=enum)
    except VidxaiError:
        raise
    except Exception as exc:  # network, hash or disk errors from the download
        raise WeightsUnavailableError(
            f"Downloading the pretrained weights of {name!r} from {url} failed: {exc}. "
            + how_to_supply(name, url)
        ) from exc


def _fit_to_size(module: Any, name: str, spec: InputSpec) -> None:
    """Let MViT and S3D run at a size other than the one they were built for."""
    if name == "mvit_v2_s":
        # relative position tables are interpolated by torchvision; only the token grid is fixed
        proj = module.conv_proj
        grid = [
            (n + 2 * p - k) // s + 1
            for n, k, s, p in zip(
                (spec.num_frames, *spec.size), proj.kernel_size, proj.stride, proj.padding
            )
        ]
        module.pos_encoding.temporal_size = grid[0]
        module.pos_encoding.spatial_size = (grid[1], grid[2])
    if name == "s3d" and (spec.num_frames < 14 or min(spec.size) < 224):
        # torchvision pools with a fixed 2×7×7 window; shrink it to the feature map
        with torch.no_grad(), eval_mode(module):
            feats = module.features(torch.zeros(1, 3, spec.num_frames, *spec.size))
        t, h, w = feats.shape[2:]
        module.avgpool = nn.AvgPool3d(kernel_size=(min(2, t), min(7, h), min(7, w)), stride=1)


def _build(
    name: str,
    weights: str | None,
    num_classes: int | None,
    num_frames: int | None = None,
    size: Any = None,
    class_names: list[str] | None = None,
) -> VideoClassifier:
    from torchvision.models import video as tv_video

    cfg = _MODELS[name]
    spec = spec_with(cfg.spec, num_frames, size)
    fn = getattr(tv_video, cfg.builder)
    if weights == "DEFAULT":
        enum = getattr(tv_video, cfg.weights_enum).DEFAULT
        module: Any = _pretrained(fn, enum, name)
        names: list[str] | None = list(enum.meta["categories"])
        if num_classes is not None and num_classes != len(enum.meta["categories"]):
            replace_head(module, cfg.head, num_classes)
            names = None
    else:
        module = fn(weights=None, num_classes=num_classes or 400)
        names = kinetics400_names() if (num_classes or 400) == 400 else None
    _fit_to_size(module, name, spec)
    return VideoClassifier(
        module,
        spec,
        class_names if class_names is not None else names,
        name=name,
        default_layer=cfg.default_layer,
        layer_layout=cfg.layout(spec),
    )


def _register(name: str) -> None:
    cfg = _MODELS[name]

    @register_model(
        name,
        family=cfg.family,
        spec=cfg.spec,
        default_layer=cfg.default_layer,
        description=cfg.description,
        layout=cfg.layout(cfg.spec),
    )
    def build(weights: str | None = None, num_classes: int | None = None, **options: Any):
        reject_unknown(name, options, ("num_frames", "size", "class_names"))
        return _build(name, weights, num_classes, **options)


for _name in _MODELS:
    _register(_name)
