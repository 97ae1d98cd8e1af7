"""Hugging Face video transformers in the zoo: ``timesformer`` and ``videomae``.

Needs the ``transformers`` extra. Models are built from their configs (random init), or with
``weights="DEFAULT"`` from the standard Kinetics-400 checkpoints via ``from_pretrained``.
Config fields are accepted as options, e.g. ``load_model("videomae", num_frames=8,
image_size=32, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
intermediate_size=64)`` for a tiny test model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from torch import nn

from vidxai.errors import (
    ParameterError,
    UnsupportedModelError,
    VidxaiError,
    WeightsUnavailableError,
)
from vidxai.models.adapter import VideoClassifier
from vidxai.models.heads import replace_head
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.options import reject_unknown
from vidxai.models.spec import InputSpec
from vidxai.models.weights import how_to_supply, network_available
from vidxai.models.zoo import register_model

HF_HOST = "huggingface.co"


@dataclass(frozen=True)
class _HfModel:
    config_class: str
    model_class: str
    repo: str
    prefix: str  # attribute of the backbone inside the classification model
    cls_token: bool
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    description: str


_MODELS = {
    "timesformer": _HfModel(
        "TimesformerConfig", "TimesformerForVideoClassification",
        "facebook/timesformer-base-finetuned-k400", "timesformer", True,
        (0.45, 0.45, 0.45), (0.225, 0.225, 0.225),
        "TimeSformer-base (divided space-time attention, class-token head), 8×224×224; "
        "Kinetics-400. Default CAM layer: the input of the last encoder layer (the last "
        "layer's patch tokens never reach the class token).",
    ),
    "videomae": _HfModel(
        "VideoMAEConfig", "VideoMAEForVideoClassification",
        "MCG-NJU/videomae-base-finetuned-kinetics", "videomae", False,
        (0.485, 0.456, 0.406), (0.229, 0.224, 0.225),
        "VideoMAE-base (ViT on 2×16×16 tubelets, mean-pooled head), 16×224×224; Kinetics-400. "
        "Default CAM layer: the last encoder layer.",
    ),
}  # fmt: skip


def require_transformers(name: str) -> Any:
    """Import ``transformers`` or explain which extra to install."""
    try:
        import transformers
    except ImportError as exc:
        raise UnsupportedModelError(
            f"Model {name!r} needs the Hugging Face 'transformers' package: "
            "pip install vidxai[transformers]"
        ) from exc
    return transformers


def _default_layer(name: str, config: Any) -> str:
    cfg = _MODELS[name]
    layers = int(config.num_hidden_layers)
    # a class-token head reads only the class token after the last layer, so the CAM layer
    # is that layer's input: the previous layer's output (or the embeddings)
    uses_cls = cfg.cls_token or not getattr(config, "use_mean_pooling", True)
    index = layers - 2 if uses_cls else layers - 1
    if index < 0:
        return f"{cfg.prefix}.embeddings"
    return f"{cfg.prefix}.encoder.layer.{index}"


def _layout(name: str, config: Any) -> dict[str, Any]:
    grid = int(config.image_size) // int(config.patch_size)
    if name == "timesformer":
        t, cls, order = int(config.num_frames), True, "hwt"
    else:
        t, cls, order = int(config.num_frames) // int(config.tubelet_size), False, "thw"
    return {"kind": "tokens", "cls": cls, "t": t, "h": grid, "w": grid, "order": order}


def _spec(name: str, config: Any) -> InputSpec:
    cfg = _MODELS[name]
    size = int(config.image_size)
    return InputSpec(
        layout="NTCHW", num_frames=int(config.num_frames), size=(size, size), resize=size,
        mean=cfg.mean, std=cfg.std, crop_rounding="floor",  # as VideoMAEImageProcessor
    )  # fmt: skip


def _pretrained(model_class: Any, name: str, overrides: dict[str, Any]) -> nn.Module:
    repo = _MODELS[name].repo
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0") or not network_available(
        HF_HOST
    )
    try:
        return model_class.from_pretrained(repo, local_files_only=offline, **overrides)
    except VidxaiError:
        raise
    except Exception as exc:  # network, cache or file errors from huggingface_hub
        why = (
            "it is not in the Hugging Face cache and there is no network connection"
            if offline
            else str(exc)
        )
        raise WeightsUnavailableError(
            f"Cannot get the pretrained weights of {name!r} ({repo}): {why}. "
            + how_to_supply(name, f"https://huggingface.co/{repo}")
        ) from exc


def _build(
    name: str, weights: str | None, num_classes: int | None, **options: Any
) -> VideoClassifier:
    cfg = _MODELS[name]
    transformers = require_transformers(name)
    config_class = getattr(transformers, cfg.config_class)
    model_class = getattr(transformers, cfg.model_class)
    class_names = options.pop("class_names", None)
    reject_unknown(name, options, [*config_class().to_dict(), "class_names"])
    if weights == "DEFAULT":
        module: Any = _pretrained(model_class, name, options)
        config = module.config
        names: list[str] | None = [config.id2label[i] for i in range(config.num_labels)]
        if num_classes is not None and num_classes != config.num_labels:
            replace_head(module, "classifier", num_classes)
            names = None
    else:
        k = num_classes or 400
        try:
            config = config_class(num_labels=k, **options)
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Bad option for {name!r}: {exc}") from exc
        if name == "videomae" and config.num_frames % config.tubelet_size:
            raise ParameterError(
                f"videomae: num_frames ({config.num_frames}) must be a multiple of tubelet_size "
                f"({config.tubelet_size})"
            )
        module = model_class(config)
        names = kinetics400_names() if k == 400 else None
    return VideoClassifier(
        module,
        _spec(name, config),
        class_names if class_names is not None else names,
        name=name,
        default_layer=_default_layer(name, config),
        layer_layout=_layout(name, config),
    )


# What the default configs give (checked against transformers by the tests); written out so
# that list_models() needs neither the import of transformers nor the package itself.
_DEFAULT_CONFIGS = {
    "timesformer": SimpleNamespace(
        num_frames=8, image_size=224, patch_size=16, num_hidden_layers=12
    ),
    "videomae": SimpleNamespace(
        num_frames=16, image_size=224, patch_size=16, tubelet_size=2, num_hidden_layers=12,
        use_mean_pooling=True,
    ),
}  # fmt: skip


def _register(name: str) -> None:
    @register_model(
        name,
        family="transformer",
        spec=_spec(name, _DEFAULT_CONFIGS[name]),
        default_layer=_default_layer(name, _DEFAULT_CONFIGS[name]),
        description=_MODELS[name].description,
        layout={"kind": "tokens"},
        extra="transformers",
    )
    def build(weights: str | None = None, num_classes: int | None = None, **options: Any):
        return _build(name, weights, num_classes, **options)


for _name in _MODELS:
    _register(_name)
