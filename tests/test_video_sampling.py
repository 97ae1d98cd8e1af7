"""Clip sampling (uniform / every k-th / window / seconds) and validate_frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vidxai.errors import InvalidInputError
from vidxai.video import (
    Video,
    every_kth,
    sample_clip,
    seconds_to_frame,
    uniform_indices,
    validate_frames,
    window,
)


def ref_uniform(t: int, n: int) -> list[int]:
    """Plain reference: evenly spaced positions over [0, T-1], rounded half up."""
    if n == 1:
        return [0]
    return [math.floor(i * (t - 1) / (n - 1) + 0.5) for i in range(n)]


def numbered_video(t: int = 20, fps: float = 10.0) -> Video:
    """Frame i has every pixel equal to i, so sampled content reveals the indices."""
    frames = np.broadcast_to(np.arange(t, dtype=np.uint8)[:, None, None, None], (t, 4, 6, 3))
    return Video(np.ascontiguousarray(frames), fps=fps)


# --------------------------------------------------------------------------- uniform_indices


@pytest.mark.parametrize(
    ("t", "n", "expected"),
    [
        (10, 4, [0, 3, 6, 9]),
        (5, 3, [0, 2, 4]),
        (2, 4, [0, 0, 1, 1]),
        (7, 1, [0]),
        (1, 3, [0, 0, 0]),
    ],
)
def test_uniform_known_answers(t, n, expected):
    out = uniform_indices(t, n)
    assert out.dtype == np.int64 and out.tolist() == expected


@pytest.mark.parametrize("t", [1, 2, 3, 16, 132, 251])
@pytest.mark.parametrize("n", [1, 2, 8, 16, 300])
def test_uniform_matches_reference_and_axioms(t, n):
    out = uniform_indices(t, n)
    assert out.tolist() == ref_uniform(t, n)
    assert len(out) == n and out.min() >= 0 and out.max() <= t - 1
    assert (np.diff(out) >= 0).all()
    if n >= 2:
        assert out[0] == 0 and out[-1] == t - 1  # whole video covered
    if n <= t:
        assert len(set(out.tolist())) == n  # no repeats unless n > T


def test_uniform_n_equal_t_is_identity():
    assert uniform_indices(9, 9).tolist() == list(range(9))


# --------------------------------------------------------------------------- every_kth / window


def test_every_kth_known_answers():
    assert every_kth(10, 3).tolist() == [0, 3, 6, 9]
    assert every_kth(10, 3, start=2).tolist() == [2, 5, 8]
    assert every_kth(10, 1).tolist() == list(range(10))
    assert every_kth(10, 50, start=4).tolist() == [4]


def test_window_known_answers():
    assert window(10, 2, 5).tolist() == [2, 3, 4]  # half-open like a slice
    assert window(10).tolist() == list(range(10))
    assert window(10, 9).tolist() == [9]
    assert window(10, 0, 10).tolist() == list(range(10))


def test_seconds_to_frame():
    assert seconds_to_frame(0, 25) == 0
    assert seconds_to_frame(1.0, 25) == 25
    assert seconds_to_frame(0.01, 25) == 1  # first frame shown at or after 0.01 s
    assert seconds_to_frame(0.3, 10) == 3  # 0.3 * 10 = 2.9999999999999996 in floating point
    assert seconds_to_frame(1.0, 30000 / 1001) == 30


# --------------------------------------------------------------------------- sample_clip


def test_sample_clip_composes_window_every_uniform():
    video = numbered_video(20)
    frames, idx = sample_clip(video, n=3, every=2, start=4, end=16)
    # window 4..15 -> every 2nd: 4,6,8,10,12,14 -> 3 uniform of 6: positions 0, 2.5->3, 5
    assert idx.tolist() == [4, 10, 14]
    assert frames[:, 0, 0, 0].tolist() == [4, 10, 14]
    assert frames.shape == (3, 4, 6, 3)


def test_sample_clip_each_step_alone():
    video = numbered_video(20)
    assert sample_clip(video)[1].tolist() == list(range(20))
    assert sample_clip(video, n=5)[1].tolist() == uniform_indices(20, 5).tolist()
    assert sample_clip(video, every=7)[1].tolist() == [0, 7, 14]
    assert sample_clip(video, start=18)[1].tolist() == [18, 19]
    assert sample_clip(video, end=2)[1].tolist() == [0, 1]


def test_sample_clip_seconds_window():
    video = numbered_video(20, fps=10)
    _, idx = sample_clip(video, start=0.5, end=1.0, unit="seconds")
    assert idx.tolist() == [5, 6, 7, 8, 9]
    _, idx = sample_clip(video, start=1.5, end=2.0, unit="seconds")  # end = duration
    assert idx.tolist() == [15, 16, 17, 18, 19]


def test_sample_clip_repeats_when_n_exceeds_frames_and_returns_copies():
    video = numbered_video(3)
    frames, idx = sample_clip(video, n=6)
    assert idx.tolist() == [0, 0, 1, 1, 2, 2] == ref_uniform(3, 6)  # 0 .4 .8 1.2 1.6 2
    frames[0] = 99
    assert (video.frames[0] == 0).all()  # the Video is untouched


def test_sample_clip_accepts_bare_frames():
    frames = numbered_video(10).frames
    out, idx = sample_clip(frames, every=4)
    assert idx.tolist() == [0, 4, 8] and out[:, 0, 0, 0].tolist() == [0, 4, 8]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: uniform_indices(10, 0), "n must be >= 1"),
        (lambda: uniform_indices(0, 4), "num_frames"),
        (lambda: uniform_indices(10, 2.5), "integer"),
        (lambda: uniform_indices(10, True), "integer"),
        (lambda: every_kth(10, 0), "every"),
        (lambda: every_kth(10, 2, start=10), "past the last frame"),
        (lambda: every_kth(10, 2, start=-1), "start"),
        (lambda: window(10, 5, 5), "greater than start"),
        (lambda: window(10, 6, 2), "greater than start"),
        (lambda: window(10, 0, 11), "past the end"),
        (lambda: window(10, 10), "past the last frame"),
        (lambda: window(10, -1, 3), "start"),
        (lambda: seconds_to_frame(-1.0, 25), "seconds"),
        (lambda: seconds_to_frame(1.0, 0), "fps"),
        (lambda: sample_clip(numbered_video(20), n=0), "n must be"),
        (lambda: sample_clip(numbered_video(20), start=2.5), "integer"),
        (lambda: sample_clip(numbered_video(20), start=3.0, unit="seconds"), "past the last frame"),
        (lambda: sample_clip(numbered_video(20), end=2.5, unit="seconds"), "past the end"),
        (lambda: sample_clip(numbered_video(20), unit="minutes"), "unit"),
        (
            lambda: sample_clip(numbered_video(20).frames, start=0.1, unit="seconds"),
            "needs a Video",
        ),
        (lambda: sample_clip(np.zeros((0, 4, 4, 3), np.uint8), n=2), "no frames"),
    ],
)
def test_bad_sampling_arguments(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()


# --------------------------------------------------------------------------- validate_frames


def test_validate_rgb_returns_equal_new_array():
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 5, 3), dtype=np.uint8)
    out = validate_frames(frames)
    np.testing.assert_array_equal(out, frames)
    assert not np.shares_memory(out, frames)
    out[0] = 0
    assert frames[0].any()  # input never modified


def test_validate_grayscale_and_rgba():
    gray = np.random.default_rng(1).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    out = validate_frames(gray)
    assert out.shape == (3, 4, 5, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)
    np.testing.assert_array_equal(validate_frames(gray[..., None]), out)
    rgba = np.random.default_rng(2).integers(0, 256, (2, 4, 5, 4), dtype=np.uint8)
    before = rgba.copy()
    out = validate_frames(rgba)
    np.testing.assert_array_equal(out, rgba[..., :3])
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(rgba, before)


def test_validate_min_frames():
    one = np.zeros((1, 4, 4, 3), np.uint8)
    assert validate_frames(one).shape == (1, 4, 4, 3)
    with pytest.raises(InvalidInputError, match="single frame is a picture"):
        validate_frames(one, min_frames=2)
    with pytest.raises(InvalidInputError, match="min_frames"):
        validate_frames(one, min_frames=0)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (np.zeros((0, 4, 4, 3), np.uint8), "no frames"),
        (np.zeros((2, 4, 4, 3), np.float32), "uint8"),
        (np.zeros((2, 4, 4, 3), np.uint16), "uint8"),
        (np.zeros((2, 4, 4, 3), bool), "uint8"),
        (np.zeros((4, 4), np.uint8), "single grayscale image"),
        (np.zeros((4, 4, 3), np.uint8), "single H×W×C image"),
        (np.zeros((2, 4, 4, 2), np.uint8), "shape"),
        (np.zeros((2, 4, 4, 5), np.uint8), "shape"),
        (np.zeros((1, 2, 4, 4, 3), np.uint8), "shape"),
        (np.zeros((2, 0, 4, 3), np.uint8), "empty frame size"),
        (
            [np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8)],
            "cannot be read as an array",
        ),
    ],
)
def test_validate_rejects(frames, match):
    with pytest.raises(InvalidInputError, match=match):
        validate_frames(frames)
