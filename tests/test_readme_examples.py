"""Every ``python`` block of the README runs as written, offline, in a fresh directory.

Each block is run on its own (its own process in an empty temporary directory, with fresh
globals: nothing but what the block imports), so a block that relies on a file, a name or an
import from elsewhere fails here. The processes are forked from one per test worker that has
imported torch, torchvision and vidxai once and run nothing (a new interpreter per block spent
~2.5 s of CPU on those imports alone); a block's changes to module state (a registered fill, a
patched function) die with its process. Blocks fenced as ```` ```python no-run ```` are shown
but not run (none should be).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[int, str]]:
    text = README.read_text()
    return [(text[: m.start()].count("\n") + 1, m.group(1)) for m in _BLOCK.finditer(text)]


BLOCKS = _blocks()

# Blocks that do not run as written yet: each must say why here, as a strict expected failure
# (so one that gets fixed must leave this list); a block not listed here must run. None now.
NOT_YET_RUNNABLE: tuple[str, ...] = ()


def _params() -> list:
    out = []
    for line, code in BLOCKS:
        known = any(marker in code for marker in NOT_YET_RUNNABLE)
        marks = (
            [pytest.mark.xfail(strict=True, reason="issue 16: not runnable as written yet")]
            if known
            else []
        )
        out.append(pytest.param(line, code, marks=marks, id=f"line{line}"))
    return out


ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}
TIMEOUT_S = 120

# The forking server: reads one JSON request per line ({"script", "cwd"}), forks, runs the
# script in the child as ``__main__`` (stdout/stderr to files in cwd), answers {"rc": …}.
_SERVER = r"""
import json, os, runpy, signal, sys, time, traceback
import numpy, torch, torchvision, vidxai, vidxai.api  # the expensive imports, once
timeout = float(sys.argv[1])
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.chdir(req["cwd"])
        out = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        err = os.open("stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.argv = [req["script"]]
        sys.path[0] = req["cwd"]
        code = 0
        try:
            runpy.run_path(req["script"], run_name="__main__")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            rc = "timeout"
            break
        time.sleep(0.02)
    sys.stdout.write(json.dumps({"rc": rc}) + "\n")
    sys.stdout.flush()
"""


@pytest.fixture(scope="module")
def fork_server() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(TIMEOUT_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, **ENV},
        text=True,
    )
    yield proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=30)


def run_block(server: subprocess.Popen[str], script: Path) -> tuple[int | str, str]:
    """Run ``script`` in a process forked from the server, in its own directory; returns
    (exit code or ``"timeout"``, its stderr)."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(json.dumps({"script": str(script), "cwd": str(script.parent)}) + "\n")
    server.stdin.flush()
    answer = server.stdout.readline()
    assert answer, "the README fork server died"
    err = script.parent / "stderr.txt"
    return json.loads(answer)["rc"], err.read_text() if err.exists() else ""


def test_the_fork_server_gives_each_block_fresh_globals_and_module_state(
    fork_server, tmp_path: Path
) -> None:
    first = tmp_path / "a" / "block.py"
    first.parent.mkdir()
    first.write_text(
        "import vidxai.ops.fill_registry as r\n"
        "r.FILLS.register('readme_test_fill')(lambda inp: inp.x)\n"
        "leaked = 1\n"
        "open('made.txt', 'w').write('x')\n"
    )
    assert run_block(fork_server, first)[0] == 0
    assert (first.parent / "made.txt").exists()  # it ran in its own directory
    second = tmp_path / "b" / "block.py"
    second.parent.mkdir()
    second.write_text(
        "import vidxai.ops.fill_registry as r\n"
        "assert 'readme_test_fill' not in r.FILLS\n"
        "assert 'leaked' not in globals()\n"
        "assert 'vidxai' not in globals()\n"
    )
    assert run_block(fork_server, second)[0] == 0
    third = tmp_path / "c" / "block.py"
    third.parent.mkdir()
    third.write_text("import sys\nprint('boom', file=sys.stderr)\nraise ValueError('x')\n")
    rc, err = run_block(fork_server, third)
    assert rc == 1 and "boom" in err and "ValueError" in err


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize(("line", "code"), _params())
def test_readme_block_runs(line: int, code: str, tmp_path: Path, fork_server) -> None:
    script = tmp_path / "block.py"
    script.write_text(code)
    rc, stderr = run_block(fork_server, script)
    assert rc == 0, (
        f"README block at line {line} failed ({rc}):\n{code}\n--- stderr ---\n{stderr[-3000:]}"
    )
