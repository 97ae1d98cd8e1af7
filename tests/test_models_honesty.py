"""Random weights are asked for, seeded and labelled; the demo model says what it knows."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

import vidxai
from vidxai.cli import main
from vidxai.errors import WeightsUnavailableError

SMALL = {"num_frames": 4, "size": 32}


def test_a_zoo_model_without_weights_says_how_to_get_them() -> None:
    with pytest.raises(WeightsUnavailableError, match=r"weights=None.*--weights random"):
        vidxai.load_model("r3d_18", **SMALL)


def test_random_weights_are_explicit_seeded_and_leave_the_global_rng() -> None:
    torch.manual_seed(5)
    state = torch.random.get_rng_state()
    a = vidxai.load_model("r3d_18", weights=None, **SMALL)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = vidxai.load_model("r3d_18", weights="random", **SMALL)
    c = vidxai.load_model("r3d_18", weights=None, seed=1, **SMALL)
    wa, wb, wc = (m.module.fc.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)
    assert a.random_weights and b.random_weights
    clip = torch.rand(3, 4, 32, 32)
    exp = vidxai.explain(a, clip, progress=False)
    assert exp.random_weights


def test_the_demo_model_loads_its_bundled_weights_unasked() -> None:
    model = vidxai.load_model("vidxai-demo")
    assert not model.random_weights


def test_cli_random_weights_are_seeded_and_labelled(tmp_path) -> None:
    from vidxai.data.synthetic import make_clip
    from vidxai.video import write_video

    video = write_video(tmp_path / "clip.mp4", make_clip(20_000_004).frames, fps=8)
    outputs = []
    for run in range(2):
        out = tmp_path / f"out{run}"
        args = ["explain", str(video), "--model", "r3d_18", "--weights", "random", "--param",
                "channel_reduction=max", "--out", str(out), "--quiet", "--no-gif"]  # fmt: skip
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 0, res.output
        assert "note: random weights" in res.output
        summary = json.loads(next(out.glob("*.json")).read_text())
        assert summary["random_weights"] is True and summary["notes"]
        page = next(out.glob("*_report.html")).read_text()
        assert "random weights" in page
        outputs.append(summary["target_name"])
    assert outputs[0] == outputs[1]  # the same command twice: the same "prediction"
    res = CliRunner().invoke(main, ["explain", str(video), "--model", "r3d_18", "--out",
                                    str(tmp_path / "x")])  # fmt: skip
    assert res.exit_code == 2 and "--weights random" in res.output


def test_cli_demo_model_on_footage_says_what_it_knows(tmp_path) -> None:
    res = CliRunner().invoke(
        main,
        ["explain", str(vidxai.data.example_video()), "--model", "vidxai-demo", "--out",
         str(tmp_path), "--quiet"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "note: vidxai-demo knows only vidxai's synthetic benchmark" in res.output
