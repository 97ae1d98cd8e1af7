"""On the synthetic ground-truth benchmark with the demo model, the true evidence mask must beat
a random attribution on every faithfulness and localisation metric."""

from __future__ import annotations

import pytest
import torch

import vidxai
from vidxai.data.synthetic import make_clip
from vidxai.errors import WeightsUnavailableError

METRICS = ["deletion", "insertion", "pointing_game", "energy", "iou"]


@pytest.fixture(scope="module")
def demo_model():
    try:
        return vidxai.load_model("vidxai-demo")
    except WeightsUnavailableError:
        pytest.skip("demo model weights are not built in this checkout")


@pytest.mark.parametrize("seed", [20_000_000, 20_000_001])
def test_evidence_mask_beats_random_attribution(demo_model, seed):
    clip = make_clip(seed)
    truth = torch.from_numpy(clip.mask).float()
    noise = torch.rand(truth.shape, generator=torch.Generator().manual_seed(seed))
    kw = dict(metrics=METRICS, target=clip.label, ground_truth=clip.mask, n_steps=16)
    good = vidxai.evaluate(demo_model, clip.frames, truth, **kw).scores
    bad = vidxai.evaluate(demo_model, clip.frames, noise, **kw).scores
    assert good["deletion"] < bad["deletion"] - 0.1
    assert good["insertion"] > bad["insertion"] + 0.1
    assert good["pointing_game"] is True and good["energy"] == 1.0 and good["iou"] == 1.0
    assert bad["energy"] < 0.05 and bad["iou"] < 0.05
