"""Saliency Tubes against Grad-CAM theory, layer selection, and the documented errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai.api as api
from vidxai.core.hooks import count_hooks
from vidxai.errors import (
    InvalidInputError,
    ParameterError,
    TargetError,
    UnknownNameError,
    UnsupportedModelError,
)


def _explain(model, clip, method, **kw):
    return api.explain(model, clip[0], method=method, progress=False, **kw)


def test_saliency_tubes_is_class_weighted_sum(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "saliency_tubes", target=2)
    acts = tiny_model.features(tiny_clip).detach()[0]
    cam = torch.einsum("c,cthw->thw", tiny_model.fc.weight[2].detach(), acts)  # no ReLU
    assert torch.allclose(exp.extras["cam"], cam, atol=1e-6)
    assert exp.extras["head"] == "fc" and exp.extras["layer"] == "features"
    assert exp.n_backward == 0


def test_saliency_tubes_equals_gradcam_on_gap_linear(tiny_model, tiny_clip):
    # GAP + linear, logit target: Grad-CAM's weights are W[c, k] / (T'·H'·W')
    tubes = _explain(tiny_model, tiny_clip, "saliency_tubes", target=1)
    grad = _explain(tiny_model, tiny_clip, "gradcam", target=1, behaviour="logit")
    volume = tubes.extras["cam"].numel()
    assert torch.allclose(grad.extras["cam"], tubes.extras["cam"].clamp(min=0) / volume, atol=1e-8)
    # with positive class weights the ReLU is inactive and the upsampled maps coincide too
    with torch.no_grad():
        tiny_model.fc.weight[1].abs_()
    tubes = _explain(tiny_model, tiny_clip, "saliency_tubes", target=1)
    grad = _explain(tiny_model, tiny_clip, "gradcam", target=1, behaviour="logit")
    assert torch.allclose(grad.attribution * volume, tubes.attribution, atol=1e-6, rtol=1e-5)


def test_automatic_layer_is_the_last_spatio_temporal_output(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "gradcam")
    assert exp.extras["layer"] == "features"
    named = _explain(tiny_model, tiny_clip, "gradcam", layer="features.2")
    assert named.extras["cam"].shape == (8, 16, 16)


def test_unknown_layer_lists_nearest_names(tiny_model, tiny_clip):
    with pytest.raises(UnknownNameError, match="features"):
        _explain(tiny_model, tiny_clip, "gradcam", layer="feature.3")
    assert count_hooks(tiny_model) == 0


def test_layer_without_spatial_output_is_rejected(tiny_model, tiny_clip):
    with pytest.raises(InvalidInputError, match="layer"):
        _explain(tiny_model, tiny_clip, "gradcam", layer="fc")
    assert count_hooks(tiny_model) == 0


class MLPHead(nn.Module):
    """Conv3d features, GAP, then a two-layer MLP: not a GAP + linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3, 4)))


class NoLinear(nn.Module):
    """Conv3d to class maps, then GAP: no linear layer at all."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Conv3d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.features(x).mean(dim=(2, 3, 4))


class Regressor(nn.Module):
    """Conv3d + GAP + Linear to one output: a regression."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3, 4)))


@pytest.mark.parametrize("method", ["saliency_tubes", "class_feature_pyramids"])
@pytest.mark.parametrize("model_class", [MLPHead, NoLinear])
def test_no_gap_linear_head_is_unsupported(method, model_class, tiny_clip):
    torch.manual_seed(0)
    model = model_class().eval()
    with pytest.raises(UnsupportedModelError, match="linear"):
        _explain(model, tiny_clip, method)
    assert count_hooks(model) == 0


@pytest.mark.parametrize("method", ["saliency_tubes", "class_feature_pyramids"])
def test_regression_target_needs_a_class(method, tiny_clip):
    torch.manual_seed(0)
    model = Regressor().eval()
    with pytest.raises(TargetError, match="class"):
        _explain(model, tiny_clip, method)


@pytest.mark.parametrize("method", ["gradcam", "gradcampp", "layercam", "scorecam"])
def test_gradient_cams_explain_a_regression(method, tiny_clip):
    torch.manual_seed(0)
    exp = _explain(Regressor().eval(), tiny_clip, method)
    assert exp.target is None and exp.attribution.shape == (8, 32, 32)
    assert torch.isfinite(exp.attribution).all()


def test_bad_parameters(tiny_model, tiny_clip):
    for method, params in [
        ("scorecam", {"max_channels": 0}),
        ("scorecam", {"weighting": "mean"}),
        ("scorecam", {"fill": 2.0}),
        ("class_feature_pyramids", {"threshold": 1.5}),
        ("class_feature_pyramids", {"depth": 0}),
        ("gradcam", {"per_time_slice": "maybe"}),
        ("gradcam", {"layers": "features"}),
    ]:
        with pytest.raises(ParameterError):
            _explain(tiny_model, tiny_clip, method, **params)


def test_frozen_parameters_still_give_gradients(tiny_model, tiny_clip):
    for p in tiny_model.parameters():
        p.requires_grad_(False)
    exp = _explain(tiny_model, tiny_clip, "gradcam")
    assert exp.attribution.abs().sum() > 0
    assert not any(p.requires_grad for p in tiny_model.parameters())


class Detached(nn.Module):
    """A model whose feature maps are detached from the prediction."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv3d(3, 4, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        maps = self.features(x)
        return self.fc(maps.detach().mean(dim=(2, 3, 4)))


def test_layer_not_connected_to_the_prediction(tiny_clip):
    model = Detached().eval()
    with pytest.raises(InvalidInputError, match="does not reach"):
        _explain(model, tiny_clip, "gradcam", layer="features")
    assert count_hooks(model) == 0
