"""The synthetic ground-truth benchmark: determinism, exact masks, no single-frame shortcut."""

from __future__ import annotations

import numpy as np
import pytest

from vidxai.data.synthetic import (
    ACTOR_COLOUR,
    CLASS_NAMES,
    SyntheticConfig,
    box_of_mask,
    make_clip,
    make_dataset,
)
from vidxai.errors import InvalidInputError

CONFIG = SyntheticConfig()
# Step (dy, dx) of the actor per frame for each class, written out by hand.
STEPS = {"left": (0, -2), "right": (0, 2), "up": (-2, 0), "down": (2, 0)}


@pytest.fixture(scope="module")
def dataset():
    return make_dataset(400, seed=1000)


def test_same_seed_gives_identical_bytes():
    a, b = make_clip(7), make_clip(7)
    assert a.frames.tobytes() == b.frames.tobytes()
    assert a.mask.tobytes() == b.mask.tobytes()
    assert (a.label, a.box, a.seed) == (b.label, b.box, b.seed)
    assert a.frames.shape == (16, 64, 64, 3) and a.frames.dtype == np.uint8
    assert a.mask.shape == (16, 64, 64) and a.mask.dtype == np.bool_
    assert make_clip(8).frames.tobytes() != a.frames.tobytes()


def test_dataset_is_a_stack_of_clips_from_consecutive_seeds():
    d1, d2 = make_dataset(6, seed=40), make_dataset(6, seed=40)
    assert d1.frames.tobytes() == d2.frames.tobytes()
    assert d1.masks.tobytes() == d2.masks.tobytes()
    assert d1.seeds == tuple(range(40, 46))
    for i, clip in enumerate(d1):
        ref = make_clip(40 + i)
        assert np.array_equal(clip.frames, ref.frames)
        assert np.array_equal(clip.mask, ref.mask)
        assert clip.label == ref.label == (40 + i) % 4
        assert clip.box == ref.box


def test_labels_are_balanced():
    assert np.bincount(make_dataset(40, seed=3).labels).tolist() == [10, 10, 10, 10]
    counts = np.bincount(make_dataset(42, seed=5).labels, minlength=4)
    assert counts.sum() == 42 and counts.max() - counts.min() <= 1


def test_mask_is_exactly_the_actor_pixels():
    """Without noise, the actor is the only pure-red pixel, so the mask is known exactly."""
    config = SyntheticConfig(noise=0.0)
    red = np.round(np.asarray(ACTOR_COLOUR) * 255).astype(np.uint8)
    for seed in range(12):
        clip = make_clip(seed, config=config)
        assert np.array_equal(clip.mask, (clip.frames == red).all(-1))


@pytest.mark.parametrize("label", range(4))
def test_actor_is_a_square_moving_the_class_direction_during_one_span(label):
    s = CONFIG.actor_size
    dy, dx = STEPS[CLASS_NAMES[label]]
    for seed in range(10):
        mask = make_clip(seed, label=label).mask
        visible = np.flatnonzero(mask.any(axis=(1, 2)))
        t0, t1 = visible[0], visible[-1] + 1
        assert np.array_equal(visible, np.arange(t0, t1))  # one contiguous span
        assert CONFIG.span[0] <= t1 - t0 <= CONFIG.span[1]
        assert (mask[t0:t1].sum(axis=(1, 2)) == s * s).all()
        for t in range(t0, t1 - 1):  # each frame is the previous one moved along the torus
            assert np.array_equal(mask[t + 1], np.roll(mask[t], (dy, dx), axis=(0, 1)))


def test_box_matches_mask(dataset):
    for clip in list(dataset)[:60]:
        where = np.argwhere(clip.mask)  # slow reference: every voxel of the mask
        expected = tuple(
            (int(lo), int(hi) + 1) for lo, hi in zip(where.min(0), where.max(0), strict=True)
        )
        assert clip.box == expected
        (t0, t1), (y0, y1), (x0, x1) = clip.box
        assert clip.mask[t0:t1, y0:y1, x0:x1].sum() == clip.mask.sum()


def test_box_is_tight_when_the_actor_stays_clear_of_the_edges():
    # Hand-made mask: a 2×2 square at rows 3-4, columns 5-6, in frames 2 and 3.
    mask = np.zeros((6, 10, 12), bool)
    mask[2:4, 3:5, 5:7] = True
    assert box_of_mask(mask) == ((2, 4), (3, 5), (5, 7))
    with pytest.raises(InvalidInputError):
        box_of_mask(np.zeros((2, 4, 4), bool))


def test_label_changes_nothing_but_the_actor():
    """Scene, distractors and noise do not depend on the label: the exact no-leak guarantee."""
    for seed in (0, 11, 123):
        clips = [make_clip(seed, label=c) for c in range(4)]
        actor_anywhere = np.logical_or.reduce([c.mask for c in clips])
        for c in clips[1:]:
            assert np.array_equal(c.frames[~actor_anywhere], clips[0].frames[~actor_anywhere])
        # The actor appears at the same place and time whatever the label.
        first = clips[0].box[0][0]
        assert all(np.array_equal(c.mask[first], clips[0].mask[first]) for c in clips)


def _ridge_probe_accuracy(features: np.ndarray, labels: np.ndarray, n_train: int) -> float:
    """Held-out accuracy of a ridge-regression classifier on one-hot labels."""
    x = features.reshape(len(features), -1).astype(np.float64)
    x = (x - x[:n_train].mean(0)) / (x[:n_train].std(0) + 1e-6)
    y = np.eye(4)[labels]
    xt = x[:n_train]
    w = np.linalg.solve(xt.T @ xt + 100.0 * np.eye(x.shape[1]), xt.T @ y[:n_train])
    return float(((x[n_train:] @ w).argmax(1) == labels[n_train:]).mean())


def _downsample(frames: np.ndarray, k: int = 4) -> np.ndarray:
    """...×H×W×3 -> ...×H/k×W/k×3 block means."""
    *lead, h, w, c = frames.shape
    return frames.reshape(*lead, h // k, k, w // k, k, c).mean(axis=(-4, -2))


@pytest.mark.parametrize("t", [3, 8, 12])
def test_a_single_frame_carries_no_label_information(dataset, t):
    frames = dataset.frames[:, t].astype(np.float32)  # N×H×W×3
    actor = dataset.masks[:, t]  # N×H×W, where the actor is in this frame
    features = np.concatenate(
        [_downsample(frames).reshape(len(frames), -1), actor.any(1), actor.any(2)], axis=1
    )
    assert _ridge_probe_accuracy(features, dataset.labels, 300) < 0.4  # chance is 0.25


def test_distractors_and_background_carry_no_label_information(dataset):
    scene = dataset.frames.astype(np.float32)
    scene[dataset.masks] = 0.0  # remove the actor, keep everything else, all frames
    features = _downsample(scene, 16)  # N×T×4×4×3
    assert _ridge_probe_accuracy(features, dataset.labels, 300) < 0.4


def _circular_centre(mask: np.ndarray, axis: int) -> float:
    """Position of a (possibly wrapped) blob along one axis of an H×W mask, by circular mean."""
    n = mask.shape[axis]
    weight = mask.sum(axis=1 - axis)
    angle = np.angle((weight * np.exp(2j * np.pi * np.arange(n) / n)).sum())
    return angle * n / (2 * np.pi)


def test_two_frames_reveal_the_label(dataset):
    """Control for the probes above: the displacement between two frames decides the class."""
    directions = np.array([STEPS[name] for name in CLASS_NAMES], float)
    for clip in dataset:
        t0 = clip.box[0][0]
        d = [
            (_circular_centre(clip.mask[t0 + 1], a) - _circular_centre(clip.mask[t0], a))
            for a in (0, 1)
        ]
        d = (np.asarray(d) + 32) % 64 - 32
        assert int(np.argmin(((directions - d) ** 2).sum(1))) == clip.label


def test_make_dataset_is_fast():
    import time

    start = time.perf_counter()
    make_dataset(200, seed=0)
    assert time.perf_counter() - start < 10.0  # ~0.3 s here; generous for a shared CPU


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_frames": 1},
        {"span": (1, 4)},
        {"span": (8, 20)},
        {"actor_size": 0},
        {"actor_speed": 0},
        {"n_distractors": -1},
        {"noise": -0.1},
        {"distractor_radius": (4.0, 2.0)},
    ],
)
def test_bad_config_raises(kwargs):
    with pytest.raises(InvalidInputError):
        SyntheticConfig(**kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_clip(-1),
        lambda: make_clip(1.5),
        lambda: make_clip(0, label=4),
        lambda: make_clip(0, label=True),
        lambda: make_dataset(0),
    ],
)
def test_bad_arguments_raise(call):
    with pytest.raises(InvalidInputError):
        call()


def test_config_changes_shapes():
    clip = make_clip(3, config=SyntheticConfig(num_frames=8, size=(32, 40), span=(3, 5)))
    assert clip.frames.shape == (8, 32, 40, 3) and clip.mask.shape == (8, 32, 40)
    assert clip.class_name == CLASS_NAMES[3]
