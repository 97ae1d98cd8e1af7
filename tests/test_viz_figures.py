"""Frame grids, temporal-importance plots and evaluation plots: files, sizes, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vidxai.errors import InvalidInputError
from vidxai.viz import (
    VizOptions,
    curve_auc,
    frame_grid,
    grid_frame_indices,
    plot_deletion_insertion,
    plot_metric_bars,
    plot_minimal_mask,
    plot_pointing,
    plot_temporal_importance,
    plot_timings,
)
from vidxai.viz.evaluation import summarise


@pytest.fixture
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(10, 24, 32, 3), dtype=np.uint8)


def _is_picture(path) -> tuple[int, int]:
    with Image.open(path) as image:
        array = np.asarray(image.convert("RGB"))
    assert array.std() > 5  # not blank
    return array.shape[0], array.shape[1]


def test_grid_frame_indices_spread_evenly():
    assert grid_frame_indices(10, 4) == [0, 3, 6, 9]
    assert grid_frame_indices(3, 8) == [0, 1, 2]
    with pytest.raises(InvalidInputError):
        grid_frame_indices(10, 0)


def test_frame_grid_writes_png_and_pdf_with_one_row_per_method(tmp_path, frames):
    a = np.random.default_rng(1).random((10, 24, 32)).astype(np.float32)
    one = frame_grid(tmp_path / "one.png", frames, {"m1": a}, n_frames=4, pdf=False)
    three = frame_grid(tmp_path / "grid", frames, {"m1": a, "m2": -a, "m3": a**2}, n_frames=4)
    assert one == tmp_path / "one.png" and not (tmp_path / "one.pdf").exists()
    assert three == tmp_path / "grid.png"
    assert (tmp_path / "grid.pdf").read_bytes().startswith(b"%PDF")
    h1, w1 = _is_picture(one)
    h3, w3 = _is_picture(three)
    assert abs(w1 - w3) < 0.02 * w1 and h3 > h1 * 1.4  # two more rows, same columns
    wide = frame_grid(tmp_path / "wide.png", frames, {"m1": a}, n_frames=8, pdf=False)
    assert _is_picture(wide)[1] > w1 * 1.6


def test_frame_grid_signed_options_and_explicit_frames(tmp_path, frames):
    a = np.random.default_rng(2).normal(size=(10, 24, 32)).astype(np.float32)
    path = frame_grid(
        tmp_path / "g.png",
        frames,
        {"signed": a},
        options=VizOptions(polarity="signed", selection=None),
        frame_indices=[0, 9],
        fps=5.0,
        title="signed map",
        pdf=False,
    )
    _is_picture(path)


def test_frame_grid_bad_input(tmp_path, frames):
    a = np.zeros((10, 24, 32), dtype=np.float32)
    with pytest.raises(InvalidInputError):
        frame_grid(tmp_path / "g.png", frames, {})
    with pytest.raises(InvalidInputError):
        frame_grid(tmp_path / "g.png", frames, {"m": a}, frame_indices=[10])
    with pytest.raises(InvalidInputError):
        frame_grid(tmp_path / "g.jpg", frames, {"m": a})  # unsupported figure format
    with pytest.raises(InvalidInputError):
        frame_grid(tmp_path / "g.png", frames, {"m": np.zeros((3, 8, 8))})  # needs geometry


def test_curve_auc_trapezoid_known_values():
    assert curve_auc([0.0, 0.5, 1.0], [1.0, 0.5, 0.0]) == pytest.approx(0.5)
    assert curve_auc([1.0, 0.0, 0.5], [1.0, 1.0, 1.0]) == pytest.approx(1.0)  # unsorted x
    assert curve_auc([0.0, 0.25, 1.0], [0.0, 1.0, 1.0]) == pytest.approx(0.875)


def test_summarise_numbers_lists_and_dicts():
    assert summarise(0.5) == (0.5, None, None)
    mean, low, high = summarise([1.0, 2.0, 3.0])
    assert mean == 2.0 and high - mean == pytest.approx(1.96 / np.sqrt(3))
    assert mean - low == pytest.approx(high - mean)
    assert summarise({"mean": 0.3, "ci": [0.2, 0.4]}) == (0.3, 0.2, 0.4)
    assert summarise({"mean": 0.3, "low": 0.1, "high": 0.5}) == (0.3, 0.1, 0.5)
    with pytest.raises(InvalidInputError):
        summarise({"value": 1})


def test_evaluation_plots_write_pictures(tmp_path):
    x = np.linspace(0, 1, 11).tolist()
    curves = {
        "a": {
            "deletion": {"fractions": x, "scores": [1 - v for v in x]},
            "insertion": {"fractions": x, "scores": x},
        },
        "b": {
            "deletion": {
                "fractions": x,
                "scores": np.random.default_rng(0).random((3, 11)).tolist(),
                "auc": 0.4,
            }
        },
    }
    paths = [
        plot_deletion_insertion(tmp_path / "di.png", curves, title="curves"),
        plot_deletion_insertion(tmp_path / "single.svg", curves["a"]),
        plot_minimal_mask(
            tmp_path / "mm.png",
            {
                "a": {"0.5": 0.1, "0.9": None},
                "b": {"thresholds": [0.5, 0.9], "fractions": [0.2, float("nan")]},
            },
        ),
        plot_timings(
            tmp_path / "t.png",
            {
                "a": {"segmentation": 0.0, "inference": 1.0, "explanation": 0.5, "total": 1.5},
                "b": {"inference": [1.0, 3.0]},
            },
        ),
        plot_timings(
            tmp_path / "tlog.pdf", {"a": {"inference": 0.01}, "b": {"inference": 10.0}}, log=True
        ),
        plot_metric_bars(tmp_path / "auc.png", {"a": [0.2, 0.3, 0.25], "b": 0.5}, ylabel="AUC"),
        plot_pointing(
            tmp_path / "p.png", {"a": [1, 0, 1, 1], "b": {"mean": 0.5, "ci": [0.3, 0.7]}}
        ),
        plot_temporal_importance(
            tmp_path / "ti.png", {"a": [0.1, 0.5, 0.4]}, frame_indices=[0, 4, 8], fps=8.0
        ),
        plot_temporal_importance(tmp_path / "ti1.png", [0.2, 0.8]),
    ]
    for path in paths:
        assert path.exists() and path.stat().st_size > 1000
        if path.suffix == ".png":
            _is_picture(path)
    assert (tmp_path / "single.svg").read_text().lstrip().startswith("<?xml")


def test_evaluation_plots_bad_input(tmp_path):
    with pytest.raises(InvalidInputError):
        plot_deletion_insertion(tmp_path / "x.png", {"a": {"deletion": {"fractions": [0, 1]}}})
    with pytest.raises(InvalidInputError):
        plot_deletion_insertion(
            tmp_path / "x.png", {"a": {"deletion": {"fractions": [0, 1], "scores": [1]}}}
        )
    with pytest.raises(InvalidInputError):
        plot_timings(tmp_path / "x.png", {"a": {"inference": -1.0}})
    with pytest.raises(InvalidInputError):
        plot_minimal_mask(tmp_path / "x.png", {"a": {"high": 0.2}})
    with pytest.raises(InvalidInputError):
        plot_metric_bars(tmp_path / "x.png", {})
    with pytest.raises(InvalidInputError):
        plot_temporal_importance(tmp_path / "x.png", [0.1, 0.2], frame_indices=[0])


def test_drawing_leaves_no_pyplot_state(tmp_path):
    """Everything draws on private Agg canvases: pyplot is never imported."""
    code = (
        "import sys, numpy as np, vidxai.viz as vz\n"
        f"p = {str(tmp_path)!r}\n"
        "f = np.zeros((3, 8, 8, 3), np.uint8); a = np.ones((3, 8, 8), np.float32)\n"
        "vz.frame_grid(p + '/g.png', f, {'m': a}, pdf=False)\n"
        "vz.overlay_frames(f, a)\n"
        "vz.plot_timings(p + '/t.png', {'m': {'inference': 1.0}})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _twenty_methods() -> dict:
    x = np.linspace(0, 1, 11)
    return {
        f"method{i:02d}": {
            "deletion": {"fractions": x.tolist(), "scores": (1 - x) ** (1 + i / 10)},
            "insertion": {"fractions": x.tolist(), "scores": x ** (1 + i / 10)},
        }
        for i in range(20)
    }


def test_deletion_insertion_legend_is_inside_the_figure_and_off_the_axes():
    from vidxai.viz.evaluation import deletion_insertion_figure

    fig = deletion_insertion_figure(_twenty_methods(), title="20 methods")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    figure_box = fig.bbox
    (legend,) = fig.legends
    box = legend.get_window_extent(renderer)
    assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 + 1
    assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1 + 1
    for ax in fig.axes:
        assert not box.overlaps(ax.get_window_extent(renderer))  # it covers no data
    texts = [t.get_text() for t in legend.get_texts()]
    assert len(texts) == 20 and texts[0] == "method00  (del 0.500, ins 0.500)"
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 8  # readable on the page
    styles = {(line.get_color(), str(line.get_linestyle())) for line in fig.axes[0].lines}
    assert len(styles) == 20  # one colour + dash pair per method


def test_method_styles_are_distinct_pairs_for_32_methods():
    from vidxai.viz._figure import method_style

    pairs = {(s["color"], s["linestyle"]) for s in (method_style(i) for i in range(32))}
    assert len(pairs) == 32
    triples = {tuple(method_style(i).values()) for i in range(192)}
    assert len(triples) == 192


def test_minimal_mask_curves_say_what_they_measure(tmp_path):
    from vidxai.viz.evaluation import minimal_mask_figure

    table = {"0.5": 0.1, "0.9": None}
    deleted = minimal_mask_figure({"a": table}, game="deletion")
    assert "deleted" in deleted.axes[0].get_ylabel()
    assert "kept" not in deleted.axes[0].get_ylabel()
    assert deleted.legends[0].get_texts()[0].get_text() == "a — deleted"
    inserted = minimal_mask_figure({"a": table}, game="insertion")
    assert "inserted" in inserted.axes[0].get_ylabel()
    both = minimal_mask_figure({"a": {"deletion": table, "insertion": {"0.5": 0.3}}})
    labels = [t.get_text() for t in both.legends[0].get_texts()]
    assert labels[:2] == ["a — deleted", "a — inserted"]
    lines = both.axes[0].lines
    assert lines[0].get_color() == lines[1].get_color()
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    with pytest.raises(InvalidInputError, match="game"):
        minimal_mask_figure({"a": table}, game="kept")
    assert plot_minimal_mask(tmp_path / "m.png", {"a": table}, game="deletion").is_file()
