"""QA regressions for the front door: bad inputs found by a new-user pass over issue 2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

import vidxai
from vidxai.core.registry import MethodSpec, list_methods
from vidxai.errors import (
    InvalidInputError,
    ParameterError,
    UnknownNameError,
    VideoReadError,
    WeightsUnavailableError,
)
from vidxai.models.adapter import InputSpec, VideoClassifier
from vidxai.video import validate_frames, write_video


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(3, 2, 1), nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(2, 3)
    ).eval()


@pytest.fixture
def classifier() -> VideoClassifier:
    spec = InputSpec(num_frames=4, size=(8, 8), resize=None, crop="none")
    return VideoClassifier(_net(), spec, class_names=["a", "b", "c"])


@pytest.fixture
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (6, 12, 16, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda f: f[..., 0], "grayscale frames T×H×W"),
        (lambda f: f[..., :1], "grayscale frames T×H×W×1"),
        (lambda f: np.concatenate([f, f[..., :1]], -1), "RGBA"),
    ],
)
def test_grayscale_and_rgba_frames_are_refused_and_untouched(
    classifier, frames, make, match
) -> None:
    bad = make(frames)
    before = bad.copy()
    with pytest.raises(InvalidInputError, match=match):
        vidxai.explain(classifier, bad, progress=False)
    np.testing.assert_array_equal(bad, before)


def test_gray_converted_as_the_error_suggests_is_accepted(classifier, frames) -> None:
    gray = frames[..., 0]
    converted = validate_frames(gray)
    np.testing.assert_array_equal(converted, np.repeat(gray[..., None], 3, -1))
    exp = vidxai.explain(classifier, converted, progress=False)
    assert exp.attribution.shape == (4, 8, 8) and torch.isfinite(exp.attribution).all()


def test_single_frame_video_names_the_file(classifier, frames, tmp_path) -> None:
    path = write_video(tmp_path / "one.gif", frames[:1], 10)
    with pytest.raises(InvalidInputError, match=r"one\.gif has 1 frame"):
        vidxai.explain(classifier, path, progress=False)


def test_explain_inside_inference_mode_gives_gradients() -> None:
    net = _net()
    x = torch.rand(3, 4, 8, 8)
    expected = vidxai.explain(net, x, target=1, progress=False).attribution
    with torch.inference_mode():
        exp = vidxai.explain(net, x, target=1, progress=False)
    assert not exp.attribution.is_inference()
    torch.testing.assert_close(exp.attribution, expected)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": 2**64}, "seed"),
        ({"seed": True}, "seed"),
        ({"batch_size": True}, "batch_size"),
        ({"batch_size": 2.0}, "batch_size"),
    ],
)
def test_seed_and_batch_size_checked(kwargs, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        vidxai.explain(_net(), torch.rand(3, 4, 8, 8), progress=False, **kwargs)


def test_numpy_seed_and_batch_size_accepted() -> None:
    x = torch.rand(3, 4, 8, 8)
    a = vidxai.explain(_net(), x, seed=np.int64(3), batch_size=np.int64(2), progress=False)
    assert a.seed == 3 and type(a.seed) is int and a.params["batch_size"] == 2


def test_float64_model_gets_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match=r"model\.float\(\)"):
        vidxai.explain(_net().double(), torch.rand(3, 4, 8, 8), progress=False)


@dataclass(frozen=True)
class _Params:
    sigma: float = 1.0
    steps: int = 2
    radius: float | None = None


_SPEC = MethodSpec("qa_dummy", lambda ctx, p: None, _Params, "test", "dummy")  # type: ignore


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", float("nan"), float("inf")])
@pytest.mark.parametrize("name", ["sigma", "radius"])
def test_non_finite_float_parameters_rejected(name, value) -> None:
    with pytest.raises(ParameterError, match="finite"):
        _SPEC.parse_params({name: value})


def test_numpy_numbers_accepted_as_parameters() -> None:
    params = _SPEC.parse_params({"steps": np.int64(4), "sigma": np.float32(0.5)})
    assert params.steps == 4 and type(params.steps) is int
    assert params.sigma == 0.5 and type(params.sigma) is float


def test_unknown_method_family() -> None:
    assert {s.family for s in list_methods("gradient")} == {"gradient"}
    with pytest.raises(UnknownNameError, match="gradient"):
        list_methods("nope")


def test_unreadable_weights_and_explanation_files_give_one_line(tmp_path) -> None:
    garbage = tmp_path / "g.pt"
    garbage.write_bytes(bytes(range(256)) * 4)
    whole = tmp_path / "whole.pt"
    torch.save(_net(), whole)
    for path, why in ((garbage, "not a file written by torch.save"), (whole, "pickled")):
        with pytest.raises(WeightsUnavailableError, match=why) as info:
            vidxai.load_model("vidxai-demo", weights=path)
        assert "\n" not in str(info.value)
        with pytest.raises(VideoReadError, match=why) as info:
            vidxai.load_explanation(path)
        assert "\n" not in str(info.value)


def test_offline_default_weights_error_is_one_line(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("VIDXAI_OFFLINE", "1")
    with pytest.raises(WeightsUnavailableError, match=r"--weights r3d_18\.pt") as info:
        vidxai.load_model("r3d_18", weights="DEFAULT", num_frames=2, size=16)
    assert "\n" not in str(info.value)


def test_numpy_extras_survive_save_and_load(tmp_path) -> None:
    exp = vidxai.explain(_net(), torch.rand(3, 4, 8, 8), progress=False)
    exp.extras.update(
        arr=np.arange(3.0), scalar=np.float32(1.5), nested={"k": (1, np.int64(2))},
        names=np.array(["a", "b"]),
    )  # fmt: skip
    loaded = vidxai.load_explanation(exp.save(tmp_path / "e.pt"))
    torch.testing.assert_close(loaded.extras["arr"], torch.arange(3.0, dtype=torch.float64))
    assert loaded.extras["scalar"] == 1.5 and loaded.extras["nested"] == {"k": (1, 2)}
    assert loaded.extras["names"] == ["a", "b"]
    assert isinstance(exp.extras["arr"], np.ndarray)  # the explanation itself is unchanged


def test_save_to_unwritable_path_is_a_vidxai_error(tmp_path) -> None:
    exp = vidxai.explain(_net(), torch.rand(3, 4, 8, 8), progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for path, match in ((tmp_path, "folder"), (blocker / "e.pt", "Cannot write")):
        with pytest.raises(InvalidInputError, match=match):
            exp.save(path)
    assert blocker.read_text() == "x"


class _Head(nn.Module):
    """Linear head on channel means, with a configurable way to misbehave."""

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 5)
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "assert":
            assert x.shape[2] == 16, "this model needs 16 frames"
        out = self.fc(x.mean((2, 3, 4)))
        if self.mode == "squeeze":
            return out.squeeze()  # K for one clip: must not pass for a regression
        if self.mode == "nan":
            return out * float("nan")
        return out


@pytest.mark.parametrize(
    ("mode", "match"),
    [
        ("squeeze", r"returned shape \(5,\) for a batch of 1"),
        ("nan", "NaN or infinite"),
        ("assert", "needs 16 frames"),
    ],
)
def test_misbehaving_model_outputs_are_named(mode, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        vidxai.explain(_Head(mode), torch.rand(3, 4, 8, 8), progress=False)


@pytest.mark.parametrize("shape", [(3, 0, 8, 8), (3, 4, 0, 8), (1, 3, 4, 8, 0)])
def test_empty_tensor_video(shape) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        vidxai.explain(_net(), torch.rand(shape), progress=False)
