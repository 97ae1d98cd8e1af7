"""A fill registered by the user works in the metrics (deletion / insertion, average drop) as
it does in the removal methods: one registry, :data:`vidxai.ops.fill_registry.FILLS`."""

from __future__ import annotations

import pytest
import torch

import vidxai
from test_metrics_games import SumModel, _ranked_clip
from vidxai.errors import ParameterError
from vidxai.ops.fill_registry import FILLS, FillInput
from vidxai.removal.remove import FILLS as REMOVAL_FILLS


@pytest.fixture
def white():
    def fill(inp: FillInput) -> torch.Tensor:
        return inp.pixel_value(1.0).reshape(1, -1, 1, 1, 1)

    FILLS.register("test_metric_white")(fill)
    yield "test_metric_white"
    FILLS.unregister("test_metric_white")


def test_the_removal_stage_and_the_metrics_share_one_registry():
    assert REMOVAL_FILLS is FILLS


def test_a_registered_fill_ends_the_deletion_game_at_its_value(white):
    x, vals = _ranked_clip()  # channel 0 holds 1..V, others 0; SumModel: f = Σ x
    v = vals.numel()
    res = vidxai.evaluate(SumModel(), x, vals, metrics=["deletion", "insertion"], n_steps=4,
                          fill=white)  # fmt: skip
    # every voxel white: 3 channels × 1.0 × V (the identity transform of a raw tensor input)
    assert res.curves["deletion"]["scores"][-1] == pytest.approx(3.0 * v, rel=1e-6)
    assert res.curves["insertion"]["scores"][0] == pytest.approx(3.0 * v, rel=1e-6)
    assert res.curves["deletion"]["scores"][0] == pytest.approx(float(x.sum()), rel=1e-6)


def test_an_unknown_fill_lists_the_registered_ones(white):
    x, vals = _ranked_clip()
    with pytest.raises(ParameterError, match=r"Bad fill: unknown fill 'nope'.*test_metric_white"):
        vidxai.evaluate(SumModel(), x, vals, metrics=["deletion"], n_steps=4, fill="nope")


def test_a_fill_returning_a_bad_shape_is_a_parameter_error():
    FILLS.register("test_metric_bad")(lambda inp: torch.zeros(2, 3))
    try:
        x, vals = _ranked_clip()
        with pytest.raises(ParameterError, match=r"test_metric_bad.*does not broadcast"):
            vidxai.evaluate(SumModel(), x, vals, metrics=["deletion"], n_steps=4,
                            fill="test_metric_bad")  # fmt: skip
    finally:
        FILLS.unregister("test_metric_bad")
