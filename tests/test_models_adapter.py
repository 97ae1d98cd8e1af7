"""VideoClassifier, InputSpec and Geometry: preprocessing and the way back, on known geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from vidxai.errors import InvalidInputError, UnsupportedModelError
from vidxai.models.adapter import (
    Geometry,
    InputSpec,
    VideoClassifier,
    as_classifier,
    unwrap_logits,
)

IDENTITY = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def _nearest_reference(indices: tuple[int, ...], t0: int) -> list[int]:
    """Slow reference: for every original frame, the first model frame at minimal distance."""
    out = []
    for j in range(t0):
        dists = [abs(j - i) for i in indices]
        out.append(dists.index(min(dists)))
    return out


class _Recorder(nn.Module):
    """Records its input; returns per-clip sums as 1×2 'logits' in the wrapper given."""

    def __init__(self, wrap: str = "tensor") -> None:
        super().__init__()
        self.wrap = wrap
        self.seen: Tensor | None = None

    def forward(self, x: Tensor):
        self.seen = x
        logits = torch.stack([x.flatten(1).sum(1), x.flatten(1).mean(1)], dim=1)
        if self.wrap == "tuple":
            return (logits, "extra")
        if self.wrap == "dict":
            return {"logits": logits}
        if self.wrap == "object":
            return type("Out", (), {"logits": logits})()
        return logits


# ---- preprocessing -------------------------------------------------------------------------


def test_crop_without_scaling_maps_a_marker_pixel_exactly() -> None:
    # 10 frames 40×60; exact resize to 40×60 (identity) then a 20×30 centre crop: top 10, left 15
    frames = np.zeros((10, 40, 60, 3), np.uint8)
    frames[5, 12, 20] = (255, 0, 0)
    spec = InputSpec(num_frames=5, size=(20, 30), resize=(40, 60), **IDENTITY)
    x, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    assert x.shape == (3, 5, 20, 30) and x.dtype == torch.float32
    assert geo.frame_indices == (0, 2, 5, 7, 9)  # linspace(0, 9, 5) rounded half up
    assert geo.crop_box == (10, 15, 20, 30) and geo.resized_size == (40, 60)
    hot = (x > 0).nonzero().tolist()
    assert hot == [[0, 2, 2, 5]]  # channel R, model frame 2 (= frame 5), row 12-10, col 20-15
    assert x[0, 2, 2, 5].item() == 1.0


def test_scaled_marker_lands_at_the_predicted_model_voxel() -> None:
    # 40×60 → short side 32 → 32×48; centre crop 24×24 at top 4, left 12; scale 0.8
    frames = np.zeros((10, 40, 60, 3), np.uint8)
    frames[5, 20:25, 30:35] = 255  # block centred on pixel (22, 32)
    spec = InputSpec(num_frames=5, size=(24, 24), resize=32, **IDENTITY)
    x, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    assert geo.resized_size == (32, 48) and geo.crop_box == (4, 12, 24, 24)
    assert x[:, [0, 1, 3, 4]].abs().max() == 0  # the marker is only in frame 5 = model frame 2
    m = x[0, 2]
    ys, xs = torch.meshgrid(torch.arange(24.0), torch.arange(24.0), indexing="ij")
    cy, cx = (m * ys).sum() / m.sum(), (m * xs).sum() / m.sum()
    # pixel centre 22 → (22 + 0.5) · 0.8 − 0.5 = 17.5 in the resized frame, minus the crop offset
    assert abs(cy.item() - (17.5 - 4)) < 0.05
    assert abs(cx.item() - ((32 + 0.5) * 0.8 - 0.5 - 12)) < 0.05


def test_normalisation_of_a_constant_colour() -> None:
    frames = np.empty((4, 8, 8, 3), np.uint8)
    frames[...] = (255, 0, 51)
    spec = InputSpec(
        num_frames=4,
        size=(8, 8),
        resize=None,
        crop="none",
        mean=(0.5, 0.2, 0.1),
        std=(0.5, 0.25, 0.2),
    )
    x, _ = VideoClassifier(nn.Identity(), spec).prepare(frames)
    torch.testing.assert_close(x[0], torch.full((4, 8, 8), 1.0))
    torch.testing.assert_close(x[1], torch.full((4, 8, 8), -0.8))
    torch.testing.assert_close(x[2], torch.full((4, 8, 8), 0.5))


def test_prepare_matches_torchvision_video_transform() -> None:
    """Reference: torchvision's own Kinetics preprocessing of r3d_18 (resizes uint8 frames)."""
    from torchvision.models.video import R3D_18_Weights

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (16, 90, 120, 3), dtype=np.uint8)
    frames = np.asarray(
        torch.nn.functional.avg_pool2d(
            torch.from_numpy(frames).permute(0, 3, 1, 2).float(), 3, 1, 1
        )
        .permute(0, 2, 3, 1)
        .round()
        .byte()
    )
    spec = InputSpec(num_frames=16, size=(112, 112), resize=(128, 171))
    ours, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    ref = R3D_18_Weights.DEFAULT.transforms()(torch.from_numpy(frames).permute(0, 3, 1, 2))
    assert geo.frame_indices == tuple(range(16))
    assert ref.shape == ours.shape
    # both resize uint8 frames; rounding may differ by one level on a few pixels
    diff = (ours - ref).abs()
    assert diff.max() < 1.01 / 255 / 0.216989
    assert diff.mean() < 0.3 / 255 / 0.216989


def test_prepare_leaves_input_untouched_and_repeats_frames_of_short_videos() -> None:
    frames = np.arange(3 * 4 * 4 * 3, dtype=np.uint8).reshape(3, 4, 4, 3)
    before = frames.copy()
    spec = InputSpec(num_frames=6, size=(4, 4), resize=None, crop="none", **IDENTITY)
    x, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    np.testing.assert_array_equal(frames, before)
    assert geo.frame_indices == (0, 0, 1, 1, 2, 2)
    torch.testing.assert_close(x[:, 0], x[:, 1])


@pytest.mark.parametrize(
    "frames",
    [
        np.zeros((4, 8, 8), np.uint8),
        np.zeros((4, 8, 8, 4), np.uint8),
        np.zeros((4, 8, 8, 3), np.float32),
    ],
)
def test_prepare_rejects_bad_frames(frames: np.ndarray) -> None:
    with pytest.raises(InvalidInputError):
        VideoClassifier(nn.Identity(), InputSpec()).prepare(frames)


def test_to_pixels_undoes_normalisation() -> None:
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (5, 12, 16, 3), dtype=np.uint8)
    spec = InputSpec(num_frames=5, size=(12, 16), resize=None, crop="none")
    clf = VideoClassifier(nn.Identity(), spec)
    x, _ = clf.prepare(frames)
    back = clf.to_pixels(x)
    assert back.dtype == torch.uint8 and back.shape == (5, 12, 16, 3)
    np.testing.assert_array_equal(back.numpy(), frames)
    with pytest.raises(InvalidInputError):
        clf.to_pixels(x[None])


# ---- geometry back to the original -------------------------------------------------------------


def test_to_original_impulse_crop_and_frame_mapping() -> None:
    geo = Geometry(
        frame_indices=(0, 2, 5, 7, 9), num_frames=10, original_size=(40, 60),
        resized_size=(40, 60), crop_box=(10, 15, 20, 30),
    )  # fmt: skip
    att = torch.zeros(5, 20, 30)
    att[3, 4, 6] = 2.5
    out = geo.to_original(att)
    assert out.shape == (10, 40, 60) and out.dtype == torch.float32
    nearest = _nearest_reference(geo.frame_indices, 10)
    assert nearest == [0, 0, 1, 1, 2, 2, 2, 3, 3, 4]
    assert geo.nearest_model_frames().tolist() == nearest
    for j in range(10):
        expected = torch.zeros(40, 60)
        if nearest[j] == 3:
            expected[14, 21] = 2.5
        torch.testing.assert_close(out[j], expected)


def test_to_original_with_scaling_keeps_cropped_areas_zero() -> None:
    frames = np.zeros((10, 40, 60, 3), np.uint8)
    spec = InputSpec(num_frames=5, size=(24, 24), resize=32, **IDENTITY)
    _, geo = VideoClassifier(nn.Identity(), spec).prepare(frames)
    out = geo.to_original(torch.ones(5, 24, 24))
    # the crop covers resized columns 12..36 → original columns 15..45 (scale 1/0.8)
    assert out.shape == (10, 40, 60)
    assert out[:, :, :14].abs().max() == 0 and out[:, :, 46:].abs().max() == 0
    assert out[:, :4].abs().max() == 0 and out[:, 36:].abs().max() == 0
    torch.testing.assert_close(out[:, 8:32, 18:42], torch.ones(10, 24, 24))
    # a model-space block returns to where its marker came from
    att = torch.zeros(5, 24, 24)
    att[2, 13:15, 13:15] = 1.0
    back = geo.to_original(att)[5]
    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(60.0), indexing="ij")
    cy, cx = (back * ys).sum() / back.sum(), (back * xs).sum() / back.sum()
    assert abs(cy.item() - 22.0) < 0.1 and abs(cx.item() - 32.0) < 0.1


def test_to_original_rejects_wrong_shape() -> None:
    geo = Geometry((0, 1), 2, (8, 8), (8, 8), (0, 0, 8, 8))
    with pytest.raises(InvalidInputError, match=r"\(2, 8, 8\)"):
        geo.to_original(torch.zeros(2, 8, 7))


def test_geometry_dict_round_trip_through_torch_save(tmp_path) -> None:
    geo = Geometry((0, 3, 6), 7, (40, 60), (32, 48), (4, 12, 24, 24))
    torch.save(geo.to_dict(), tmp_path / "g.pt")
    loaded = Geometry.from_dict(torch.load(tmp_path / "g.pt", weights_only=True))
    assert loaded == geo
    with pytest.raises(InvalidInputError):
        Geometry.from_dict({"num_frames": 3})


# ---- InputSpec ---------------------------------------------------------------------------------


def test_input_spec_resized_size_and_validation() -> None:
    spec = InputSpec(size=(112, 112), resize=128)
    assert spec.resized_size(240, 320) == (128, 170)  # short side 128, long side truncated
    assert spec.resized_size(320, 240) == (170, 128)
    assert InputSpec(size=32, resize=None).size == (32, 32)
    with pytest.raises(InvalidInputError):
        InputSpec(layout="NHWC")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        InputSpec(size=(112, 112), resize=100)
    with pytest.raises(InvalidInputError):
        InputSpec(std=(0.0, 1.0, 1.0))
    with pytest.raises(InvalidInputError):
        InputSpec(crop="none", resize=128)


# ---- forward -----------------------------------------------------------------------------------


def test_forward_permutes_to_ntchw() -> None:
    rec = _Recorder()
    clf = VideoClassifier(rec, InputSpec(layout="NTCHW", num_frames=4, size=(6, 5)))
    x = torch.randn(2, 3, 4, 6, 5)
    out = clf(x)
    assert rec.seen is not None and rec.seen.shape == (2, 4, 3, 6, 5)
    torch.testing.assert_close(rec.seen, x.permute(0, 2, 1, 3, 4))
    torch.testing.assert_close(out[:, 0], x.flatten(1).sum(1))


def test_forward_keeps_ncthw() -> None:
    rec = _Recorder()
    clf = VideoClassifier(rec, InputSpec(num_frames=4, size=(6, 5)))
    x = torch.randn(2, 3, 4, 6, 5)
    clf(x)
    assert rec.seen is x


@pytest.mark.parametrize("wrap", ["tensor", "tuple", "dict", "object"])
def test_forward_unwraps_logits(wrap: str) -> None:
    clf = VideoClassifier(_Recorder(wrap), InputSpec(num_frames=2, size=(3, 3)))
    x = torch.randn(3, 3, 2, 3, 3)
    out = clf(x)
    assert isinstance(out, Tensor) and out.shape == (3, 2)


def test_forward_unwraps_hf_model_output() -> None:
    from transformers.modeling_outputs import ImageClassifierOutput

    logits = torch.randn(2, 5)
    assert unwrap_logits(ImageClassifierOutput(logits=logits)) is logits
    with pytest.raises(UnsupportedModelError):
        unwrap_logits("not logits")


def test_shape_mismatch_names_expected_and_got() -> None:
    clf = VideoClassifier(nn.Identity(), InputSpec(num_frames=16, size=(112, 112)), name="m")
    bad = torch.zeros(1, 3, 8, 112, 112)
    with pytest.raises(
        InvalidInputError, match=r"expected N×3×16×112×112.*got \(1, 3, 8, 112, 112\)"
    ):
        clf.check_input(bad)
    with pytest.raises(InvalidInputError, match="expected"):
        clf(bad)
    with pytest.raises(InvalidInputError):
        clf.check_input(torch.zeros(3, 16, 112, 112))
    with pytest.raises(InvalidInputError, match="float"):
        clf.check_input(torch.zeros(1, 3, 16, 112, 112, dtype=torch.uint8))
    clf.check_input(torch.zeros(2, 3, 16, 112, 112))  # the right shape passes


def test_as_classifier_is_identity_normalised_and_size_free(tiny_model: nn.Module) -> None:
    clf = as_classifier(tiny_model)
    assert not clf.has_preprocessing
    assert clf.mean.tolist() == [0.0, 0.0, 0.0] and clf.std.tolist() == [1.0, 1.0, 1.0]
    for shape in [(1, 3, 8, 32, 32), (2, 3, 5, 17, 9)]:
        x = torch.randn(*shape)
        clf.check_input(x)
        torch.testing.assert_close(clf(x), tiny_model(x))
    with pytest.raises(InvalidInputError):
        clf.check_input(torch.zeros(1, 1, 8, 32, 32))
    with pytest.raises(InvalidInputError):
        clf.prepare(np.zeros((4, 8, 8, 3), np.uint8))
    assert as_classifier(clf) is clf


def test_mean_std_are_buffers_outside_the_state_dict(tiny_model: nn.Module) -> None:
    clf = VideoClassifier(tiny_model, InputSpec())
    assert set(clf.state_dict()) == {f"module.{k}" for k in tiny_model.state_dict()}
    assert {n for n, _ in clf.named_buffers()} >= {"mean", "std"}
