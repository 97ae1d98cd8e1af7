"""Gradient × input and integrated gradients: exact answers, axioms, batching, baselines."""

from __future__ import annotations

import pytest
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

import vidxai.api as api
from vidxai.errors import ParameterError
from vidxai.gradient.paths import quadrature
from vidxai.gradient.polarity import reduce_attribution


def _explain(model, clip, method, **kw):
    kw.setdefault("progress", False)
    return api.explain(model, clip[0], method=method, **kw)


class Linear3d(nn.Module):
    """f_k(x) = Σ W_k ⊙ x over C×T×H×W (no bias): a linear video classifier."""

    def __init__(self, shape=(3, 4, 8, 8), classes=3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.weight = nn.Parameter(torch.randn(classes, *shape, generator=g))

    def forward(self, x):
        return torch.einsum("nczyx,kczyx->nk", x, self.weight)


@pytest.fixture
def clip():
    return torch.rand(1, 3, 4, 8, 8, generator=torch.Generator().manual_seed(0))


def test_grad_x_input_on_a_linear_model_is_w_times_x(clip):
    model = Linear3d()
    exp = _explain(model, clip, "grad_x_input", target=1, behaviour="logit")
    expected = (model.weight[1].detach() * clip[0]).sum(0)
    assert torch.allclose(exp.attribution, expected, atol=1e-6)
    assert exp.n_forward == 2 and exp.n_backward == 1


def test_ig_on_a_linear_model_is_w_times_x_and_is_complete(clip):
    model = Linear3d()
    ig = _explain(model, clip, "integrated_gradients", target=2, behaviour="logit", n_steps=3)
    expected = (model.weight[2].detach() * clip[0]).sum(0)  # closed form from a black baseline
    assert torch.allclose(ig.attribution, expected, atol=1e-5)
    assert abs(ig.extras["completeness_gap"]) < 1e-4
    assert ig.extras["baseline_score"] == pytest.approx(0.0, abs=1e-5)  # black = 0 here


def test_ig_matches_a_slow_loop(clip, smooth_model):
    model = smooth_model
    exp = _explain(model, clip, "integrated_gradients", target=0, n_steps=5, rule="midpoint")
    total = torch.zeros_like(clip)
    for i in range(5):  # midpoint Riemann sum written out
        point = ((i + 0.5) / 5 * clip).requires_grad_(True)
        score = model(point)[0, 0]  # the logit: the gradient methods' default
        (g,) = torch.autograd.grad(score, point)
        total += g / 5
    assert torch.allclose(exp.attribution, (clip * total).sum(1)[0], atol=1e-7, rtol=1e-4)
    assert exp.n_backward == 5 and exp.n_forward == 1 + 5 + 2


def test_ig_completeness_gap_shrinks_and_is_below_one_percent(smooth_model):
    model = smooth_model
    clip = torch.rand(1, 3, 4, 8, 8, generator=torch.Generator().manual_seed(3)) * 2
    gaps = []
    for n in (2, 8, 32, 256):
        exp = _explain(
            model,
            clip,
            "integrated_gradients",
            target=1,
            n_steps=n,
            rule="left",
            behaviour="logit",
            batch_size=64,
        )
        gaps.append(exp.extras["relative_completeness_gap"])
        delta = exp.extras["score"] - exp.extras["baseline_score"]
        # the reported gap is Σ attribution − (f(x) − f(b)) of the returned (signed) map
        assert exp.extras["completeness_gap"] == pytest.approx(
            float(exp.attribution.double().sum()) - delta, abs=1e-5
        )
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
    assert gaps[3] < 0.01
    default = _explain(
        model, clip, "integrated_gradients", target=1, n_steps=256, behaviour="logit", batch_size=64
    )
    assert default.extras["relative_completeness_gap"] < 0.01


def test_ig_batch_size_parity_and_determinism(clip, smooth_model):
    model = smooth_model
    a = _explain(model, clip, "integrated_gradients", n_steps=7, batch_size=1, baseline="noise")
    b = _explain(model, clip, "integrated_gradients", n_steps=7, batch_size=4, baseline="noise")
    assert torch.allclose(a.attribution, b.attribution, atol=1e-7, rtol=1e-4)
    c = _explain(model, clip, "integrated_gradients", n_steps=7, baseline="noise", seed=5)
    assert not torch.allclose(a.attribution, c.attribution)


def test_ig_baselines(clip, smooth_model):
    model = smooth_model
    same = _explain(model, clip, "integrated_gradients", baseline=clip[0].clone(), n_steps=2)
    assert torch.equal(same.attribution, torch.zeros(4, 8, 8))  # x − b = 0
    assert same.extras["completeness_gap"] == pytest.approx(0.0, abs=1e-7)
    blurred = _explain(
        model, clip, "integrated_gradients", baseline="blur", blur_sigma=1.0, n_steps=2
    )
    # independent reference: SciPy's per-frame Gaussian, reflect border (vidxai's border rule)
    ref = gaussian_filter(clip.double().numpy(), sigma=(0, 0, 0, 1.0, 1.0), mode="reflect")
    with torch.no_grad():
        expected = float(model(torch.from_numpy(ref).float())[0, blurred.target])  # logit
    assert blurred.extras["baseline_score"] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "params",
    [
        {"baseline": "blakc"},
        {"baseline": torch.zeros(3, 2, 8, 8)},
        {"baseline": torch.full((3, 4, 8, 8), float("nan"))},
        {"n_steps": 0},
        {"rule": "simpson"},
        {"polarity": "up"},
        {"blur_sigma": -1.0},
    ],
)
def test_ig_bad_parameters(clip, params, smooth_model):
    with pytest.raises(ParameterError):
        _explain(smooth_model, clip, "integrated_gradients", **params)


@pytest.mark.parametrize("rule", ["gauss_legendre", "midpoint", "trapezoid", "left", "right"])
def test_quadrature_rules(rule):
    alphas, weights = quadrature(6, rule)
    assert weights.sum() == pytest.approx(1.0)
    assert alphas.min() >= 0 and alphas.max() <= 1
    exact = {"gauss_legendre": 11, "midpoint": 1, "trapezoid": 1, "left": 0, "right": 0}[rule]
    for p in range(exact + 1):  # ∫₀¹ α^p dα = 1/(p+1) exactly up to the rule's degree
        assert float((weights * alphas**p).sum()) == pytest.approx(1 / (p + 1), abs=1e-12)


def test_reduce_attribution_polarities():
    a = torch.tensor([[1.0, -3.0], [1.0, 1.0]]).view(1, 2, 1, 1, 2)  # channel sums (2, −2)
    assert reduce_attribution(a, "both").flatten().tolist() == [2.0, -2.0]
    assert reduce_attribution(a, "positive").flatten().tolist() == [2.0, 0.0]
    assert reduce_attribution(a, "negative").flatten().tolist() == [0.0, 2.0]
    assert reduce_attribution(a, "absolute").flatten().tolist() == [2.0, 2.0]
    with pytest.raises(ValueError):
        reduce_attribution(a, "up")


def test_grad_x_input_polarity(clip):
    model = Linear3d()
    both = _explain(model, clip, "grad_x_input", target=0, behaviour="logit").attribution
    pos = _explain(model, clip, "grad_x_input", target=0, behaviour="logit", polarity="positive")
    neg = _explain(model, clip, "grad_x_input", target=0, behaviour="logit", polarity="negative")
    assert torch.equal(pos.attribution, both.clamp(min=0))
    assert torch.equal(neg.attribution, (-both).clamp(min=0))
