"""Shared helpers of the study tests (tests/test_study_*.py): a real run folder, studies, a
server subprocess on loopback, and a PostgreSQL database per test when one is reachable."""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

METHODS = ("saliency", "grad_x_input", "gradcam")
DATASET = "synthbench"
MODEL = "vidxai-demo"
POSTGRES_ENV = "VIDXAI_TEST_POSTGRES_URL"


def make_run(root: Path, clips: int = 2, methods: tuple[str, ...] = METHODS) -> Path:
    """A real `vidxai run` folder: synthetic clips × the demo model × ``methods``."""
    from vidxai.runner.run import run_experiment
    from vidxai.runner.schema import load_experiment

    lines = [
        "name: study-test",
        "out: out",
        "seed: 0",
        "datasets:",
        f"  - name: {DATASET}",
        f"    synthetic: {{clips: {clips}, seed: 20000000}}",
        "models:",
        f"  - name: {MODEL}",
        "methods:",
        *[f"  - {m}" for m in methods],
        "metrics: []",
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "experiment.yaml").write_text("\n".join(lines) + "\n")
    summary = run_experiment(load_experiment(root / "experiment.yaml"), progress=False)
    assert summary.failed == 0
    return root / "out"


def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run of :func:`make_run`, made once per test session (also across xdist workers:
    they share the parent folder, and the runner locks a run folder and skips finished items)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "study-run"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".made.lock", "w") as fh:  # blocking: another worker may be making it
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            return make_run(root)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def study_names() -> list[str]:
    """Every method, model and dataset name of the test studies (must never reach a rater)."""
    return [*METHODS, MODEL, DATASET]


@contextmanager
def cheap_rendering(monkeypatch: pytest.MonkeyPatch):
    """Replace the video encoding by a few bytes (for tests of the server, not the pictures)."""
    from vidxai.study import create
    from vidxai.study.render import Media

    monkeypatch.setattr(create, "encode", lambda frames, fps: Media(b"mp4", b"gif"))
    monkeypatch.setattr(create, "render_overlay", lambda frames, explanation: frames)
    yield


def many_items_source(root: Path, run_dir: Path, n: int) -> Path:
    """A folder of ``n`` saved explanations (copies of a run's), each listed in index.csv with
    its synthetic clip and a dataset name."""
    from vidxai.runner.store import read_results

    rows = [r for r in read_results(run_dir).to_pylist() if r["status"] == "ok"]
    root.mkdir(parents=True, exist_ok=True)
    lines = ["file,video,dataset"]
    for i in range(n):
        row = rows[i % len(rows)]
        name = f"e{i:03d}.pt"
        (root / name).write_bytes((run_dir / row["attribution_path"]).read_bytes())
        lines.append(f"{name},{row['video']},{DATASET}")
    (root / "index.csv").write_text("\n".join(lines) + "\n")
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`vidxai study serve` in a subprocess on loopback."""

    def __init__(self, db_url: str, port: int | None = None):
        self.db_url = db_url
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> Server:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "vidxai", "study", "serve", "--db", self.db_url]
        cmd += ["--port", str(self.port)]
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"the study server exited: {err}")
            try:
                if httpx.get(self.base + "/", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the study server did not start")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def postgres_base_url() -> str:
    """The PostgreSQL URL of the test server, or a pytest skip saying why there is none."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"no PostgreSQL for the study tests: {POSTGRES_ENV} is not set (.ci/run sets it)"
        )
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # unreachable server, bad credentials
        pytest.skip(f"no PostgreSQL reachable at {POSTGRES_ENV}: {str(exc).splitlines()[0]}")
    return url


@contextmanager
def postgres_database():
    """A fresh PostgreSQL database for one test (dropped afterwards); yields its URL."""
    import sqlalchemy as sa

    base = sa.engine.make_url(postgres_base_url())
    name = f"vidxai_study_{secrets.token_hex(4)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rater_tokens(invites: Any) -> list[str]:
    return [r.token for r in invites.raters]


def non_blank(png: bytes) -> float:
    """Pixel standard deviation of a PNG (0 for a blank picture)."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)
    return float(pixels.std())
