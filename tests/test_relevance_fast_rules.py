"""vidxai's faster forms of zennit rules give zennit's relevance (zennit as the reference)."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from zennit.composites import LayerMapComposite
from zennit.rules import Flat
from zennit.types import Convolution

from vidxai.relevance import fast_flat
from vidxai.relevance.direct import direct
from vidxai.relevance.fast_flat import FastFlat

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
