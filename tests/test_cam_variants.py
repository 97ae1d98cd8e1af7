"""CAM variants: known answers on toy models, axioms, plain re-implementations, errors.

The toy "planted evidence" network reads each colour channel at a 1×1×1 convolution (channel k
of the layer = ReLU of input colour k), pools and classifies linearly: class 0 is the amount of
red, class 1 of green. A clip with a red cube (class-0 evidence) and a green cube (class-1
evidence) must make every class-discriminative map for class 0 peak in the red cube.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import vidxai
from vidxai.core.hooks import count_hooks
from vidxai.core.registry import get_method
from vidxai.errors import ParameterError, UnknownNameError

VARIANTS = ["xgradcam", "hirescam", "eigencam", "ablationcam", "smooth_gradcampp", "sscam", "iscam"]
RED = (slice(2, 5), slice(4, 12), slice(4, 12))  # T, H, W of the planted red cube
GREEN = (slice(4, 7), slice(18, 26), slice(18, 26))


class Planted(nn.Module):
    """Colour detectors (1×1×1 conv, identity weights) → ReLU → GAP → linear (no bias)."""

    def __init__(self, head: torch.Tensor | None = None) -> None:
        super().__init__()
        self.features = nn.Conv3d(3, 3, 1, bias=False)
        self.act = nn.ReLU()
        self.fc = nn.Linear(3, 3, bias=False)
        with torch.no_grad():
            self.features.weight.copy_(torch.eye(3).view(3, 3, 1, 1, 1))
            self.fc.weight.copy_(torch.eye(3) * 4.0 if head is None else head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.act(self.features(x)).mean(dim=(2, 3, 4)))


def planted_clip() -> torch.Tensor:
    clip = torch.zeros(3, 8, 32, 32)
    clip[(0, *RED)] = 1.0
    clip[(1, *GREEN)] = 1.0
    return clip


def run(model, clip, method, **kw):
    params = {**get_method(method).quick_params, **kw}
    return vidxai.explain(model, clip, method=method, progress=False, seed=0, **params)


@pytest.mark.parametrize("method", VARIANTS)
def test_planted_evidence_ranks_first(method):
    model = Planted()
    clip = planted_clip()
    if method == "eigencam":  # class-agnostic: plant one cube only
        clip[1] = 0
    exp = run(model, clip, method, layer="act", target=0)
    a = exp.attribution
    red = torch.zeros_like(a, dtype=torch.bool)
    red[RED] = True
    inside, outside = a[red], a[~red]
    assert inside.min() > outside.max(), method  # every red voxel outranks every other voxel
    assert count_hooks(model) == 0
    assert exp.behaviour == "logit"


def test_xgradcam_conservation_sums_to_the_score():
    """XGrad-CAM's conservation axiom: for a score homogeneous of degree 1 in the activations,
    Σ_voxels Σ_c w_c·A_c = Σ g·A = score (Euler), exactly at the layer's resolution."""
    torch.manual_seed(0)
    head = torch.rand(3, 3) + 0.1  # positive: the ReLU of the map does not act
    model = Planted(head)
    clip = torch.rand(3, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    exp = run(model, clip, "xgradcam", layer="act", target=1)
    with torch.no_grad():
        logit = model(clip[None])[0, 1]
    torch.testing.assert_close(exp.extras["cam"].sum(), logit, rtol=1e-5, atol=1e-5)


def test_hirescam_equals_cam_for_gap_linear():
    """With GAP + linear, ∂s/∂A_c = w_c/P everywhere, so HiResCAM = ReLU(Σ w_c·A_c)/P (CAM)."""
    head = torch.randn(3, 3, generator=torch.Generator().manual_seed(2))
    model = Planted(head)
    clip = torch.rand(3, 4, 8, 8, generator=torch.Generator().manual_seed(3)) - 0.3
    exp = run(model, clip, "hirescam", layer="act", target=2)
    acts = torch.relu(clip)  # identity detectors + ReLU
    expected = torch.einsum("c,cthw->thw", head[2], acts).clamp(min=0) / acts[0].numel()
    torch.testing.assert_close(exp.extras["cam"], expected)


def _conv_net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv3d(3, 5, 3, padding=1),
        nn.ReLU(),
        nn.Conv3d(5, 4, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 2 * 8 * 8, 3),
    ).eval()


def _features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return net[:4](x)


def _head(net: nn.Module, a: torch.Tensor) -> torch.Tensor:
    return net[4:](a)


def test_ablationcam_matches_a_plain_loop():
    net = _conv_net(4)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(5))
    exp = vidxai.explain(net, clip, method="ablationcam", layer="3", target=0, progress=False)
    with torch.no_grad():
        acts = _features(net, clip[None])
        s = _head(net, acts)[0, 0]
        weights = []
        for k in range(acts.shape[1]):
            ablated = acts.clone()
            ablated[:, k] = 0
            weights.append((s - _head(net, ablated)[0, 0]) / s)
        w = torch.stack(weights)
    expected = torch.einsum("c,cthw->thw", w, acts[0]).clamp(min=0)
    torch.testing.assert_close(exp.extras["cam"], expected, rtol=1e-4, atol=1e-5)
    assert exp.n_forward == 2 + 4  # first pass, layer capture, one per channel


def test_iscam_matches_a_plain_loop():
    net = _conv_net(6)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(7))
    n = 3
    exp = vidxai.explain(
        net, clip, method="iscam", layer="3", target=1, n_samples=n, progress=False
    )
    with torch.no_grad():
        acts = _features(net, clip[None])[0]
        means = []
        for k in range(acts.shape[0]):
            up = torch.nn.functional.interpolate(
                acts[k][None, None], size=(4, 16, 16), mode="trilinear", align_corners=False
            )[0, 0]
            mask = (up - up.min()) / (up.max() - up.min()) if up.max() > up.min() else up * 0
            scores = [net((i / n * mask * clip)[None])[0, 1] for i in range(1, n + 1)]
            means.append(torch.stack(scores).mean())
        w = torch.softmax(torch.stack(means), 0)
    expected = torch.einsum("c,cthw->thw", w, acts).clamp(min=0)
    torch.testing.assert_close(exp.extras["cam"], expected, rtol=1e-4, atol=1e-5)
    assert exp.n_forward == 2 + 4 * n


def test_eigencam_matches_numpy_svd_with_the_sign_rule():
    net = _conv_net(8)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(9))
    exp = vidxai.explain(net, clip, method="eigencam", layer="3", progress=False)
    with torch.no_grad():
        acts = _features(net, clip[None])[0].double().numpy()  # C×T'×H'×W'
    m = acts.reshape(acts.shape[0], -1).T  # positions × channels
    centred = m - m.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    proj = centred @ vt[0]
    total = m.sum(axis=1)
    if np.dot(total - total.mean(), proj) < 0:
        proj = -proj
    expected = torch.from_numpy(np.maximum(proj, 0).reshape(acts.shape[1:])).float()
    torch.testing.assert_close(exp.extras["cam"], expected, rtol=1e-4, atol=1e-5)
    assert exp.n_backward == 0


def test_noise_free_limits_are_the_parent_methods():
    net = _conv_net(10)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(11))

    def cam(method, **kw):
        e = vidxai.explain(net, clip, method=method, layer="3", target=2, progress=False, **kw)
        return e.attribution

    torch.testing.assert_close(
        cam("smooth_gradcampp", noise_level=0.0, n_samples=3), cam("gradcampp")
    )
    torch.testing.assert_close(cam("sscam", noise_std=0.0, n_samples=2), cam("scorecam"))
    torch.testing.assert_close(cam("iscam", n_samples=1), cam("scorecam"))


@pytest.mark.parametrize("method", ["smooth_gradcampp", "sscam"])
def test_same_seed_same_map_other_seed_other_map(method):
    net = _conv_net(12)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(13))
    # layer "1": a non-linear head after it, so that the noise changes its gradients
    kw = {"layer": "1", "n_samples": 3, "progress": False, "method": method}
    a = vidxai.explain(net, clip, seed=1, **kw).attribution
    b = vidxai.explain(net, clip, seed=1, **kw).attribution
    c = vidxai.explain(net, clip, seed=2, **kw).attribution
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("method", ["smooth_gradcampp", "sscam", "ablationcam", "iscam"])
def test_results_do_not_depend_on_the_batch_size(method):
    net = _conv_net(14)
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(15))
    kw = {"layer": "1", "progress": False, "method": method, "seed": 4}
    if method != "ablationcam":
        kw["n_samples"] = 3
    a = vidxai.explain(net, clip, batch_size=1, **kw).attribution
    b = vidxai.explain(net, clip, batch_size=16, **kw).attribution
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["xgradcam", "hirescam", "eigencam"])
def test_batched_clips_equal_clips_alone(method):
    net = _conv_net(16)
    clips = torch.rand(2, 3, 4, 16, 16, generator=torch.Generator().manual_seed(17))
    both = vidxai.explain(net, clips, method=method, layer="3", target=[0, 1], progress=False)
    for i, exp in enumerate(both):
        alone = vidxai.explain(net, clips[i], method=method, layer="3", target=i, progress=False)
        torch.testing.assert_close(exp.attribution, alone.attribution, rtol=1e-5, atol=1e-6)


def test_bad_parameters_raise_parameter_error():
    bad = {
        "smooth_gradcampp": [{"n_samples": 0}, {"noise_level": -0.1}],
        "sscam": [{"n_samples": 0}, {"noise_std": -1.0}, {"max_channels": 0}, {"fill": 2.0}],
        "iscam": [{"n_samples": 0}, {"fill": -0.5}],
        "ablationcam": [{"max_channels": 0}],
        "xgradcam": [{"nope": 1}],
    }
    for method, cases in bad.items():
        for params in cases:
            with pytest.raises(ParameterError):
                get_method(method).parse_params(params)


@pytest.mark.parametrize("method", VARIANTS)
def test_unknown_layer_is_a_clear_error_and_hooks_are_removed(method):
    model = Planted()
    with pytest.raises(UnknownNameError):
        run(model, planted_clip(), method, layer="no_such_layer")
    assert count_hooks(model) == 0
