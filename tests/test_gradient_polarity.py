"""Polarity (element-wise) and channel reduction (its own parameter): hand-computed answers."""

from __future__ import annotations

import math

import pytest
import torch

import vidxai
from vidxai.errors import ParameterError
from vidxai.gradient.grad_x_input import GradXInputParams
from vidxai.gradient.polarity import apply_polarity, reduce_channels
from vidxai.gradient.saliency import SaliencyParams

# two voxels, three channels: [1, −3, 2] and [1, 1, −4]
A = torch.tensor([[1.0, 1.0], [-3.0, 1.0], [2.0, -4.0]]).view(1, 3, 1, 1, 2)

EXPECTED = {
    ("both", "sum"): [0.0, -2.0],
    ("absolute", "sum"): [0.0, 2.0],
    ("positive", "sum"): [0.0, 0.0],
    ("negative", "sum"): [0.0, 2.0],
    ("both", "mean"): [0.0, -2.0 / 3],
    ("absolute", "mean"): [0.0, 2.0 / 3],
    ("absolute", "max"): [3.0, 4.0],
    ("positive", "max"): [2.0, 1.0],
    ("negative", "max"): [3.0, 4.0],
    ("both", "max"): [2.0, 1.0],
    ("absolute", "l2"): [math.sqrt(14), math.sqrt(18)],
    ("positive", "l2"): [math.sqrt(5), math.sqrt(2)],
    ("negative", "l2"): [3.0, 4.0],
}


@pytest.mark.parametrize(("polarity", "reduction"), sorted(EXPECTED))
def test_reduce_channels_hand_computed(polarity, reduction):
    out = reduce_channels(A, polarity, reduction).flatten().tolist()
    assert out == pytest.approx(EXPECTED[polarity, reduction])


def test_absolute_is_the_absolute_value_everywhere():
    v = torch.tensor([-2.0, 0.0, 3.0])
    assert apply_polarity(v, "absolute").tolist() == [2.0, 0.0, 3.0]
    # an additive map's "absolute" is |Σ_c|, a saliency map's is max_c |g_c|: abs in both
    assert reduce_channels(A, "absolute", "sum").flatten().tolist() == [0.0, 2.0]
    assert reduce_channels(A, "absolute", "max").flatten().tolist() == [3.0, 4.0]


def test_saliency_channel_reduction_resolves_from_polarity_when_not_given():
    assert SaliencyParams().channel_reduction == "max"
    assert SaliencyParams(polarity="positive").channel_reduction == "max"
    assert SaliencyParams(polarity="both").channel_reduction == "sum"
    assert SaliencyParams(polarity="both", channel_reduction="max").channel_reduction == "max"
    assert GradXInputParams().channel_reduction == "sum"


def test_saliency_reductions_against_autograd(tiny_model, tiny_clip):
    x = tiny_clip.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(tiny_model(x)[0, 1], x)  # the logit: gradient default
    g = g[0]
    cases = {
        ("absolute", "max"): g.abs().amax(0),
        ("absolute", "mean"): g.mean(0).abs(),
        ("positive", "l2"): g.clamp(min=0).pow(2).sum(0).sqrt(),
        ("negative", "max"): (-g).clamp(min=0).amax(0),
        ("both", "sum"): g.sum(0),
    }
    for (polarity, reduction), expected in cases.items():
        (exp,) = vidxai.explain(
            tiny_model,
            tiny_clip,
            method="saliency",
            target=1,
            polarity=polarity,
            channel_reduction=reduction,
            progress=False,
        )
        torch.testing.assert_close(exp.attribution, expected, rtol=1e-5, atol=1e-9)
        assert exp.params["channel_reduction"] == reduction


@pytest.mark.parametrize("method", ["saliency", "grad_x_input", "integrated_gradients"])
def test_bad_channel_reduction_is_a_parameter_error(tiny_model, tiny_clip, method):
    with pytest.raises(ParameterError, match="channel_reduction"):
        vidxai.explain(tiny_model, tiny_clip, method=method, channel_reduction="median")
    with pytest.raises(ParameterError, match="polarity"):
        reduce_channels(A, "sideways", "sum")
