"""vidxai: explain the predictions of video classification networks.

Quick start::

    import vidxai
    model = vidxai.load_model("vidxai-demo")
    explanation = vidxai.explain(model, "clip.mp4", method="saliency")
    explanation.save("clip_saliency.pt")
"""

from typing import TYPE_CHECKING

from vidxai.errors import (
    BatchSizeError,
    InvalidInputError,
    ParameterError,
    TargetError,
    UnknownNameError,
    UnsupportedModelError,
    VideoReadError,
    VidxaiError,
    WeightsUnavailableError,
)

if TYPE_CHECKING:  # the real imports load lazily (torch is heavy): see __getattr__
    from vidxai.api import explain
    from vidxai.core.explanation import Explanation, load_explanation
    from vidxai.core.registry import get_method, list_methods, register_method

    # the names __getattr__ resolves, typed for mypy and editors
    from vidxai.metrics.evaluate import evaluate  # noqa: F401
    from vidxai.models.adapter import (  # noqa: F401
        Geometry,
        InputSpec,
        VideoClassifier,
        as_classifier,
    )
    from vidxai.models.zoo import list_models, load_model  # noqa: F401
    from vidxai.video import read_video, write_video  # noqa: F401

__version__ = "0.1.0"

_LAZY_NAMES = {
    "explain": "vidxai.api",
    "Explanation": "vidxai.core.explanation",
    "load_explanation": "vidxai.core.explanation",
    "get_method": "vidxai.core.registry",
    "list_methods": "vidxai.core.registry",
    "register_method": "vidxai.core.registry",
}

__all__ = [
    "BatchSizeError",
    "Explanation",
    "InvalidInputError",
    "ParameterError",
    "TargetError",
    "UnknownNameError",
    "UnsupportedModelError",
    "VideoReadError",
    "VidxaiError",
    "WeightsUnavailableError",
    "__version__",
    "explain",
    "get_method",
    "list_methods",
    "load_explanation",
    "register_method",
]


_SUBMODULES = (
    "cam",
    "data",
    "extremal",
    "gradient",
    "metrics",
    "models",
    "removal",
    "video",
    "viz",
)


def __getattr__(name: str) -> object:
    # Heavier submodules and torch-backed names load on first use.
    if name in _LAZY_NAMES:
        import importlib

        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"vidxai.{name}")
    if name in {"load_model", "list_models"}:
        from vidxai.models import zoo

        return getattr(zoo, name)
    if name in {"VideoClassifier", "InputSpec", "Geometry", "as_classifier"}:
        from vidxai.models import adapter

        return getattr(adapter, name)
    if name in {"read_video", "write_video"}:
        from vidxai import video

        return getattr(video, name)
    if name == "evaluate":
        from vidxai.metrics import evaluate

        return evaluate
    raise AttributeError(f"module 'vidxai' has no attribute {name!r}")


_LAZY = (
    "load_model",
    "list_models",
    "VideoClassifier",
    "InputSpec",
    "Geometry",
    "as_classifier",
    "read_video",
    "write_video",
    "evaluate",
)


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES, *_LAZY])
