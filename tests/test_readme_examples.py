"""Every ``python`` block of the README runs as written, offline, in a fresh directory.

Each block is run on its own (a new interpreter in an empty temporary directory, nothing but
what the block imports), so a block that relies on a file, a name or an import from elsewhere
fails here. Blocks fenced as ```` ```python no-run ```` are shown but not run (none should be).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
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


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.slow
@pytest.mark.parametrize(("line", "code"), _params())
def test_readme_block_runs(line: int, code: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
    }
    script = tmp_path / "block.py"
    script.write_text(code)
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"README block at line {line} failed:\n{code}\n--- stderr ---\n{result.stderr[-3000:]}"
    )
