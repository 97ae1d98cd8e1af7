"""QA regressions for the CLI: user mistakes end in one ``error:`` line and exit status 2."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from vidxai.cli import main
from vidxai.video import write_video


@pytest.fixture
def clip(tmp_path):
    frames = np.random.default_rng(0).integers(0, 256, (4, 16, 24, 3), dtype=np.uint8)
    return write_video(tmp_path / "clip.gif", frames, 10)


def _run(args: list[str]):
    result = CliRunner().invoke(main, args)
    lines = [line for line in result.output.splitlines() if line.strip()]
    return result, lines


def test_out_is_a_file(clip, tmp_path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    result, lines = _run(["explain", str(clip), "--model", "vidxai-demo", "--out", str(blocker)])
    assert result.exit_code == 2 and len(lines) == 1
    assert lines[0].startswith("error: --out") and "not a folder" in lines[0]
    assert blocker.read_text() == "x"


def test_os_errors_become_one_line(monkeypatch, clip, tmp_path) -> None:
    def refuse(path, option="--out"):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("vidxai.cli._args.make_out_dir", refuse)
    args = ["explain", str(clip), "--model", "vidxai-demo", "--out", str(tmp_path / "o")]
    result, lines = _run(args)
    assert result.exit_code == 2 and lines == [f"error: Permission denied: {tmp_path / 'o'}"]


def test_unknown_method_family() -> None:
    result, lines = _run(["methods", "--family", "nope"])
    assert result.exit_code == 2 and len(lines) == 1 and "gradient" in lines[0]


def test_single_frame_video_named(tmp_path) -> None:
    one = write_video(tmp_path / "one.gif", np.zeros((1, 16, 16, 3), np.uint8), 10)
    args = ["explain", str(one), "--model", "vidxai-demo", "--out", str(tmp_path / "o")]
    result, lines = _run(args)
    assert result.exit_code == 2 and len(lines) == 1
    assert "one.gif has 1 frame" in lines[0]


def test_models_listing_shows_the_input() -> None:
    result, lines = _run(["models"])
    assert result.exit_code == 0
    r3d = next(line for line in lines if line.startswith("r3d_18 "))
    assert "input=16×112×112" in r3d and "layer=layer4" in r3d
    assert any(line.startswith("videomae ") and "vidxai[transformers]" in line for line in lines)


def test_unknown_model_fails_before_creating_out(clip, tmp_path) -> None:
    out = tmp_path / "never"
    result, lines = _run(["explain", str(clip), "--model", "r3d18", "--out", str(out)])
    assert result.exit_code == 2 and len(lines) == 1 and "r3d_18" in lines[0]
    assert not out.exists()


def test_evaluate_names_the_target_class_like_explain(tmp_path) -> None:
    import vidxai
    from vidxai.cli import main as cli_main
    from vidxai.data.synthetic import CLASS_NAMES, make_clip
    from vidxai.video import write_video

    clip = make_clip(20_000_003)
    video = write_video(tmp_path / "clip.mp4", clip.frames, fps=8)
    model = vidxai.load_model("vidxai-demo")
    exp = vidxai.explain(model, video, method="saliency", progress=False)
    exp_path = exp.save(tmp_path / "exp.pt")
    res = CliRunner().invoke(
        cli_main,
        ["evaluate", str(exp_path), str(video), "--model", "vidxai-demo", "--metrics",
         "deletion", "--param", "n_steps=3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert f"target {exp.target_name} ({exp.target})" in res.output
    assert exp.target_name in CLASS_NAMES


def test_evaluate_help_explains_device_and_batch_size() -> None:
    from vidxai.cli import main as cli_main

    res = CliRunner().invoke(cli_main, ["evaluate", "--help"])
    for option in ("--device", "--batch-size"):
        line = next(x for x in res.output.splitlines() if x.strip().startswith(option))
        assert len(line.strip()) > len(option) + 8, line
