"""vidxai.ops.fill: each fill against a plain construction; bad fills → documented errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.ops import FILL_NAMES, check_fill, make_fill, segment_means

MEAN = torch.tensor([0.4, 0.5, 0.6])
STD = torch.tensor([0.2, 0.25, 0.5])


def _pixel_value(v):
    return (torch.as_tensor(v, dtype=torch.float32).expand(3) - MEAN) / STD


@pytest.fixture
def clip():
    return torch.rand(1, 3, 4, 6, 8, generator=torch.Generator().manual_seed(0))


def test_constant_fills_are_the_input_space_values_of_the_colours(clip):
    black = make_fill("black", clip, _pixel_value, None, 8.0)
    assert black.shape == (1, 3, 1, 1, 1)
    torch.testing.assert_close(black.flatten(), -MEAN / STD)
    gray = make_fill("gray", clip, _pixel_value, None, 8.0).flatten()
    torch.testing.assert_close(gray, (0.5 - MEAN) / STD)
    colour = make_fill((1.0, 0.0, 0.25), clip, _pixel_value, None, 8.0).flatten()
    torch.testing.assert_close(colour, (torch.tensor([1.0, 0.0, 0.25]) - MEAN) / STD)
    raw = make_fill(torch.tensor([1.0, 2.0, 3.0]), clip, _pixel_value, None, 8.0).flatten()
    torch.testing.assert_close(raw, torch.tensor([1.0, 2.0, 3.0]))


def test_mean_fill_is_each_segments_mean_colour(clip):
    labels = torch.zeros(4, 6, 8, dtype=torch.long)
    labels[:, :, 4:] = 1
    labels[2:, :3] = 2
    out = make_fill("mean", clip, _pixel_value, labels, 8.0)
    x, lab = clip[0].numpy(), labels.numpy()
    for c in range(3):
        for m in range(3):
            expected = x[c][lab == m].mean()
            np.testing.assert_allclose(out[0, c].numpy()[lab == m], expected, rtol=1e-5)
    torch.testing.assert_close(segment_means(clip, labels), out)


def test_blur_fills_are_scipy_reflect_blurs(clip):
    x = clip.double().numpy()
    ref3 = gaussian_filter(x, sigma=(0, 0, 1.0, 1.0, 1.0), mode="reflect")
    np.testing.assert_allclose(make_fill("blur", clip, _pixel_value, None, 1.0), ref3, atol=1e-5)
    ref2 = gaussian_filter(x, sigma=(0, 0, 0, 2.0, 2.0), mode="reflect")
    np.testing.assert_allclose(make_fill("blur2d", clip, _pixel_value, None, 2.0), ref2, atol=1e-5)


def test_reference_video_fill(clip):
    ref = torch.randn(3, 4, 6, 8)
    torch.testing.assert_close(make_fill(ref, clip, _pixel_value, None, 1.0)[0], ref)
    with pytest.raises(InvalidInputError, match="reference"):
        make_fill(torch.rand(3, 2, 6, 8), clip, _pixel_value, None, 1.0)
    with pytest.raises(InvalidInputError, match="NaN"):
        make_fill(torch.full((3, 4, 6, 8), float("nan")), clip, _pixel_value, None, 1.0)


@pytest.mark.parametrize("bad", ["purple", 1.5, -0.1, (0.2, 2.0), True, ()])
def test_bad_fills_raise_parameter_errors(bad):
    with pytest.raises(ParameterError):
        check_fill(bad)


def test_mean_without_labels_and_wrong_colour_count(clip):
    assert set(FILL_NAMES) == {"black", "gray", "mean", "blur", "blur2d"}
    with pytest.raises(ParameterError, match="segmentation"):
        make_fill("mean", clip, _pixel_value, None, 1.0)
    with pytest.raises(ParameterError, match="values"):
        make_fill((0.1, 0.2), clip, _pixel_value, None, 1.0)
