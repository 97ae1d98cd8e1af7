"""I3D in the zoo: architecture, "SAME" padding, both checkpoint layouts, CAM default layer."""

from __future__ import annotations

import pytest
import torch

import vidxai
from vidxai.errors import InvalidInputError, WeightsUnavailableError
from vidxai.models.i3d import same_padding

SMALL = {"num_frames": 8, "size": 64}

# The converted DeepMind checkpoints (pytorch-i3d naming) written out by hand from that
# project's module names, independent of vidxai's converter.
_STEM = {"conv1a": "Conv3d_1a_7x7", "conv2b": "Conv3d_2b_1x1", "conv2c": "Conv3d_2c_3x3"}
_BRANCH = {
    "branch0": "b0",
    "branch1.0": "b1a",
    "branch1.1": "b1b",
    "branch2.0": "b2a",
    "branch2.1": "b2b",
    "branch3.1": "b3b",
}


def _to_reference_layout(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "head":  # head.classifier.{weight,bias}
            out["logits.conv3d." + parts[-1]] = value
            continue
        _, block, *rest = parts
        if block in _STEM:
            layer = {"conv": "conv3d", "bn": "bn"}[rest[0]]
            out[".".join([_STEM[block], layer, *rest[1:]])] = value
            continue
        mixed = "Mixed_" + block.split("_")[1]
        n = 2 if rest[0] == "branch0" else 3
        branch = ".".join(rest[: n - 1])
        layer = {"conv": "conv3d", "bn": "bn"}[rest[n - 1]]
        out[".".join([mixed, _BRANCH[branch], layer, *rest[n:]])] = value
    return out


@pytest.fixture(scope="module")
def i3d():
    torch.manual_seed(0)
    model = vidxai.load_model("i3d", weights=None, num_classes=5, **SMALL)
    with torch.no_grad():  # non-trivial batch-norm statistics, so a wrong mapping shows
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm3d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return model


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 7, 2, (2, 3)),
        (5, 3, 2, (1, 1)),
        (8, 1, 1, (0, 0)),
        (7, 3, 1, (1, 1)),
        (4, 2, 2, (0, 0)),
    ],
)
def test_same_padding_matches_tensorflow(size, kernel, stride, expected) -> None:
    # TF: out = ceil(size / stride); total = max((out − 1)·stride + kernel − size, 0)
    assert same_padding(size, kernel, stride) == expected


def test_shapes_parameters_and_default_layer(i3d) -> None:
    assert vidxai.load_model("i3d", weights=None).spec.num_frames == 64
    x = torch.rand(2, 3, 8, 64, 64)
    feats = i3d.module.features(x)
    assert feats.shape == (2, 1024, 1, 2, 2)  # T/8, H/32, W/32 with "SAME" padding
    assert i3d(x).shape == (2, 5)
    full = vidxai.load_model("i3d", weights=None)
    # Inception-v1 inflated: 12.29 M parameters without the 400-class classifier
    n = sum(p.numel() for p in full.module.features.parameters())
    assert 12.2e6 < n < 12.4e6


def test_plain_and_converted_checkpoints_load_to_the_same_network(i3d, tmp_path) -> None:
    x = torch.rand(1, 3, 8, 64, 64, generator=torch.Generator().manual_seed(2))
    expected = i3d(x)
    plain = tmp_path / "plain.pt"
    torch.save(i3d.module.state_dict(), plain)
    converted = tmp_path / "rgb_imagenet.pt"
    reference = _to_reference_layout(i3d.module.state_dict())
    assert "Mixed_4f.b3b.bn.running_var" in reference and "logits.conv3d.bias" in reference
    torch.save(reference, converted)
    wrapped = tmp_path / "wrapped.pt"
    torch.save({"state_dict": {"module." + k: v for k, v in reference.items()}}, wrapped)
    for path in (plain, converted, wrapped):
        torch.manual_seed(123)  # another random init, overwritten by the file
        loaded = vidxai.load_model("i3d", weights=path, num_classes=5, **SMALL)
        torch.testing.assert_close(loaded(x), expected)


def test_a_checkpoint_of_another_network_is_refused(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    torch.save({"Mixed_3b.b0.conv3d.weight": torch.zeros(1)}, bad)
    with pytest.raises(InvalidInputError):
        vidxai.load_model("i3d", weights=bad, **SMALL)


def test_default_weights_say_how_to_get_them() -> None:
    with pytest.raises(WeightsUnavailableError, match=r"weights='rgb_imagenet\.pt'"):
        vidxai.load_model("i3d", weights="DEFAULT")


def test_gradcam_on_the_default_layer(i3d) -> None:
    clip = torch.rand(3, 8, 64, 64, generator=torch.Generator().manual_seed(4))
    exp = vidxai.explain(i3d, clip, method="gradcam", target=1, progress=False)
    assert exp.attribution.shape == (8, 64, 64)
    assert exp.extras["layer"] == "features.mixed_5c"
    assert exp.extras["cam"].shape == (1, 2, 2)
