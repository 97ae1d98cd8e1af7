"""Row labels of the frame grid stay inside their row; the grid's dpi is an option."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from vidxai.errors import InvalidInputError
from vidxai.viz.grid import fit_row_label, frame_grid


@pytest.mark.parametrize(
    "name",
    ["gradcam", "smooth_gradcampp (layer4)", "kernel_shap3d", "x" * 60, "a_b-c.d e_" * 8],
)
@pytest.mark.parametrize("height", [0.4, 0.72, 1.7])
def test_a_label_fits_its_row_when_drawn(name: str, height: float) -> None:
    text, size = fit_row_label(name, height)
    assert 7.0 <= size <= 10.0 and text.count("\n") <= 2
    # measured with matplotlib's own text layout (not the estimate the function uses)
    fig = Figure(figsize=(2, 2), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.4, 0.1, 0.5, 0.8))
    label = ax.set_ylabel(text, fontsize=size, rotation=90)
    extent = label.get_window_extent(canvas.get_renderer())
    assert extent.height / fig.dpi <= height
    if "…" not in text:  # nothing lost but the line breaks
        assert text.replace("\n", "").replace(" ", "") == name.replace(" ", "")


def test_short_labels_are_unchanged() -> None:
    assert fit_row_label("video", 1.0) == ("video", 10.0)


def test_grid_with_long_labels_on_a_wide_clip_and_its_dpi(tmp_path: Path) -> None:
    frames = np.zeros((4, 27, 64, 3), np.uint8)
    maps = {"smooth_gradcampp (layer4)": np.random.default_rng(0).random((4, 27, 64))}
    low = frame_grid(tmp_path / "a.png", frames, maps, n_frames=2, pdf=False, dpi=60)
    high = frame_grid(tmp_path / "b.png", frames, maps, n_frames=2, pdf=False, dpi=120)
    w_low, w_high = Image.open(low).size[0], Image.open(high).size[0]
    assert abs(w_high / w_low - 2.0) < 0.1
    for bad in (0, 10_000, 1.5, True):
        with pytest.raises(InvalidInputError, match="dpi"):
            frame_grid(tmp_path / "c.png", frames, maps, pdf=False, dpi=bad)  # type: ignore[arg-type]
