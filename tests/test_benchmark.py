"""`vidxai benchmark` (a preset of the runner), and the `evaluate` / `metrics` CLI commands."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import vidxai
from vidxai.cli import main
from vidxai.data.synthetic import make_dataset
from vidxai.models.adapter import InputSpec, VideoClassifier
from vidxai.runner.execute import mask_to_input
from vidxai.runner.store import read_results

DEMO_LIKE = InputSpec(
    num_frames=16, size=(64, 64), resize=None, crop="none", mean=(0.5,) * 3, std=(0.25,) * 3
)


@pytest.fixture
def classifier(tiny_model) -> VideoClassifier:
    """The tiny CNN behind the demo model's input contract (16×64×64, 4 classes)."""
    return VideoClassifier(tiny_model, DEMO_LIKE, class_names=["l", "r", "u", "d"], name="tiny")


def synthetic_frames(n: int = 1):
    return list(make_dataset(n, 20_000_000))


def test_mask_to_input(classifier):
    mask = np.zeros((16, 64, 64), dtype=bool)
    mask[2:5, 8:24, 40:56] = True
    assert np.array_equal(mask_to_input(classifier, mask), mask)
    half = VideoClassifier(
        classifier.module,
        InputSpec(
            num_frames=8, size=(32, 32), resize=None, crop="none", mean=(0.5,) * 3, std=(0.25,) * 3
        ),
    )
    small = mask_to_input(half, mask)
    assert small.shape == (8, 32, 32)
    ys, xs = np.nonzero(small.any(0))
    assert (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1) == (4, 12, 20, 28)


def test_cli_benchmark_is_a_runner_preset(tmp_path):
    out = tmp_path / "bench"
    args = [
        "benchmark",
        "--model",
        "vidxai-demo",
        "--methods",
        "saliency",
        "--clips",
        "2",
        "--param",
        "n_steps=3",
        "--out",
        str(out),
        "--quiet",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (out / "results.parquet").is_file() and (out / "report" / "report.html").is_file()
    assert "| saliency | vidxai-demo | 2 |" in res.output
    table = read_results(out).to_pylist()
    assert len(table) == 2 and {r["status"] for r in table} == {"ok"}
    # the same numbers as explaining and evaluating each clip by hand
    model = vidxai.load_model("vidxai-demo")
    clips = synthetic_frames(2)
    for row in table:
        clip = next(c for c in clips if row["synthetic_seed"] == c.seed)
        exp = vidxai.explain(
            model, clip.frames, method="saliency", target=clip.label, progress=False
        )
        gt = mask_to_input(model, clip.mask)
        ev = vidxai.evaluate(
            model,
            clip.frames,
            exp,
            metrics=["deletion"],
            ground_truth=gt,
            n_steps=3,
            behaviour="probability",
        )
        assert row["deletion"] == pytest.approx(ev.scores["deletion"], abs=1e-6)
        assert row["target"] == clip.label
    with (out / "results.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 2
    page = (out / "report" / "report.html").read_text()
    assert "<table>" in page and "<pre>" not in page  # HTML tables, not Markdown in a <pre>
    # rerun: every item already done, nothing repeated
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0 and "2 already done" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "saliency"], "Give either --clips N"),
        (["--methods", "saliency", "--clips", "1", "--videos", "x.mp4"], "--clips"),
        (["--methods", "nope", "--clips", "1"], "Unknown method"),
        (["--methods", "saliency", "--clips", "1", "--method-param", "saliency"], "METHOD:"),
        (["--methods", "saliency", "--clips", "1", "--param", "n_steps=1"], "n_steps"),
    ],
)
def test_cli_benchmark_bad_input(tmp_path, args, message):
    res = CliRunner().invoke(
        main, ["benchmark", "--model", "vidxai-demo", "--out", str(tmp_path), *args]
    )
    assert res.exit_code == 2 and message in res.output
    assert "..." not in res.output


def test_cli_benchmark_help_has_every_option():
    res = CliRunner().invoke(main, ["benchmark", "--help"])
    for option in ("--quiet", "--device", "--batch-size", "--seed", "--out"):
        line = next(x for x in res.output.splitlines() if x.strip().startswith(option))
        assert len(line.strip()) > len(option) + 8, line  # has a help text


@pytest.fixture
def patched_zoo(monkeypatch, classifier):
    from vidxai.models import zoo

    monkeypatch.setattr(zoo, "load_model", lambda name, weights=None, **kw: classifier)
    return classifier


def test_cli_evaluate(patched_zoo, tmp_path):
    from vidxai.video import read_video, write_video

    clip = synthetic_frames(1)[0]
    video = tmp_path / "clip.mp4"
    write_video(video, clip.frames, fps=8)
    frames = read_video(video).frames
    exp = vidxai.explain(patched_zoo, frames, method="saliency", progress=False)
    exp_path = exp.save(tmp_path / "exp.pt")
    np.save(tmp_path / "map.npy", exp.attribution.numpy())
    out = tmp_path / "eval"
    res = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(exp_path),
            str(video),
            "--model",
            "tiny",
            "--box",
            "0,16,0,32,0,32",
            "--param",
            "n_steps=3",
            "--param",
            "thresholds=0.1,0.5",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads((out / "evaluation.json").read_text())
    assert set(data["scores"]) >= {"deletion", "insertion", "pointing_game", "iou", "energy"}
    assert data["params"]["target"] == exp.target
    assert (out / "deletion_insertion.png").is_file() and (out / "minimal_mask.png").is_file()
    # the same attribution as a bare .npy array, top-1 target, deletion only
    res = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(tmp_path / "map.npy"),
            str(video),
            "--model",
            "tiny",
            "--metrics",
            "deletion",
            "--param",
            "n_steps=3",
        ],
    )
    assert res.exit_code == 0, res.output
    expected = vidxai.evaluate(patched_zoo, frames, exp, metrics=["deletion"], n_steps=3)
    line = next(x for x in res.output.splitlines() if x.strip().startswith("deletion"))
    assert math.isclose(float(line.split()[-1]), expected.scores["deletion"], abs_tol=1e-4)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--box", "1,2,3"], "--box"),
        (["--metrics", "iou"], "ground_truth"),
        (["--param", "fill=green"], "fill"),
    ],
)
def test_cli_evaluate_bad_input(patched_zoo, tmp_path, extra, message):
    from vidxai.video import write_video

    video = tmp_path / "clip.mp4"
    write_video(video, synthetic_frames(1)[0].frames, fps=8)
    torch.save(torch.rand(16, 64, 64), tmp_path / "map.pt")
    res = CliRunner().invoke(
        main, ["evaluate", str(tmp_path / "map.pt"), str(video), "--model", "tiny", *extra]
    )
    assert res.exit_code == 2 and message in res.output
    missing = CliRunner().invoke(
        main, ["evaluate", str(tmp_path / "none.pt"), str(video), "--model", "tiny"]
    )
    assert missing.exit_code == 2 and "No explanation file" in missing.output


def test_cli_metrics_lists_registry():
    res = CliRunner().invoke(main, ["metrics"])
    assert res.exit_code == 0
    assert "deletion  [faithfulness; lower is better; needs model]" in res.output
    assert "iou  [localisation; higher is better; needs ground truth]" in res.output
    assert "thresholds = (0.01" in res.output
