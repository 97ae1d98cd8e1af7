"""Region/voxel selection, stretching and normalisation on known values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidxai.errors import InvalidInputError
from vidxai.viz import VizOptions, prepare_map, select_mass, select_threshold, select_topk

# ---- the selection rules on one value per unit ------------------------------------------


def test_topk_keeps_the_largest_share():
    values = np.array([0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6, 1.0])
    keep = select_topk(values, 0.3)
    assert sorted(values[keep].tolist()) == [0.8, 0.9, 1.0]


def test_topk_rounds_up_and_keeps_ties():
    assert select_topk(np.array([3.0, 2.0, 1.0]), 0.5).tolist() == [True, True, False]  # ceil(1.5)
    assert select_topk(np.array([2.0, 2.0, 1.0, 0.5]), 0.25).tolist() == [True, True, False, False]


def test_topk_ranks_by_magnitude_and_never_selects_zero():
    assert select_topk(np.array([-0.9, 0.5, 0.1]), 0.34).tolist() == [True, True, False]
    assert select_topk(np.array([0.0, 0.0, 0.0]), 1.0).tolist() == [False, False, False]


def test_mass_rule_known_values():
    values = np.array([1.0, 4.0, 2.0, 3.0])  # total 10
    assert select_mass(values, 0.4).tolist() == [False, True, False, False]  # 4 ≥ 4
    assert select_mass(values, 0.5).tolist() == [False, True, False, True]  # 4 < 5 ≤ 7
    assert select_mass(values, 0.71).tolist() == [False, True, True, True]  # 9 ≥ 7.1
    assert select_mass(values, 1.0).all()
    assert not select_mass(np.zeros(3), 0.5).any()


def _mass_reference(values: np.ndarray, share: float) -> np.ndarray:
    """Plain loop: add units from the largest |value| down until the share is reached."""
    order = sorted(range(len(values)), key=lambda i: -abs(values[i]))
    total = sum(abs(v) for v in values)
    kept, acc, last = set(), 0.0, None
    for i in order:
        if acc >= share * total - 1e-12:
            break
        kept.add(i)
        acc += abs(values[i])
        last = abs(values[i])
    return np.array(
        [i in kept or (last is not None and abs(v) == last) for i, v in enumerate(values)]
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("share", [0.1, 0.3, 0.77])
def test_mass_rule_matches_a_plain_loop(seed, share):
    values = np.random.default_rng(seed).normal(size=40)
    np.testing.assert_array_equal(select_mass(values, share), _mass_reference(values, share))


def test_threshold_rule():
    assert select_threshold(np.array([0.2, 0.5, -0.7, 0.0]), 0.5).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert not select_threshold(np.zeros(2), 0.0).any()


# ---- prepare_map ------------------------------------------------------------------------


def _ramp() -> np.ndarray:
    """1×2×5 volume with values −4..5 (one voxel each)."""
    return np.arange(-4, 6, dtype=np.float32).reshape(1, 2, 5)


def test_positive_top30_of_voxels_without_stretch():
    out = prepare_map(_ramp(), VizOptions(stretch=False))
    expected = np.zeros(10, dtype=np.float32)
    expected[-3:] = [3 / 5, 4 / 5, 1.0]  # top 3 of 10 voxels, divided by the maximum
    np.testing.assert_allclose(out.ravel(), expected)


def test_positive_stretch_maps_min_to_zero():
    offset = 0.5 + np.linspace(0.0, 0.05, 10, dtype=np.float32).reshape(1, 2, 5)  # RISE-like
    stretched = prepare_map(offset, VizOptions(selection=None))
    np.testing.assert_allclose(stretched.ravel(), np.linspace(0, 1, 10), atol=1e-6)
    plain = prepare_map(offset, VizOptions(selection=None, stretch=False))
    assert plain.min() > 0.9  # without stretching the offset eats the colour range


def test_signed_keeps_sign_and_scales_by_max_magnitude():
    out = prepare_map(_ramp(), VizOptions(polarity="signed", selection=None))
    np.testing.assert_allclose(out.ravel(), np.arange(-4, 6) / 5.0, atol=1e-6)
    top = prepare_map(_ramp(), VizOptions(polarity="signed", topk=0.2))
    # the top 2 of 10 by |value| are 5 and 4; −4 ties with 4 and is kept as well
    assert np.flatnonzero(top.ravel()).tolist() == [0, 8, 9]
    np.testing.assert_allclose(top.ravel()[[0, 8, 9]], [-0.8, 0.8, 1.0])


def test_negative_and_absolute_polarity():
    neg = prepare_map(_ramp(), VizOptions(polarity="negative", selection=None, stretch=False))
    np.testing.assert_allclose(neg.ravel()[:5], [1.0, 0.75, 0.5, 0.25, 0.0])
    assert not neg.ravel()[5:].any()
    absolute = prepare_map(_ramp(), VizOptions(polarity="absolute", selection=None, stretch=False))
    np.testing.assert_allclose(absolute.ravel(), np.abs(np.arange(-4, 6)) / 5.0)


def test_threshold_and_mass_on_the_displayed_scale():
    ramp = _ramp()
    thr = prepare_map(ramp, VizOptions(selection="threshold", threshold=0.7, stretch=False))
    assert np.flatnonzero(thr.ravel()).tolist() == [8, 9]  # 4/5 and 5/5
    mass = prepare_map(ramp, VizOptions(selection="mass", mass=0.5, stretch=False))
    # positive values 1..5 (total 15): 5 + 4 = 9 ≥ 7.5
    assert np.flatnonzero(mass.ravel()).tolist() == [8, 9]


def test_region_selection_keeps_whole_regions_by_score():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 15]).reshape(1, 6, 10)
    scores = np.array([0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.0, 0.4, 0.5, 0.6])
    noisy = scores[labels] + rng.normal(0, 0.01, labels.shape)
    noisy -= np.array([np.mean(noisy[labels == r]) - scores[r] for r in range(10)])[labels]
    out = prepare_map(noisy, VizOptions(stretch=False), segments=labels)
    kept = sorted({int(r) for r in labels[out > 0]})
    assert kept == [0, 2, 4]  # top 30 % of the 10 regions, whatever their size
    for r in range(10):  # each region is painted with one value: its mean score / max
        values = out[labels == r]
        assert np.allclose(values, values[0])
    assert out[labels == 0][0] == pytest.approx(1.0)
    assert out[labels == 2][0] == pytest.approx(0.8 / 0.9)


def test_region_mass_uses_region_scores_not_sizes():
    labels = np.array([[[0, 1, 1, 1, 1, 1, 1, 1, 1, 2]]])
    attribution = np.array([[[5.0, 3, 3, 3, 3, 3, 3, 3, 3, 2]]])  # region scores 5, 3, 2
    out = prepare_map(attribution, VizOptions(selection="mass", mass=0.5, stretch=False), labels)
    assert out[0, 0, 0] == 1.0 and not out[0, 0, 1:].any()  # 5 ≥ 0.5·10


def test_frame_normalisation_rescales_each_frame():
    volume = np.zeros((2, 1, 4), dtype=np.float32)
    volume[0, 0] = [1, 2, 3, 4]
    volume[1, 0] = [10, 20, 30, 40]
    per_video = prepare_map(volume, VizOptions(selection=None, stretch=False))
    per_frame = prepare_map(volume, VizOptions(selection=None, stretch=False, normalise="frame"))
    assert per_video[0].max() == pytest.approx(0.1)
    np.testing.assert_allclose(per_frame[0], per_frame[1])
    assert per_frame[0].max() == 1.0
    top = prepare_map(volume, VizOptions(topk=0.25))  # one selection over the whole video
    assert not top[0].any() and np.count_nonzero(top[1]) == 2
    top_frame = prepare_map(volume, VizOptions(topk=0.25, normalise="frame"))
    assert np.count_nonzero(top_frame[0]) == 1 and np.count_nonzero(top_frame[1]) == 1


def test_clip_percentile_saturates_outliers():
    values = np.ones((1, 1, 100), dtype=np.float32)
    values[0, 0, 0] = 1000.0
    plain = prepare_map(values, VizOptions(selection=None, stretch=False))
    clipped = prepare_map(values, VizOptions(selection=None, stretch=False, clip=90))
    assert plain[0, 0, 1] == pytest.approx(0.001)
    assert clipped[0, 0, 1] == pytest.approx(1.0) and clipped.max() == 1.0


def test_smoothing_spreads_and_keeps_the_peak():
    spike = np.zeros((2, 9, 9), dtype=np.float32)
    spike[0, 4, 4] = 1.0
    out = prepare_map(spike, VizOptions(selection=None, smooth_sigma=1.0))
    assert out.max() == pytest.approx(1.0)
    assert out[0, 4, 5] > 0.3 and out[0, 4, 5] == pytest.approx(out[0, 5, 4])
    assert not out[1].any()  # only spatial smoothing, frames stay separate


def test_all_zero_and_torch_input():
    assert not prepare_map(np.zeros((2, 3, 3))).any()
    tensor = torch.arange(-4, 6, dtype=torch.float32).reshape(1, 2, 5)
    np.testing.assert_allclose(
        prepare_map(tensor, VizOptions(stretch=False)),
        prepare_map(_ramp(), VizOptions(stretch=False)),
    )


def test_output_shape_and_range():
    volume = np.random.default_rng(1).normal(size=(4, 8, 8)).astype(np.float32)
    for polarity in ("positive", "negative", "absolute", "signed"):
        out = prepare_map(volume, VizOptions(polarity=polarity))
        assert out.shape == volume.shape and out.dtype == np.float32
        assert out.min() >= (-1.0 if polarity == "signed" else 0.0) and out.max() <= 1.0


@pytest.mark.parametrize(
    "bad",
    [np.zeros((3, 3)), np.zeros((1, 0, 3)), np.array([[[np.nan]]]), "text"],
)
def test_bad_attribution(bad):
    with pytest.raises(InvalidInputError):
        prepare_map(bad)


def test_bad_segments():
    with pytest.raises(InvalidInputError, match="shape"):
        prepare_map(np.zeros((1, 2, 2)), segments=np.zeros((1, 2, 3), dtype=int))
    with pytest.raises(InvalidInputError, match="integer"):
        prepare_map(np.zeros((1, 2, 2)), segments=np.full((1, 2, 2), 0.5))


def test_mass_rule_across_chunks_matches_a_float64_cumsum():
    values = np.random.default_rng(5).random(1_500_000).astype(np.float32)  # > one 2**20 chunk
    key = np.sort(values.astype(np.float64))[::-1]
    crossing = key[np.argmax(np.cumsum(key) >= 0.9 * key.sum() * (1 - 1e-6))]
    keep = select_mass(values, 0.9)
    assert keep.sum() == np.count_nonzero(values >= np.float32(crossing))


@pytest.mark.parametrize("k", [1, 7, 123_456, 4_500_000])
def test_kth_largest_on_big_arrays_matches_partition(k):
    from vidxai.viz.selection import kth_largest

    rng = np.random.default_rng(k)
    key = rng.random(4_500_001).astype(np.float32)
    key[:1000] = key[5000]  # ties
    expected = np.partition(key, key.size - k)[key.size - k]
    assert kth_largest(key, k) == float(expected)
    assert kth_largest(np.full(4_500_001, 0.25, np.float32), k) == 0.25
