"""Overlays on the original frames: size, frame count, pixels, GIF/MP4 round trips."""

from __future__ import annotations

import av
import numpy as np
import pytest
import torch

from vidxai.core.explanation import Explanation
from vidxai.core.geometry import Geometry
from vidxai.errors import InvalidInputError
from vidxai.video import Video, read_video
from vidxai.viz import (
    VizOptions,
    colorize,
    composite,
    overlay_frames,
    overlay_height,
    prepare_map,
    save_overlay,
    side_by_side,
    strip_height,
    temporal_importance,
    temporal_strip,
)
from vidxai.viz.mapping import FrameMaps
from vidxai.viz.overlay import upscale_factor
from vidxai.viz.strips import (
    ROW_PX,
    colorbar_height,
    colorbar_rows,
    curve_height,
    curve_label,
    with_marker,
)

T0, H0, W0 = 6, 30, 44


@pytest.fixture
def frames() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(T0, H0, W0, 3), dtype=np.uint8)


@pytest.fixture
def attribution() -> np.ndarray:
    volume = np.zeros((T0, H0, W0), dtype=np.float32)
    volume[:, 10:20, 5:15] = np.arange(1, T0 + 1, dtype=np.float32)[:, None, None]
    return volume


def test_plain_overlay_keeps_size_and_frame_count(frames, attribution):
    out = overlay_frames(frames, attribution, colorbar=False, temporal=False)
    assert out.shape == (T0, H0, W0, 3) and out.dtype == np.uint8


def test_overlay_pixels_are_the_composite_and_zero_leaves_the_video(frames, attribution):
    options = VizOptions(selection=None, stretch=False, background="color")
    out = overlay_frames(frames, attribution, options, colorbar=False, temporal=False)
    untouched = attribution == 0
    np.testing.assert_array_equal(out[untouched], frames[untouched])
    prepared = prepare_map(attribution, options)
    expected = composite(frames, colorize(prepared, options), options)
    np.testing.assert_array_equal(out, expected)
    # the last frame holds the peak (value 1 → inferno(1) at 60 % over the frame)
    pixel = frames[-1, 12, 7].astype(float)
    top = np.array([252, 255, 164], dtype=float)
    np.testing.assert_allclose(out[-1, 12, 7], np.rint(0.4 * pixel + 0.6 * top), atol=1)


def test_default_background_is_grey_where_nothing_is_shown(frames, attribution):
    out = overlay_frames(frames, attribution, colorbar=False, temporal=False)
    luma = frames.astype(float) @ np.array([0.299, 0.587, 0.114])
    untouched = attribution == 0
    assert (out[untouched] == out[untouched][:, :1]).all()  # R = G = B
    np.testing.assert_allclose(out[untouched][:, 0], np.rint(luma[untouched]), atol=1)


def test_strips_are_stacked_under_every_frame(frames, attribution):
    out = overlay_frames(frames, attribution)  # colour bar and temporal strip by default
    bar_h = colorbar_height(W0)
    assert out.shape == (T0, H0 + strip_height(W0) + bar_h, W0, 3)
    assert out.shape[1] == overlay_height(H0, W0, colorbar=True, temporal=True)
    bar = out[:, -bar_h:]
    assert (bar == bar[0]).all()  # the colour bar is the same on every frame
    curve = out[:, H0 : H0 + strip_height(W0)]
    assert not (curve[0] == curve[-1]).all()  # the temporal marker moves


def test_strips_are_short_with_fixed_size_text(frames, attribution):
    for width in (256, 512, 1280):
        assert strip_height(width) <= 64 and colorbar_height(width) <= 40
    assert strip_height(256) == ROW_PX + curve_height(256)


def test_playhead_never_crosses_the_label_row():
    strip = temporal_strip(np.ones(10), 300)
    for t in range(10):
        marked = with_marker(strip, t, 10)
        np.testing.assert_array_equal(marked[:ROW_PX], strip[:ROW_PX])  # label rows untouched
        assert (marked[ROW_PX:] != strip[ROW_PX:]).any()  # the playhead is drawn below


def test_small_clips_are_upscaled_by_nearest_and_keep_their_caption():
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, size=(3, 64, 128, 3), dtype=np.uint8)
    heat = rng.random((3, 64, 128)).astype(np.float32)
    assert upscale_factor(64, 128, 256) == 4 and upscale_factor(720, 1280, 256) == 1
    out = overlay_frames(small, heat, min_size=256)
    plain = overlay_frames(small, heat, colorbar=False, temporal=False)
    assert out.shape[2] == 512
    big = out[:, :256]
    np.testing.assert_array_equal(big, np.repeat(np.repeat(plain, 4, axis=1), 4, axis=2))
    assert out.shape[1] == overlay_height(256, 512, colorbar=True, temporal=True)
    assert out.shape[1] - 256 < 128  # strips are much shorter than the video
    assert colorbar_rows(512) == ["evidence for · top 30% shown"]  # the caption is kept
    assert colorbar_rows(120)  # wrapped on a narrow bar, never dropped
    assert " · ".join(colorbar_rows(120)) == "evidence for · top 30% shown"


def test_strip_shows_each_frames_strongest_colour_on_the_overlay_scale():
    volume = np.zeros((4, 10, 10), dtype=np.float32)
    volume[0] = 0.05  # faint everywhere (stretched to the top of nothing: not shown)
    volume[1, :2, :2] = 1.0  # one strong patch
    volume[2, :, :5] = 0.4  # a large, weaker area
    options = VizOptions(selection=None, stretch=False)
    maps = FrameMaps((4, 10, 10), volume, options)
    shown = np.array([np.abs(maps.frame(t)).max() for t in range(4)])
    np.testing.assert_allclose(maps.curve, shown)  # strip height = strongest value shown
    np.testing.assert_allclose(maps.curve, [0.05, 1.0, 0.4, 0.0], atol=1e-6)
    assert maps.curve_scale == 1.0
    # the raw mass share would rank the large weak area above the strong patch
    raw = temporal_importance(volume)
    assert raw[2] > raw[1]
    strip = temporal_strip(maps.curve, 400, options=options, scale=maps.curve_scale)
    rows = strip[ROW_PX:]
    filled = [
        (rows[:, 100 * t + 20 : 100 * t + 80] != rows[0, 0]).any(axis=1).mean() for t in range(4)
    ]
    assert filled[3] == 0.0 and filled[1] > filled[2] > filled[0]


def test_strip_label_states_what_the_height_means():
    assert "strongest colour" in curve_label(VizOptions())
    assert "share" in curve_label(VizOptions(normalise="frame"))


def test_side_by_side_shows_the_original_on_the_left(frames, attribution):
    out = side_by_side(frames, attribution, colorbar=False, temporal=False)
    assert out.shape == (T0, H0, 2 * W0 + 8, 3)
    np.testing.assert_array_equal(out[:, :, :W0], frames)
    np.testing.assert_array_equal(
        out[:, :, W0 + 8 :], overlay_frames(frames, attribution, colorbar=False, temporal=False)
    )


def _geometry() -> Geometry:
    # 3 model frames of 8×8 cropped from a 16×22 resize of the 30×44 video
    return Geometry(
        frame_indices=(0, 2, 5),
        num_frames=T0,
        original_size=(H0, W0),
        resized_size=(16, 22),
        crop_box=(4, 7, 8, 8),
    )


def test_model_space_map_is_mapped_through_the_geometry(frames):
    geometry = _geometry()
    model_map = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0))
    options = VizOptions(background="color")
    out = overlay_frames(
        frames, model_map, options, geometry=geometry, colorbar=False, temporal=False
    )
    assert out.shape == frames.shape
    # reference: prepare in model space, then Geometry.to_original on the whole volume
    full = geometry.to_original(torch.from_numpy(prepare_map(model_map, options))).numpy()
    expected = composite(frames, colorize(full, options), options)
    np.testing.assert_allclose(out.astype(int), expected.astype(int), atol=1)
    # the cropped-away border carries no attribution: the video shows through untouched
    np.testing.assert_array_equal(out[:, :2, :], frames[:, :2, :])


def test_explanation_is_accepted_with_its_geometry(frames):
    geometry = _geometry()
    model_map = torch.zeros(3, 8, 8)
    model_map[1, 2:5, 2:5] = 1.0
    explanation = Explanation(
        attribution=model_map,
        method="saliency",
        params={},
        target=0,
        score=0.5,
        seed=0,
        n_forward=1,
        n_backward=1,
        timings={"segmentation": 0.0, "inference": 0.0, "explanation": 0.0, "total": 0.0},
        geometry=geometry,
    )
    options = VizOptions(background="color")
    from_explanation = overlay_frames(frames, explanation, options, temporal=False)
    from_map = overlay_frames(frames, model_map, options, geometry=geometry, temporal=False)
    np.testing.assert_array_equal(from_explanation, from_map)
    changed = (from_map[:, :H0] != frames).any(axis=(1, 2, 3))
    # model frame 1 was sampled at original frame 2: frames 2 and 3 are nearest to it
    # (frame 1 is as near to frame 0, and ties go to the earlier model frame)
    assert changed.tolist() == [False, False, True, True, False, False]


def test_shape_mismatch_without_geometry_is_a_clear_error(frames):
    with pytest.raises(InvalidInputError, match="geometry"):
        overlay_frames(frames, np.zeros((3, 8, 8)))


def test_geometry_for_another_video_is_refused(frames):
    wrong = Geometry((0, 1, 2), T0 + 1, (H0, W0), (16, 22), (4, 7, 8, 8))
    with pytest.raises(InvalidInputError, match="geometry"):
        overlay_frames(frames, np.zeros((3, 8, 8)), geometry=wrong)


def test_bad_frames_are_refused(attribution):
    with pytest.raises(InvalidInputError):
        overlay_frames(np.zeros((T0, H0, W0, 3), dtype=np.float32), attribution)


def test_temporal_importance_known_answer():
    volume = np.zeros((4, 2, 2), dtype=np.float32)
    volume[1] = 1.0  # mass 4
    volume[3, 0, 0] = 4.0  # mass 4
    volume[2] = -5.0  # negative: ignored for polarity=positive
    np.testing.assert_allclose(temporal_importance(volume), [0, 0.5, 0, 0.5])
    np.testing.assert_allclose(temporal_importance(volume, "negative"), [0, 0, 1, 0])
    np.testing.assert_allclose(
        temporal_importance(volume, "absolute"), [0, 4, 20, 4] / np.float64(28)
    )
    assert not temporal_importance(np.zeros((3, 2, 2))).any()


def test_strip_curve_sums_what_the_picture_shows():
    from vidxai.viz.mapping import FrameMaps

    volume = np.full((4, 10, 10), 0.05, dtype=np.float32)  # faint everywhere
    volume[2, :3, :3] = 1.0  # one strong patch in frame 2
    raw = temporal_importance(volume)
    assert raw[2] < 0.5  # the faint voxels carry most of the raw mass
    shown = FrameMaps((4, 10, 10), volume, VizOptions(topk=0.02)).curve
    np.testing.assert_allclose(shown, [0, 0, 1, 0])  # only the patch is displayed
    per_frame = FrameMaps((4, 10, 10), volume, VizOptions(normalise="frame")).curve
    np.testing.assert_allclose(per_frame, raw)  # per-frame scaling: the raw mass is used


def _decoded_frame_count(path) -> tuple[int, int, int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return len(frames), frames[0].shape[0], frames[0].shape[1]


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_saved_overlay_decodes_with_every_frame(tmp_path, frames, attribution, suffix):
    path = save_overlay(tmp_path / f"overlay{suffix}", frames, attribution, fps=10)
    assert path.exists()
    count, height, width = _decoded_frame_count(path)
    assert count == T0
    k = upscale_factor(H0, W0, 256)  # small clips are enlarged for the file
    assert k == 9
    expected_h = overlay_height(k * H0, k * W0, colorbar=True, temporal=True)
    assert (height, width) == (expected_h + expected_h % 2, k * W0)  # MP4 pads to even sizes
    video = read_video(path)
    assert video.num_frames == T0
    assert video.fps == pytest.approx(10, rel=0.05)


def test_one_pass_writes_mp4_and_capped_gif_from_the_same_frames(tmp_path):
    from vidxai.video import GifOptions
    from vidxai.viz import save_overlays

    rng = np.random.default_rng(5)
    video = rng.integers(0, 256, size=(25, 40, 600, 3), dtype=np.uint8)
    heat = rng.random((25, 40, 600)).astype(np.float32)
    mp4, gif = save_overlays(
        [tmp_path / "o.mp4", tmp_path / "o.gif"], video, heat, fps=25, min_size=None
    )
    assert _decoded_frame_count(mp4)[0] == 25
    count, height, width = _decoded_frame_count(gif)
    assert count == 10  # 25 fps capped at 10 fps: 1 s of video
    assert width == 480  # width capped, aspect kept
    assert height == round(overlay_height(40, 600, colorbar=True, temporal=True) * 480 / 600)
    assert read_video(gif).fps == pytest.approx(10, rel=0.05)
    full = save_overlay(
        tmp_path / "full.gif",
        video,
        heat,
        fps=25,
        min_size=None,
        gif=GifOptions(max_fps=None, max_width=None, colors=256, palette="frame"),
    )
    assert _decoded_frame_count(full)[:1] == (25,)
    assert gif.stat().st_size < full.stat().st_size / 3


def test_save_overlay_takes_fps_from_a_video(tmp_path, frames, attribution):
    path = save_overlay(tmp_path / "v.mp4", Video(frames, fps=25.0), attribution)
    assert read_video(path).fps == pytest.approx(25.0, rel=0.05)
    with pytest.raises(InvalidInputError, match="fps"):
        save_overlay(tmp_path / "w.gif", frames, attribution)
