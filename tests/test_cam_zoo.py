"""Every gradient/CAM method on a 3D CNN, a frame-wise 2D net and video transformers of the zoo.

Small inputs (4 frames of 32×32) and tiny transformer configurations keep this fast. The token
layouts are checked end to end: a single non-zero patch in the input must land on the right
(t, h, w) cell of the CAM volume.
"""

from __future__ import annotations

import pytest
import torch

import vidxai.api as api
from vidxai.cam.layers import capture_outputs
from vidxai.cam.layout import coerce_layout, infer_layout, to_volume
from vidxai.core.hooks import count_hooks
from vidxai.core.registry import get_method, list_methods
from vidxai.errors import UnsupportedModelError
from vidxai.models.zoo import load_model

pytest.importorskip("transformers")

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
FAST = {
    "integrated_gradients": {"n_steps": 3},
    "smoothgrad": {"n_samples": 2},
    "scorecam": {"max_channels": 6},
    "ablationcam": {"max_channels": 48},  # 8 may all lower the score: a legitimately blank map
    "class_feature_pyramids": {"depth": 2, "threshold": 0.9, "max_tubes": 4},
}
NEEDS_GAP_LINEAR = {"saliency_tubes", "class_feature_pyramids"}


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {
        name: load_model(name, weights=None, num_classes=5, **kw) for name, kw in MODELS.items()
    }


def _methods() -> list[str]:
    return [s.name for s in list_methods() if s.family in ("gradient", "cam")]


@pytest.mark.parametrize("name", list(MODELS))
def test_every_gradient_and_cam_method_runs(models, name):
    model = models[name]
    clip = torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    for method in _methods():
        params = {**get_method(method).quick_params, **FAST.get(method, {})}
        if method in NEEDS_GAP_LINEAR and name in ("videomae", "timesformer"):
            with pytest.raises(UnsupportedModelError):
                api.explain(model, clip, method=method, progress=False, **params)
            continue
        exp = api.explain(model, clip, method=method, progress=False, **params)
        assert exp.attribution.shape == (4, 32, 32), method
        assert torch.isfinite(exp.attribution).all(), method
        assert exp.attribution.abs().sum() > 0, (name, method)
        if "layer" in exp.extras:
            assert exp.extras["layer"] == model.default_layer, method
    assert count_hooks(model) == 0


def _one_patch_clip(model, t: int, h: int, w: int, tubelet: int) -> torch.Tensor:
    x = torch.zeros(1, 3, 4, 32, 32)
    x[:, :, t * tubelet : (t + 1) * tubelet, h * 16 : (h + 1) * 16, w * 16 : (w + 1) * 16] = 1.0
    return x


@pytest.mark.parametrize(("name", "tubelet"), [("timesformer", 1), ("videomae", 2)])
def test_token_layout_puts_each_patch_in_its_cell(models, name, tubelet):
    model = models[name]
    embeddings = f"{name}.embeddings"
    hint = coerce_layout(model.layer_layout)
    modules = {embeddings: dict(model.module.named_modules())[embeddings]}
    with capture_outputs(modules) as store, torch.no_grad():
        model(torch.zeros(1, 3, 4, 32, 32))
        zero = store[embeddings].clone()
        for t, h, w in [(0, 0, 1), (1, 1, 0), (4 // tubelet - 1, 1, 1)]:
            model(_one_patch_clip(model, t, h, w, tubelet))
            diff = store[embeddings] - zero  # the linear patch projection of the one patch
            layout = infer_layout(tuple(diff.shape), (1, 3, 4, 32, 32), hint)
            energy = to_volume(diff, layout, 1).abs().sum(1)[0]  # T'×h×w
            assert energy.shape == (4 // tubelet, 2, 2)
            hot = (energy > 1e-6).nonzero().tolist()
            assert hot == [[t, h, w]], (name, (t, h, w), hot)


@pytest.mark.parametrize("method", ["gradcam", "saliency_tubes", "scorecam"])
def test_cams_point_at_the_evidence_on_the_trained_demo_model(method):
    from vidxai.data import make_clip

    model = load_model("vidxai-demo")
    ratios = []
    for seed in range(3):
        clip = make_clip(seed)
        exp = api.explain(model, clip.frames, method=method, target=int(clip.label), progress=False)
        energy = exp.to_original().clamp(min=0)
        mask = torch.as_tensor(clip.mask)
        # share of the positive map inside the actor, relative to the actor's share of the video
        ratios.append(float((energy * mask).sum() / energy.sum()) / float(mask.float().mean()))
    assert min(ratios) > 3, ratios
