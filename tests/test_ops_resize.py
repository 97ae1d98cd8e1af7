"""vidxai.ops.resize against hand-computed bilinear / trilinear answers and Geometry."""

from __future__ import annotations

import pytest
import torch

from vidxai.core.geometry import Geometry
from vidxai.errors import InvalidInputError
from vidxai.ops import resize_frames, resize_volume


def test_resize_frames_doubles_a_ramp_like_half_pixel_bilinear():
    ramp = torch.tensor([[0.0, 1.0]]).expand(3, 2, 2)  # T×H×W, constant over H
    out = resize_frames(ramp, (2, 4), antialias=False)
    # half-pixel centres: output x = (i + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 (clamped)
    expected = torch.tensor([0.0, 0.25, 0.75, 1.0]).expand(3, 2, 4)
    torch.testing.assert_close(out, expected)


def test_resize_keeps_leading_dims_and_is_identity_at_the_same_size():
    x = torch.rand(2, 3, 4, 5, 6)
    assert resize_frames(x, (5, 6)) is x
    assert resize_frames(x, (10, 3)).shape == (2, 3, 4, 10, 3)
    assert resize_volume(x, (4, 5, 6)) is x
    assert resize_volume(x, (8, 10, 12)).shape == (2, 3, 8, 10, 12)


def test_resize_volume_along_time_is_linear_interpolation():
    x = torch.zeros(2, 1, 1)
    x[1] = 1.0
    out = resize_volume(x, (4, 1, 1)).flatten()
    torch.testing.assert_close(out, torch.tensor([0.0, 0.25, 0.75, 1.0]))


def test_geometry_to_original_puts_the_crop_back_and_takes_nearest_frames():
    # model frames 0 and 2 of a 4-frame video; no resize, a 2×2 crop at (1, 1) of a 4×4 frame
    geo = Geometry((0, 2), 4, (4, 4), (4, 4), (1, 1, 2, 2))
    att = torch.stack([torch.full((2, 2), 1.0), torch.full((2, 2), 2.0)])
    out = geo.to_original(att)
    assert out.shape == (4, 4, 4)
    expected_frame_values = [1.0, 1.0, 2.0, 2.0]  # frame 1 ties → earlier model frame (0)
    for t, v in enumerate(expected_frame_values):
        plain = torch.zeros(4, 4)
        plain[1:3, 1:3] = v
        torch.testing.assert_close(out[t], plain)
    assert Geometry.from_dict(geo.to_dict()) == geo


def test_bad_inputs_raise_invalid_input_errors():
    with pytest.raises(InvalidInputError, match="positive"):
        resize_frames(torch.rand(2, 4, 4), (0, 3))
    with pytest.raises(InvalidInputError, match="float"):
        resize_frames(torch.zeros(2, 4, 4, dtype=torch.uint8), (3, 3))
    with pytest.raises(InvalidInputError, match="dimensions"):
        resize_volume(torch.rand(4, 4), (2, 2, 2))
