"""The kept BatchNorm merge and stacked z⁺ weights: reused while unchanged, rebuilt on change."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from test_relevance_direct import _relevance
from vidxai.relevance import fused_zplus, merge_cache
from vidxai.relevance.composites import COMPOSITES
from vidxai.relevance.direct import direct
from vidxai.relevance.lrp import LrpParams


def _net() -> nn.Sequential:
    torch.manual_seed(11)
    net = nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1),
        nn.BatchNorm3d(4),
        nn.ReLU(),
        nn.Conv3d(4, 3, 3, padding=1, bias=False),
        nn.BatchNorm3d(3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * 2 * 4 * 4, 3),
    )
    with torch.no_grad():
        for bn in (net[1], net[4]):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(0.0, 0.2)
    return net.eval()


X = torch.rand(1, 2, 2, 4, 4, generator=torch.Generator().manual_seed(12))


def _lrp(net: nn.Module) -> torch.Tensor:
    """vidxai's LRP (ε-z⁺-flat, video canonizers, direct hooks) of class 1."""
    composite = COMPOSITES["epsilon_plus_flat"](LrpParams(), X, X)
    return _relevance(net, direct(composite), X, index=1)


def _fresh(net: nn.Module) -> torch.Tensor:
    """The same with nothing kept from earlier calls."""
    for cache in (merge_cache._MERGED, fused_zplus._STACKED):
        for module in net.modules():
            cache.pop(module, None)
    return _lrp(net)


def test_unchanged_weights_reuse_the_kept_tensors():
    net = _net()
    first = _lrp(net)
    kept = merge_cache._MERGED[net[3]]
    stacked = fused_zplus._STACKED[net[3]]
    # the merged weight the next call gets is the stack's own first half
    assert merge_cache.same_memory(kept.weight, stacked.weight[:3])
    second = _lrp(net)
    assert merge_cache._MERGED[net[3]] is kept and fused_zplus._STACKED[net[3]] is stacked
    torch.testing.assert_close(second, first, rtol=0, atol=0)
    torch.testing.assert_close(_fresh(net), first, rtol=0, atol=0)
    assert net[3].bias is None and net[4].running_var.min() > 0.4  # the merge was undone


def _through_data(net: nn.Sequential) -> None:
    net[3].weight.data[0] *= -1.0  # through .data: the version counter does not move


def _copy(net: nn.Sequential) -> None:
    with torch.no_grad():
        net[0].weight.copy_(net[0].weight.flip(0))


def _optimiser_step(net: nn.Sequential) -> None:
    optimiser = torch.optim.SGD([net[1].weight], lr=0.5)
    net[1].weight.grad = torch.ones_like(net[1].weight)
    optimiser.step()


def _load_state_dict(net: nn.Sequential) -> None:
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["4.running_var"] = state["4.running_var"] * 3.0
    net.load_state_dict(state)


def _bn_data(net: nn.Sequential) -> None:
    net[1].running_mean.data[1] += 0.5


CHANGES: dict[str, Callable[[nn.Sequential], None]] = {
    ".data": _through_data,
    "copy_": _copy,
    "optimiser step": _optimiser_step,
    "load_state_dict": _load_state_dict,
    "BatchNorm statistics": _bn_data,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_any_change_of_the_parameters_rebuilds(change):
    net = _net()
    before = _lrp(net)
    _lrp(net)  # the kept tensors now in use (the stack's half adopted)
    CHANGES[change](net)
    after = _lrp(net)
    assert not torch.allclose(after, before, rtol=1e-3)
    torch.testing.assert_close(after, _fresh(net), rtol=0, atol=0)


def test_same_values_compares_bytes_and_falls_back():
    a = torch.randn(4, 5, generator=torch.Generator().manual_seed(13))
    assert merge_cache.same_values(a, a.clone()) and merge_cache.same_values(None, None)
    b = a.clone()
    b[3, 4] = torch.nextafter(b[3, 4], torch.tensor(10.0))  # one ulp apart
    assert not merge_cache.same_values(a, b)
    assert not merge_cache.same_values(a, a.double()) and not merge_cache.same_values(a, None)
    assert not merge_cache.same_values(a, a.reshape(5, 4))
    assert merge_cache.same_values(a.t(), a.clone().t())  # not contiguous: torch.equal
    assert not merge_cache.same_values(a.t(), b.t())


def _state(net: nn.Module) -> dict[str, torch.Tensor | None]:
    """Every registered tensor of ``net`` (None for a missing bias), cloned."""
    out: dict[str, torch.Tensor | None] = {}
    for name, module in net.named_modules():
        for key, value in [*module._parameters.items(), *module._buffers.items()]:
            out[f"{name}.{key}"] = None if value is None else value.detach().clone()
    return out


@pytest.mark.parametrize("bias", [True, False])
def test_kept_merge_matches_zennits_merge_and_is_undone(bias):
    """While merged: the layer's weight and bias are zennit's ``SequentialMergeBatchNorm``
    values exactly (its arithmetic), the BatchNorm's tensors are 1, 0, 0, 1 − eps; the second
    call installs the same kept tensors (nothing allocated), and removal puts back the very
    tensors (same memory) the modules held, a missing bias as None."""
    from zennit.canonizers import SequentialMergeBatchNorm

    from vidxai.relevance.canonizers import ExactMergeBatchNorm

    torch.manual_seed(14)
    net = nn.Sequential(nn.Conv3d(2, 3, 3, bias=bias), nn.BatchNorm3d(3, eps=0.01)).eval()
    with torch.no_grad():
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].running_mean.uniform_(-1.0, 1.0)
        net[1].weight.uniform_(-1.5, 1.5)
    original = _state(net)
    pointers = {k: v.data_ptr() for k, v in net.state_dict().items()}
    reference = SequentialMergeBatchNorm().apply(net)
    expected = _state(net)
    for r in reference:
        r.remove()
    seen = []
    for _ in range(2):
        instances = ExactMergeBatchNorm().apply(net)
        merged = _state(net)
        seen.append([net[0].bias, net[0].weight.data.data_ptr(), net[1].running_var.data_ptr()])
        for instance in instances:
            instance.remove()
        for key in ("0.weight", "0.bias", "1.running_mean", "1.weight", "1.bias"):
            assert torch.equal(merged[key], expected[key]), key
        torch.testing.assert_close(merged["1.running_var"], torch.full((3,), 0.99), rtol=0, atol=0)
        assert net[0].bias is None if not bias else net[0].bias is not None
        assert {k: v.data_ptr() for k, v in net.state_dict().items()} == pointers
        for key, value in _state(net).items():
            assert (value is None and original[key] is None) or torch.equal(value, original[key])
    assert seen[0][0] is seen[1][0] and seen[0][1:] == seen[1][1:]
