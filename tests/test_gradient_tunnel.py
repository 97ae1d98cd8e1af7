"""The noise-tunnel protocol: SmoothGrad around any method exposing its raw attribution."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch

import vidxai
from vidxai.core import registry
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.gradient import tunnel
from vidxai.gradient.paths import path_gradients
from vidxai.gradient.polarity import reduce_channels
from vidxai.gradient.tunnel import register_raw, tunnel_methods


@pytest.fixture
def clip():
    return torch.rand(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))


def _explain(model, clip, method, **kw):
    kw.setdefault("progress", False)
    return vidxai.explain(model, clip, method=method, target=1, **kw)  # C×T×H×W: one


def _noisy(clip, n, level, seed):
    """The documented noise: one seed per copy drawn from the call's generator."""
    gen = torch.Generator().manual_seed(seed)
    seeds = torch.randint(0, 2**62, (n,), generator=gen).tolist()
    sigma = level * float(clip.max() - clip.min())
    return [clip + sigma * torch.randn(clip.shape, generator=torch.Generator().manual_seed(s))
            for s in seeds]  # fmt: skip


def _grad(model, x):
    x = x.unsqueeze(0).requires_grad_(True)
    (g,) = torch.autograd.grad(model(x)[0, 1], x)  # logit
    return g[0]


def test_builtin_methods_expose_raw_attributions():
    assert {"saliency", "grad_x_input", "integrated_gradients"} <= set(tunnel_methods())


def test_smoothgrad_over_integrated_gradients_against_a_slow_loop(smooth_model, clip):
    n, steps = 3, 4
    exp = _explain(
        smooth_model,
        clip,
        "smoothgrad",
        base="integrated_gradients",
        n_samples=n,
        n_steps=steps,
        rule="midpoint",
        noise_level=0.1,
        seed=2,
    )
    igs = []
    for x in _noisy(clip, n, 0.1, 2):  # black baseline = 0 for a plain module
        total = sum(_grad(smooth_model, (i + 0.5) / steps * x) for i in range(steps)) / steps
        igs.append(x * total)
    expected = torch.stack(igs).mean(0).sum(0)  # IG's own reduction: signed channel sum
    torch.testing.assert_close(exp.attribution, expected, rtol=1e-4, atol=1e-8)


def test_vargrad_over_grad_x_input_against_a_slow_loop(smooth_model, clip):
    exp = _explain(
        smooth_model, clip, "smoothgrad", base="grad_x_input", variant="vargrad", n_samples=4,
        seed=5,
    )  # fmt: skip
    raws = torch.stack([x * _grad(smooth_model, x) for x in _noisy(clip, 4, 0.15, 5)])
    expected = ((raws**2).mean(0) - raws.mean(0) ** 2).sum(0)  # Captum's E[a²] − E[a]²
    torch.testing.assert_close(exp.attribution, expected, rtol=1e-3, atol=1e-10)


def test_channel_reduction_and_polarity_override_the_base(smooth_model, clip):
    exp = _explain(
        smooth_model, clip, "smoothgrad", n_samples=3, channel_reduction="l2", polarity="positive",
        seed=1,
    )  # fmt: skip
    mean = torch.stack([_grad(smooth_model, x) for x in _noisy(clip, 3, 0.15, 1)]).mean(0)
    expected = mean.clamp(min=0).pow(2).sum(0).sqrt()
    torch.testing.assert_close(exp.attribution, expected, rtol=1e-4, atol=1e-9)
    via_dict = _explain(
        smooth_model, clip, "smoothgrad", n_samples=3, seed=1,
        base_params={"channel_reduction": "l2", "polarity": "positive"},
    )  # fmt: skip
    torch.testing.assert_close(via_dict.attribution, exp.attribution)


@pytest.fixture
def isolated_registries(monkeypatch):
    registry._load_builtin_methods()
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(tunnel, "_RAW", dict(tunnel._RAW))


def test_a_new_method_registering_its_raw_attribution_can_be_smoothed(
    smooth_model, clip, isolated_registries
):
    @dataclass(frozen=True)
    class TripleParams:
        polarity: str = "absolute"
        channel_reduction: str = "max"

    @register_raw("triple_gradient")
    def triple_raw(ctx, params, inputs):
        return 3.0 * path_gradients(ctx, inputs, desc="triple")

    @register_method("triple_gradient", params=TripleParams, family="gradient", description="3∇f")
    def triple(ctx, params):
        raw = triple_raw(ctx, params, ctx.x)
        return MethodOutput(reduce_channels(raw, params.polarity, params.channel_reduction)[0])

    smooth = _explain(smooth_model, clip, "smoothgrad", base="triple_gradient", n_samples=3, seed=4)
    mean = torch.stack([_grad(smooth_model, x) for x in _noisy(clip, 3, 0.15, 4)]).mean(0)
    torch.testing.assert_close(smooth.attribution, 3.0 * mean.abs().amax(0), rtol=1e-4, atol=1e-9)
    plain = _explain(smooth_model, clip, "triple_gradient")
    zero = _explain(smooth_model, clip, "smoothgrad", base="triple_gradient", noise_level=0.0,
                    n_samples=2)  # fmt: skip
    torch.testing.assert_close(zero.attribution, plain.attribution)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"base": "gradcam"}, "saliency"),  # not a raw-attribution method: the message lists them
        ({"base_params": {"n_stepz": 3}, "base": "integrated_gradients"}, "n_stepz"),
        ({"base_params": "n_steps=3"}, "dict"),
        ({"channel_reduction": "median"}, "channel_reduction"),
    ],
)
def test_bad_bases_and_base_parameters(smooth_model, clip, params, match):
    with pytest.raises(ParameterError, match=match):
        _explain(smooth_model, clip, "smoothgrad", **params)
