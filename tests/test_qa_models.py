"""QA regressions for the model adapters: zoo preprocessing equals the reference transforms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from vidxai.errors import InvalidInputError
from vidxai.models.adapter import InputSpec, VideoClassifier
from vidxai.models.zoo import get_model_info


def _frames(t: int, h: int, w: int) -> np.ndarray:
    """Textured frames with fine detail (where antialiasing makes a visible difference)."""
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("name", "weights_enum"),
    [("r3d_18", "R3D_18_Weights"), ("mvit_v2_s", "MViT_V2_S_Weights")],
)
def test_downscaling_matches_torchvision_presets(name, weights_enum) -> None:
    """Reference: ``weights.transforms()`` resizes uint8 frames without antialiasing."""
    from torchvision.models import video

    spec = get_model_info(name).spec
    frames = _frames(spec.num_frames, 288, 512)  # a 16:9 clip, shrunk by the resize step
    ours, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    transform = getattr(video, weights_enum).DEFAULT.transforms()
    ref = transform(torch.from_numpy(frames).permute(0, 3, 1, 2))
    assert geo.frame_indices == tuple(range(spec.num_frames))
    levels = (ours - ref).abs() * torch.tensor(spec.std).view(3, 1, 1, 1) * 255
    assert levels.max() <= 1.0 + 1e-3  # uint8 rounding only (antialiased: over 100 levels)
    assert levels.mean() < 0.3


def test_antialias_switch_changes_only_shrinking() -> None:
    frames = _frames(2, 64, 64)
    sharp = InputSpec(num_frames=2, size=(16, 16), resize=None, crop="none", antialias=False)
    smooth = InputSpec(num_frames=2, size=(16, 16), resize=None, crop="none")
    a, _ = VideoClassifier(nn.Identity(), sharp).prepare(frames)
    b, _ = VideoClassifier(nn.Identity(), smooth).prepare(frames)
    # noise survives a plain bilinear shrink, not an antialiased one
    assert (a - b).abs().max() > 0.5
    assert a.std() > b.std()
    with pytest.raises(InvalidInputError, match="antialias"):
        InputSpec(antialias="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["videomae", "timesformer"])
def test_hf_models_match_their_image_processor(name) -> None:
    """Reference: VideoMAEImageProcessor (shortest edge, antialiased resize, floor centre crop)."""
    transformers = pytest.importorskip("transformers")
    spec = get_model_info(name).spec
    frames = _frames(spec.num_frames, 90, 212)  # resized 224×527: margin 303, 151.5 each side
    ours, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    processor = transformers.VideoMAEImageProcessor(
        image_mean=list(spec.mean), image_std=list(spec.std)
    )
    ref = processor(list(frames), return_tensors="pt")["pixel_values"][0].permute(1, 0, 2, 3)
    assert spec.resized_size(90, 212) == (224, 527) and geo.crop_box[1] == 151  # not 152
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)


def test_crop_rounding() -> None:
    size = dict(size=(4, 4), resize=(7, 9))
    assert InputSpec(**size).crop_box((7, 9)) == (2, 2, 4, 4)  # round(1.5), round(2.5): to even
    assert InputSpec(**size, crop_rounding="floor").crop_box((7, 9)) == (1, 2, 4, 4)
    with pytest.raises(InvalidInputError, match="crop_rounding"):
        InputSpec(crop_rounding="ceil")  # type: ignore[arg-type]
