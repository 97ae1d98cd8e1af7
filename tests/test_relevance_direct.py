"""zennit rules through vidxai's direct hooks: the same relevance as zennit's own hooks."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from zennit.composites import EpsilonPlus

from vidxai.core.hooks import count_hooks
from vidxai.errors import UnsupportedModelError
from vidxai.models.zoo import load_model
from vidxai.relevance.composites import (
    COMPOSITES,
    excitation_backprop_composite,
    guided_backprop_composite,
)
from vidxai.relevance.direct import direct
from vidxai.relevance.lrp import LrpParams


def _relevance(module: nn.Module, composite, x: torch.Tensor, index: int = 0) -> torch.Tensor:
    xg = x.clone().requires_grad_(True)
    with composite.context(module):
        out = module(xg)
        seed = torch.zeros_like(out)
        seed[:, index] = out[:, index].detach()
        (r,) = torch.autograd.grad(out, xg, seed)
    return r


@pytest.fixture(scope="module")
def r3d() -> nn.Module:
    torch.manual_seed(0)
    model = load_model("r3d_18", weights=None, num_classes=4, num_frames=4, size=(16, 16))
    return model.module.eval()


def _builder(build: Any) -> Any:
    """A zero-argument builder of composite ``build`` with default parameters."""
    return lambda: build(LrpParams(), -torch.ones(1, 3, 1, 1, 1), torch.ones(1, 3, 1, 1, 1))


BUILDERS = {
    **{name: _builder(b) for name, b in COMPOSITES.items()},
    "excitation_backprop": lambda: excitation_backprop_composite(1e-6),
    "guided_backprop": guided_backprop_composite,
}  # fmt: skip


@pytest.mark.parametrize("name", list(BUILDERS))
def test_direct_hooks_give_zennits_relevance(name, r3d):
    # reference: the same composite through zennit's own hooks (the layers' backward replaced)
    model = r3d
    x = torch.randn(1, 3, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    ours = _relevance(model, direct(BUILDERS[name]()), x)
    reference = _relevance(model, BUILDERS[name](), x)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-6 * float(reference.abs().max()))
    assert count_hooks(model) == 0


class Shared(nn.Module):
    """f(x) = v · W·W·x: one layer called twice (no biases)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.w = nn.Linear(6, 6, bias=False)
        self.v = nn.Linear(6, 2, bias=False)

    def forward(self, x):
        return self.v(self.w(self.w(x)))


def test_a_layer_called_twice_gets_each_calls_input():
    # ε-LRP (ε → 0) of a linear network without biases is x ⊙ ∇f (plain autograd reference)
    model, x = Shared(), torch.randn(3, 6, generator=torch.Generator().manual_seed(3))
    composite = EpsilonPlus(epsilon=1e-12)
    ours = _relevance(model, direct(composite), x, index=1)
    xg = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xg)[:, 1].sum(), xg)
    torch.testing.assert_close(ours, x * grad, rtol=1e-4, atol=1e-6)
    # zennit's own hooks keep only the last call's input: a different (wrong) answer here
    assert not torch.allclose(_relevance(model, composite, x, index=1), x * grad, rtol=1e-2)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Bilinear(3, 3, 2)

    def forward(self, x):
        return self.fc(x, x)


def test_a_rule_on_a_layer_with_two_inputs_is_refused():
    from zennit.composites import LayerMapComposite
    from zennit.rules import Epsilon

    model, x = TwoInputs(), torch.randn(2, 3)
    composite = direct(LayerMapComposite([(nn.Bilinear, Epsilon())]))
    with pytest.raises(UnsupportedModelError, match="takes one input"):
        _relevance(model, composite, x)
    assert count_hooks(model) == 0


def test_no_gradient_no_interception():
    model = Shared()
    x = torch.randn(2, 6)
    with direct(EpsilonPlus()).context(model), torch.no_grad():
        out = model(x)
    assert out.grad_fn is None
    torch.testing.assert_close(out, model(x).detach())


def test_pass_hands_relevance_through_where_the_relu_gradient_would_not():
    # the flat rule gives every ReLU output relevance, also where the ReLU is off: Pass hands it
    # on (zennit's own hooks as the reference); the ReLU's own gradient would have zeroed it
    from zennit.composites import LayerMapComposite
    from zennit.rules import Flat, Pass

    from vidxai.relevance.direct_hook import DirectPass

    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(5, 6), nn.ReLU(inplace=True), nn.Linear(6, 2)).eval()
    x = torch.randn(3, 5, generator=torch.Generator().manual_seed(5))
    composite = LayerMapComposite([(nn.ReLU, Pass()), (nn.Linear, Flat())])
    hooks = direct(composite)
    ours = _relevance(model, hooks, x, index=1)
    reference = _relevance(model, composite, x, index=1)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)
    assert isinstance(hooks.module_map({}, "1", model[1]), DirectPass)
    # the same composite with a plain ReLU (its gradient masks the relevance)
    masked = _relevance(model, LayerMapComposite([(nn.Linear, Flat())]), x, index=1)
    assert not torch.allclose(ours, masked, rtol=1e-3)
    assert count_hooks(model) == 0
