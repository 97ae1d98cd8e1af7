"""The CLI end to end on the bundled demo model: the files it writes exist and are valid."""

from __future__ import annotations

import csv
import json

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

import vidxai
from vidxai.cli import main
from vidxai.data.synthetic import make_clip
from vidxai.video import read_video, write_video


def test_explain_writes_valid_files_for_a_frame_folder(tmp_path) -> None:
    clip = make_clip(0)  # 16×64×64, label 0 ("left")
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, frame in enumerate(clip.frames[:, :, :48]):  # a non-square 64×48 video
        Image.fromarray(frame).save(folder / f"f{i}.png")
    out = tmp_path / "out"
    args = ["explain", str(folder), "--model", "vidxai-demo", "--target", "left"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output

    exp = vidxai.load_explanation(out / "frames_saliency.pt")
    assert exp.attribution.shape == (16, 64, 64) and exp.target == 0
    assert exp.to_original().shape == (16, 64, 48)
    summary = json.loads((out / "frames_saliency.json").read_text())
    assert summary["target_name"] == "left" and summary["n_backward"] == 1
    mp4 = read_video(out / "frames_saliency.mp4")  # the primary overlay: every original frame
    assert mp4.num_frames == 16 and mp4.width >= 48  # small clips are enlarged by whole factors
    assert (out / "frames_saliency.gif").is_file()  # the small GIF beside it
    with Image.open(out / "frames_saliency_grid.png") as png:
        png.verify()


def test_explain_video_file_and_demo(tmp_path) -> None:
    frames = make_clip(1).frames
    video = write_video(tmp_path / "c.mp4", frames, 10)
    out = tmp_path / "e"
    result = CliRunner().invoke(
        main, ["explain", str(video), "--model", "vidxai-demo", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    direct = vidxai.explain(vidxai.load_model("vidxai-demo"), read_video(video), progress=False)
    saved = vidxai.load_explanation(out / "c_saliency.pt")
    torch.testing.assert_close(saved.attribution, direct.attribution)

    demo = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--out", str(demo), "--clips", "1", "--methods", "saliency"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((demo / "summary.csv").open()))
    assert [r["method"] for r in rows] == ["saliency"]
    assert int(rows[0]["n_forward"]) == 2 and float(rows[0]["score"]) > 0
    assert read_video(demo / "clip0_saliency.mp4").num_frames == 16
    page = (demo / "report.html").read_text()
    assert "held-out" in page and "knows only" in page
    assert vidxai.load_explanation(demo / "clip0_saliency.pt").method == "saliency"
    assert np.isfinite(float(rows[0]["seconds"]))


def test_python_dash_m_runs_the_cli() -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "vidxai", "methods", "--family", "gradient"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "saliency" in out.stdout and "integrated_gradients" in out.stdout


def test_demo_uses_held_out_clips_and_leaves_out_the_lime_duplicate() -> None:
    from vidxai.cli.demo import HELD_OUT_SEED, demo_methods

    specs, left_out = demo_methods(None)
    names = [s.name for s in specs]
    assert "removal" not in names and "removal" in left_out and "lime3d" in names
    assert HELD_OUT_SEED > 9600  # the demo model was trained on seeds 0–9600
