"""The bundled demo model in the zoo: ``vidxai-demo`` (from :mod:`vidxai.data.demo_model`).

Registered lazily: the demo module is imported only when the model is loaded or described,
so the zoo works in an installation without it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from vidxai.errors import ParameterError, VidxaiError, WeightsUnavailableError
from vidxai.models.adapter import VideoClassifier
from vidxai.models.options import reject_unknown
from vidxai.models.spec import InputSpec
from vidxai.models.zoo import register_model

DEMO_MODULE = "vidxai.data.demo_model"


def _demo() -> ModuleType:
    try:
        return importlib.import_module(DEMO_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in (DEMO_MODULE, "vidxai.data"):
            raise
        raise WeightsUnavailableError(
            "The bundled demo model is not part of this installation "
            f"({DEMO_MODULE} is missing); reinstall vidxai"
        ) from exc


def _spec() -> InputSpec:
    return InputSpec(**_demo().DEMO_SPEC_KWARGS)


def _layer() -> str | None:
    return _demo().DEMO_DEFAULT_LAYER


@register_model(
    "vidxai-demo",
    family="cnn3d",
    spec=_spec,
    default_layer=_layer,
    description="Small 3D CNN trained on vidxai's synthetic ground-truth benchmark; its weights "
    "ship with the package (weights=None and 'DEFAULT' both load them).",
    layout={"kind": "conv3d"},
    bundled_weights=True,
)
def build_demo(weights: str | None = None, num_classes: int | None = None, **options: Any):
    """The demo model with its bundled weights; options: ``class_names``."""
    reject_unknown("vidxai-demo", options, ("class_names",))
    if num_classes is not None:
        raise ParameterError(
            "vidxai-demo has a fixed classification head; num_classes cannot be set"
        )
    demo = _demo()
    try:
        module = demo.load_demo_module()
    except VidxaiError:
        raise
    except (OSError, RuntimeError) as exc:
        raise WeightsUnavailableError(f"Cannot load the bundled demo model weights: {exc}") from exc
    names = options.get("class_names") or list(demo.DEMO_CLASS_NAMES)
    return VideoClassifier(
        module,
        InputSpec(**demo.DEMO_SPEC_KWARGS),
        names,
        name="vidxai-demo",
        default_layer=demo.DEMO_DEFAULT_LAYER,
        layer_layout=getattr(demo, "DEMO_LAYER_LAYOUT", {"kind": "conv3d"}),
    )
