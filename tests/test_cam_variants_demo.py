"""CAM variants on the trained demo model: the maps fall on the actor, and the model
randomisation sanity check (Adebayo et al. 2018) as the relevance tests run it.

Sanity: the head and the top two blocks are re-initialised (scales kept) and the Spearman
correlation of the absolute maps before/after is measured. XGrad-CAM, HiResCAM (signed
gradient weights, like Grad-CAM: ρ ≈ 0.36) pass. The methods whose channel weights are
positive by construction — Smooth Grad-CAM++ (ReLU'ed gradients), SS-CAM / IS-CAM (softmax),
Ablation-CAM on this head — give a positive mixture of the randomised activations, which still
outline the moving actor: ρ ≈ 0.77–0.81, the same as the existing Grad-CAM++ (0.80) and
Score-CAM (0.81) measure here. Eigen-CAM is class-agnostic and reads activations only
(ρ ≈ 0.96). These are marked as strict expected failures so the record stays true.
"""

from __future__ import annotations

import copy

import pytest
import torch

import vidxai
from vidxai.data.synthetic import make_clip
from vidxai.metrics.sanity import randomise_, spearman

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SETTINGS = {
    "xgradcam": {},
    "hirescam": {},
    "eigencam": {},
    "ablationcam": {},
    "smooth_gradcampp": {"n_samples": 8},
    "sscam": {"n_samples": 3},
    "iscam": {"n_samples": 3},
    "selective_relevance": {"base": "gradcam"},
}
POSITIVE_WEIGHTS = pytest.mark.xfail(
    strict=True, reason="positive channel weights keep the randomised activations' outline"
)


@pytest.fixture(scope="module")
def demo():
    model = vidxai.load_model("vidxai-demo")
    broken = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(0)
    for name in ("head", "features.3", "features.2"):  # the top half of the network
        randomise_(dict(broken.module.named_modules())[name], gen)
    return model, broken, make_clip(0)


def _explain(model, sample, method):
    kw = dict(method=method, target=int(sample.label), progress=False, **SETTINGS[method])
    return vidxai.explain(model, sample.frames, **kw)


@pytest.mark.parametrize("method", list(SETTINGS))
def test_maps_fall_on_the_actor(demo, method):
    model, _, sample = demo
    energy = _explain(model, sample, method).to_original().clamp(min=0)
    mask = torch.as_tensor(sample.mask)
    # share of the positive map inside the actor, relative to the actor's share of the video
    ratio = float((energy * mask).sum() / energy.sum()) / float(mask.float().mean())
    assert ratio > 3, ratio  # measured 6.3–7.4 for every variant


@pytest.mark.parametrize(
    "method",
    [
        "xgradcam",
        "hirescam",
        "selective_relevance",
        pytest.param("eigencam", marks=pytest.mark.xfail(strict=True, reason="class-agnostic")),
        pytest.param("ablationcam", marks=POSITIVE_WEIGHTS),
        pytest.param("smooth_gradcampp", marks=POSITIVE_WEIGHTS),
        pytest.param("sscam", marks=POSITIVE_WEIGHTS),
        pytest.param("iscam", marks=POSITIVE_WEIGHTS),
    ],
)
def test_model_randomisation(demo, method):
    model, broken, sample = demo
    a = _explain(model, sample, method).attribution
    b = _explain(broken, sample, method).attribution
    assert spearman(a.abs(), b.abs()) < 0.5
