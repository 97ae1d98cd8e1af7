"""The bundled demo model: a small 3D CNN trained on the synthetic benchmark.

``DemoNet`` takes N×3×16×64×64 clips normalised with mean 0.5 and std 0.25 per channel and
returns N×4 logits over ``DEMO_CLASS_NAMES`` (the direction the red actor moves). Its head is
global average pooling followed by one ``Linear`` layer, so CAM-style methods apply to the last
convolutional block, ``DEMO_DEFAULT_LAYER``. ``scripts/train_demo_model.py`` reproduces the
shipped weights (``demo_model.pt``); ``demo_model.json`` records how they were trained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vidxai.data.synthetic import CLASS_NAMES
from vidxai.errors import InvalidInputError, WeightsUnavailableError

DEMO_CLASS_NAMES: tuple[str, ...] = CLASS_NAMES
DEMO_MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
DEMO_STD: tuple[float, float, float] = (0.25, 0.25, 0.25)
# Keyword arguments for vidxai.models.adapter.InputSpec.
DEMO_SPEC_KWARGS: dict[str, Any] = {
    "layout": "NCTHW",
    "num_frames": 16,
    "size": (64, 64),
    "resize": None,
    "crop": "none",
    "mean": DEMO_MEAN,
    "std": DEMO_STD,
}
DEMO_DEFAULT_LAYER = "features.3"  # the last Conv3d block (before global average pooling)
DEMO_WEIGHTS_PATH = Path(__file__).with_name("demo_model.pt")


def _block(c_in: int, c_out: int, stride: tuple[int, int, int]) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=False),
    )


class DemoNet(nn.Module):
    """Four Conv3d-BN-ReLU blocks, global average pooling, one Linear layer.

    Input N×3×T×H×W (normalised, any T, H, W; trained at 16×64×64); output N×num_classes logits.
    ``features.3`` outputs N×width[3]×T/4×H/8×W/8 (4×8×8 at the training size).
    """

    def __init__(
        self, num_classes: int = len(DEMO_CLASS_NAMES), widths: tuple[int, ...] = (8, 16, 32, 48)
    ) -> None:
        super().__init__()
        strides = ((1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 1, 1))
        chans = (3, *widths)
        self.features = nn.Sequential(
            *(_block(chans[i], chans[i + 1], strides[i]) for i in range(4))
        )
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """x: N×3×T×H×W -> N×num_classes logits."""
        a = self.features(x)  # N×C×T'×H'×W'
        return self.head(a.mean(dim=(2, 3, 4)))


def load_demo_module(weights_path: str | Path | None = None) -> DemoNet:
    """Build ``DemoNet`` and load the shipped weights (or ``weights_path``), in eval mode.

    Raises:
        WeightsUnavailableError: the weights file is missing or does not fit ``DemoNet``.
    """
    path = DEMO_WEIGHTS_PATH if weights_path is None else Path(weights_path)
    if not path.is_file():
        raise WeightsUnavailableError(
            f"Demo model weights not found at {path}. Reinstall vidxai, pass weights=PATH to a "
            "state_dict file, or recreate them with scripts/train_demo_model.py."
        )
    model = DemoNet()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:  # unreadable pickle, wrong keys or shapes
        raise WeightsUnavailableError(
            f"Could not load demo model weights from {path}: {exc}"
        ) from exc
    return model.eval()


def frames_to_input(frames: np.ndarray) -> Tensor:
    """Benchmark frames to model input.

    Args:
        frames: N×T×H×W×3 or T×H×W×3 uint8.

    Returns:
        N×3×T×H×W float32 normalised with ``DEMO_MEAN`` / ``DEMO_STD`` (N = 1 for one clip).
    """
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim not in (4, 5) or arr.shape[-1] != 3:
        raise InvalidInputError(
            "frames must be uint8 of shape N×T×H×W×3 or T×H×W×3, "
            f"got {arr.dtype} {tuple(arr.shape)}."
        )
    x = torch.from_numpy(arr if arr.ndim == 5 else arr[None]).permute(0, 4, 1, 2, 3)
    mean = torch.tensor(DEMO_MEAN).view(1, 3, 1, 1, 1)
    std = torch.tensor(DEMO_STD).view(1, 3, 1, 1, 1)
    return (x.float() / 255.0 - mean) / std
