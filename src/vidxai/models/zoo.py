"""The model zoo: ``load_model(name)``, ``list_models()`` and ``register_model`` for your own."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from vidxai.errors import InvalidInputError, VidxaiError, WeightsUnavailableError, unknown_name
from vidxai.models.adapter import VideoClassifier
from vidxai.models.heads import check_num_classes
from vidxai.models.spec import InputSpec
from vidxai.models.weights import apply_state_dict, read_state_dict

Family = Literal["cnn3d", "frame2d", "transformer"]
FAMILIES = ("cnn3d", "frame2d", "transformer")
Builder = Callable[..., "VideoClassifier | nn.Module"]
StateConverter = Callable[[Any], Any]

_BUILTIN_MODULES = (
    "vidxai.models.torchvision_models",
    "vidxai.models.tsm",
    "vidxai.models.hf",
    "vidxai.models.demo",
    "vidxai.models.i3d",
)


@dataclass(frozen=True)
class ModelInfo:
    """What ``list_models`` tells about a zoo model.

    Attributes:
        name: the name for ``load_model``.
        family: ``"cnn3d"``, ``"frame2d"`` (2D net applied per frame + temporal modelling)
            or ``"transformer"``.
        default_layer: default CAM layer (dotted path inside ``VideoClassifier.module``).
        spec: the default :class:`InputSpec` (``None`` when it cannot be known without
            loading, e.g. the demo model before its module is installed).
        description: one line.
        layout_kind: how the default layer's output is laid out: ``"conv3d"``, ``"frames"``,
            ``"channels_last"`` or ``"tokens"`` (see ``VideoClassifier.layer_layout``).
        extra: the pip extra it needs (``"transformers"``), or ``None``.
    """

    name: str
    family: str
    default_layer: str | None
    spec: InputSpec | None
    description: str
    layout_kind: str | None = None
    extra: str | None = None


@dataclass(frozen=True)
class _Entry:
    name: str
    family: str
    builder: Builder
    spec: InputSpec | Callable[[], InputSpec] | None
    default_layer: str | Callable[[], str | None] | None
    description: str
    layout: dict[str, Any] | None = field(default=None)
    extra: str | None = None
    state_dict_converter: StateConverter | None = None
    bundled_weights: bool = False


_REGISTRY: dict[str, _Entry] = {}
_builtins_loaded = False


def _ensure_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)


def register_model(
    name: str,
    *,
    family: str,
    spec: InputSpec | Callable[[], InputSpec] | None = None,
    default_layer: str | Callable[[], str | None] | None = None,
    description: str = "",
    layout: dict[str, Any] | None = None,
    extra: str | None = None,
    overwrite: bool = False,
    state_dict_converter: StateConverter | None = None,
    bundled_weights: bool = False,
) -> Callable[[Builder], Builder]:
    """Decorator adding a model builder to the zoo.

    The builder is called as ``builder(weights=None | "DEFAULT", num_classes=None | int,
    **options)`` and returns a :class:`VideoClassifier` or a plain ``nn.Module`` (which is
    then wrapped with ``spec``, ``default_layer`` and ``layout``). ``weights=PATH`` is handled
    by the zoo: the builder is called with ``weights=None`` and the file is loaded strictly
    (after ``state_dict_converter(state)`` when given, e.g. to rename another project's keys).
    ``bundled_weights=True`` says the builder always loads weights that ship with it (then
    ``load_model(name)`` needs no ``weights=``).

    Example::

        @register_model("my_net", family="cnn3d", spec=InputSpec(num_frames=8),
                        default_layer="features.3", description="My 3D CNN")
        def build(weights=None, num_classes=None):
            return MyNet(num_classes or 10)
    """
    if family not in FAMILIES:
        raise InvalidInputError(f"family must be one of {FAMILIES}, got {family!r}")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"A model name must be a non-empty string, got {name!r}")

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY and not overwrite:
            raise InvalidInputError(
                f"A model named {name!r} is already registered (pass overwrite=True to replace it)"
            )
        _REGISTRY[name] = _Entry(
            name,
            family,
            builder,
            spec,
            default_layer,
            description,
            layout,
            extra,
            state_dict_converter,
            bundled_weights,
        )
        return builder

    return decorate


def _get_entry(name: str) -> _Entry:
    _ensure_builtins()
    if name not in _REGISTRY:
        raise unknown_name("model", name, _REGISTRY)
    return _REGISTRY[name]


def _resolve(value: Any) -> Any:
    if not callable(value):
        return value
    try:
        return value()
    except (ImportError, VidxaiError):  # e.g. an optional dependency is missing
        return None


def get_model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model (UnknownNameError with close names)."""
    entry = _get_entry(name)
    layout = entry.layout
    return ModelInfo(
        name=entry.name,
        family=entry.family,
        default_layer=_resolve(entry.default_layer),
        spec=_resolve(entry.spec),
        description=entry.description,
        layout_kind=layout.get("kind") if layout else None,
        extra=entry.extra,
    )


def list_models() -> list[ModelInfo]:
    """Every registered model, sorted by name."""
    _ensure_builtins()
    return [get_model_info(name) for name in sorted(_REGISTRY)]


RANDOM_WORDS = ("random", "none")


def _weights_request(weights: Any, entry: _Entry) -> tuple[str | None, Path | None, bool]:
    """``weights`` → (builder mode, file, random init?); a missing choice is one clear error."""
    if isinstance(weights, str) and weights.strip().lower() == "auto":
        if entry.bundled_weights:
            return None, None, False
        raise WeightsUnavailableError(
            f"Model {entry.name!r} needs weights. Pass weights=PATH (a local state_dict file; "
            f"CLI --weights PATH), weights='DEFAULT' (the published pretrained weights, "
            f"downloaded or from the local cache; CLI --weights DEFAULT), or ask for random "
            f"weights explicitly with weights=None (CLI --weights random), seeded by seed=."
        )
    if weights is None or (isinstance(weights, str) and weights.strip().lower() in RANDOM_WORDS):
        return None, None, not entry.bundled_weights
    if isinstance(weights, str) and weights.strip().upper() == "DEFAULT":
        return "DEFAULT", None, False
    if isinstance(weights, (str, os.PathLike)):
        return None, Path(weights), False
    raise InvalidInputError(
        f"weights must be None (random init), 'DEFAULT' (pretrained) or a path to a state_dict "
        f"file, got {type(weights).__name__}"
    )


def _wrap(built: Any, entry: _Entry) -> VideoClassifier:
    if isinstance(built, VideoClassifier):
        built.name = entry.name
        return built
    if not isinstance(built, nn.Module):
        raise InvalidInputError(
            f"The builder of {entry.name!r} returned {type(built).__name__}, not an nn.Module"
        )
    spec = _resolve(entry.spec)
    if spec is None:
        raise InvalidInputError(
            f"Model {entry.name!r} was registered without an InputSpec and its builder returned "
            "a plain nn.Module; register it with spec=InputSpec(...)"
        )
    return VideoClassifier(
        built,
        spec,
        name=entry.name,
        default_layer=_resolve(entry.default_layer),
        layer_layout=entry.layout,
    )


def load_model(
    name: str,
    weights: Any = "auto",
    num_classes: int | None = None,
    *,
    seed: int = 0,
    **options: Any,
) -> VideoClassifier:
    """Build a zoo model as a :class:`VideoClassifier` in eval mode.

    Args:
        name: a registered name (see :func:`list_models`), e.g. ``"r3d_18"``.
        weights: ``"auto"`` (default) → the weights that ship with the model (the demo model),
            otherwise a :class:`WeightsUnavailableError` saying how to get them;
            ``"DEFAULT"`` → the standard pretrained weights (torchvision / Hugging Face
            download, or their local caches); a path → a local ``state_dict`` file, loaded
            strictly; ``None`` (or ``"random"``) → random initialisation, asked for
            explicitly and seeded by ``seed`` (``classifier.random_weights`` is then True and
            every explanation says so).
        num_classes: replace the classification head by one with this many outputs.
        seed: seed of the random initialisation (the global RNG is left as it was).
        **options: model-specific options, e.g. ``num_frames=8, size=32`` for torchvision
            models or config fields (``hidden_size=32, num_hidden_layers=2``…) for Hugging
            Face models.

    Raises:
        UnknownNameError: unknown model name (the message lists close names).
        WeightsUnavailableError: weights cannot be had, or were not chosen; the message says
            how to pass a file, the pretrained weights or random weights.
        InvalidInputError: a weights file whose keys or shapes do not fit.
        ParameterError: an unknown or bad option.
    """
    entry = _get_entry(name)
    num_classes = check_num_classes(num_classes)
    mode, path, random_init = _weights_request(weights, entry)
    state = read_state_dict(path) if path is not None else None  # fail fast on a bad file
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        built = entry.builder(weights=mode, num_classes=num_classes, **options)
    classifier = _wrap(built, entry)
    if state is not None:
        if entry.state_dict_converter is not None:
            state = entry.state_dict_converter(state)
        apply_state_dict(classifier.module, state, path, entry.name)
    classifier.random_weights = random_init
    return classifier.eval()
