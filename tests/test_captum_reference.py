"""vidxai against Captum (a dev dependency) on small 3D CNNs, with the logit as the target value.

Each test maps vidxai's ``T×H×W`` map onto Captum's raw ``N×C×T×H×W`` output explicitly (channel
reduction and polarity), so the two libraries are compared on the same quantity. Gradient and
CAM methods default to the logit in vidxai (checked); removal methods are asked for it with
``behaviour="logit"`` (Captum's forward function is the plain model, i.e. logits).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from captum.attr import (
    FeatureAblation,
    InputXGradient,
    IntegratedGradients,
    KernelShap,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)

import vidxai

TARGET = 2


@pytest.fixture
def model(tiny_model):
    return tiny_model  # Conv3d+ReLU, Conv3d+ReLU, GAP, Linear; 4 classes


@pytest.fixture
def clip():
    return torch.rand(1, 3, 8, 16, 16, generator=torch.Generator().manual_seed(3))


@pytest.fixture
def small_clip():
    return torch.rand(1, 3, 4, 8, 8, generator=torch.Generator().manual_seed(4))


def _explain(model, clip, method, **params):
    (exp,) = vidxai.explain(model, clip, method=method, target=TARGET, progress=False, **params)
    return exp


def _grid_mask(shape, cells):
    """``1×1×T×H×W`` Captum feature mask of a regular grid, cell ``(t·ct//T, …)`` in C order."""
    idx = [torch.arange(s) * c // s for s, c in zip(shape, cells, strict=True)]
    _, ch, cw = cells
    labels = (idx[0].view(-1, 1, 1) * ch + idx[1].view(1, -1, 1)) * cw + idx[2].view(1, 1, -1)
    return labels[None, None]


def test_saliency_matches_captum_saliency(model, clip):
    exp = _explain(model, clip, "saliency")
    assert exp.behaviour == "logit"
    captum_abs = Saliency(model).attribute(clip, target=TARGET, abs=True)  # |∂f/∂x| per channel
    torch.testing.assert_close(exp.attribution, captum_abs.amax(1)[0], rtol=1e-5, atol=1e-8)
    signed = _explain(model, clip, "saliency", polarity="both", channel_reduction="sum")
    captum_signed = Saliency(model).attribute(clip, target=TARGET, abs=False)
    torch.testing.assert_close(signed.attribution, captum_signed.sum(1)[0], rtol=1e-5, atol=1e-8)
    l2 = _explain(model, clip, "saliency", channel_reduction="l2")
    torch.testing.assert_close(l2.attribution, captum_abs.norm(dim=1)[0], rtol=1e-5, atol=1e-8)


def test_grad_x_input_matches_captum_input_x_gradient(model, clip):
    exp = _explain(model, clip, "grad_x_input")
    captum = InputXGradient(model).attribute(clip, target=TARGET)
    torch.testing.assert_close(exp.attribution, captum.sum(1)[0], rtol=1e-5, atol=1e-8)
    absolute = _explain(model, clip, "grad_x_input", polarity="absolute")
    torch.testing.assert_close(absolute.attribution, captum.sum(1)[0].abs(), rtol=1e-5, atol=1e-8)


def test_integrated_gradients_matches_captum_gauss_legendre(model, clip):
    exp = _explain(model, clip, "integrated_gradients", n_steps=16, baseline="black")
    assert exp.behaviour == "logit"
    captum, delta = IntegratedGradients(model).attribute(
        clip,
        baselines=torch.zeros_like(clip),  # black for a plain module (identity normalisation)
        target=TARGET,
        n_steps=16,
        method="gausslegendre",
        return_convergence_delta=True,
    )
    torch.testing.assert_close(exp.attribution, captum.sum(1)[0], rtol=1e-4, atol=1e-7)
    # Captum's delta is Σ IG − (f(x) − f(b)); vidxai reports the same gap
    assert exp.extras["completeness_gap"] == pytest.approx(float(delta), abs=1e-5)


def test_gradcam_matches_captum_layer_gradcam_upsampled(model, clip):
    exp = _explain(model, clip, "gradcam", layer="features.3")
    assert exp.behaviour == "logit"
    layer_map = LayerGradCam(model, model.features[3]).attribute(
        clip,
        target=TARGET,
        relu_attributions=True,  # Grad-CAM's ReLU (off by default in Captum)
    )
    upsampled = LayerAttribution.interpolate(layer_map, (8, 16, 16), interpolate_mode="trilinear")
    torch.testing.assert_close(exp.attribution, upsampled[0, 0], rtol=1e-4, atol=1e-7)


def test_occlusion_matches_captum_occlusion_on_a_grid_of_cuboids(model, small_clip):
    exp = _explain(
        model,
        small_clip,
        "occlusion3d",
        kernel=(2, 4, 4),
        stride=(1, 2, 2),
        units="voxels",
        removal="black",
        behaviour="logit",
    )
    captum = Occlusion(model).attribute(
        small_clip,
        sliding_window_shapes=(3, 2, 4, 4),  # all channels of one cuboid at a time
        strides=(3, 1, 2, 2),
        baselines=0.0,
        target=TARGET,
    )
    assert exp.n_forward >= 3 * 3 * 3  # 27 cuboid positions
    # Captum gives every channel of a voxel the same value: the mean drop of its windows
    torch.testing.assert_close(captum[0, 0], captum[0, 2])
    torch.testing.assert_close(exp.attribution, captum[0, 0], rtol=1e-4, atol=1e-6)


def test_loco_matches_captum_feature_ablation_on_grid_cells(model, small_clip):
    cells = (2, 2, 2)
    exp = _explain(
        model,
        small_clip,
        "loco",
        segmentation="grid",
        grid=cells,
        removal="black",
        behaviour="logit",
    )
    mask = _grid_mask((4, 8, 8), cells)
    captum = FeatureAblation(model).attribute(
        small_clip, baselines=0.0, target=TARGET, feature_mask=mask
    )
    torch.testing.assert_close(exp.attribution, captum[0, 0], rtol=1e-4, atol=1e-6)


def _exact_shapley(model, clip, mask, m):
    """Shapley values by enumerating all 2^m coalitions (plain formula, removed cells = 0)."""
    coalitions = list(itertools.product((0, 1), repeat=m))
    keep = torch.tensor(coalitions, dtype=torch.float32)  # 2^m × m
    voxel_keep = keep[:, mask.flatten()].view(len(coalitions), 1, *mask.shape[2:])
    with torch.no_grad():
        values = model(clip * voxel_keep)[:, TARGET].double()
    value = {c: float(v) for c, v in zip(coalitions, values, strict=True)}
    phi = torch.zeros(m, dtype=torch.float64)
    for c in coalitions:
        s = sum(c)
        for i in range(m):
            if c[i] == 0:
                with_i = (*c[:i], 1, *c[i + 1 :])
                w = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
                phi[i] += w * (value[with_i] - value[c])
    return phi


def test_kernel_shap_matches_exact_shapley_and_captum_kernel_shap(model, small_clip):
    cells = (2, 2, 2)
    m = 8
    mask = _grid_mask((4, 8, 8), cells)
    exact = _exact_shapley(model, small_clip, mask, m)
    exp = _explain(
        model,
        small_clip,
        "kernel_shap3d",
        segmentation="grid",
        grid=cells,
        removal="black",
        n_samples=2**m,  # ≥ 2^M − 2: every coalition is enumerated, so the values are exact
        behaviour="logit",
    )
    painted = exact.float()[mask[0, 0].flatten()].view(4, 8, 8)
    torch.testing.assert_close(exp.attribution, painted, rtol=1e-4, atol=1e-6)
    # efficiency: Σ φ = f(x) − f(all removed)
    with torch.no_grad():
        gap = model(small_clip)[0, TARGET] - model(torch.zeros_like(small_clip))[0, TARGET]
    assert float(exact.sum()) == pytest.approx(float(gap), rel=1e-6, abs=1e-7)
    # Captum samples coalitions; with many samples its regression approaches the exact values
    torch.manual_seed(0)
    captum = KernelShap(model).attribute(
        small_clip, baselines=0.0, target=TARGET, feature_mask=mask, n_samples=2000
    )
    per_cell = torch.stack([captum[0, 0][mask[0, 0] == j][0] for j in range(m)]).double()
    scale = float(exact.abs().max())
    assert float((per_cell - exact).abs().max()) < 0.05 * scale  # measured: 1.5 %
