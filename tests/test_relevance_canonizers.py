"""LRP canonizers: I3D (padding, head), the exact BatchNorm merge, every zoo CNN covered."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai
from test_relevance_lrp import clip, zoo_cnn
from vidxai.relevance.composites import COMPOSITES


@pytest.mark.parametrize("composite", list(COMPOSITES))
def test_i3d_conserves_with_every_composite(composite):
    # the flat and box first-layer rules give relevance to zero inputs: without the padding moved
    # into I3D's convolutions ≈ 20 % of Σ R went to the "SAME" padding and was dropped
    e = vidxai.explain(zoo_cnn("i3d"), clip(3), method="lrp", composite=composite,
                       epsilon=1e-12, stabilizer=1e-12, progress=False)  # fmt: skip
    assert e.extras["conservation_gap"] < 1e-3
    assert e.extras["relevance_sum"] == pytest.approx(e.score, rel=1e-3)


class HeadOnly(nn.Module):
    """I3D's head on a feature volume: f(x) linear in x (average pools, 1×1×1 conv, time mean)."""

    def __init__(self) -> None:
        super().__init__()
        from vidxai.models.i3d import I3DHead

        torch.manual_seed(5)
        self.head = I3DHead(3, 4, dropout=0.0)
        with torch.no_grad():
            assert self.head.classifier.bias is not None
            self.head.classifier.bias.zero_()

    def forward(self, x):
        return self.head(x)


def test_i3d_head_gets_the_dense_rule_and_proportional_pools():
    # For a linear function without bias, ε-LRP (ε → 0) with proportional pooling is exactly
    # x ⊙ ∇f: the reference is plain autograd on the unhooked model.
    model, x = HeadOnly(), torch.rand(3, 3, 2, 2, generator=torch.Generator().manual_seed(6))
    with pytest.warns(UserWarning, match="do not know"):  # the root is not InceptionI3d
        e = vidxai.explain(model, x, method="lrp", composite="epsilon_plus", target=1,
                           epsilon=1e-12, stabilizer=1e-12, progress=False)  # fmt: skip
    xg = x.unsqueeze(0).requires_grad_(True)
    (grad,) = torch.autograd.grad(model(xg)[0, 1], xg)
    expected = (x * grad[0]).sum(0)
    torch.testing.assert_close(e.attribution, expected, rtol=1e-4, atol=1e-9)


def test_merged_batchnorm_is_exactly_the_identity():
    from zennit.canonizers import SequentialMergeBatchNorm

    from vidxai.relevance.canonizers import ExactMergeBatchNorm

    torch.manual_seed(7)
    net = nn.Sequential(nn.Conv3d(2, 3, 1), nn.BatchNorm3d(3, eps=0.1)).eval()
    x = torch.randn(1, 2, 2, 3, 3)
    with torch.no_grad():
        net[1].running_var.uniform_(0.5, 2.0)
        net[1].running_mean.uniform_(-1.0, 1.0)
        before = net(x)
        results = []
        for canonizer in (ExactMergeBatchNorm(), SequentialMergeBatchNorm()):
            instances = canonizer.apply(net)
            results.append(net(x))
            for i in instances:
                i.remove()
            assert "forward" not in net[1].__dict__  # the identity forward is removed again
        assert torch.equal(net(x), before)
    torch.testing.assert_close(results[0], before, rtol=1e-6, atol=1e-6)
    assert not torch.allclose(results[1], before, rtol=1e-3)  # zennit's: ÷ √(1 + eps) again


def test_every_zoo_cnn_is_known_to_the_canonizers():
    from vidxai.models.zoo import list_models
    from vidxai.relevance.canonizers import unknown_parts

    cnns = [m.name for m in list_models() if m.family in ("cnn3d", "frame2d")]
    assert {"i3d", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "tsm_r18"} <= set(cnns)
    for name in cnns:
        kw = {} if name == "vidxai-demo" else dict(weights=None, num_classes=3)
        model = vidxai.load_model(name, **kw)
        assert unknown_parts(model.module) == [], name


@pytest.mark.parametrize("block", ["BasicBlock", "Bottleneck"])
def test_2d_residual_sums_split_as_zennits_own_resnet_canonizer(block):
    # reference: zennit's ResNetCanonizer (its 2D block canonizers stack the summands along a
    # last axis, ours along a first one) with zennit's own hooks and rules
    from torchvision.models import resnet
    from zennit.composites import EpsilonPlusFlat
    from zennit.torchvision import ResNetCanonizer

    from test_relevance_direct import _relevance
    from vidxai.relevance.canonizers import video_canonizers

    torch.manual_seed(8)
    net = resnet.ResNet(getattr(resnet, block), [1, 1, 1, 1], num_classes=5).eval()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(9))
    ours = _relevance(net, EpsilonPlusFlat(canonizers=video_canonizers()), x, index=2)
    reference = _relevance(net, EpsilonPlusFlat(canonizers=[ResNetCanonizer()]), x, index=2)
    assert float(reference.abs().sum()) > 0
    scale = float(reference.abs().max())
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5 * scale)
    assert all("forward" not in m.__dict__ for m in net.modules())  # canonizers undone
