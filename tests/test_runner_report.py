"""`vidxai report`: tables with bounded CIs, only existing files referenced, renders in Chromium."""

from __future__ import annotations

import csv
import html.parser
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vidxai.cli import main
from vidxai.runner import parse_experiment, read_results, run_experiment
from vidxai.runner.store import ResultsStore
from vidxai.stats import mean_ci

EXPERIMENT = """\
name: report-test
datasets:
  - name: synthetic
    synthetic: {clips: 3}
models: [vidxai-demo]
methods:
  - saliency
  - rise3d: {n_samples: 16}
metrics: [deletion, insertion, minimal_mask, minimal_mask_insertion, pointing_game]
metric_params: {n_steps: 4, thresholds: [0.2, 0.5, 0.8]}
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    run_experiment(parse_experiment(EXPERIMENT), out=out, progress=False)
    # one failed item, as a corrupt video would leave it
    ResultsStore(out).commit(
        {
            "key": "f" * 20,
            "dataset": "synthetic",
            "video": "synthetic:1",
            "window": "all",
            "model": "vidxai-demo",
            "method": "saliency",
            "status": "error",
            "error": "The video is corrupt",
        },
        None,
    )
    return out


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append(value)


@pytest.fixture(scope="module")
def report(run_dir, tmp_path_factory):
    """`vidxai report RUN --study ratings.csv`, written once for the tests of this file."""
    ratings = tmp_path_factory.mktemp("study") / "ratings.csv"
    ratings.write_text(
        "rater,item,method,model,dataset,video,score,rated_at\n"
        + "".join(
            f"r{i},{i},{m},vidxai-demo,synthetic,v,{s},now\n"
            for i, (m, s) in enumerate([("saliency", 2), ("saliency", 1), ("rise3d", -2)])
        )
    )
    res = CliRunner().invoke(main, ["report", str(run_dir), "--study", str(ratings)])
    assert res.exit_code == 0, res.output
    return run_dir / "report"


def test_report_tables_and_files(run_dir, report):
    page = (report / "report.html").read_text()
    parser = _Links()
    parser.feed(page)
    assert parser.links, "the page links its figures and files"
    for link in parser.links:
        assert not link.startswith(("http:", "https:", "//")), link  # offline
        assert (report / unquote(link)).is_file(), link
    for name in ("auc.csv", "minimal_mask.csv", "timings.csv", "failures.csv", "study.csv"):
        assert (report / name).is_file(), name
    assert list(report.glob("*.pdf")) and "<pre>" not in page and "<table>" in page
    assert "The video is corrupt" in page
    # the AUC table: mean and the bounded t-interval of the per-clip values
    rows = [r for r in read_results(run_dir).to_pylist() if r["status"] == "ok"]
    with (report / "auc.csv").open() as fh:
        table = {r["method"]: r for r in csv.DictReader(fh)}
    for method in ("saliency", "rise3d"):
        values = [r["deletion"] for r in rows if r["method"] == method]
        ci = mean_ci(values, bounds=(0.0, 1.0))
        assert float(table[method]["deletion_mean"]) == pytest.approx(np.mean(values))
        assert float(table[method]["deletion_low"]) == pytest.approx(ci.low)
        assert (
            0.0
            <= float(table[method]["deletion_low"])
            <= float(table[method]["deletion_high"])
            <= 1.0
        )
        assert table[method]["n"] == "3"
    with (report / "study.csv").open() as fh:
        study = {(r["by"], r["group"]): r for r in csv.DictReader(fh)}
    assert float(study[("method", "saliency")]["mean"]) == pytest.approx(1.5)
    assert study[("method", "rise3d")]["ratings"] == "1"


def test_report_of_an_empty_or_missing_run(tmp_path):
    res = CliRunner().invoke(main, ["report", str(tmp_path / "nothing")])
    assert res.exit_code == 2 and "not a vidxai run folder" in res.output
    ResultsStore(tmp_path / "empty")
    res = CliRunner().invoke(main, ["report", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no finished item" in res.output


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="the 'chromium' executable is not installed")
def test_report_renders_in_headless_chromium(report, tmp_path):
    page = report / "report.html"
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,1400",
        Path(page).resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert shot.exists(), result.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(np.int16)
    assert pixels.std() > 10  # not blank
    # the bars of the first figure (the palette's first colour) are on screen
    blue = np.all(np.abs(pixels - np.array((0, 114, 178))) <= 12, axis=-1).sum()
    assert blue > 500, blue


def test_report_reads_a_study_database(run_dir, tmp_path, monkeypatch):
    """A study created from the run, rated through its JSON API, summarised by the report."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from vidxai.study import create, create_study, make_app
    from vidxai.study.render import Media

    monkeypatch.setattr(create, "encode", lambda frames, fps: Media(b"mp4", b"gif"))
    monkeypatch.setattr(create, "render_overlay", lambda frames, explanation: frames)
    db = f"sqlite:///{tmp_path / 'study.db'}"
    invites = create_study(run_dir, db, raters=1, progress=False)
    client = TestClient(make_app(db))
    token = invites.raters[0].token
    given = {}
    for score in (2, 1, 0, -1, 2, 1):
        item = client.get(f"/api/r/{token}/next").json()["item"]
        if item is None:
            break
        assert (
            client.post(
                f"/api/r/{token}/ratings", json={"item": item["id"], "score": score}
            ).status_code
            == 200
        )
        given[item["id"]] = score
    assert len(given) == 6  # every ok item of the run
    from vidxai.runner.study_scores import study_scores

    scores = study_scores(db)  # what `vidxai report --study URL` tabulates
    assert sum(len(v) for v in scores.values()) == 6
    assert {k[2] for k in scores} == {"saliency", "rise3d"}
    assert {k[:2] for k in scores} == {("synthetic", "vidxai-demo")}
    assert sorted(x for v in scores.values() for x in v) == sorted(given.values())
