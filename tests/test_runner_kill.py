"""kill -9 a `vidxai run` mid-way, rerun: every key exactly once, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import torch
from click.testing import CliRunner

import vidxai
from vidxai.cli import main
from vidxai.runner import read_results
from vidxai.runner.plan import plan_items
from vidxai.runner.schema import load_experiment

EXPERIMENT = """\
name: killed
out: out/
datasets:
  - name: synthetic
    synthetic: {clips: 4}
models: [vidxai-demo]
methods:
  - rise3d: {n_samples: 40}
  - saliency
metrics: [deletion, insertion]
metric_params: {n_steps: 10}
"""


def _run(path, env):
    return subprocess.Popen(
        [sys.executable, "-m", "vidxai", "run", str(path), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_kill_minus_nine_then_resume(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text(EXPERIMENT)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = _run(path, env)
    deadline = time.monotonic() + 120
    rows = out / "rows"
    while time.monotonic() < deadline and proc.poll() is None:
        if rows.is_dir() and len(list(rows.glob("*.json"))) >= 3:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = {p.stem: p.stat().st_mtime_ns for p in rows.glob("*.json")}
    planned = {i.key for i in plan_items(load_experiment(path))}
    assert 3 <= len(before) < len(planned) == 8
    # whatever the moment of the kill: every committed row's attribution is complete
    for key in before:
        assert vidxai.load_explanation(out / "attributions" / f"{key}.pt").attribution.ndim == 3
    status = CliRunner().invoke(main, ["run", "--status", str(out)])
    assert f"done {len(before)}, failed 0, remaining {8 - len(before)}" in status.output

    resumed = CliRunner().invoke(main, ["run", str(path), "--quiet"])  # the rerun, in-process
    assert resumed.exit_code == 0, resumed.output
    assert f"{8 - len(before)} ok, 0 failed, {len(before)} already done" in resumed.output
    table = pq.read_table(out / "results.parquet").to_pylist()
    keys = [r["key"] for r in table]
    assert sorted(keys) == sorted(planned)  # every key exactly once, no duplicate rows
    assert {r["status"] for r in table} == {"ok"}
    after = {p.stem: p.stat().st_mtime_ns for p in rows.glob("*.json")}
    assert {k: after[k] for k in before} == before  # finished items were not repeated
    attributions = sorted(p.stem for p in (out / "attributions").iterdir())
    assert attributions == sorted(planned)  # no orphan, no temporary file
    for row in table:
        exp = vidxai.load_explanation(out / row["attribution_path"])
        assert exp.method == row["method"] and torch.isfinite(exp.attribution).all()
    assert len(read_results(out)) == 8
