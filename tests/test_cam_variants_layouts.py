"""The CAM variants on every layout: 3D conv (r3d_18), frame-wise 2D (tsm_r18), tokens (tiny
VideoMAE and TimeSformer); and Ablation-CAM's channel zeroing in each raw layout."""

from __future__ import annotations

import pytest
import torch

import vidxai.api as api
from vidxai.cam.ablate import keep_mask
from vidxai.cam.layout import ActivationLayout, to_volume
from vidxai.core.hooks import count_hooks
from vidxai.core.registry import get_method
from vidxai.models.zoo import load_model

N, C, T, H, W = 2, 5, 3, 2, 4
VARIANTS = ["xgradcam", "hirescam", "eigencam", "ablationcam", "smooth_gradcampp", "sscam", "iscam"]
FAST = {
    "ablationcam": {"max_channels": 4},
    "sscam": {"max_channels": 4},
    "iscam": {"max_channels": 4},
}


def raw_layouts(volume: torch.Tensor) -> dict[str, tuple[torch.Tensor, ActivationLayout]]:
    """The same N×C×T×H×W volume written in each raw layout (tokens with one class token)."""
    n, c, t, h, w = volume.shape
    thwc = volume.permute(0, 2, 3, 4, 1)  # N×T×H×W×C
    cls = torch.full((n, 1, c), 3.0)
    tokens = torch.cat([cls, thwc.reshape(n, t * h * w, c)], dim=1)
    hwt = torch.cat([cls, volume.permute(0, 3, 4, 2, 1).reshape(n, h * w * t, c)], dim=1)
    frame_cls = torch.full((n * t, 1, c), 3.0)
    frame_tokens = torch.cat([frame_cls, thwc.reshape(n * t, h * w, c)], dim=1)
    return {
        "ncthw": (volume, ActivationLayout("ncthw")),
        "nthwc": (thwc.contiguous(), ActivationLayout("nthwc")),
        "frames": (
            volume.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w),
            ActivationLayout("frames"),
        ),
        "tokens": (tokens, ActivationLayout("tokens", (t, h, w), 1)),
        "tokens_hwt": (hwt, ActivationLayout("tokens", (t, h, w), 1, "hwt")),
        "frame_tokens": (frame_tokens, ActivationLayout("frame_tokens", (t, h, w), 1)),
    }


@pytest.mark.parametrize(
    "kind", ["ncthw", "nthwc", "frames", "tokens", "tokens_hwt", "frame_tokens"]
)
def test_keep_mask_zeroes_one_volume_channel_per_row(kind):
    volume = torch.rand(N, C, T, H, W) + 1.0  # no zeros of its own
    raw, layout = raw_layouts(volume)[kind]
    assert torch.equal(to_volume(raw, layout, N), volume)  # the raw layouts are right
    channels = torch.tensor([3, 1])
    ablated = raw * keep_mask(raw, layout, channels)
    vol = to_volume(ablated, layout, N)
    expected = volume.clone()
    expected[0, 3] = 0
    expected[1, 1] = 0
    assert torch.equal(vol, expected)
    if layout.kind in ("tokens", "frame_tokens"):
        assert torch.equal(ablated[:, :1], raw[:, :1])  # class tokens untouched


TINY_TRANSFORMER = {
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "image_size": 32,
    "patch_size": 16,
    "num_frames": 4,
}
MODELS = {
    "r3d_18": {"num_frames": 4, "size": 32},
    "tsm_r18": {"num_frames": 4, "size": 32},
    "videomae": TINY_TRANSFORMER,
    "timesformer": TINY_TRANSFORMER,
}


@pytest.fixture(scope="module")
def models():
    pytest.importorskip("transformers")
    torch.manual_seed(0)
    return {
        name: load_model(name, weights=None, num_classes=5, **kw) for name, kw in MODELS.items()
    }


@pytest.mark.parametrize("name", list(MODELS))
def test_every_variant_runs_on_every_layout(models, name):
    model = models[name]
    clip = torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    for method in [*VARIANTS, "selective_relevance"]:
        params = {**get_method(method).quick_params, **FAST.get(method, {})}
        if method == "selective_relevance":
            params = {"base": "xgradcam", "threshold": 0.0}
        exp = api.explain(model, clip, method=method, progress=False, **params)
        assert exp.attribution.shape == (4, 32, 32), (name, method)
        assert torch.isfinite(exp.attribution).all(), (name, method)
        if method == "ablationcam":  # random weights: the drops may all be negative (map 0),
            # but zeroing a channel must change the score in every layout
            assert (exp.extras["ablated_scores"] != exp.extras["score"]).all(), name
        else:
            assert exp.attribution.abs().sum() > 0, (name, method)
        if "layer" in exp.extras:
            assert exp.extras["layer"] == model.default_layer, (name, method)
    assert count_hooks(model) == 0
