"""The deterministic CAM variants equal pytorch-grad-cam / torchcam on 2D nets when T = 1.

The same network is built with Conv2d layers (given to the reference library) and with Conv3d
layers of temporal kernel 1 carrying the same weights (given to vidxai on a 1-frame clip). The
low-resolution maps are compared after the ReLU and before either library's own normalisation,
then both are min-max normalised the same way, explicitly, and compared again.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import vidxai
from vidxai.ops import minmax

grad_cam = pytest.importorskip("pytorch_grad_cam")
torchcam_methods = pytest.importorskip("torchcam.methods")
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

LAYER = "3"  # the ReLU after the second convolution (8×8 map)


def nets(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A 2D net and the same net as Conv3d with temporal kernel 1 (copied weights)."""
    torch.manual_seed(seed)
    net2d = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 6, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 5),
    ).eval()
    net3d = nn.Sequential(
        nn.Conv3d(3, 8, (1, 3, 3), padding=(0, 1, 1)),
        nn.ReLU(),
        nn.Conv3d(8, 6, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        nn.ReLU(),
        nn.Conv3d(6, 4, (1, 3, 3), padding=(0, 1, 1)),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 5),
    ).eval()
    with torch.no_grad():
        for a, b in zip(net2d, net3d, strict=True):
            if isinstance(a, nn.Conv2d):
                b.weight.copy_(a.weight.unsqueeze(2))
                b.bias.copy_(a.bias)
            elif isinstance(a, nn.Linear):
                b.load_state_dict(a.state_dict())
    return net2d, net3d


def image(seed: int) -> torch.Tensor:
    return torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(seed))


def top_class(net2d: nn.Module, x2d: torch.Tensor) -> int:
    """The explained class: top-1, so that its logit is positive (Ablation-CAM divides by it)."""
    with torch.no_grad():
        logits = net2d(x2d)[0]
    assert logits.max() > 0
    return int(logits.argmax())


def vidxai_cam(net3d: nn.Module, x2d: torch.Tensor, method: str, target: int) -> torch.Tensor:
    """vidxai's low-resolution map ``H'×W'`` on the 1-frame clip."""
    clip = x2d[0].unsqueeze(1)
    exp = vidxai.explain(net3d, clip, method=method, target=target, layer=LAYER, progress=False)
    assert exp.behaviour == "logit"
    cam = exp.extras["cam"]
    assert cam.shape == (1, 8, 8)
    return cam[0].double()


def grad_cam_raw(cls, net2d: nn.Module, x2d: torch.Tensor, target: int) -> np.ndarray:
    """pytorch-grad-cam's map after its ReLU, before its scaling (``H'×W'``)."""
    layer = net2d[int(LAYER)]
    cam = cls(model=net2d, target_layers=[layer])
    targets = [ClassifierOutputTarget(target)]
    cam(input_tensor=x2d, targets=targets)
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    grads_list = cam.activations_and_grads.gradients
    grads = grads_list[0].cpu().numpy() if grads_list else None
    raw = cam.get_cam_image(x2d, layer, targets, acts, grads, False)
    cam.activations_and_grads.release()
    return np.maximum(raw, 0)[0]


def assert_same_map(ours: torch.Tensor, ref: np.ndarray | torch.Tensor) -> None:
    ref_t = torch.as_tensor(np.asarray(ref), dtype=torch.float64)
    assert ours.abs().sum() > 0, "degenerate map: the comparison would be empty"
    torch.testing.assert_close(ours, ref_t, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(minmax(ours[None])[0], minmax(ref_t[None])[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_xgradcam_equals_pytorch_grad_cam(seed):
    net2d, net3d = nets(seed)
    x = image(seed)
    c = top_class(net2d, x)
    ref = grad_cam_raw(grad_cam.XGradCAM, net2d, x, c)
    assert_same_map(vidxai_cam(net3d, x, "xgradcam", c), ref)


def test_xgradcam_equals_torchcam():
    net2d, net3d = nets(2)
    x = image(2)
    c = top_class(net2d, x)
    with torchcam_methods.XGradCAM(net2d, target_layer=LAYER, input_shape=(3, 16, 16)) as ext:
        scores = net2d(x)
        ref = ext(class_idx=c, scores=scores, normalized=False)[0][0].detach()
    assert_same_map(vidxai_cam(net3d, x, "xgradcam", c), ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_hirescam_equals_pytorch_grad_cam(seed):
    net2d, net3d = nets(seed)
    x = image(seed)
    c = top_class(net2d, x)
    ref = grad_cam_raw(grad_cam.HiResCAM, net2d, x, c)
    assert_same_map(vidxai_cam(net3d, x, "hirescam", c), ref)


@pytest.mark.parametrize("seed", [0, 1])
def test_ablationcam_equals_pytorch_grad_cam(seed):
    net2d, net3d = nets(seed)
    x = image(seed)
    c = top_class(net2d, x)
    ref = grad_cam_raw(grad_cam.AblationCAM, net2d, x, c)
    assert_same_map(vidxai_cam(net3d, x, "ablationcam", c), ref)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eigencam_equals_pytorch_grad_cam_up_to_the_documented_sign(seed):
    """pytorch-grad-cam keeps whatever sign its SVD returns; vidxai makes the projection
    correlate positively with the total activation. Fixing the reference's sign by that rule,
    the rectified maps agree."""
    from pytorch_grad_cam.utils.svd_on_activations import get_2d_projection

    net2d, net3d = nets(seed)
    x = image(seed)
    layer = net2d[int(LAYER)]
    cam = grad_cam.EigenCAM(model=net2d, target_layers=[layer])
    cam(input_tensor=x, targets=None)
    acts = cam.activations_and_grads.activations[0].cpu().numpy()
    cam.activations_and_grads.release()
    proj = get_2d_projection(acts)[0].astype(np.float64)  # signed H'×W'
    total = acts[0].sum(0).astype(np.float64)
    if np.sum((total - total.mean()) * proj) < 0:
        proj = -proj
    ours = vidxai_cam(net3d, x, "eigencam", top_class(net2d, x))
    assert_same_map(ours, np.maximum(proj, 0))


def plain_ablation_cam(
    net3d: nn.Module, x2d: torch.Tensor, target: int
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Ablation-CAM written out (Desai & Ramaswamy 2020): zero channel k of the layer, one
    forward pass of the layers above per channel, w_k = (s − s_k)/s with negative weights kept;
    returns (ReLU(Σ_k w_k A_k) ``H'×W'``, w ``K``, s)."""
    clip = x2d.unsqueeze(2)  # 1×C×1×H×W
    with torch.no_grad():
        head = net3d[int(LAYER) + 1 :]
        acts = net3d[: int(LAYER) + 1](clip)  # 1×K×1×H'×W'
        s = float(head(acts)[0, target])
        weights = []
        for k in range(acts.shape[1]):
            ablated = acts.clone()
            ablated[:, k] = 0
            weights.append((s - float(head(ablated)[0, target])) / s)
    w = torch.tensor(weights, dtype=torch.float64)
    return torch.relu((w.view(-1, 1, 1, 1) * acts[0].double()).sum(0))[0], w, s


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ablationcam_keeps_negative_weights_and_the_sign_of_the_score(seed):
    """A class with a negative logit (s < 0, as for the sanity check's randomised models): the
    weights (s − s_k)/s have both signs and are divided by a negative score. vidxai equals the
    plain re-implementation and pytorch-grad-cam, which keeps negative weights too."""
    net2d, net3d = nets(seed)
    x = image(seed)
    with torch.no_grad():
        logits = net2d(x)[0]
    for c in logits.argsort().tolist():  # lowest logit first; the first with a non-zero map
        plain, w, s = plain_ablation_cam(net3d, x, c)
        if s < 0 and plain.abs().sum() > 0:
            break
    else:
        pytest.fail("no class with a negative logit and a non-zero Ablation-CAM map")
    assert (w < 0).any() and (w > 0).any()
    ours = vidxai_cam(net3d, x, "ablationcam", c)
    assert_same_map(ours, plain)
    assert_same_map(ours, grad_cam_raw(grad_cam.AblationCAM, net2d, x, c))
