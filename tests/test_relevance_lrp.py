"""LRP, guided and excitation backprop: conservation on the zoo CNNs, canonizers, known answers."""

from __future__ import annotations

import copy
import warnings
from typing import Any

import pytest
import torch
from torch import nn
from zennit.composites import EpsilonPlusFlat

import vidxai
from vidxai.core.hooks import count_hooks
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.models.zoo import load_model
from vidxai.relevance.canonizers import video_canonizers
from vidxai.relevance.composites import COMPOSITES

SIZE: dict[str, Any] = dict(num_frames=8, size=(32, 32))


def zoo_cnn(name: str, zero_bias: bool = True) -> nn.Module:
    """A zoo CNN with random weights (BatchNorm fresh: merged biases are 0) and zero biases."""
    torch.manual_seed(0)
    model = load_model(name, weights=None, num_classes=5, **SIZE)
    if zero_bias:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, (nn.Conv3d, nn.Conv2d, nn.Linear)) and m.bias is not None:
                    m.bias.zero_()
    return model


def clip(seed: int = 0) -> torch.Tensor:
    return torch.randn(3, 8, 32, 32, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18"])
def test_conservation_on_video_resnets(name):
    e = vidxai.explain(
        zoo_cnn(name), clip(), method="lrp", epsilon=1e-9, stabilizer=1e-9, progress=False
    )
    assert e.extras["conservation_gap"] < 0.01
    assert e.extras["canonized"] is True
    # the map is the channel sum of the relevance: Σ map = Σ R
    assert float(e.attribution.double().sum()) == pytest.approx(e.extras["relevance_sum"], 1e-4)
    assert e.extras["relevance_sum"] == pytest.approx(e.score, rel=0.01)


def test_without_the_canonizers_relevance_doubles_at_each_residual_sum():
    # the bug the canonizers fix: 8 residual blocks on r3d_18 give Σ R = 2⁸ · logit
    model, x = zoo_cnn("r3d_18"), clip().unsqueeze(0).requires_grad_(True)
    composite = EpsilonPlusFlat(epsilon=1e-9, stabilizer=1e-9)  # no canonizers
    with composite.context(model.module):
        out = model(x)
        seed = torch.zeros_like(out)
        seed[0, 0] = out[0, 0].detach()
        (r,) = torch.autograd.grad(out, x, seed)
    assert float(r.sum() / out[0, 0].detach()) == pytest.approx(2.0**8, rel=1e-3)


@pytest.mark.parametrize("name", ["tsm_r18", "s3d", "i3d"])
def test_conservation_on_tsm_s3d_and_i3d(name):
    # random-init S3D's and I3D's logits are ~1e-7: the stabilisers must be smaller still
    e = vidxai.explain(
        zoo_cnn(name), clip(), method="lrp", epsilon=1e-12, stabilizer=1e-12, progress=False
    )
    assert e.extras["conservation_gap"] < 0.01
    assert e.extras["canonized"] is True
    # Σ R is the logit of the model itself (explain's intact pass), not only of its canonized form
    assert e.extras["relevance_sum"] == pytest.approx(e.score, rel=0.01)


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_default_rules_conserve_within_their_bounds(composite):
    # with zero biases only the stabilisers (1e-6) absorb relevance: documented bound 1e-3
    e = vidxai.explain(zoo_cnn("mc3_18"), clip(1), method="lrp", composite=composite,
                       progress=False)  # fmt: skip
    assert e.extras["conservation_gap"] < 1e-3
    assert e.extras["signed"] is True


@pytest.mark.parametrize("name", ["r3d_18", "mc3_18", "r2plus1d_18", "s3d", "tsm_r18", "i3d"])
def test_canonizers_keep_the_function_and_undo_cleanly(name):
    model = zoo_cnn(name, zero_bias=False)
    x = clip(2).unsqueeze(0)
    state = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        before = model(x)
        instances = [i for c in video_canonizers() for i in c.apply(model.module)]
        try:
            assert instances  # every zoo CNN has something to canonize
            during = model(x)
        finally:
            for i in reversed(instances):
                i.remove()
        after = model(x)
    torch.testing.assert_close(during, before, rtol=1e-4, atol=1e-4)
    assert torch.equal(after, before)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert count_hooks(model) == 0


# --------------------------------------------------------------------------- known answers


class Linear3d(nn.Module):
    """f(x) = W · vec(x): one linear layer on the flattened clip."""

    def __init__(self, shape=(3, 2, 4, 4)) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.fc = nn.Linear(int(torch.tensor(shape).prod()), 2, bias=False)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_epsilon_rule_on_a_linear_model_is_input_times_weight():
    model, x = Linear3d(), torch.randn(3, 2, 4, 4)
    e = vidxai.explain(model, x, method="lrp", composite="epsilon_plus", target=0,
                       epsilon=1e-9, progress=False)  # fmt: skip
    expected = (x * model.fc.weight[0].view(3, 2, 4, 4)).sum(0)
    torch.testing.assert_close(e.attribution, expected.detach(), rtol=1e-4, atol=1e-6)


def test_epsilon_composite_is_gradient_times_input_on_a_bias_free_resnet():
    # LRP-ε with ε → 0 on a ReLU network without biases (BatchNorm fresh: merged biases 0),
    # residual sums split in proportion, max pools routed: exactly x ⊙ ∇f (plain autograd)
    model, x = zoo_cnn("r3d_18"), clip(4)
    e = vidxai.explain(model, x, method="lrp", composite="epsilon", target=2, epsilon=1e-12,
                       stabilizer=1e-12, progress=False)  # fmt: skip
    xg = x.unsqueeze(0).requires_grad_(True)
    model.eval()  # explain's eval mode: BatchNorm with its running statistics
    (grad,) = torch.autograd.grad(model(xg)[0, 2], xg)
    expected = (x * grad[0]).sum(0)
    torch.testing.assert_close(
        e.attribution, expected, rtol=1e-3, atol=1e-4 * float(expected.abs().max())
    )


def test_flat_rule_spreads_the_score_evenly():
    model, x = Linear3d(), torch.randn(3, 2, 4, 4)
    e = vidxai.explain(model, x, method="lrp", target=1, progress=False)  # flat first layer
    f = float(model(x.unsqueeze(0))[0, 1].detach())
    torch.testing.assert_close(e.attribution, torch.full((2, 4, 4), f / 32))


class ReluNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(2)
        self.conv = nn.Conv3d(3, 4, 1)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.pool(self.relu(self.conv(x))).flatten(1))


def test_guided_backprop_matches_a_plain_computation():
    model, x = ReluNet(), torch.randn(3, 2, 4, 4)
    e = vidxai.explain(model, x, method="guided_backprop", target=0, progress=False)
    z = model.conv(x.unsqueeze(0))  # 1×4×T×H×W
    g = model.fc.weight[0].view(1, 4, 1, 1, 1) / z[0, 0].numel()  # ∂f/∂(pooled input)
    g = g.expand_as(z).clamp(min=0) * (z > 0)  # guided ReLU: positive gradients where z > 0
    expected = torch.einsum("ncthw,cd->ndthw", g, model.conv.weight[:, :, 0, 0, 0])[0].sum(0)
    torch.testing.assert_close(e.attribution, expected.detach(), rtol=1e-4, atol=1e-6)
    assert e.extras["signed"] is True


def test_excitation_backprop_conserves_on_r3d():
    e = vidxai.explain(zoo_cnn("r3d_18"), clip(), method="excitation_backprop", progress=False)
    assert e.extras["conservation_gap"] < 1e-3


# ------------------------------------------------------------------------- warnings and errors


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 3, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x)


class ResidualNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.block = Residual()
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(3, 2, bias=False)

    def forward(self, x):
        return self.fc(self.pool(self.block(x).relu()).flatten(1))


def test_an_unknown_model_gives_a_clear_warning():
    with pytest.warns(UserWarning, match="canonizers do not know Residual"):
        e = vidxai.explain(ResidualNet(), clip()[:, :2, :8, :8], method="lrp", progress=False)
    assert e.extras["canonized"] is False


def test_a_plain_sequential_cnn_needs_no_warning(tiny_model, tiny_clip):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = vidxai.explain(tiny_model, tiny_clip[0], method="lrp", progress=False)
    assert e.extras["canonized"] is True


def test_lrp_refuses_transformers():
    model = load_model("videomae", weights=None, num_frames=4, image_size=32, patch_size=16,
                              hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, num_classes=3)  # fmt: skip
    with pytest.raises(UnsupportedModelError, match="transformer_relevance"):
        vidxai.explain(model, torch.rand(3, 4, 32, 32), method="lrp")


BAD = [{"alpha_beta": (1.0, 1.0)}, {"composite": "zplus"}, {"epsilon": 0.0}, {"gamma": -1.0},
       {"alpha_beta": (2.0,)}]  # fmt: skip


@pytest.mark.parametrize("bad", BAD)
def test_bad_lrp_parameters(bad, tiny_model, tiny_clip):
    with pytest.raises(ParameterError):
        vidxai.explain(tiny_model, tiny_clip[0], method="lrp", **bad)


def test_alpha_beta_parameter_changes_the_rule(tiny_model, tiny_clip):
    kw = dict(method="lrp", composite="epsilon_alpha2_beta1_flat", progress=False)
    a = vidxai.explain(tiny_model, tiny_clip[0], **kw).attribution
    b = vidxai.explain(tiny_model, tiny_clip[0], alpha_beta="3,2", **kw).attribution
    c = vidxai.explain(tiny_model, tiny_clip[0], alpha_beta=(2.0, 1.0), **kw).attribution
    assert torch.equal(a, c) and not torch.allclose(a, b)


@pytest.mark.parametrize("method", ["lrp", "guided_backprop", "excitation_backprop"])
def test_a_batch_of_clips_gives_each_clips_own_map(method, tiny_model):
    batch = torch.rand(2, 3, 4, 16, 16, generator=torch.Generator().manual_seed(5))
    maps = vidxai.explain(tiny_model, batch, method=method, progress=False)
    for single, e in zip(batch, maps):
        alone = vidxai.explain(tiny_model, single, method=method, progress=False)
        torch.testing.assert_close(e.attribution, alone.attribution)
    assert count_hooks(tiny_model) == 0


@pytest.mark.parametrize("shift", [0.0, -0.5])  # non-negative input (fast path) / mixed signs
def test_fast_zplus_equals_zennits_zplus(shift, monkeypatch):
    from zennit.composites import LayerMapComposite
    from zennit.rules import ZPlus
    from zennit.types import Convolution

    from vidxai.relevance.rules import FastZPlus

    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv3d(3, 5, 3), nn.ReLU(), nn.Conv3d(5, 2, 3))
    x = torch.rand(1, 3, 6, 8, 8) + shift
    calls = []
    original = FastZPlus.backward

    def counting(self, *args):
        calls.append(bool((self.stored_tensors["input"][0] >= 0).all()))
        return original(self, *args)

    monkeypatch.setattr(FastZPlus, "backward", counting)

    def relevance(rule):
        xg = x.clone().requires_grad_(True)
        with LayerMapComposite([(Convolution, rule)]).context(net):
            out = net(xg)
            (r,) = torch.autograd.grad(out, xg, torch.ones_like(out))
        return r

    torch.testing.assert_close(relevance(FastZPlus()), relevance(ZPlus()), rtol=1e-5, atol=1e-7)
    assert calls == [True, shift == 0.0]  # second conv reads a ReLU; the first reads x
