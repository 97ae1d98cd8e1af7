"""A zoo model through the front door: frames in, attribution back on the original video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidxai
from vidxai.errors import InvalidInputError
from vidxai.models import load_model


def test_explain_zoo_model_on_frames_maps_back_to_the_original() -> None:
    torch.manual_seed(0)
    model = load_model("r3d_18", weights=None, num_frames=8, size=32, num_classes=3)
    frames = np.random.default_rng(0).integers(0, 256, (12, 40, 60, 3), dtype=np.uint8)
    exp = vidxai.explain(model, frames, method="saliency", progress=False)
    assert exp.attribution.shape == (8, 32, 32)
    assert exp.geometry is not None and exp.geometry.num_frames == 12
    # 40×60 → exact 37×49 (128×171 scaled by 32/112); 32×32 crop at top 2, left 8 — columns
    # 8..40 of 49, i.e. about 9.8..49 of 60 in the original
    assert exp.geometry.resized_size == (37, 49) and exp.geometry.crop_box == (2, 8, 32, 32)
    original = exp.to_original()
    assert original.shape == (12, 40, 60)
    assert original[:, :, :8].abs().max() == 0 and original[:, :, 51:].abs().max() == 0
    assert original[:, :, 20:40].abs().sum() > 0


def test_explain_rejects_a_tensor_of_the_wrong_size() -> None:
    model = load_model("r3d_18", weights=None, num_frames=8, size=32, num_classes=3)
    with pytest.raises(InvalidInputError, match=r"expected N×3×8×32×32"):
        vidxai.explain(model, torch.zeros(3, 8, 40, 40), method="saliency", progress=False)
