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


@pytest.mark.parametrize(
    ("shape", "box"),
    [((90, 160), (40, 60, 70, 100)), ((160, 90), (70, 100, 30, 60))],  # landscape, portrait
)
def test_to_original_puts_a_marker_back_where_it_was(shape, box) -> None:
    """A bright square's map in model space lands on the square in the original video."""
    from vidxai.core.explanation import Explanation

    h0, w0 = shape
    r0, r1, c0, c1 = box
    frames = np.full((24, h0, w0, 3), 60, np.uint8)
    frames[6:14, r0:r1, c0:c1] = 255
    spec = InputSpec(num_frames=8, size=(32, 32), resize=40, mean=(0, 0, 0), std=(1, 1, 1))
    clf = VideoClassifier(nn.Identity(), spec)
    x, geo = clf.prepare(frames)
    marker = (clf.to_pixels(x)[..., 0] > 200).float()  # T×32×32, where the square is seen
    timings = {"segmentation": 0.0, "inference": 0.0, "explanation": 0.0}
    exp = Explanation(marker, "m", {}, 0, 0.0, 0, 0, 0, timings, geometry=geo)
    back = exp.to_original().numpy() > 0.5
    assert back.shape == (24, h0, w0)
    ys, xs = np.nonzero(back.any(0))
    assert abs(ys.mean() - (r0 + r1 - 1) / 2) <= 1.0 and abs(xs.mean() - (c0 + c1 - 1) / 2) <= 1.0
    truth = np.zeros_like(back)
    truth[6:14, r0:r1, c0:c1] = True
    assert (back & truth).sum() / (back | truth).sum() > 0.6
    # model frames sit at 0, 3, 7, 10, 13, 16, 20, 23: frames 6..14 take a marked model frame
    assert np.nonzero(back.any((1, 2)))[0].tolist() == list(range(6, 15))
    # areas cropped away carry no attribution: a map of ones covers just the crop's footprint
    top, left, h, w = geo.crop_box
    sy, sx = h0 / geo.resized_size[0], w0 / geo.resized_size[1]
    ones = geo.to_original(torch.ones(8, h, w))
    inside = ones[:, round((top + 2) * sy) : round((top + h - 2) * sy),
                  round((left + 2) * sx) : round((left + w - 2) * sx)]  # fmt: skip
    torch.testing.assert_close(inside, torch.ones_like(inside))
    outside = torch.ones_like(ones, dtype=torch.bool)
    outside[:, max(0, int((top - 1) * sy)) : int((top + h + 1) * sy) + 1,
            max(0, int((left - 1) * sx)) : int((left + w + 1) * sx) + 1] = False  # fmt: skip
    assert ones[outside].abs().max() == 0 and outside.any()
