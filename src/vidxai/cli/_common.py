"""Helpers shared by the CLI sub-commands: ``key=value`` parsing and writing outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from vidxai.core.explanation import Explanation


def jsonable(value: Any) -> Any:
    """A JSON-friendly copy of ``value``; tensors/arrays larger than 64 values are dropped."""
    if isinstance(value, (Tensor, np.ndarray)):
        arr = value.detach().cpu().numpy() if isinstance(value, Tensor) else value
        return arr.tolist() if arr.size <= 64 else f"<array {list(arr.shape)}>"
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return str(value)


def tensor_maps(extras: dict[str, Any], shape: torch.Size) -> dict[str, Tensor]:
    """Float extras that are T×H×W maps (or dicts of them) shaped like the attribution.

    Integer volumes (segment labels) are not maps and are skipped.
    """
    found: dict[str, Tensor] = {}

    def is_map(v: Any) -> bool:
        return isinstance(v, Tensor) and v.is_floating_point() and v.shape == shape

    for key, value in extras.items():
        if is_map(value):
            found[key] = value
        elif isinstance(value, dict):
            found.update({f"{key}_{sub}": v for sub, v in value.items() if is_map(v)})
    return found


RANDOM_WEIGHTS_NOTE = (
    "random weights: this model was built with random weights (weights=None / --weights "
    "random); the map explains an untrained network, not a learned decision"
)
DEMO_MODEL_NOTE = (
    "vidxai-demo knows only vidxai's synthetic benchmark (an actor moving left, right, up or "
    "down among distractors); on other footage its predictions and maps carry no meaning"
)


def model_notes(explanation: Explanation) -> list[str]:
    """What a reader must know about the model behind an explanation (empty if nothing)."""
    notes = []
    if explanation.random_weights:
        notes.append(RANDOM_WEIGHTS_NOTE)
    if explanation.model_name == "vidxai-demo":
        notes.append(DEMO_MODEL_NOTE)
    return notes


def write_summary(explanation: Explanation, path: Path) -> Path:
    """Write the explanation's metadata and JSON-able extras next to the ``.pt`` file."""
    data = {
        "method": explanation.method,
        "model": explanation.model_name,
        "random_weights": explanation.random_weights,
        "notes": model_notes(explanation),
        "target": explanation.target,
        "target_name": explanation.target_name,
        "behaviour": explanation.behaviour,
        "score": explanation.score,
        "seed": explanation.seed,
        "n_forward": explanation.n_forward,
        "n_backward": explanation.n_backward,
        "timings": explanation.timings,
        "params": jsonable(explanation.params),
        "extras": jsonable(explanation.extras),
    }
    path.write_text(json.dumps(data, indent=2))
    return path
