"""vidxai's faster forms of zennit rules give zennit's relevance (zennit as the reference)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from zennit.composites import LayerMapComposite
from zennit.layer import Sum
from zennit.rules import Flat, Norm
from zennit.types import Convolution

from vidxai.relevance import fast_flat, fast_norm
from vidxai.relevance.direct import direct
from vidxai.relevance.fast_flat import FastFlat
from vidxai.relevance.fast_norm import FastNorm

CONV: dict[int, Any] = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


def _relevance(net: nn.Module, composite: Any, x: torch.Tensor) -> torch.Tensor:
    xg = x.clone().requires_grad_(True)
    with composite.context(net):
        out = net(xg)
        (r,) = torch.autograd.grad(out, xg, out.detach().clamp(min=0))
    return r


@pytest.fixture
def fast_calls(monkeypatch):
    calls = []
    original = fast_flat.flat_relevance

    def counting(*args):
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(fast_flat, "flat_relevance", counting)
    return calls


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize(
    "options", [dict(padding=1), dict(stride=2, padding=3), dict(dilation=2, bias=False)]
)
def test_fast_flat_equals_zennits_flat(dim, options, fast_calls):
    torch.manual_seed(dim)
    net = nn.Sequential(CONV[dim](3, 6, 3 if "dilation" in options else 7, **options), nn.ReLU())
    x = torch.randn(2, 3, *([11] * dim), generator=torch.Generator().manual_seed(5))
    for wrap in (direct, lambda c: c):  # vidxai's direct hooks and zennit's own hooks
        ours = _relevance(net, wrap(LayerMapComposite([(Convolution, FastFlat())])), x)
        reference = _relevance(net, LayerMapComposite([(Convolution, Flat())]), x)
        torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
        # known answer of the flat rule: every input channel gets the same relevance
        torch.testing.assert_close(ours, ours[:, :1].expand_as(ours))
    assert len(fast_calls) == 2


def test_grouped_convolutions_use_zennits_flat(fast_calls):
    net = nn.Sequential(nn.Conv2d(4, 6, 3, groups=2))
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(6))
    ours = _relevance(net, direct(LayerMapComposite([(Convolution, FastFlat())])), x)
    reference = _relevance(net, LayerMapComposite([(Convolution, Flat())]), x)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
    assert fast_calls == []


class Residual(nn.Module):
    """relu(a(x) + b(x)) with the sum through zennit's ``Sum`` (as the canonizers route it)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(8)
        self.a, self.b = nn.Linear(5, 4), nn.Linear(5, 4)
        self.sum = Sum(dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sum(torch.stack([self.a(x), self.b(x)], dim=0))


def test_fast_norm_equals_zennits_norm_at_a_sum(monkeypatch):
    calls = []
    original = fast_norm.sum_relevance
    monkeypatch.setattr(fast_norm, "sum_relevance", lambda *a: calls.append(1) or original(*a))
    net = Residual()
    x = torch.randn(6, 5, generator=torch.Generator().manual_seed(9))
    x[0] = 0.0  # one summed unit exactly 0: zennit's stabiliser counts 0 as positive
    with torch.no_grad():
        net.a.bias[0] = net.b.bias[0] = 0.0
    assert float(net(x)[0, 0].detach()) == 0.0
    for wrap in (direct, lambda c: c):
        ours = _relevance(net, wrap(LayerMapComposite([(Sum, FastNorm())])), x)
        reference = _relevance(net, LayerMapComposite([(Sum, Norm())]), x)
        torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
    assert len(calls) == 2


def test_sum_relevance_known_answer():
    # two summands 3 and −1 (sum 2) receiving R = 4: R_i = x_i · 4 / (2 + ε)
    x = torch.tensor([[3.0], [-1.0]])
    r = fast_norm.sum_relevance(x, torch.tensor([4.0]), 0, 1e-6)
    torch.testing.assert_close(r, torch.tensor([[6.0], [-2.0]]), rtol=1e-5, atol=0)
    # summands −3 and 1 (sum −2, stabilised −2.5): R_i = x_i · 4 / (−2.5)
    negative = fast_norm.sum_relevance(-x, torch.tensor([4.0]), 0, 0.5)
    torch.testing.assert_close(negative, torch.tensor([[12.0 / 2.5], [-4.0 / 2.5]]))


@pytest.mark.parametrize(
    "layer",
    [nn.Conv2d(3, 5, 3, stride=2, padding=1), nn.Conv3d(3, 4, (1, 3, 3)), nn.Linear(6, 4)],
    ids=["conv2d", "conv3d", "linear"],
)
def test_fast_zplus_with_negative_inputs_equals_zennits_zplus(layer, monkeypatch):
    from zennit.rules import ZPlus

    from vidxai.relevance import rules
    from vidxai.relevance.rules import FastZPlus

    calls = []
    original = rules.two_copy_relevance
    monkeypatch.setattr(rules, "two_copy_relevance", lambda *a: calls.append(1) or original(*a))
    torch.manual_seed(10)
    net = nn.Sequential(layer)
    dims = 0 if isinstance(layer, nn.Linear) else layer.weight.ndim - 2
    shape = (2, 6) if dims == 0 else (2, 3, *([7] * dims))
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(11))
    types = (nn.Linear, Convolution)
    for wrap in (direct, lambda c: c):
        ours = _relevance(net, wrap(LayerMapComposite([(types, FastZPlus())])), x)
        reference = _relevance(net, LayerMapComposite([(types, ZPlus())]), x)
        torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
    assert len(calls) == 2  # the one-call path ran (direct and zennit hooks)
