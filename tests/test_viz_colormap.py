"""Colour mapping on hand-made maps: known values get known colours and opacities."""

from __future__ import annotations

import numpy as np
import pytest

from vidxai.errors import InvalidInputError, UnknownNameError
from vidxai.viz import VizOptions, colorize, composite, get_colormap
from vidxai.viz.colormap import NEGATIVE_RGB, NEUTRAL_RGB, POSITIVE_RGB


def test_signed_default_is_blue_neutral_orange():
    options = VizOptions(polarity="signed")
    rgba = colorize(np.array([[-1.0, 0.0, 1.0]]), options)
    assert rgba.shape == (1, 3, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0, :3]) == NEGATIVE_RGB == (0, 114, 178)
    assert tuple(rgba[0, 1, :3]) == pytest.approx(NEUTRAL_RGB, abs=1)
    assert tuple(rgba[0, 2, :3]) == POSITIVE_RGB == (230, 159, 0)
    # alpha_mode="magnitude": 255·0.6·|v|
    assert list(rgba[0, :, 3]) == [153, 0, 153]


def test_signed_halfway_is_between_neutral_and_the_end_colour():
    rgba = colorize(np.array([0.5]), VizOptions(polarity="signed"))
    expected = [(n + p) / 2 for n, p in zip(NEUTRAL_RGB, POSITIVE_RGB)]
    assert rgba[0, :3].tolist() == pytest.approx(expected, abs=2)
    assert rgba[0, 3] == round(255 * 0.6 * 0.5)


def test_positive_default_is_inferno_ends():
    rgba = colorize(np.array([0.0, 1.0]), VizOptions())
    assert tuple(rgba[0, :3]) == (0, 0, 4)  # inferno(0)
    assert tuple(rgba[1, :3]) == (252, 255, 164)  # inferno(1)
    assert list(rgba[:, 3]) == [0, 153]


def test_negative_default_runs_from_neutral_to_blue():
    rgba = colorize(np.array([0.0, 1.0]), VizOptions(polarity="negative"))
    assert tuple(rgba[0, :3]) == pytest.approx(NEUTRAL_RGB, abs=1)
    assert tuple(rgba[1, :3]) == NEGATIVE_RGB


def test_constant_alpha_and_clipping():
    options = VizOptions(alpha=0.5, alpha_mode="constant")
    rgba = colorize(np.array([-3.0, 0.0, 0.2, 7.0]), options)  # unsigned: clipped to [0, 1]
    assert list(rgba[:, 3]) == [0, 0, 128, 128]  # opaque wherever a value is shown
    assert tuple(rgba[0, :3]) == (0, 0, 4) and tuple(rgba[3, :3]) == (252, 255, 164)


def test_any_matplotlib_colormap_by_name():
    rgba = colorize(np.array([0.0, 1.0]), VizOptions(colormap="viridis"))
    assert tuple(rgba[0, :3]) == (68, 1, 84)
    assert tuple(rgba[1, :3]) == (253, 231, 37)


def test_nan_is_refused():
    with pytest.raises(InvalidInputError):
        colorize(np.array([np.nan]))


def test_unknown_colormap():
    with pytest.raises(UnknownNameError, match="inferno"):
        get_colormap("infern")


def test_composite_known_pixels():
    frames = np.full((1, 2, 2, 3), 100, dtype=np.uint8)
    rgba = np.zeros((1, 2, 2, 4), dtype=np.uint8)
    rgba[0, 0, 0] = (200, 0, 50, 255)  # opaque: the colour
    rgba[0, 0, 1] = (200, 0, 50, 0)  # transparent: the frame
    rgba[0, 1, 0] = (200, 0, 50, 51)  # 20 %: 0.8·100 + 0.2·colour
    out = composite(frames, rgba, VizOptions(background="color"))
    assert tuple(out[0, 0, 0]) == (200, 0, 50)
    assert tuple(out[0, 0, 1]) == (100, 100, 100)
    assert tuple(out[0, 1, 0]) == (120, 80, 90)


def test_composite_gray_background_and_dimming():
    frames = np.zeros((1, 1, 3), dtype=np.uint8)
    frames[0, 0] = (255, 0, 0)
    clear = np.zeros((1, 1, 4), dtype=np.uint8)
    gray = composite(frames, clear)  # the default background is grey
    assert tuple(gray[0, 0]) == (76, 76, 76)  # 0.299·255
    dimmed = composite(frames, clear, VizOptions(background="color", dim=0.5))
    assert tuple(dimmed[0, 0]) == (128, 0, 0)


def test_composite_shape_mismatch():
    with pytest.raises(InvalidInputError):
        composite(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3, 4), np.uint8))


@pytest.mark.parametrize(
    "options",
    [
        VizOptions(),
        VizOptions(polarity="signed"),
        VizOptions(alpha=0.9, colormap="viridis"),
        VizOptions(background="color"),  # the two-step path
        VizOptions(alpha_mode="constant", dim=0.3),
    ],
)
def test_shade_equals_composite_of_colorize(options):
    from vidxai.viz.colormap import shade

    rng = np.random.default_rng(4)
    frame = rng.integers(0, 256, size=(2, 17, 23, 3), dtype=np.uint8)
    values = rng.random((2, 17, 23)).astype(np.float32)
    values[:, :5] = 0.0
    if options.signed:
        values = values * 2 - 1
    expected = composite(frame, colorize(values, options), options)
    np.testing.assert_array_equal(shade(frame, values, options), expected)
    # unshown pixels are the grey (or original) video itself
    if options.background == "gray" and options.dim == 0 and not options.signed:
        luma = frame.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        np.testing.assert_allclose(expected[:, :5, :, 0], np.rint(luma[:, :5]), atol=1)
