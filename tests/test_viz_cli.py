"""``vidxai explain`` writes its page and the files it lists; the CLI survives a closed pipe and
loads no drawing or video library for ``--help``."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import av
import numpy as np
import pytest
from click.testing import CliRunner

from vidxai.cli import main
from vidxai.video import write_video


class _Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append((tag, value))


def _run_python(code: str, stdout: int | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code],
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        timeout=120,
        check=False,
    )


def test_closed_pipe_is_not_an_error():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written (`| head` that ended)
    try:
        done = _run_python("from vidxai.cli import main; main(['methods'])", stdout=write_end)
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Broken pipe" not in done.stderr and b"error" not in done.stderr.lower()


def test_help_loads_no_drawing_or_video_library():
    done = _run_python(
        "import sys\n"
        "from vidxai.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('matplotlib', 'av', 'scipy', 'torch') if m in sys.modules))"
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(10, 48, 64, 3), dtype=np.uint8)
    return write_video(tmp_path_factory.mktemp("clip") / "clip.mp4", frames, fps=10)


def _explain(clip: Path, out: Path, *extra: str):
    runner = CliRunner()
    args = ["explain", str(clip), "--model", "vidxai-demo", "--method", "saliency"]
    result = runner.invoke(main, [*args, "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return result


def test_explain_writes_mp4_small_gif_grid_curve_and_a_page_listing_them(clip, tmp_path):
    result = _explain(clip, tmp_path)
    written = [
        Path(line.split("wrote ", 1)[1]) for line in result.output.splitlines() if "wrote" in line
    ]
    names = {p.name for p in written}
    stem = "clip_saliency"
    assert {
        f"{stem}.pt",
        f"{stem}.json",
        f"{stem}.mp4",
        f"{stem}.gif",
        f"{stem}_grid.png",
        f"{stem}_temporal.png",
        f"{stem}_report.html",
    } <= names
    assert not (tmp_path / f"{stem}_grid.pdf").exists()  # the PDF grid is optional
    assert all(p.is_file() for p in written)
    assert set(os.listdir(tmp_path)) == names  # every file written is listed
    with av.open(str(tmp_path / f"{stem}.mp4")) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert min(stream.codec_context.height, stream.codec_context.width) >= 256  # enlarged
        assert sum(1 for _ in container.decode(stream)) == 10
    page = (tmp_path / f"{stem}_report.html").read_text(encoding="utf-8")
    parser = _Sources()
    parser.feed(page)
    videos = [u for tag, u in parser.urls if tag == "video"]
    assert videos == [f"{stem}.mp4"]  # the MP4 is the overlay the page plays
    for _, url in parser.urls:
        assert (tmp_path / unquote(url)).is_file()
    for text in ("Numbers", "Parameters", "Display options", "forward passes", "topk"):
        assert text in page


def test_explain_pdf_and_gif_options(clip, tmp_path):
    result = _explain(clip, tmp_path, "--pdf", "--no-gif")
    assert "clip_saliency_grid.pdf" in result.output  # the PDF is listed among the files
    assert (tmp_path / "clip_saliency_grid.pdf").is_file()
    assert not (tmp_path / "clip_saliency.gif").exists()
    bad = CliRunner().invoke(
        main,
        [
            "explain",
            str(clip),
            "--model",
            "vidxai-demo",
            "--gif-colors",
            "1",
            "--out",
            str(tmp_path),
        ],
    )
    assert bad.exit_code == 2 and "colors" in bad.output
