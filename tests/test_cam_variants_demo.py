"""CAM variants on the trained demo model: the maps fall on the actor, and the model
randomisation sanity check (Adebayo et al. 2018) as the relevance tests run it.

Sanity: the head and the top two blocks (``features.3`` = the CAM layer, ``features.2``) are
re-initialised (scales kept) and the Spearman correlation of the absolute maps before/after is
measured. XGrad-CAM and HiResCAM equal Grad-CAM on this model (global average pooling + linear
head: the gradient at the layer is constant per channel) and pass with it (ρ ≈ 0.36). The
methods whose channel weights are positive — Smooth Grad-CAM++ (ReLU'ed gradients; equal to
Grad-CAM++ here), SS-CAM / IS-CAM (softmax), and Ablation-CAM, whose weights here are exactly
W_ck·mean(A_k)/s — give a positive mixture of the layer's activations: ρ ≈ 0.77–0.81, the same
as the existing Grad-CAM++ (0.80) / Score-CAM (0.81) and as the class-free ReLU(Σ_c A_c) of the
same layer (0.80). Eigen-CAM is class-agnostic (ρ ≈ 0.96; exactly unchanged when only the head
is randomised). That is the methods' maths (their maps barely depend on the layers above the
CAM layer); they pass once the trained low-level layers are randomised too (full cascade,
tested below). The failures are strict expected failures so the record stays true
(docs/sections/cam_variants.md has the numbers over 5 draws).
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
    strict=True,
    reason="a positive mixture of the layer's activations: tracks ReLU(Σ_c A_c) (ρ ≈ 0.8), "
    "not the randomised head",
)
FAILING = ("ablationcam", "smooth_gradcampp", "sscam", "iscam", "eigencam")


@pytest.fixture(scope="module")
def demo():
    model = vidxai.load_model("vidxai-demo")
    broken = _broken(model, ("head", "features.3", "features.2"))  # the top half
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


def _broken(model, names, seed=0):
    broken = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(seed)
    for name in names:
        randomise_(dict(broken.module.named_modules())[name], gen)
    return broken


@pytest.mark.parametrize("method", FAILING)
def test_full_cascade_randomisation_changes_the_map(demo, method):
    """Randomising every layer down to the input (the full cascade) destroys what the
    positive-weight CAMs and Eigen-CAM show: measured ρ ≤ 0.13 on this clip (≤ 0.43 over 5)."""
    model, _, sample = demo
    names = ("head", "features.3", "features.2", "features.1", "features.0")
    a = _explain(model, sample, method).attribution
    b = _explain(_broken(model, names), sample, method).attribution
    assert spearman(a.abs(), b.abs()) < 0.5


def test_eigencam_does_not_depend_on_the_head(demo):
    """Eigen-CAM reads the layer's activations only: a random head gives the same map."""
    model, _, sample = demo
    a = _explain(model, sample, "eigencam").attribution
    b = _explain(_broken(model, ("head",)), sample, "eigencam").attribution
    torch.testing.assert_close(a, b)


def test_ablation_drops_on_a_pooled_linear_head(demo):
    """Known answer: after global average pooling and a linear head, zeroing channel k of the
    last (post-ReLU) block drops the logit by exactly W_ck · mean(A_k), so Ablation-CAM's
    weights are W_ck · mean(A_k) / s — also on the randomised model whose logit s is negative."""
    model, broken, sample = demo
    for net in (model, broken):
        exp = _explain(net, sample, "ablationcam")
        x, _ = net.prepare(sample.frames)
        with torch.no_grad():
            means = net.module.features(x[None]).mean((2, 3, 4))[0]
        channels = exp.extras["channels"]
        expected = net.module.head.weight[int(sample.label)][channels] * means[channels]
        drop = exp.extras["score"] - exp.extras["ablated_scores"]
        torch.testing.assert_close(drop, expected, rtol=1e-4, atol=1e-5)
    assert _explain(broken, sample, "ablationcam").extras["score"] < 0  # this draw: s = −0.08
