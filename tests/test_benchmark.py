"""Benchmark runner, its outputs, and the `evaluate` / `benchmark` CLI commands."""

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
from vidxai.metrics.benchmark import (
    BenchmarkClip,
    mask_to_input,
    mean_ci,
    run_benchmark,
    synthetic_clips,
    write_benchmark,
)
from vidxai.models.adapter import InputSpec, VideoClassifier

DEMO_LIKE = InputSpec(
    num_frames=16, size=(64, 64), resize=None, crop="none", mean=(0.5,) * 3, std=(0.25,) * 3
)


@pytest.fixture
def classifier(tiny_model) -> VideoClassifier:
    """The tiny CNN behind the demo model's input contract (16×64×64, 4 classes)."""
    return VideoClassifier(tiny_model, DEMO_LIKE, class_names=["l", "r", "u", "d"], name="tiny")


def test_mean_ci():
    assert mean_ci([]) == (None, None)
    assert mean_ci([2.0]) == (2.0, None)
    mean, half = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert mean == 2.5 and half == pytest.approx(1.96 * np.std([1, 2, 3, 4], ddof=1) / 2)


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


def test_run_and_write_benchmark(classifier, tmp_path):
    clips = synthetic_clips(2)
    assert all(c.mask is not None and c.target in range(4) for c in clips)
    result = run_benchmark(
        classifier, ["saliency"], clips, metric_params={"n_steps": 4, "thresholds": (0.2, 0.5)}
    )
    assert len(result.rows) == 2
    row = result.rows[0]
    for key in (
        "deletion",
        "insertion",
        "minimal_mask@0.2",
        "average_drop",
        "pointing_game",
        "iou",
        "energy",
        "time_segmentation",
        "time_inference",
        "time_explanation",
        "n_forward",
        "correct",
        "eval_n_forward",
    ):
        assert key in row
    assert row["eval_n_forward"] == 1 + 2 * 5 + 1  # intact, two games of 5 steps, soft mask
    curves = result.curves["saliency"]["deletion"]
    assert np.asarray(curves["scores"]).shape == (2, 5)
    summary = result.summary()[0]
    values = [r["deletion"] for r in result.rows]
    assert summary["deletion"] == pytest.approx(np.mean(values))
    files = write_benchmark(result, tmp_path)
    names = {p.name for p in files}
    assert {
        "results.csv",
        "summary.csv",
        "summary.md",
        "curves.png",
        "timings.png",
        "pointing.png",
        "deletion_auc.png",
        "minimal_mask_deletion.png",
        "report.html",
    } <= names
    with (tmp_path / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 and float(rows[0]["deletion"]) == pytest.approx(values[0])
    assert "| saliency | 2 |" in (tmp_path / "summary.md").read_text()


def test_benchmark_without_ground_truth_skips_localisation(classifier):
    frames = synthetic_clips(1)[0].frames
    result = run_benchmark(
        classifier, ["saliency"], [BenchmarkClip("video", frames)], metric_params={"n_steps": 2}
    )
    assert "pointing_game" not in result.rows[0] and result.rows[0]["correct"] is None


@pytest.fixture
def patched_zoo(monkeypatch, classifier):
    from vidxai.models import zoo

    monkeypatch.setattr(zoo, "load_model", lambda name, weights=None, **kw: classifier)
    return classifier


def test_cli_benchmark(patched_zoo, tmp_path):
    out = tmp_path / "bench"
    res = CliRunner().invoke(
        main,
        [
            "benchmark",
            "--model",
            "tiny",
            "--methods",
            "saliency",
            "--clips",
            "2",
            "--param",
            "n_steps=3",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (out / "results.csv").is_file() and (out / "report.html").is_file()
    assert "| saliency | 2 |" in res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "saliency"], "--clips"),
        (["--methods", "saliency", "--clips", "1", "--videos", "x.mp4"], "--clips"),
        (["--methods", "nope", "--clips", "1"], "Unknown method"),
        (["--methods", "saliency", "--clips", "1", "--method-param", "saliency"], "METHOD:"),
        (["--methods", "saliency", "--clips", "1", "--param", "n_steps=1"], "n_steps"),
    ],
)
def test_cli_benchmark_bad_input(patched_zoo, tmp_path, args, message):
    res = CliRunner().invoke(main, ["benchmark", "--model", "tiny", "--out", str(tmp_path), *args])
    assert res.exit_code == 2 and message in res.output


def test_cli_evaluate(patched_zoo, tmp_path):
    from vidxai.video import read_video, write_video

    clip = synthetic_clips(1)[0]
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
    write_video(video, synthetic_clips(1)[0].frames, fps=8)
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


def test_summary_tables(classifier):
    from vidxai.metrics.benchmark import minimal_mask_table, timing_table

    result = run_benchmark(
        classifier,
        ["saliency"],
        synthetic_clips(2),
        metric_params={"n_steps": 2, "thresholds": (0.01, 0.99)},
    )
    masks = minimal_mask_table(result, "deletion").splitlines()
    assert masks[0] == "| method | p ≤ 0.01 | p ≤ 0.99 |"
    assert masks[2].startswith("| saliency | ")
    assert timing_table(result).splitlines()[2].startswith("| saliency | 0.000 | ")
