"""SmoothGrad, SmoothGrad² and VarGrad over every gradient base."""

from __future__ import annotations

import pytest
import torch

import vidxai.api as api
from vidxai.errors import ParameterError


@pytest.fixture
def model(smooth_model):
    return smooth_model


@pytest.fixture
def clip():
    return torch.rand(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))


def _explain(model, clip, method, **kw):
    kw.setdefault("progress", False)
    return api.explain(model, clip, method=method, target=1, **kw)


@pytest.mark.parametrize(
    ("base", "base_params"),
    [("saliency", {}), ("grad_x_input", {}), ("integrated_gradients", {"n_steps": 3})],
)
def test_zero_noise_gives_the_base_method(model, clip, base, base_params):
    plain = _explain(model, clip, base, **base_params)
    smooth = _explain(
        model, clip, "smoothgrad", base=base, noise_level=0.0, n_samples=3, **base_params
    )
    assert torch.allclose(smooth.attribution, plain.attribution, atol=1e-7, rtol=1e-5)
    var = _explain(
        model,
        clip,
        "smoothgrad",
        base=base,
        noise_level=0.0,
        n_samples=2,
        variant="vargrad",
        **base_params,
    )
    assert torch.allclose(var.attribution, torch.zeros_like(var.attribution), atol=1e-12)


def test_variants_against_a_slow_loop(model, clip):
    sigma_level, n = 0.2, 4
    runs = {
        v: _explain(
            model,
            clip,
            "smoothgrad",
            variant=v,
            n_samples=n,
            noise_level=sigma_level,
            seed=7,
            batch_size=3,
        )
        for v in ("smoothgrad", "smoothgrad_sq", "vargrad")
    }
    # the same noisy copies, regenerated as documented: one seed per copy from the call's generator
    gen = torch.Generator().manual_seed(7)
    seeds = torch.randint(0, 2**62, (n,), generator=gen).tolist()
    sigma = sigma_level * float(clip.max() - clip.min())
    assert runs["smoothgrad"].extras["sigma"] == pytest.approx(sigma)
    grads = []
    for s in seeds:
        noise = torch.randn(clip.shape, generator=torch.Generator().manual_seed(s))
        x = (clip + sigma * noise).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(model(x)[0, 1], x)  # gradient methods default to the logit
        grads.append(g[0])
    grads = torch.stack(grads)  # n×C×T×H×W
    mean = grads.mean(0)
    assert torch.allclose(runs["smoothgrad"].attribution, mean.abs().amax(0), atol=1e-8, rtol=1e-4)
    sq = grads.pow(2).mean(0).amax(0)
    assert torch.allclose(runs["smoothgrad_sq"].attribution, sq, atol=1e-10, rtol=1e-4)
    var = grads.var(0, unbiased=False).amax(0)
    assert torch.allclose(runs["vargrad"].attribution, var, atol=1e-10, rtol=1e-3)
    assert runs["smoothgrad"].n_backward == n


def test_batch_size_parity_and_seeds(model, clip):
    a = _explain(model, clip, "smoothgrad", n_samples=5, batch_size=1, base="grad_x_input")
    b = _explain(model, clip, "smoothgrad", n_samples=5, batch_size=4, base="grad_x_input")
    assert torch.allclose(a.attribution, b.attribution, atol=1e-7, rtol=1e-4)
    c = _explain(model, clip, "smoothgrad", n_samples=5, seed=1, base="grad_x_input")
    assert not torch.allclose(a.attribution, c.attribution)


def test_integrated_gradients_base_is_batched_over_samples_and_steps(model, clip):
    exp = _explain(
        model,
        clip,
        "smoothgrad",
        base="integrated_gradients",
        n_samples=3,
        n_steps=4,
        batch_size=5,
        polarity="positive",
    )
    assert exp.n_backward == 12 and exp.n_forward == 1 + 12
    assert float(exp.attribution.min()) >= 0


@pytest.mark.parametrize(
    "params",
    [
        {"base": "gradcam"},
        {"variant": "smoothgrad_cubed"},
        {"n_samples": 0},
        {"variant": "vargrad", "n_samples": 1},
        {"noise_level": -0.1},
        {"polarity": "sideways"},
        {"variant": "smoothgrad_sq", "polarity": "negative"},
        {"n_steps": 0},
        {"rule": "simpson"},
    ],
)
def test_bad_parameters(model, clip, params):
    with pytest.raises(ParameterError):
        _explain(model, clip, "smoothgrad", **params)
