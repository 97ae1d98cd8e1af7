"""The experiment file: a valid file parses; each mistake gives one line naming key and line."""

from __future__ import annotations

import textwrap

import pytest

from vidxai.runner.schema import ExperimentError, load_experiment, parse_experiment

VALID = """\
name: revex-repro
out: results/
seed: 3
datasets:
  - name: synthetic
    synthetic: {clips: 4, seed: 100}
  - name: mine
    folder: videos/
    labels: labels.csv
  - name: listed
    csv: list.csv
clips: {frames: 16, sampling: uniform}
models:
  - name: vidxai-demo
  - name: mymodel
    module: "mypkg.models:build"
methods:
  - saliency
  - rise3d: {n_samples: 500}
metrics: [deletion, insertion, minimal_mask, minimal_mask_insertion, pointing_game]
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "labels.csv").write_text("path,label\n")
    (tmp_path / "list.csv").write_text("a.mp4,1\n")
    return tmp_path


def write(folder, text):
    path = folder / "experiment.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_the_issue_example_parses(folder):
    exp = load_experiment(write(folder, VALID))
    assert exp.name == "revex-repro" and exp.seed == 3
    assert exp.out == (folder / "results").resolve()
    assert [d.kind for d in exp.datasets] == ["synthetic", "folder", "csv"]
    assert exp.datasets[0].clips == 4 and exp.datasets[0].seed == 100
    assert exp.datasets[1].path == (folder / "videos").resolve()
    assert exp.datasets[1].labels == (folder / "labels.csv").resolve()
    assert exp.models[1].module == "mypkg.models:build"
    assert [(m.name, m.params) for m in exp.methods] == [
        ("saliency", {}),
        ("rise3d", {"n_samples": 500}),
    ]
    assert exp.metrics == (
        "deletion",
        "insertion",
        "minimal_mask",
        "minimal_mask_insertion",
        "pointing_game",
    )
    assert exp.clips.mode == "frames" and exp.clips.frames == 16


@pytest.mark.parametrize(
    ("text", "line", "key", "words"),
    [
        (VALID.replace("seed: 3", "sed: 3"), 3, "sed", "unknown key 'sed'"),
        (VALID.replace("  - saliency", "  - salency"), 18, "methods[0]", "Did you mean: saliency"),
        (VALID.replace("n_samples: 500", "n_samples: -5"), 19, "methods[1].rise3d", "n_samples"),
        (VALID.replace("n_samples: 500", "n_sample: 5"), 19, "methods[1].rise3d", "no parameter"),
        (
            VALID.replace("folder: videos/", "folder: nothere/"),
            8,
            "datasets[1].folder",
            "no such folder",
        ),
        (
            VALID.replace("insertion, minimal", "insertin, minimal"),
            20,
            "metrics[1]",
            "Unknown metric",
        ),
        (
            VALID.replace("  - name: vidxai-demo", "  - name: vidxai-dem"),
            14,
            "models[0].name",
            "Unknown model",
        ),
        (VALID.replace("uniform}", "random}"), 12, "clips.sampling", "'uniform' or 'first'"),
        (
            VALID.replace("    synthetic: {clips: 4, seed: 100}", "    synthetic: {clips: 0}"),
            6,
            "datasets[0].synthetic.clips",
            ">= 1",
        ),
    ],
)
def test_each_mistake_gives_one_clear_line(folder, text, line, key, words):
    path = write(folder, text)
    with pytest.raises(ExperimentError) as info:
        load_experiment(path)
    message = str(info.value)
    assert message.startswith("1 mistake(s)")
    problem = message.splitlines()[1]
    assert problem.startswith(f"{path}:{line}: {key}: "), problem
    assert words in problem


def test_several_mistakes_are_listed_together(folder):
    text = VALID.replace("seed: 3", "sed: 3").replace("  - saliency", "  - salency")
    with pytest.raises(ExperimentError, match="2 mistake"):
        load_experiment(write(folder, text))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("name: x\n", "the key 'datasets' is missing"),
        ("name: [unclosed\n", "not valid YAML"),
        ("", "empty"),
        ("- a\n- b\n", "must be a mapping"),
    ],
)
def test_broken_files(folder, text, words):
    with pytest.raises(ExperimentError, match=words):
        load_experiment(write(folder, text))
    with pytest.raises(ExperimentError, match="No experiment file"):
        load_experiment(folder / "missing.yaml")


@pytest.mark.parametrize(
    ("clips", "mode", "fields"),
    [
        ("{window: [4, 20]}", "window", {"start": 4, "end": 20}),
        ("{sliding: {length: 16, stride: 8}}", "sliding", {"length": 16, "stride": 8}),
        ("{frames: 8, sampling: first}", "frames", {"frames": 8, "sampling": "first"}),
    ],
)
def test_clip_rules(folder, clips, mode, fields):
    exp = parse_experiment(
        VALID.replace("{frames: 16, sampling: uniform}", clips), folder / "e.yaml"
    )
    assert exp.clips.mode == mode
    for k, v in fields.items():
        assert getattr(exp.clips, k) == v


def test_bad_window_and_conflicting_dataset_kinds(folder):
    with pytest.raises(ExperimentError, match="end 3 must be greater than start 5"):
        parse_experiment(VALID.replace("{frames: 16, sampling: uniform}", "{window: [5, 3]}"))
    text = VALID.replace("    csv: list.csv", "    csv: list.csv\n    synthetic: {clips: 2}")
    with pytest.raises(ExperimentError, match="exactly one of"):
        parse_experiment(text, folder / "e.yaml")


def test_cli_run_errors(tmp_path):
    from click.testing import CliRunner

    from vidxai.cli import main

    res = CliRunner().invoke(main, ["run"])
    assert res.exit_code == 2 and "Give an experiment file" in res.output
    res = CliRunner().invoke(main, ["run", str(tmp_path / "none.yaml")])
    assert res.exit_code == 2 and "No experiment file" in res.output
    no_out = write(tmp_path, VALID.replace("out: results/\n", ""))
    (tmp_path / "videos").mkdir()
    (tmp_path / "labels.csv").write_text("")
    (tmp_path / "list.csv").write_text("")
    res = CliRunner().invoke(main, ["run", str(no_out)])
    assert res.exit_code == 2 and "No output folder" in res.output
    res = CliRunner().invoke(main, ["run", "--status", str(tmp_path)])
    assert res.exit_code == 2 and "not a vidxai run folder" in res.output
    bad = write(tmp_path, VALID.replace("seed: 3", "sed: 3"))
    res = CliRunner().invoke(main, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and f"{bad}:3: sed: unknown key 'sed'" in res.output
    assert not (tmp_path / "o").exists()  # nothing is written for a bad file
