"""The Ray backend on a small local cluster: the same table as the local backend."""

from __future__ import annotations

import os
import sys

import pytest
import torch

from vidxai.errors import VidxaiError
from vidxai.runner import load_attribution, parse_experiment, read_results, run_experiment

EXPERIMENT = """\
name: parity
seed: 5
datasets:
  - name: synthetic
    synthetic: {clips: 2}
models: [vidxai-demo]
methods:
  - saliency
  - rise3d: {n_samples: 24}
metrics: [deletion, insertion, minimal_mask, pointing_game]
metric_params: {n_steps: 5}
"""
METRICS = ("score", "deletion", "insertion", "minimal_mask@0.5", "pointing_game")


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_worker_niceness", "0")  # as run_ray starts it: not at nice 15
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
    )
    yield ray
    ray.shutdown()
    os.environ.pop("RAY_worker_niceness", None)


def test_ray_table_equals_local(ray_cluster, tmp_path):
    exp = parse_experiment(EXPERIMENT)
    local = run_experiment(exp, out=tmp_path / "local", progress=False)
    remote = run_experiment(exp, backend="ray", workers=2, out=tmp_path / "ray", progress=False)
    assert (local.ok, remote.ok, remote.failed) == (4, 4, 0)
    a = {r["key"]: r for r in read_results(tmp_path / "local").to_pylist()}
    b = {r["key"]: r for r in read_results(tmp_path / "ray").to_pylist()}
    assert sorted(a) == sorted(b)
    for key, row in a.items():
        for column in METRICS:
            assert b[key][column] == pytest.approx(row[column], abs=1e-5), column
        for column in ("target", "n_forward", "n_backward", "params", "status"):
            assert b[key][column] == row[column]
        torch.testing.assert_close(
            load_attribution(tmp_path / "ray", key).attribution,
            load_attribution(tmp_path / "local", key).attribution,
            rtol=1e-4,
            atol=1e-6,
        )
    # resume on Ray: nothing is repeated
    again = run_experiment(exp, backend="ray", workers=2, out=tmp_path / "ray", progress=False)
    assert (again.skipped, again.ok) == (4, 0)


def test_missing_ray_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    exp = parse_experiment(EXPERIMENT)
    with pytest.raises(VidxaiError, match=r'pip install "vidxai\[ray\]"'):
        run_experiment(exp, backend="ray", out=tmp_path, progress=False)


def test_gpus_per_actor():
    from vidxai.runner.ray_backend import gpus_per_actor

    assert gpus_per_actor(0.0, 2) == 0.0  # CPU cluster
    assert gpus_per_actor(8.0, 4) == 1.0  # one GPU each
    assert gpus_per_actor(1.0, 2) == 0.5  # two actors share the one GPU: both can be placed
