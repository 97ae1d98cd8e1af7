"""Class Feature Pyramids on hand-built networks whose weights dictate the selected kernels."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vidxai.api as api
from vidxai.cam.pyramids import kernel_backstep, producers, record_convs


class HandNet(nn.Module):
    """conv1 (3→3, 1×1×1) → ReLU → conv2 (3→2, 1×1×1) → ReLU → GAP → fc (2→2); no biases."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(3, 3, 1, bias=False)
        self.conv2 = nn.Conv3d(3, 2, 1, bias=False)
        self.fc = nn.Linear(2, 2, bias=False)
        with torch.no_grad():
            w1 = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
            w2 = torch.tensor([[3.0, 1.0, 0.5], [0.0, 1.0, 1.0]])
            self.conv1.weight.copy_(w1.view(3, 3, 1, 1, 1))
            self.conv2.weight.copy_(w2.view(2, 3, 1, 1, 1))
            self.fc.weight.copy_(torch.tensor([[1.0, 0.2], [0.1, 1.0]]))

    def features(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3, 4)))


def _clip() -> torch.Tensor:
    """3×4×6×6 clip: channel means 1, 2 and 5, with spatial structure."""
    g = torch.Generator().manual_seed(0)
    ramp = torch.rand(4, 6, 6, generator=g) * 0.5 + 0.75  # mean ≈ 1
    ramp = ramp / ramp.mean()
    return torch.stack([ramp, 2 * ramp.flip(-1), 5 * ramp.flip(-2)])


def test_hand_built_net_selects_the_kernels_its_weights_dictate():
    net = HandNet().eval()
    clip = _clip()
    exp = api.explain(
        net, clip, method="class_feature_pyramids", target=0, threshold=0.5, depth=2, progress=False
    )
    graph = exp.extras["graph"]
    # class 0 weights (1, 0.2) → min-max (1, 0): kernel 0 of conv2 only
    assert graph["roots"] == {"conv2": [0]}
    # conv2 input means relu(W1·(1, 2, 5)) = (1, 2, 3); kernel 0 = (3, 1, 0.5) → (3, 2, 1.5)
    # → min-max (1, 1/3, 0): only channel 0 of conv1
    node = graph["nodes"]["conv2"]["0"]
    assert node["children"] == [0] and node["level"] == 0 and node["score"] == 1.0
    # conv1 kernel 0 = (1, 0, 0) × input means (1, 2, 5) → (1, 0, 0) → channel 0 of the video
    assert graph["nodes"]["conv1"]["0"]["children"] == [0]
    assert graph["nodes"]["conv1"]["0"]["level"] == 1
    assert set(graph["nodes"]) == {"conv1", "conv2"} and len(graph["nodes"]["conv1"]) == 1
    assert graph["producers"] == {"conv2": ["conv1"], "conv1": []}
    json.dumps(graph)  # JSON-able

    # a lower θ lets conv2's kernel 0 also depend on conv1's channel 1 (value 1/3)
    low = api.explain(
        net, clip, method="class_feature_pyramids", target=0, threshold=0.3, depth=2, progress=False
    )
    assert low.extras["graph"]["nodes"]["conv2"]["0"]["children"] == [0, 1]
    assert sorted(low.extras["graph"]["nodes"]["conv1"]) == ["0", "1"]

    # class 1 weights (0.1, 1) → kernel 1 of conv2: (0, 1, 1)·(1, 2, 3) = (0, 2, 3) → (0, 2/3, 1)
    other = api.explain(
        net, clip, method="class_feature_pyramids", target=1, threshold=0.5, depth=1, progress=False
    )
    assert other.extras["graph"]["roots"] == {"conv2": [1]}
    assert other.extras["graph"]["nodes"]["conv2"]["1"]["children"] == [2, 1]
    assert "conv1" not in other.extras["graph"]["nodes"]  # depth 1 stops at the last layer


def test_outputs_final_map_and_tubes():
    net = HandNet().eval()
    clip = _clip()
    exp = api.explain(
        net, clip, method="class_feature_pyramids", target=0, threshold=0.5, depth=2, progress=False
    )
    x = clip.unsqueeze(0)
    with torch.no_grad():
        hidden = torch.relu(net.conv1(x))
        maps = net.features(x)
    # final map: Saliency Tubes restricted to the selected kernel 0 (weight 1.0)
    assert torch.allclose(exp.attribution, maps[0, 0], atol=1e-6)
    # one tube per selected kernel: conv2/0 → conv1 channel 0 map; conv1/0 → video channel 0
    assert exp.extras["tube_index"] == [["conv2", 0], ["conv1", 0]]
    tubes = exp.extras["tubes"]
    assert list(tubes) == ["conv2_k0", "conv1_k0"]
    assert all(t.shape == (4, 6, 6) for t in tubes.values())

    def mm(v):
        return (v - v.min()) / (v.max() - v.min())

    assert torch.allclose(tubes["conv2_k0"], mm(hidden[0, 0]), atol=1e-6)
    assert torch.allclose(tubes["conv1_k0"], mm(x[0, 0]), atol=1e-6)
    capped = api.explain(
        net,
        clip,
        method="class_feature_pyramids",
        target=0,
        threshold=0.5,
        depth=2,
        max_tubes=1,
        progress=False,
    )
    assert capped.extras["tube_index"] == [["conv2", 0]]


def test_backstep_grouped_convolution():
    # 4 kernels in 2 groups of 2 input channels each; kernel 3 is in group 1 (inputs 2, 3)
    weight = torch.zeros(4, 2, 1, 3, 3)
    weight[3, 0] = 1.0
    weight[3, 1] = 0.25
    input_mean = torch.tensor([9.0, 9.0, 1.0, 2.0])
    channels, values = kernel_backstep(weight, 2, input_mean, 3, 0.5)
    # contributions (1·1, 0.25·2) = (1, 0.5) → min-max (1, 0) → only input channel 2
    assert channels == [2] and values == [1.0]
    channels, _ = kernel_backstep(weight, 2, input_mean, 3, 0.0)
    assert channels == [2, 3]


class ResidualNet(nn.Module):
    """Two convolutions summed (a residual join) feeding a third one."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv3d(3, 4, 1)
        self.b = nn.Conv3d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm3d(4)
        self.c = nn.Conv3d(4, 5, 1)
        self.widen = nn.Conv3d(3, 1, 1)

    def forward(self, x):
        h = torch.relu(self.bn(self.a(x)) + F.max_pool3d(self.b(x), 1))
        return self.c(torch.cat([h, self.widen(x)], dim=1)[:, :4])


def test_producers_follow_residual_sums_not_channel_changes():
    net = ResidualNet().eval()
    x = torch.rand(1, 3, 2, 4, 4, requires_grad=True)
    with record_convs(net) as convs:
        net(x)
    assert sorted(producers(convs["c"].input, convs, 4)) == ["a", "b"]
    assert producers(convs["a"].input, convs, 3) == []
    assert not any(m._forward_hooks for m in net.modules())


def test_runs_on_a_residual_3d_cnn(tiny_clip):
    from torchvision.models.video import r3d_18

    torch.manual_seed(0)
    model = r3d_18(num_classes=5).eval()
    exp = api.explain(
        model,
        tiny_clip[0, :, :4],
        method="class_feature_pyramids",
        depth=2,
        max_tubes=8,
        progress=False,
    )
    graph = exp.extras["graph"]
    assert "layer4.1.conv2.0" in graph["roots"]
    # the residual join of layer4.1 makes layer4.0's convolutions producers too
    assert "layer4.0.conv2.0" in graph["roots"] and "layer4.0.downsample.0" in graph["roots"]
    assert graph["producers"]["layer4.1.conv2.0"] == ["layer4.1.conv1.0"]
    tubes = torch.stack(list(exp.extras["tubes"].values()))
    assert tubes.shape == (8, 4, 32, 32)
    assert float(tubes.min()) >= 0 and float(tubes.max()) <= 1


@pytest.mark.parametrize("theta", [0.0, 1.0])
def test_threshold_extremes(theta):
    net = HandNet().eval()
    exp = api.explain(
        net,
        _clip(),
        method="class_feature_pyramids",
        target=0,
        threshold=theta,
        depth=2,
        progress=False,
    )
    roots = exp.extras["graph"]["roots"]["conv2"]
    assert roots == ([0, 1] if theta == 0.0 else [0])
