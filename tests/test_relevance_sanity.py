"""Model-randomisation sanity check (Adebayo et al. 2018) for the relevance methods.

The top half of the layers is re-initialised with :func:`vidxai.metrics.sanity.randomise_`
and the Spearman correlation (of absolute values, as the sanity metric does) between the maps
before and after is measured with :func:`vidxai.metrics.sanity.spearman`. A method that passes
has ρ < 0.5. Methods whose maths is known to ignore the upper layers are marked as expected
failures (strict: the test fails if they start passing, so the record stays true). Measured on
the demo model, clips 0–2, top half randomised (``python benchmarks/relevance.py --sanity``
prints the whole cascade):

* z⁺-based modified backpropagation converges to a map independent of the upper layers (Sixt,
  Granz & Landgraf, ICML 2020): LRP ``epsilon_plus_flat`` ρ = 0.92–0.96, ``epsilon_plus``
  0.94–0.97, excitation backprop 0.71–0.72;
* the γ and αβ rules sit between z⁺ and ε (they favour positive contributions):
  ``epsilon_gamma_box`` 0.54–0.56, ``epsilon_alpha2_beta1_flat`` 0.65–0.68;
* LRP ``epsilon`` (gradient × input on a bias-free ReLU net) passes: 0.40–0.44; guided
  backprop passes narrowly on clip 0 (0.48; 0.48–0.54 over the three clips);
* attention rollout is class-agnostic — it never reads the classifier, so randomising the head
  leaves it *exactly* unchanged (tested) — and dominated by the lower layers' attention (Chefer
  et al. 2021): ρ = 0.95–0.99 on the random-init tiny transformers, whose attention is nearly
  uniform, and still 0.83–0.85 when the queries and keys are scaled ×64 so that attention is
  nearly hard (mean max probability ≈ 0.9): a property of rollout, not of the test model.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

import vidxai
from vidxai.data.synthetic import make_clip
from vidxai.metrics.sanity import randomise_, spearman
from vidxai.models.zoo import load_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

Z_PLUS = pytest.mark.xfail(strict=True, reason="z⁺ rules ignore the upper layers (Sixt 2020)")
POSITIVE = pytest.mark.xfail(strict=True, reason="γ / αβ favour positive contributions (z⁺-like)")


def _one(model: Any, x: Any, **kw: Any) -> Any:
    """``vidxai.explain`` of one clip: one Explanation."""
    e = vidxai.explain(model, x, **kw)
    assert not isinstance(e, list)
    return e


def _demo_rho(method: str, **params) -> float:
    model = load_model("vidxai-demo")
    sample = make_clip(0)
    broken = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(0)
    for name in ("head", "features.3", "features.2"):  # the top half of the five blocks
        randomise_(dict(broken.module.named_modules())[name], gen)
    kw = dict(method=method, target=sample.label, progress=False, **params)
    a, b = (_one(m, sample.frames, **kw).attribution for m in (model, broken))
    return spearman(a.abs(), b.abs())


@pytest.mark.parametrize(
    "method,params",
    [
        pytest.param("lrp", {}, marks=Z_PLUS),
        pytest.param("lrp", {"composite": "epsilon_plus"}, marks=Z_PLUS),
        pytest.param("lrp", {"composite": "epsilon_gamma_box"}, marks=POSITIVE),
        pytest.param("lrp", {"composite": "epsilon_alpha2_beta1_flat"}, marks=POSITIVE),
        ("lrp", {"composite": "epsilon"}),
        pytest.param("excitation_backprop", {}, marks=Z_PLUS),
        ("guided_backprop", {}),
    ],
)
def test_cnn_methods_under_model_randomisation(method, params):
    assert _demo_rho(method, **params) < 0.5


TINY = dict(num_frames=4, image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=4,
            num_attention_heads=2, intermediate_size=32, num_classes=3)  # fmt: skip


def _tiny(name: str, qk_scale: float = 1.0):
    torch.manual_seed(0)
    model = load_model(name, weights=None, **TINY)
    with torch.no_grad():  # scaled queries and keys: attention far from uniform
        for n, m in model.module.named_modules():
            if n.endswith(("query", "key")):
                m.weight.mul_(qk_scale)
            elif n.endswith("qkv"):
                m.weight[: 2 * m.weight.shape[0] // 3].mul_(qk_scale)
    return model


def _tokens(model, method: str) -> torch.Tensor:
    x = torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(0))
    return _one(model, x, method=method, target=0, progress=False).extras["tokens"]


def _top_half_rho(name: str, method: str, qk_scale: float = 1.0) -> float:
    model = _tiny(name, qk_scale)
    broken = copy.deepcopy(model)
    base = broken.module.timesformer if name == "timesformer" else broken.module.videomae
    gen = torch.Generator().manual_seed(0)
    for module in (broken.module.classifier, base.encoder.layer[3], base.encoder.layer[2]):
        randomise_(module, gen)
    return spearman(_tokens(model, method).abs(), _tokens(broken, method).abs())


ROLLOUT = pytest.mark.xfail(strict=True, reason="rollout is class-agnostic, lower layers dominate")


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
@pytest.mark.parametrize(
    "method", ["transformer_relevance", pytest.param("attention_rollout", marks=ROLLOUT)]
)
def test_transformer_methods_under_model_randomisation(name, method):
    pytest.importorskip("transformers")
    assert _top_half_rho(name, method) < 0.5


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
@ROLLOUT
def test_rollout_fails_with_peaked_attention_too(name):
    # not the near-uniform attention of a random-init model: with queries and keys ×64 the
    # attention is nearly hard, and rollout still keeps ρ ≈ 0.83–0.85
    pytest.importorskip("transformers")
    assert _top_half_rho(name, "attention_rollout", qk_scale=64.0) < 0.5


@pytest.mark.parametrize("name", ["timesformer", "videomae"])
def test_rollout_never_reads_the_classifier(name):
    # the known answer behind rollout's failure: a new head gives exactly the same map, while
    # transformer_relevance (gradients of the target's logit) changes
    pytest.importorskip("transformers")
    model = _tiny(name)
    broken = copy.deepcopy(model)
    randomise_(broken.module.classifier, torch.Generator().manual_seed(1))
    assert torch.equal(_tokens(model, "attention_rollout"), _tokens(broken, "attention_rollout"))
    a, b = _tokens(model, "transformer_relevance"), _tokens(broken, "transformer_relevance")
    assert not torch.allclose(a, b)
