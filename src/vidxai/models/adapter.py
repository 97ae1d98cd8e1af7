"""VideoClassifier: any ``nn.Module`` plus its input contract, turning videos into model input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vidxai.core.geometry import Geometry
from vidxai.errors import InvalidInputError, UnsupportedModelError
from vidxai.models.preprocess import prepare_frames
from vidxai.models.spec import InputSpec

__all__ = ["Geometry", "InputSpec", "VideoClassifier", "as_classifier", "unwrap_logits"]


def unwrap_logits(out: Any) -> Tensor:
    """A model's output as a plain tensor: ``.logits`` of HF ``ModelOutput``s, ``[0]`` of tuples."""
    if isinstance(out, Tensor):
        return out
    logits = getattr(out, "logits", None)
    if isinstance(logits, Tensor):
        return logits
    if isinstance(out, Mapping) and isinstance(out.get("logits"), Tensor):
        return out["logits"]
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
        return out[0]
    raise UnsupportedModelError(
        f"The model returned {type(out).__name__}; vidxai needs a tensor of logits, an object "
        "with a .logits tensor, or a tuple whose first element is the logits"
    )


class VideoClassifier(nn.Module):
    """A video model with its input contract.

    ``forward`` takes ``N×C×T×H×W`` normalised clips (vidxai's layout), permutes them to the
    module's layout and returns plain ``N×K`` logits (or ``N``/``N×1`` for a regression).

    Attributes:
        module: the wrapped ``nn.Module`` (hooks and layer names refer to it).
        spec: the :class:`InputSpec`.
        mean, std: ``C`` tensors (non-persistent buffers; they follow ``.to(device)``).
        class_names: list of class names, or ``None``.
        name: model name (zoo name or ``"custom"``).
        default_layer: dotted path inside ``module`` of the default CAM layer, or ``None``.
        layer_layout: how ``default_layer``'s output is laid out, or ``None`` when unknown.
            ``{"kind": "conv3d"}``: ``N×C×T'×H'×W'``.
            ``{"kind": "frames", "t": T}``: ``(N·T)×C×H'×W'`` (frame-wise 2D nets).
            ``{"kind": "channels_last", "t", "h", "w"}``: ``N×T'×H'×W'×C`` (Video Swin).
            ``{"kind": "tokens", "cls": bool, "t", "h", "w", "order": "thw" | "hwt"}``:
            ``N×(cls + t·h·w)×C``; the class token, if any, comes first; ``order`` says
            how the patch tokens are flattened (``"hwt"``: time varies fastest, TimeSformer).
            A module returning a tuple (transformer blocks) holds the tokens in element 0.
        has_preprocessing: False for :func:`as_classifier` wrappers (no resize/normalise
            known; inputs are used as they are).
    """

    mean: Tensor
    std: Tensor

    def __init__(
        self,
        module: nn.Module,
        spec: InputSpec,
        class_names: Sequence[str] | None = None,
        name: str = "custom",
        default_layer: str | None = None,
        *,
        layer_layout: dict[str, Any] | None = None,
        has_preprocessing: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(module, nn.Module):
            raise InvalidInputError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        if not isinstance(spec, InputSpec):
            raise InvalidInputError(f"spec must be a vidxai InputSpec, got {type(spec).__name__}")
        self.module = module
        self.spec = spec
        # True when the zoo built it with random weights on request (load_model(weights=None));
        # explanations of such a model say so
        self.random_weights = False
        self.class_names = [str(c) for c in class_names] if class_names is not None else None
        self.name = name
        self.default_layer = default_layer
        self.layer_layout = dict(layer_layout) if layer_layout is not None else None
        self.has_preprocessing = has_preprocessing
        self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std, dtype=torch.float32), persistent=False)
        self._ntchw = spec.layout == "NTCHW"
        h, w = spec.size
        self._expected: tuple[int, ...] | None = (
            (3, spec.num_frames, h, w) if has_preprocessing else None
        )

    def _bad_shape(self, x: Any) -> InvalidInputError:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        if self._expected is None:
            want = "N×3×T×H×W"
        else:
            want = "N×" + "×".join(str(v) for v in self._expected)
        return InvalidInputError(
            f"Input shape does not match model {self.name!r}: expected {want} (N×C×T×H×W), "
            f"got {got}"
        )

    def check_input(self, x: Tensor) -> None:
        """Raise :class:`InvalidInputError` unless ``x`` is a float ``N×C×T×H×W`` it takes."""
        if not isinstance(x, Tensor) or x.ndim != 5 or x.shape[0] < 1:
            raise self._bad_shape(x)
        if self._expected is None:
            if x.shape[1] != 3:
                raise self._bad_shape(x)
        elif tuple(x.shape[1:]) != self._expected:
            raise self._bad_shape(x)
        if not x.is_floating_point():
            raise InvalidInputError(f"Model input must be a float tensor, got dtype {x.dtype}")

    def forward(self, x: Tensor) -> Tensor:
        """``N×C×T×H×W`` normalised clips → ``N×K`` logits (plain tensor)."""
        if x.ndim != 5 or (self._expected is not None and x.shape[1:] != self._expected):
            raise self._bad_shape(x)
        if self._ntchw:
            x = x.transpose(1, 2)
        return unwrap_logits(self.module(x))

    def prepare(self, frames: np.ndarray) -> tuple[Tensor, Geometry]:
        """``T0×H0×W0×3`` uint8 frames → ``C×T×H×W`` float32 input and its :class:`Geometry`."""
        if not self.has_preprocessing:
            raise InvalidInputError(
                "This classifier wraps a plain nn.Module without an input contract; build a "
                "VideoClassifier with an InputSpec to preprocess videos"
            )
        return prepare_frames(frames, self.spec)

    def to_pixels(self, x: Tensor) -> Tensor:
        """``C×T×H×W`` normalised input → ``T×H×W×3`` uint8 frames (normalisation undone)."""
        if not isinstance(x, Tensor) or x.ndim != 4 or x.shape[0] != 3:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise InvalidInputError(f"to_pixels expects a C×T×H×W tensor with C=3, got {got}")
        mean = self.mean.to(x.device).view(3, 1, 1, 1)
        std = self.std.to(x.device).view(3, 1, 1, 1)
        pixels = (x.detach().float() * std + mean).clamp(0.0, 1.0).mul(255.0).round()
        return pixels.to(torch.uint8).permute(1, 2, 3, 0).contiguous()

    def extra_repr(self) -> str:
        return f"name={self.name!r}, spec={self.spec}, default_layer={self.default_layer!r}"


def as_classifier(
    model: nn.Module,
    class_names: Sequence[str] | None = None,
    default_layer: str | None = None,
    name: str = "custom",
) -> VideoClassifier:
    """Wrap a plain module that takes ``N×C×T×H×W`` float input as it is.

    Normalisation is the identity (mean 0, std 1) and no resizing is known, so ``prepare``
    cannot be used: clips are passed as tensors already in the model's input space. Inputs
    must be ``N×3×T×H×W``; any ``T×H×W`` is accepted.
    """
    if isinstance(model, VideoClassifier):
        return model
    spec = InputSpec(resize=None, crop="none", mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))
    return VideoClassifier(
        model, spec, class_names, name=name, default_layer=default_layer, has_preprocessing=False
    )
