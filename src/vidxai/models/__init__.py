"""Model adapters (:class:`VideoClassifier`, :class:`InputSpec`, :class:`Geometry`) and the zoo.

``load_model(name)`` builds zoo models; ``list_models()`` describes them; ``register_model``
adds your own. Architectures load their libraries (torchvision, transformers) only when built.
"""

from vidxai.models.adapter import Geometry, InputSpec, VideoClassifier, as_classifier
from vidxai.models.kinetics import kinetics400_names
from vidxai.models.zoo import ModelInfo, get_model_info, list_models, load_model, register_model

__all__ = [
    "Geometry",
    "InputSpec",
    "ModelInfo",
    "VideoClassifier",
    "as_classifier",
    "get_model_info",
    "kinetics400_names",
    "list_models",
    "load_model",
    "register_model",
]
