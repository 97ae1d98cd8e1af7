"""2D-EP, 3D-EP and STEP find the evidence of the ground-truth benchmark with the demo model.

Held-out clips (seeds from 20,000,000; the demo model was trained on seeds 0–9600): the evidence
is the red actor while it moves. The score is the AUROC of the attribution against the actor's
mask — the chance that a random evidence voxel scores above a random other voxel — computed
here from its definition. Each method runs with its own settings, never overridden: the
``vidxai demo`` settings (fast), and the defaults (2000 iterations; marked slow).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidxai
from vidxai.core.registry import get_method
from vidxai.data.synthetic import make_clip

HELD_OUT = 20_000_100  # also apart from the clips the demo settings were chosen on
METHODS = ("ep2d", "ep3d", "step")


def auroc(scores: torch.Tensor, truth: np.ndarray) -> float:
    """P(score of an evidence voxel > score of another voxel) + ½ P(equal)."""
    s = scores.reshape(-1).double()
    y = torch.from_numpy(np.asarray(truth, dtype=bool).reshape(-1))
    negatives = torch.sort(s[~y]).values
    below = torch.searchsorted(negatives, s[y], right=False)
    not_above = torch.searchsorted(negatives, s[y], right=True)
    wins = below.double() + 0.5 * (not_above - below).double()
    return float(wins.sum() / (y.sum() * negatives.numel()))


def test_auroc_helper_on_known_cases():
    truth = np.array([True, False, False, True])
    assert auroc(torch.tensor([0.9, 0.1, 0.2, 0.8]), truth) == 1.0
    assert auroc(torch.tensor([0.1, 0.9, 0.8, 0.2]), truth) == 0.0
    assert auroc(torch.tensor([0.5, 0.5, 0.5, 0.5]), truth) == 0.5
    assert auroc(torch.tensor([0.9, 0.1, 0.5, 0.2]), truth) == 0.75  # 3 of 4 pairs


@pytest.fixture(scope="module")
def model():
    return vidxai.load_model("vidxai-demo")


def mean_auroc(model, method: str, params: dict, n_clips: int) -> list[float]:
    """AUROC of each clip's map against its evidence mask. The clips are explained in one
    batched call (each equals its clip explained alone: tests/test_extremal_batches.py), which
    on this small model costs ~0.6× the CPU time of one call per clip."""
    clips = [make_clip(HELD_OUT + i) for i in range(n_clips)]
    exps = vidxai.explain(
        model,
        [clip.frames for clip in clips],
        method=method,
        target=[clip.label for clip in clips],
        progress=False,
        **params,
    )
    scores = []
    for clip, exp in zip(clips, exps):
        assert exp.attribution.shape == clip.mask.shape
        scores.append(auroc(exp.attribution, clip.mask))
    return scores


@pytest.mark.parametrize("method", METHODS)
def test_demo_settings_localise(model, method):
    params = get_method(method).demo_params
    assert params["num_iter"] <= 100  # the demo budget: a few seconds per clip
    scores = mean_auroc(model, method, params, n_clips=4)
    assert np.mean(scores) >= 0.9, scores


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_default_settings_localise(model, method):
    scores = mean_auroc(model, method, {}, n_clips=2)
    assert np.mean(scores) >= 0.9, scores
