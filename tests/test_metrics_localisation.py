"""Pointing game, IoU and energy on hand-made maps; ground-truth parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import vidxai
from vidxai.errors import InvalidInputError, ParameterError
from vidxai.metrics.localisation import ground_truth_mask, pointing_location

SHAPE = (4, 10, 10)
BOX = ((1, 3), (4, 7), (4, 7))  # 2 frames × 3 × 3 = 18 voxels


def _score(tiny_model, attribution, metrics, ground_truth=BOX, **params):
    clip = torch.zeros(3, *SHAPE)
    res = vidxai.evaluate(
        tiny_model, clip, attribution, metrics=metrics, ground_truth=ground_truth, **params
    )
    return res.scores if len(metrics) > 1 else res.scores[metrics[0]]


def _peak(*points):
    a = torch.zeros(SHAPE)
    for p in points:
        a[p] = 1.0
    return a


def test_pointing_game_hits_and_misses(tiny_model):
    assert _score(tiny_model, _peak((2, 5, 5)), ["pointing_game"]) is True
    assert _score(tiny_model, _peak((2, 9, 9)), ["pointing_game"]) is False
    # mean of two maxima (2,4,4) and (2,6,8) is (2,5,6): inside the box
    assert _score(tiny_model, _peak((2, 4, 4), (2, 6, 8)), ["pointing_game"]) is True
    # mean of (2,0,0) and (2,0,8) is (2,0,4): outside the box
    assert _score(tiny_model, _peak((2, 0, 0), (2, 0, 8)), ["pointing_game"]) is False


def test_pointing_game_tolerances(tiny_model):
    # nearest ground-truth voxel to (2,9,9) is (2,6,6): distance sqrt(18) ≈ 4.24
    far = _peak((2, 9, 9))
    assert _score(tiny_model, far, ["pointing_game"], tolerance=4.0) is False
    assert _score(tiny_model, far, ["pointing_game"], tolerance=4.3) is True
    late = _peak((3, 5, 5))  # the ground truth covers frames 1 and 2
    assert _score(tiny_model, late, ["pointing_game"]) is False
    assert _score(tiny_model, late, ["pointing_game"], temporal_tolerance=1) is True


def test_pointing_location_constant_map_has_no_point():
    assert pointing_location(torch.zeros(SHAPE)) is None
    assert pointing_location(_peak((1, 2, 3))) == (1, 2, 3)


def test_iou_and_energy_hand_made(tiny_model):
    a = torch.zeros(SHAPE)
    a[1:3, 4:7, 4:7] = 1.0  # exactly the ground truth (18 voxels)
    a[1:3, 7:9, 4:7] = 0.6  # 12 voxels outside
    a[0] = -5.0  # negative relevance is ignored
    assert _score(tiny_model, a, ["iou"], iou_threshold=0.5) == pytest.approx(18 / 30)
    assert _score(tiny_model, a, ["iou"], iou_threshold=0.7) == pytest.approx(1.0)
    assert _score(tiny_model, a, ["energy"]) == pytest.approx(18 / (18 + 12 * 0.6))
    # the same with the ground truth given as a mask
    mask = np.zeros(SHAPE, dtype=bool)
    mask[1:3, 4:7, 4:7] = True
    scores = _score(tiny_model, a, ["iou", "energy"], ground_truth=mask, iou_threshold=0.5)
    assert scores["iou"] == pytest.approx(18 / 30)
    assert scores["energy"] == pytest.approx(18 / 25.2)


def test_degenerate_maps(tiny_model):
    with pytest.warns(UserWarning, match="constant"):
        scores = _score(tiny_model, torch.zeros(SHAPE), ["pointing_game", "iou", "energy"])
    assert scores["pointing_game"] is False and scores["iou"] == 0.0
    assert math.isnan(scores["energy"])
    negative = -torch.rand(SHAPE, generator=torch.Generator().manual_seed(0))
    assert math.isnan(_score(tiny_model, negative, ["energy"]))
    assert _score(tiny_model, negative, ["iou"]) == 0.0


def test_ground_truth_mask_parsing():
    box = ground_truth_mask(BOX, SHAPE)
    assert box.dtype == torch.bool and int(box.sum()) == 18
    assert bool(box[1, 4, 4]) and not bool(box[3, 4, 4])
    clipped = ground_truth_mask(((0, 99), (-3, 2), (8, 20)), SHAPE)
    assert int(clipped.sum()) == 4 * 2 * 2
    for bad in (((2, 2), (0, 1), (0, 1)), ((0, 1), (0, 1)), "box", ((5, 9), (0, 1), (0, 1))):
        with pytest.raises(InvalidInputError):
            ground_truth_mask(bad, SHAPE)
    with pytest.raises(InvalidInputError, match="shape"):
        ground_truth_mask(torch.ones(4, 10, 9, dtype=torch.bool), SHAPE)
    with pytest.raises(InvalidInputError, match="empty"):
        ground_truth_mask(torch.zeros(SHAPE, dtype=torch.bool), SHAPE)


def test_localisation_needs_ground_truth_and_valid_threshold(tiny_model):
    clip = torch.zeros(3, *SHAPE)
    with pytest.raises(InvalidInputError, match="ground_truth"):
        vidxai.evaluate(tiny_model, clip, _peak((0, 0, 0)), metrics=["iou"])
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ParameterError):
            _score(tiny_model, _peak((0, 0, 0)), ["iou"], iou_threshold=bad)
    with pytest.raises(ParameterError):
        _score(tiny_model, _peak((0, 0, 0)), ["pointing_game"], tolerance=-1)
