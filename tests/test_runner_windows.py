"""Windows of long videos: only [start, end) is decoded, equal to slicing the full decode."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from vidxai.errors import VideoReadError
from vidxai.runner import parse_experiment, read_results, run_experiment
from vidxai.runner.windows import read_window
from vidxai.video import read_video


@pytest.fixture(scope="module")
def gop_video(tmp_path_factory):
    """90 frames, a keyframe every 8 frames and B-frames: seeking must land exactly."""
    path = tmp_path_factory.mktemp("v") / "gop.mp4"
    rng = np.random.default_rng(0)
    frames = (rng.random((90, 48, 64, 3)) * 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"crf": "0", "keyint": "8", "bf": "2"}
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.mark.parametrize(("start", "end"), [(0, 16), (20, 36), (37, 53), (74, 90), (89, 90)])
def test_file_window_equals_slice_of_full_decode(gop_video, start, end):
    full = read_video(gop_video).frames
    assert np.array_equal(read_window(gop_video, start, end), full[start:end])


def test_folder_window_and_errors(tmp_path, gop_video):
    folder = tmp_path / "frames"
    folder.mkdir()
    full = read_video(gop_video).frames[:12]
    for i, f in enumerate(full):
        Image.fromarray(f).save(folder / f"frame{i}.png")  # natural order: frame2 < frame10
    assert np.array_equal(read_window(folder, 3, 11), full[3:11])
    with pytest.raises(VideoReadError, match="past the end"):
        read_window(gop_video, 80, 100)
    with pytest.raises(VideoReadError, match="No such video"):
        read_window(tmp_path / "none.mp4", 0, 4)


def test_sliding_windows_over_a_video_file(tmp_path, gop_video):
    text = f"""\
name: long
datasets:
  - name: files
    csv: {tmp_path / "list.csv"}
clips: {{sliding: {{length: 32, stride: 24}}}}
models: [vidxai-demo]
methods: [saliency]
metrics: []
"""
    (tmp_path / "list.csv").write_text(f"{gop_video}\n")
    summary = run_experiment(parse_experiment(text), out=tmp_path / "out", progress=False)
    assert summary.ok == 4 and summary.failed == 0
    rows = read_results(tmp_path / "out").to_pylist()
    assert sorted(r["window"] for r in rows) == ["0:32", "24:56", "48:80", "58:90"]
    assert all(len(r["frame_mass"]) > 0 for r in rows)
