"""The CAM family against plain re-implementations written in the test with torch.autograd."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vidxai.api as api
from vidxai.cam.core import gradcampp_weights, upsample
from vidxai.ops import minmax


def _reference_acts_grads(model, x, cls, behaviour="logit"):  # the CAM default
    """Activations of ``model.features`` and the gradient of the target there, by hand."""
    acts = model.features(x)
    logits = model.fc(model.pool(acts).flatten(1))
    score = logits[0, cls] if behaviour == "logit" else torch.softmax(logits, dim=1)[0, cls]
    (grads,) = torch.autograd.grad(score, acts)
    return acts.detach(), grads


def _explain(model, x, method, **kw):
    return api.explain(model, x[0], method=method, progress=False, **kw)


def test_gradcam_matches_plain_autograd(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "gradcam", target=2, layer="features")
    acts, grads = _reference_acts_grads(tiny_model, tiny_clip, 2)
    weights = grads.mean(dim=(2, 3, 4))  # N×C
    cam = torch.relu((weights[:, :, None, None, None] * acts).sum(1))
    ref = F.interpolate(cam[:, None], size=(8, 32, 32), mode="trilinear", align_corners=False)
    assert torch.allclose(exp.attribution, ref[0, 0], atol=1e-7, rtol=1e-5)
    assert torch.allclose(exp.extras["cam"], cam[0], atol=1e-8, rtol=1e-5)
    assert exp.n_forward == 2 and exp.n_backward == 1
    assert exp.extras["layer"] == "features"


def test_gradcam_per_time_slice_matches_plain_autograd(tiny_model, tiny_clip):
    exp = _explain(
        tiny_model, tiny_clip, "gradcam", target=1, layer="features", per_time_slice=True
    )
    acts, grads = _reference_acts_grads(tiny_model, tiny_clip, 1)
    cam = torch.zeros(acts.shape[2:])
    for t in range(acts.shape[2]):  # mmaction2 / STEP: one weight per channel and time slice
        w = grads[0, :, t].mean(dim=(1, 2))
        cam[t] = torch.relu((w[:, None, None] * acts[0, :, t]).sum(0))
    assert torch.allclose(exp.extras["cam"], cam, atol=1e-8, rtol=1e-5)


def test_gradcampp_matches_slow_formula(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "gradcampp", target=0, layer="features")
    acts, grads = _reference_acts_grads(tiny_model, tiny_clip, 0)
    a, g = acts[0].double(), grads[0].double()
    cam = torch.zeros(a.shape[1:], dtype=torch.float64)
    for c in range(a.shape[0]):  # Chattopadhay et al., eq. 19 with the exponential score
        total = a[c].sum()
        weight = 0.0
        for idx in itertools.product(*[range(s) for s in a.shape[1:]]):
            gi = g[c][idx]
            denom = 2 * gi**2 + total * gi**3
            alpha = gi**2 / denom if denom != 0 else 0.0
            weight += alpha * max(float(gi), 0.0)
        cam += weight * a[c]
    assert torch.allclose(exp.extras["cam"].double(), cam.clamp(min=0), atol=1e-9, rtol=1e-4)


def test_gradcampp_zero_denominator_gives_zero_weight():
    acts = torch.zeros(1, 2, 1, 2, 2)
    grads = torch.zeros(1, 2, 1, 2, 2)
    assert torch.equal(gradcampp_weights(acts, grads), torch.zeros(1, 2, 1, 1, 1))


def test_layercam_matches_plain_autograd(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "layercam", target=3, layer="features.0")
    x = tiny_clip
    acts = tiny_model.features[0](x)
    rest = tiny_model.features[1:](acts)
    score = tiny_model.fc(tiny_model.pool(rest).flatten(1))[0, 3]  # the logit (CAM default)
    (grads,) = torch.autograd.grad(score, acts)
    cam = torch.relu((grads.clamp(min=0) * acts.detach()).sum(1))[0]
    assert torch.allclose(exp.extras["cam"], cam, atol=1e-8, rtol=1e-5)


def test_scorecam_matches_slow_loop(tiny_model, tiny_clip):
    exp = _explain(tiny_model, tiny_clip, "scorecam", target=1, layer="features", batch_size=3)
    with torch.no_grad():
        acts = tiny_model.features(tiny_clip)[0]
        scores = []
        for c in range(acts.shape[0]):
            m = F.interpolate(acts[c][None, None], size=(8, 32, 32), mode="trilinear")[0, 0]
            m = (m - m.min()) / (m.max() - m.min())
            scores.append(tiny_model(tiny_clip * m)[0, 1])  # the logit; black fill = 0
        w = torch.softmax(torch.stack(scores), 0)
        cam = torch.relu((w[:, None, None, None] * acts).sum(0))
    assert torch.allclose(exp.extras["channel_scores"], torch.stack(scores), atol=1e-6)
    assert torch.allclose(exp.extras["cam"], cam, atol=1e-7, rtol=1e-5)
    assert exp.n_forward == 2 + acts.shape[0] and exp.n_backward == 0


def test_scorecam_batch_size_parity_and_channel_budget(tiny_model, tiny_clip):
    a = _explain(tiny_model, tiny_clip, "scorecam", batch_size=1).attribution
    b = _explain(tiny_model, tiny_clip, "scorecam", batch_size=5).attribution
    assert torch.allclose(a, b, atol=1e-7)
    few = _explain(tiny_model, tiny_clip, "scorecam", max_channels=3, weighting="increase")
    assert few.extras["channels"].numel() == 3
    assert few.n_forward == 1 + 1 + 3 + 1  # intact, capture, 3 masks, fill-only clip


class Net2d(nn.Module):
    """A 2D CNN on images N×3×H×W."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, stride=2, padding=1)
        )
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


class Net3dFromNet2d(nn.Module):
    """The same network as 3D convolutions with temporal kernel 1, for clips N×3×T×H×W."""

    def __init__(self, net: Net2d) -> None:
        super().__init__()
        convs = []
        for m in net.features:
            if isinstance(m, nn.Conv2d):
                c3 = nn.Conv3d(m.in_channels, m.out_channels, (1, 3, 3), (1, *m.stride), (0, 1, 1))
                c3.weight.data = m.weight.data[:, :, None].clone()
                c3.bias.data = m.bias.data.clone()
                convs.append(c3)
            else:
                convs.append(nn.ReLU())
        self.features = nn.Sequential(*convs)
        self.fc = net.fc

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3, 4)))


class FrameWise(nn.Module):
    """Runs a 2D net frame by frame: N×3×T×H×W → (N·T)×3×H×W → logits averaged over T."""

    def __init__(self, net: Net2d) -> None:
        super().__init__()
        self.net = net

    def forward(self, x):
        n, c, t, h, w = x.shape
        frames = x.permute(0, 2, 1, 3, 4).reshape(n * t, c, h, w)
        return self.net(frames).reshape(n, t, -1).mean(1)


@pytest.mark.parametrize("method", ["gradcam", "gradcampp", "layercam"])
def test_single_frame_gives_the_2d_result(method):
    torch.manual_seed(0)
    net = Net2d().eval()
    image = torch.rand(1, 3, 20, 24)
    acts = net.features(image)
    score = net.fc(acts.mean(dim=(2, 3)))[0, 1]  # the logit (CAM default)
    (grads,) = torch.autograd.grad(score, acts)
    acts = acts.detach()
    if method == "gradcam":
        cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * acts).sum(1))
    elif method == "layercam":
        cam = torch.relu((grads.clamp(min=0) * acts).sum(1))
    else:
        g2, g3 = grads**2, grads**3
        alpha = g2 / (2 * g2 + acts.sum(dim=(2, 3), keepdim=True) * g3)
        alpha = torch.where(torch.isfinite(alpha), alpha, 0.0)
        cam = torch.relu(((alpha * grads.clamp(min=0)).sum(dim=(2, 3), keepdim=True) * acts).sum(1))
    ref = F.interpolate(cam[:, None], size=(20, 24), mode="bilinear", align_corners=False)[0, 0]
    clip = image.unsqueeze(2)  # T = 1
    cases = ((Net3dFromNet2d(net).eval(), "features.2"), (FrameWise(net), "net.features.2"))
    for model, layer in cases:
        exp = api.explain(model, clip[0], method=method, target=1, layer=layer, progress=False)
        assert exp.attribution.shape == (1, 20, 24)
        assert torch.allclose(exp.attribution[0], ref, atol=1e-7, rtol=1e-4), layer


def test_frame_wise_per_time_slice_is_per_frame_2d_gradcam():
    # score = mean_t logit_t, so per-time-slice weights are 1/T × each frame's own 2D weights
    torch.manual_seed(0)
    net = Net2d().eval()
    clip = torch.rand(3, 4, 16, 16)
    exp = api.explain(
        FrameWise(net),
        clip,
        method="gradcam",
        target=2,
        behaviour="logit",
        layer="net.features.2",
        per_time_slice=True,
        progress=False,
    )
    assert exp.extras["layer_layout"]["kind"] == "frames"
    for t in range(4):
        frame = clip[:, t].unsqueeze(0)
        acts = net.features(frame)
        (grads,) = torch.autograd.grad(net.fc(acts.mean(dim=(2, 3)))[0, 2], acts)
        cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * acts.detach()).sum(1))[0] / 4
        assert torch.allclose(exp.extras["cam"][t], cam, atol=1e-8, rtol=1e-5)


def test_upsample_is_trilinear_and_minmax():
    cam = torch.arange(8.0).reshape(1, 2, 2, 2)
    up = upsample(cam, (4, 4, 4))
    ref = F.interpolate(cam[:, None], size=(4, 4, 4), mode="trilinear", align_corners=False)[:, 0]
    assert torch.equal(up, ref)
    single = upsample(torch.rand(1, 1, 2, 2), (5, 6, 6))
    assert torch.allclose(single, single[:, :1].expand_as(single))  # one slice → constant in time
    m = minmax(torch.tensor([[1.0, 3.0, 2.0], [4.0, 4.0, 4.0]]))
    assert torch.equal(m, torch.tensor([[0.0, 1.0, 0.5], [0.0, 0.0, 0.0]]))
