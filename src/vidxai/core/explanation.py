"""The Explanation type: one attribution map plus everything needed to trust and reuse it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, VideoReadError, VidxaiError, torch_file_problem

TIMING_KEYS = ("segmentation", "inference", "explanation")


@dataclass
class Explanation:
    """An explanation of one prediction on one clip.

    Attributes:
        attribution: ``T×H×W`` float32 tensor in model-input space; for every method, higher
            means more evidence for the target.
        method: registered method name.
        params: every resolved parameter (including ``batch_size``).
        target: explained class index (``None`` for a regression output).
        score: the model's value for the target on the intact clip (after ``behaviour``).
        seed: seed of the call's random generator.
        n_forward: clips passed forward through the model.
        n_backward: clips back-propagated through the model.
        timings: seconds spent in ``segmentation``, ``inference`` (the model) and
            ``explanation`` (everything else), plus ``total``.
        target_name: class name of the target, when known.
        behaviour: ``probability``, ``logit``, ``log_probability`` or ``identity``.
        model_name: the zoo name of the model, when known.
        extras: method-specific outputs (standard errors, masks, loss curves, …).
        geometry: how the model input maps onto the original video (see :meth:`to_original`).
        random_weights: the model had random weights (``load_model(..., weights=None)``): the
            map explains an untrained network, not a learned decision.
    """

    attribution: Tensor
    method: str
    params: dict[str, Any]
    target: int | None
    score: float
    seed: int
    n_forward: int
    n_backward: int
    timings: dict[str, float]
    target_name: str | None = None
    behaviour: str = "probability"
    model_name: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    geometry: Any = None
    random_weights: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.attribution, Tensor) or self.attribution.ndim != 3:
            shape = getattr(self.attribution, "shape", None)
            raise InvalidInputError(f"attribution must be a T×H×W tensor, got shape {shape}")
        missing = [k for k in TIMING_KEYS if k not in self.timings]
        if missing:
            raise InvalidInputError(f"timings lacks {missing}")

    def to_original(self) -> Tensor:
        """The attribution on the original video's frames and resolution, ``T0×H0×W0``.

        Areas cropped away by preprocessing carry no attribution (zero).

        Raises:
            VidxaiError: when the explanation was computed on a tensor, with no source video.
        """
        if self.geometry is None:
            raise VidxaiError(
                "This explanation was computed on a tensor, not a video: there is no original "
                "video geometry to map back to."
            )
        return self.geometry.to_original(self.attribution.detach().cpu())

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (tensors moved to CPU) suitable for ``torch.save``."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["attribution"] = self.attribution.detach().cpu()
        data["extras"] = _to_cpu(self.extras)
        data["params"] = _to_cpu(self.params)
        data["geometry"] = self.geometry.to_dict() if self.geometry is not None else None
        return data

    def save(self, path: str | Path) -> Path:
        """Write the explanation to ``path`` (conventionally ``.pt``); returns the path.

        Raises:
            InvalidInputError: the path is a folder or cannot be written.
        """
        path = Path(path)
        if path.is_dir():
            raise InvalidInputError(f"Cannot write the explanation to {path}: it is a folder")
        data = {"format": "vidxai.explanation/1", **self.to_dict()}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(data, path)
        except (OSError, RuntimeError) as exc:  # torch reports unwritable paths as RuntimeError
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            why = why.strip().splitlines()[-1].split("strerror:")[-1].strip()
            raise InvalidInputError(f"Cannot write the explanation to {path}: {why}") from exc
        return path


def _to_cpu(value: Any) -> Any:
    """Tensors to CPU; NumPy arrays/scalars to tensors/Python numbers (loadable with
    ``weights_only=True``, which refuses NumPy objects)."""
    if isinstance(value, Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            return torch.from_numpy(np.array(value))
        return _to_cpu(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def load_explanation(path: str | Path) -> Explanation:
    """Load an explanation written by :meth:`Explanation.save`.

    Raises:
        VideoReadError: the file is missing or is not a vidxai explanation.
    """
    path = Path(path)
    if not path.is_file():
        raise VideoReadError(f"No explanation file at {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a corrupt or foreign file
        raise VideoReadError(
            f"{path} is not a readable vidxai explanation file: {torch_file_problem(path, exc)}"
        ) from exc
    if not isinstance(data, dict) or data.pop("format", None) != "vidxai.explanation/1":
        raise VideoReadError(f"{path} is not a vidxai explanation file")
    geometry = data.get("geometry")
    if geometry is not None:
        from vidxai.core.geometry import Geometry

        data["geometry"] = Geometry.from_dict(geometry)
    names = {f.name for f in dataclasses.fields(Explanation)}
    return Explanation(**{k: v for k, v in data.items() if k in names})
