"""The front door: explain() on plain modules, the saliency method, state restoration, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai
from vidxai.core import registry
from vidxai.core.hooks import count_hooks
from vidxai.core.registry import MethodSpec
from vidxai.errors import InvalidInputError, ParameterError, TargetError, UnknownNameError


def _manual_saliency(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    xg = x.clone().requires_grad_(True)
    logit = model(xg)[0, target]  # gradient methods default to the target's logit
    (grad,) = torch.autograd.grad(logit, xg)
    return grad.abs().amax(dim=1)[0]


def test_saliency_matches_autograd_by_hand(tiny_model, tiny_clip) -> None:
    exp = vidxai.explain(tiny_model, tiny_clip[0], method="saliency", target=2, progress=False)
    expected = _manual_saliency(tiny_model, tiny_clip, 2)
    assert exp.attribution.shape == (8, 32, 32)
    torch.testing.assert_close(exp.attribution, expected)
    assert exp.target == 2 and exp.method == "saliency"
    assert exp.behaviour == "logit"
    assert exp.score == pytest.approx(tiny_model(tiny_clip)[0, 2].item(), rel=1e-5)
    assert (exp.n_forward, exp.n_backward) == (2, 1)
    assert set(exp.timings) >= {"segmentation", "inference", "explanation", "total"}
    assert exp.params["polarity"] == "absolute" and exp.params["batch_size"] >= 1


def test_default_target_is_top1_and_5d_input_is_a_batch(tiny_model, tiny_clip) -> None:
    (exp,) = vidxai.explain(tiny_model, tiny_clip, progress=False)  # 1×C×T×H×W: a batch of one
    assert exp.target == int(tiny_model(tiny_clip).argmax())


def test_polarity_and_behaviour(tiny_model, tiny_clip) -> None:
    xg = tiny_clip.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(tiny_model(xg)[0, 1], xg)
    exp = vidxai.explain(
        tiny_model, tiny_clip[0], target=1, behaviour="logit", polarity="both", progress=False
    )
    torch.testing.assert_close(exp.attribution, grad.sum(1)[0])
    assert exp.behaviour == "logit"


def test_same_seed_same_result(tiny_model, tiny_clip) -> None:
    a = vidxai.explain(tiny_model, tiny_clip[0], seed=3, progress=False)
    b = vidxai.explain(tiny_model, tiny_clip[0], seed=3, progress=False)
    assert torch.equal(a.attribution, b.attribution)


def test_state_restored_and_input_untouched(tiny_model, tiny_clip) -> None:
    tiny_model.train()
    tiny_model.features[0].weight.requires_grad_(False)
    before = tiny_clip.clone()
    vidxai.explain(tiny_model, tiny_clip[0], progress=False)
    assert all(m.training for m in tiny_model.modules())
    assert not tiny_model.features[0].weight.requires_grad
    assert tiny_model.fc.weight.requires_grad
    assert count_hooks(tiny_model) == 0
    assert torch.equal(before, tiny_clip)


def test_state_restored_when_method_raises(tiny_model, tiny_clip, monkeypatch) -> None:
    def boom(ctx, params):
        ctx.module.fc.register_forward_hook(lambda *a: None).remove()
        raise RuntimeError("boom")

    spec = MethodSpec("boom", boom, registry.get_method("saliency").params, "test", "raises")
    monkeypatch.setitem(registry._REGISTRY, "boom", spec)
    tiny_model.train()
    with pytest.raises(RuntimeError, match="boom"):
        vidxai.explain(tiny_model, tiny_clip[0], method="boom", progress=False)
    assert all(m.training for m in tiny_model.modules())


def test_regression_model_explained_as_is(tiny_clip) -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 32 * 32, 1))
    exp = vidxai.explain(model, tiny_clip[0], behaviour="probability", progress=False)
    assert exp.target is None and exp.behaviour == "identity"
    assert exp.score == pytest.approx(model(tiny_clip).item(), rel=1e-5)
    with pytest.raises(TargetError, match="regression"):
        vidxai.explain(model, tiny_clip[0], target=3, progress=False)


def test_save_and_load_round_trip(tiny_model, tiny_clip, tmp_path) -> None:
    exp = vidxai.explain(tiny_model, tiny_clip[0], progress=False)
    exp.extras["note"] = torch.arange(3)
    loaded = vidxai.load_explanation(exp.save(tmp_path / "e.pt"))
    assert torch.equal(loaded.attribution, exp.attribution)
    for name in ("method", "params", "target", "score", "seed", "n_forward", "n_backward"):
        assert getattr(loaded, name) == getattr(exp, name)
    assert loaded.timings == exp.timings and torch.equal(loaded.extras["note"], torch.arange(3))


def test_load_rejects_foreign_files(tmp_path) -> None:
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(vidxai.VidxaiError):
        vidxai.load_explanation(tmp_path / "x.pt")
    with pytest.raises(vidxai.VidxaiError, match="No explanation"):
        vidxai.load_explanation(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "nope"}, UnknownNameError, "Unknown method"),
        ({"polarity": "up"}, ParameterError, "polarity"),
        ({"n_samples": 3}, ParameterError, "no parameter"),
        ({"target": 9}, TargetError, "out of range"),
        ({"batch_size": 0}, InvalidInputError, "batch_size"),
        ({"seed": "a"}, InvalidInputError, "seed"),
    ],
)
def test_bad_arguments(tiny_model, tiny_clip, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        vidxai.explain(tiny_model, tiny_clip[0], progress=False, **kwargs)


@pytest.mark.parametrize(
    ("video", "match"),
    [
        (torch.rand(3, 8, 32), "C×T×H×W"),
        (torch.full((3, 8, 32, 32), float("nan")), "NaN"),
        (torch.zeros(3, 8, 32, 32, dtype=torch.int64), "dtype"),
        (torch.rand(5, 8, 32, 32), "does not match|cannot run"),
        ([1, 2, 3], "video must be"),
    ],
)
def test_bad_videos(tiny_model, video, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        vidxai.explain(tiny_model, video, progress=False)


def test_frames_need_an_input_contract(tiny_model) -> None:
    frames = torch.zeros(8, 32, 32, 3, dtype=torch.uint8).numpy()
    with pytest.raises(InvalidInputError, match="input contract"):
        vidxai.explain(tiny_model, frames, progress=False)


def test_bad_model_and_device(tiny_clip, tiny_model) -> None:
    with pytest.raises(InvalidInputError, match="model must be"):
        vidxai.explain(object(), tiny_clip, progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="CUDA"):
            vidxai.explain(tiny_model, tiny_clip[0], device="cuda", progress=False)


def test_model_failing_on_the_input_gives_a_clear_error() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 8 * 8, 2))
    with pytest.raises(InvalidInputError, match="cannot run on an input of shape"):
        vidxai.explain(model, torch.rand(3, 8, 8, 8), progress=False)


def test_layer_may_be_a_module_of_the_model(tiny_model, tiny_clip) -> None:
    by_name = vidxai.explain(tiny_model, tiny_clip[0], method="gradcam", layer="features.2")
    by_module = vidxai.explain(
        tiny_model, tiny_clip[0], method="gradcam", layer=tiny_model.features[2]
    )
    torch.testing.assert_close(by_module.attribution, by_name.attribution)
    assert by_module.extras["layer"] == "features.2"
    with pytest.raises(ParameterError, match="not a sub-module"):
        vidxai.explain(tiny_model, tiny_clip[0], method="gradcam", layer=nn.Conv3d(3, 3, 1))
