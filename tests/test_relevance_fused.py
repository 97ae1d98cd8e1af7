"""The fused z⁺ hook (z and z⁺ from one layer call on [w; w⁺]) against a plain reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from zennit.composites import LayerMapComposite
from zennit.rules import Epsilon, ZPlus
from zennit.types import Convolution

from test_relevance_direct import _relevance  # the seeded zennit pass, shared
from vidxai.core.hooks import count_hooks
from vidxai.relevance import fused_zplus
from vidxai.relevance.direct import direct
from vidxai.relevance.plain_layer import is_plain
from vidxai.relevance.rules import FastZPlus

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
FUNC = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _net(dim: int, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    conv = CONV[dim]
    return _with_head(
        nn.Sequential(
            conv(2, 4, 3, padding=1),
            nn.ReLU(inplace=True),
            conv(4, 5, 3, stride=2, padding=1, bias=False),
            nn.ReLU(),
            conv(5, 3, 2, dilation=2),
            nn.ReLU(inplace=True),
            nn.Flatten(),
        ),
        (1, 2, *([9] * dim)),
    )


def _with_head(net: nn.Sequential, shape: tuple[int, ...]) -> nn.Sequential:
    """``net`` with biases 0.05 (units alive after the ReLUs) and a dense layer at the end."""
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, nn.modules.conv._ConvNd) and layer.bias is not None:
                layer.bias.fill_(0.05)
        n = net(torch.zeros(shape)).shape[1]
    net.append(nn.Linear(n, 3))
    return net.eval()


def _reference(net: nn.Sequential, x: torch.Tensor, index: int, eps: float = 1e-6):
    """z⁺ (x ≥ 0) on every convolution, ε on the dense layer, written out layer by layer."""
    acts = [x]
    for layer in net:
        acts.append(layer(acts[-1].clone()).detach())
    out = acts[-1]
    r = torch.zeros_like(out)
    r[:, index] = out[:, index]
    for i in range(len(net) - 1, -1, -1):
        layer, a = net[i], acts[i].clone().requires_grad_(True)
        if isinstance(layer, nn.Linear):
            z = layer(a)
            denominator = z + eps * torch.where(z >= 0, 1.0, -1.0)
            (g,) = torch.autograd.grad(z, a, r / denominator)
            r = a.detach() * g
        elif isinstance(layer, nn.modules.conv._ConvNd):
            b = None if layer.bias is None else layer.bias.clamp(min=0)
            fn = FUNC[len(layer.kernel_size)]
            z = fn(a, layer.weight.clamp(min=0), b, layer.stride, layer.padding, layer.dilation)
            (g,) = torch.autograd.grad(z, a, r / (z + eps))
            r = a.detach() * g
        else:  # ReLU, Flatten: relevance passes through unchanged (shape only)
            r = r.reshape(a.shape)
    return r.detach()


def _composite(fast: bool = True):
    plus = FastZPlus(stabilizer=1e-6) if fast else ZPlus(stabilizer=1e-6)
    return LayerMapComposite([(Convolution, plus), (nn.Linear, Epsilon(epsilon=1e-6))])


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    original = fused_zplus._FusedRelay.backward

    def counting(ctx, grad):
        calls.append(tuple(grad.shape))
        return original(ctx, grad)

    monkeypatch.setattr(fused_zplus._FusedRelay, "backward", staticmethod(counting))
    return calls


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 3])
def test_fused_zplus_matches_a_plain_reference(dim, batch, fused_calls):
    net = _net(dim)
    x = torch.rand(batch, 2, *([9] * dim), generator=torch.Generator().manual_seed(1))
    ours = _relevance(net, direct(_composite()), x, index=1)
    reference = _reference(net, x, 1)
    assert float(reference.abs().sum()) > 1e-3  # a live network: relevance reaches the input
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-7)
    assert len(fused_calls) == 3  # every convolution took the fused path
    assert count_hooks(net) == 0


def test_batch_rows_equal_the_clips_alone():
    net, gen = _net(3), torch.Generator().manual_seed(2)
    x = torch.rand(3, 2, 9, 9, 9, generator=gen)
    together = _relevance(net, direct(_composite()), x, index=0)
    for i in range(3):
        alone = _relevance(net, direct(_composite()), x[i : i + 1], index=0)
        torch.testing.assert_close(together[i : i + 1], alone, rtol=1e-5, atol=1e-8)


def test_negative_inputs_fall_back_to_zennits_two_copy_rule(fused_calls):
    net = _net(2)
    x = torch.rand(2, 2, 9, 9, generator=torch.Generator().manual_seed(3)) - 0.5
    ours = _relevance(net, direct(_composite()), x, index=2)
    zennit = _relevance(net, _composite(fast=False), x, index=2)  # zennit's own hooks and ZPlus
    torch.testing.assert_close(ours, zennit, rtol=1e-4, atol=1e-7)
    assert len(fused_calls) == 2  # the first convolution reads x (negative entries)


def test_stacked_weights_follow_any_weight_change():
    net = _net(3)
    x = torch.rand(1, 2, 9, 9, 9, generator=torch.Generator().manual_seed(4))
    first = _relevance(net, direct(_composite()), x, index=0)
    torch.testing.assert_close(first, _reference(net, x, 0), rtol=1e-4, atol=1e-7)
    version = net[2].weight._version
    net[2].weight.data[0] *= -1.0  # through .data: the version counter does not move
    net[0].bias.data[:] = 0.3
    assert net[2].weight._version == version
    second = _relevance(net, direct(_composite()), x, index=0)
    torch.testing.assert_close(second, _reference(net, x, 0), rtol=1e-4, atol=1e-7)
    assert not torch.allclose(first, second)


def test_weights_are_restored_when_the_forward_raises():
    net = _net(2)
    weight, bias = net[2].weight, net[0].bias

    def boom(module, args):
        raise RuntimeError("stop")

    handle = net[2].register_forward_pre_hook(boom)
    try:
        with pytest.raises(RuntimeError, match="stop"):
            _relevance(net, direct(_composite()), torch.rand(1, 2, 9, 9), index=0)
    finally:
        handle.remove()
    assert net[2].weight is weight and net[0].bias is bias
    assert net[2].weight.shape == (5, 4, 3, 3) and count_hooks(net) == 0


def test_only_plain_layers_are_fused():
    conv = nn.Conv3d(2, 3, 3)
    assert is_plain(conv) and is_plain(nn.Linear(2, 3))
    assert not is_plain(nn.Conv3d(2, 3, 3, padding="same"))
    assert not is_plain(nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"))
    conv.forward = lambda x: x  # a canonizer's replacement forward
    assert not is_plain(conv)

    class Custom(nn.Conv2d):
        def forward(self, x):
            return super().forward(x) * 2

    assert not is_plain(Custom(2, 3, 3))


def test_i3d_padded_convolutions_are_fused_and_match_zennits_own_rules(fused_calls):
    # reference: zennit's own composite (ZPlus, Flat, Norm through zennit's hooks), vidxai's
    # canonizers; I3D's convolutions pad inside their canonized forward
    from zennit.composites import EpsilonPlusFlat

    from vidxai.models.zoo import load_model
    from vidxai.relevance.canonizers import video_canonizers
    from vidxai.relevance.composites import COMPOSITES
    from vidxai.relevance.lrp import LrpParams

    torch.manual_seed(0)
    model = load_model("i3d", weights=None, num_classes=4, num_frames=8, size=(32, 32))
    net = model.module.eval()
    x = torch.randn(1, 3, 8, 32, 32, generator=torch.Generator().manual_seed(1))
    ours = _relevance(net, direct(COMPOSITES["epsilon_plus_flat"](LrpParams(), x, x)), x, 0)
    reference = _relevance(net, EpsilonPlusFlat(canonizers=video_canonizers()), x, 0)
    scale = float(reference.abs().max())
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5 * scale)
    assert len(fused_calls) > 50  # every convolution but the first (flat rule)
    assert count_hooks(net) == 0


def _r2plus1d_like() -> nn.Sequential:
    """(2+1)D convolutions (1×3×3 then 3×1×1), a 1×1×1 and a strided layer: the shapes whose
    z⁺ runs on oneDNN (``conv_kernel``) for one clip."""
    torch.manual_seed(5)
    net = nn.Sequential(
        nn.Conv3d(2, 6, (1, 3, 3), padding=(0, 1, 1)),
        nn.ReLU(),
        nn.Conv3d(6, 4, (3, 1, 1), padding=(1, 0, 0)),
        nn.ReLU(),
        nn.Conv3d(4, 4, 1),
        nn.ReLU(),
        nn.Conv3d(4, 3, 3, stride=(1, 2, 2), padding=1),
        nn.ReLU(),
        nn.Flatten(),
    )
    return _with_head(net, (1, 2, 4, 8, 8))


@pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="needs oneDNN")
def test_onednn_kernels_give_the_plain_reference(monkeypatch):
    # the stacked forward of the 3×1×1 and 1×1×1 layers and the transposed stride-1 layers
    # (all but the strided one) run on oneDNN; the relevance is the plain reference's
    calls = []
    original = torch.mkldnn_convolution

    def counting(x, weight, *args):
        calls.append(tuple(weight.shape))
        return original(x, weight, *args)

    monkeypatch.setattr(torch, "mkldnn_convolution", counting)
    net = _r2plus1d_like()
    x = torch.rand(1, 2, 4, 8, 8, generator=torch.Generator().manual_seed(6))
    ours = _relevance(net, direct(_composite()), x, index=1)
    reference = _reference(net, x, 1)
    assert float(reference.abs().sum()) > 1e-3
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-7)
    forward = {(8, 6, 3, 1, 1), (8, 4, 1, 1, 1)}  # stacked [w; w⁺]
    transposed = {(2, 6, 1, 3, 3), (6, 4, 3, 1, 1), (4, 4, 1, 1, 1)}  # flipped w⁺ᵀ
    assert set(calls) == forward | transposed
    again = _relevance(net, direct(_composite()), x, index=1)  # the kept flipped weights
    torch.testing.assert_close(again, ours, rtol=0, atol=0)
    assert count_hooks(net) == 0 and all("_conv_forward" not in m.__dict__ for m in net)


@pytest.mark.parametrize("kernel,padding", [((3, 1, 1), (1, 0, 0)), ((3, 3, 3), (0, 1, 2))])
def test_transposed_conv_is_the_input_gradient(kernel, padding):
    from vidxai.relevance import conv_kernel

    gen = torch.Generator().manual_seed(7)
    conv = nn.Conv3d(3, 5, kernel, padding=padding)
    x = torch.rand(1, 3, 4, 6, 7, generator=gen, requires_grad=True)
    out = conv(x)
    grad = torch.randn(out.shape, generator=gen)
    (expected,) = torch.autograd.grad(out, x, grad)
    assert conv_kernel.transposable(conv, grad) == torch.backends.mkldnn.is_available()
    if conv_kernel.transposable(conv, grad):
        flipped = conv_kernel.flipped(conv.weight.detach())
        ours = conv_kernel.transposed_conv(conv, grad, flipped)
        torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)
    assert not conv_kernel.transposable(nn.Conv3d(3, 5, 3, stride=2), grad)
    assert not conv_kernel.transposable(conv, grad.expand(2, *grad.shape[1:]))  # a batch
    assert conv_kernel.forward_kernel(conv, x) is None or kernel[1:] == (1, 1)
