"""The runner's local backend and results store: rows, keys, resume, errors, sliding windows."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from click.testing import CliRunner

import vidxai
from vidxai.cli import main
from vidxai.data.synthetic import make_clip
from vidxai.runner import (
    ExperimentError,
    load_attribution,
    parse_experiment,
    read_results,
    run_experiment,
)
from vidxai.runner.execute import mask_to_input
from vidxai.runner.plan import plan_items
from vidxai.runner.store import COLUMNS, ResultsStore, run_status
from vidxai.runner.temporal import frame_mass

ISSUE_COLUMNS = [
    "key",
    "dataset",
    "video",
    "window",
    "model",
    "method",
    "params",
    "target",
    "target_name",
    "label",
    "score",
    "n_forward",
    "n_backward",
    "time_segmentation",
    "time_inference",
    "time_explanation",
    "time_total",
    "attribution_path",
    "status",
    "error",
    "finished_at",
]

SYNTHETIC = """\
name: small
seed: 0
datasets:
  - name: synthetic
    synthetic: {clips: 2}
models: [vidxai-demo]
methods:
  - saliency
  - rise3d: {n_samples: 16}
metrics: [deletion, insertion, pointing_game]
metric_params: {n_steps: 4}
"""


@pytest.fixture(scope="module")
def model():
    return vidxai.load_model("vidxai-demo")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    exp = parse_experiment(SYNTHETIC)
    summary = run_experiment(exp, out=out, progress=False)
    return exp, out, summary


def test_rows_have_the_issue_columns_and_match_explain(finished, model):
    _, out, summary = finished
    assert (summary.planned, summary.ok, summary.failed, summary.skipped) == (4, 4, 0, 0)
    table = pq.read_table(out / "results.parquet")
    assert set(ISSUE_COLUMNS) <= set(table.column_names)
    assert table.column_names[: len(COLUMNS)] == list(COLUMNS)
    assert {"deletion", "insertion", "pointing_game"} <= set(table.column_names)
    rows = table.to_pylist()
    assert len({r["key"] for r in rows}) == 4
    for row in rows:
        assert row["status"] == "ok" and row["error"] is None
        clip = make_clip(row["synthetic_seed"])
        assert row["video"] == f"synthetic:{clip.seed}" and row["label"] == clip.label
        params = json.loads(row["params"])
        alone = vidxai.explain(
            model,
            clip.frames,
            method=row["method"],
            target=clip.label,
            seed=0,
            progress=False,
            **({"n_samples": 16} if row["method"] == "rise3d" else {}),
        )
        stored = load_attribution(out, row["key"])
        # batched CAM passes may differ from one clip alone in the last float bits
        torch.testing.assert_close(stored.attribution, alone.attribution, rtol=1e-5, atol=1e-7)
        assert stored.attribution.dtype == torch.float32
        assert vidxai.load_explanation(out / row["attribution_path"]).method == row["method"]
        assert row["n_forward"] == alone.n_forward and row["target"] == alone.target
        resolved = {k: v for k, v in alone.params.items() if k != "batch_size"}
        assert params == json.loads(json.dumps(resolved))  # every resolved parameter
        ev = vidxai.evaluate(
            model,
            clip.frames,
            alone,
            metrics=["deletion", "pointing_game"],
            ground_truth=mask_to_input(model, clip.mask),
            n_steps=4,
            behaviour="probability",
        )
        assert row["deletion"] == pytest.approx(ev.scores["deletion"], abs=1e-6)
        assert row["pointing_game"] == ev.scores["pointing_game"]


def test_attributions_are_compressed(finished):
    _, out, _ = finished
    row = read_results(out).to_pylist()[0]
    exp = load_attribution(out, row["key"])
    plain = out / "plain.pt"
    exp.save(plain)
    assert os.path.getsize(out / row["attribution_path"]) < os.path.getsize(plain)
    plain.unlink()


def test_rerun_repeats_nothing(finished):
    exp, out, _ = finished
    before = {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()}
    again = run_experiment(exp, out=out, progress=False)
    assert (again.skipped, again.ok, again.failed) == (4, 0, 0)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "rows").iterdir()} == before
    assert run_status(out) == {"done": 4, "failed": 0, "remaining": 0, "planned": 4}


def test_keys_are_stable_and_change_with_what_they_hash():
    keys = [i.key for i in plan_items(parse_experiment(SYNTHETIC))]
    assert keys == [i.key for i in plan_items(parse_experiment(SYNTHETIC))]
    assert len(set(keys)) == 4
    other_seed = [
        i.key for i in plan_items(parse_experiment(SYNTHETIC.replace("seed: 0", "seed: 1")))
    ]
    assert not set(other_seed) & set(keys)
    other_param = plan_items(parse_experiment(SYNTHETIC.replace("n_samples: 16", "n_samples: 17")))
    saliency = {i.key for i in other_param if i.method == "saliency"}
    rise = {i.key for i in other_param if i.method == "rise3d"}
    assert saliency <= set(keys) and not rise & set(keys)


def test_store_cleans_half_written_files(tmp_path):
    store = ResultsStore(tmp_path)
    store.commit({"key": "a", "status": "ok"}, b"data")
    (tmp_path / "attributions" / "orphan.pt").write_bytes(b"x")  # killed before its row
    (tmp_path / "rows" / ".b.json.123.tmp").write_bytes(b"{")
    removed = {p.name for p in store.clean()}
    assert removed == {"orphan.pt", ".b.json.123.tmp"}
    assert store.committed_keys() == {"a"}
    assert (tmp_path / "attributions" / "a.pt").read_bytes() == b"data"


def test_corrupt_video_gives_one_error_row(tmp_path):
    from vidxai.video import write_video

    videos = tmp_path / "videos"
    videos.mkdir()
    for seed in (20_000_000, 20_000_001):
        write_video(videos / f"clip{seed}.mp4", make_clip(seed).frames, fps=8)
    (videos / "broken.mp4").write_bytes(os.urandom(3000))
    (videos / "notes.txt").write_text("not a video")
    (tmp_path / "labels.csv").write_text(
        f"path,label\nclip20000000.mp4,{make_clip(20_000_000).class_name}\n"
    )
    text = f"""\
name: folder
datasets:
  - name: mine
    folder: {videos}
    labels: {tmp_path / "labels.csv"}
models: [vidxai-demo]
methods: [saliency]
metrics: [deletion, pointing_game]
metric_params: {{n_steps: 3}}
"""
    exp = parse_experiment(text, tmp_path / "e.yaml")
    summary = run_experiment(exp, out=tmp_path / "out", progress=False)
    assert (summary.ok, summary.failed) == (2, 1)
    rows = {os.path.basename(r["video"]): r for r in read_results(tmp_path / "out").to_pylist()}
    assert set(rows) == {"broken.mp4", "clip20000000.mp4", "clip20000001.mp4"}
    bad = rows["broken.mp4"]
    assert bad["status"] == "error" and "broken.mp4" in bad["error"]
    assert bad["attribution_path"] is None
    labelled = rows["clip20000000.mp4"]
    assert labelled["label"] == make_clip(20_000_000).label == labelled["target"]
    assert rows["clip20000001.mp4"]["label"] is None  # no label: the top-1 is explained
    assert rows["clip20000001.mp4"].get("pointing_game") is None  # no ground truth
    res = CliRunner().invoke(main, ["run", "--status", str(tmp_path / "out")])
    assert res.exit_code == 0 and "done 2, failed 1, remaining 0" in res.output
    retried = run_experiment(exp, out=tmp_path / "out", progress=False, retry_errors=True)
    assert (retried.skipped, retried.failed) == (2, 1)


def test_frame_mass_known_answer():
    a = torch.zeros(4, 2, 2)
    a[0] = 1.0  # mass 4
    a[2, 0, 0] = 4.0  # mass 4
    a[3] = -1.0  # negative evidence is not mass
    # model frames show window frames 0, 2, 4, 6 of an 8-frame window
    mass = frame_mass(a, (0, 2, 4, 6), 8)
    assert mass == pytest.approx([0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0])


def test_sliding_windows_and_temporal_importance(tmp_path):
    text = (
        SYNTHETIC.replace("synthetic: {clips: 2}", "synthetic: {clips: 1}").replace(
            "  - rise3d: {n_samples: 16}\n", ""
        )
        + "clips: {sliding: {length: 8, stride: 4}}\n"
    )
    exp = parse_experiment(text)
    run_experiment(exp, out=tmp_path, progress=False)
    rows = read_results(tmp_path).to_pylist()
    assert sorted(r["window"] for r in rows) == ["0:8", "4:12", "8:16"]
    temporal = pq.read_table(tmp_path / "temporal.parquet").to_pylist()
    assert [t["frame"] for t in temporal] == list(range(16))
    # slow reference: each window's normalised positive mass, averaged over covering windows
    sums = np.zeros(16)
    counts = np.zeros(16)
    for r in rows:
        exp_ = load_attribution(tmp_path, r["key"])
        per_frame = exp_.attribution.clamp(min=0).sum(dim=(1, 2)).double().numpy()
        per_frame /= per_frame.sum()
        for j in range(8):  # original frame j of the window ← nearest model frame
            nearest = min(range(16), key=lambda i: abs(exp_.geometry.frame_indices[i] - j))
            sums[r["window_start"] + j] += per_frame[nearest]
            counts[r["window_start"] + j] += 1
    assert [t["n_windows"] for t in temporal] == counts.astype(int).tolist()
    assert [t["importance"] for t in temporal] == pytest.approx((sums / counts).tolist())


def test_batched_method_gets_batches_of_clips(tmp_path, model, monkeypatch):
    """Grad-CAM (batched=True) is explained in batches: the same maps as clip by clip, and a
    corrupt video in the batch fails alone."""
    from vidxai.runner import local
    from vidxai.video import read_video, write_video

    videos = tmp_path / "videos"
    videos.mkdir()
    seeds = (20_000_000, 20_000_001, 20_000_002)
    for seed in seeds:
        write_video(videos / f"v{seed}.mp4", make_clip(seed).frames, fps=8)
    (videos / "v20000001b.mp4").write_bytes(os.urandom(2000))  # corrupt, in the same batch
    calls = []
    original = vidxai.explain

    def counting(*args, **kwargs):
        calls.append(len(args[1]) if isinstance(args[1], list) else 1)
        return original(*args, **kwargs)

    monkeypatch.setattr(vidxai, "explain", counting)
    monkeypatch.setattr(local, "CLIPS_PER_BATCH", 4)
    text = f"""\
name: batched
datasets:
  - name: files
    folder: {videos}
models: [vidxai-demo]
methods: [gradcam]
metrics: []
"""
    summary = run_experiment(parse_experiment(text), out=tmp_path / "out", progress=False)
    assert (summary.ok, summary.failed) == (3, 1)
    assert calls == [3]  # one engine call for the three readable clips
    monkeypatch.setattr(vidxai, "explain", original)
    for row in read_results(tmp_path / "out").to_pylist():
        if row["status"] == "error":
            assert row["video"].endswith("v20000001b.mp4")
            continue
        alone = vidxai.explain(model, read_video(row["video"]).frames, method="gradcam")
        stored = load_attribution(tmp_path / "out", row["key"]).attribution
        torch.testing.assert_close(stored, alone.attribution, rtol=1e-4, atol=1e-6)
        assert row["target"] == alone.target


def test_a_failing_batch_falls_back_to_one_clip_per_call(tmp_path, monkeypatch):
    from vidxai.runner import local

    original = vidxai.explain

    def no_batches(model, video, *args, **kwargs):
        if isinstance(video, list):
            raise RuntimeError("the engine cannot batch these clips")
        return original(model, video, *args, **kwargs)

    monkeypatch.setattr(vidxai, "explain", no_batches)
    monkeypatch.setattr(local, "CLIPS_PER_BATCH", 2)
    text = SYNTHETIC.replace("  - saliency\n  - rise3d: {n_samples: 16}\n", "  - gradcam\n")
    summary = run_experiment(parse_experiment(text), out=tmp_path, progress=False)
    assert (summary.ok, summary.failed) == (2, 0)


def test_module_models_plain_or_classifier(tmp_path, monkeypatch):
    """`module: "pkg:fn"` may return a plain nn.Module (wrapped with `input:`) or a
    VideoClassifier; a callable returning something else fails its items with a clear error."""
    (tmp_path / "mymodels.py").write_text(
        "import torch\n"
        "from vidxai.models.adapter import VideoClassifier\n"
        "from vidxai.models.spec import InputSpec\n"
        "def net(width=4):\n"
        "    torch.manual_seed(0)\n"
        "    return torch.nn.Sequential(torch.nn.Conv3d(3, width, 3, padding=1),\n"
        "        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(),\n"
        "        torch.nn.Linear(width, 4))\n"
        "def wrapped():\n"
        "    return VideoClassifier(net(), InputSpec(num_frames=8, size=(32, 32), resize=None,\n"
        "        crop='none'), class_names=['left', 'right', 'up', 'down'])\n"
        "def broken():\n"
        "    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = """\
name: modules
datasets:
  - name: synthetic
    synthetic: {clips: 1}
models:
  - name: plain
    module: "mymodels:net"
    options: {width: 6}
    input: {num_frames: 8, size: [32, 32], resize: null, crop: none}
  - name: wrapped
    module: "mymodels:wrapped"
  - name: broken
    module: "mymodels:broken"
methods: [saliency]
metrics: [deletion]
metric_params: {n_steps: 3}
"""
    run_experiment(parse_experiment(text), out=tmp_path / "out", progress=False)
    rows = {r["model"]: r for r in read_results(tmp_path / "out").to_pylist()}
    assert rows["plain"]["status"] == "ok" and rows["wrapped"]["status"] == "ok"
    assert load_attribution(tmp_path / "out", rows["plain"]["key"]).attribution.shape == (8, 32, 32)
    assert rows["broken"]["status"] == "error" and "returned int" in rows["broken"]["error"]
    bad = text.replace("crop: none}", "crop: none, frames: 3}")
    with pytest.raises(ExperimentError, match=r":9: models\[0\]\.input: not an InputSpec field"):
        parse_experiment(bad)
