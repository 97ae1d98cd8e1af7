"""evaluate(): registry metadata, average drop closed form, defaults, bad input."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import Tensor, nn

import vidxai
from vidxai.errors import InvalidInputError, ParameterError, UnknownNameError
from vidxai.metrics import EvaluationResult, get_metric, list_metrics


class Affine(nn.Module):
    """Regression f(x) = b + w · mean(x)."""

    def __init__(self, b: float, w: float) -> None:
        super().__init__()
        self.b, self.w = b, w

    def forward(self, x: Tensor) -> Tensor:
        return self.b + self.w * x.mean(dim=(1, 2, 3, 4))


def _half_map() -> Tensor:
    a = torch.zeros(2, 4, 4)
    a[:, :2] = 3.0  # stretched: half ones, half zeros
    return a


def test_registry_metadata():
    names = [s.name for s in list_metrics()]
    assert names[:10] == [
        "deletion",
        "insertion",
        "minimal_mask",
        "minimal_mask_insertion",
        "average_drop",
        "increase_in_confidence",
        "pointing_game",
        "iou",
        "energy",
        "sanity",
    ]
    assert get_metric("deletion").higher_is_better is False
    assert get_metric("insertion").higher_is_better is True
    assert get_metric("iou").needs_ground_truth and not get_metric("iou").needs_model
    assert get_metric("sanity").needs_model and not get_metric("sanity").needs_ground_truth
    assert "n_steps" in get_metric("minimal_mask").param_names()
    with pytest.raises(UnknownNameError, match="deletion"):
        get_metric("deletoin")


def test_average_drop_and_increase_closed_form():
    x = torch.ones(3, 2, 4, 4)
    metrics = ["average_drop", "increase_in_confidence"]
    # y = 0.9, soft mask keeps half the (all-ones) clip over black: o = 0.1 + 0.8·0.5 = 0.5
    res = vidxai.evaluate(Affine(0.1, 0.8), x, _half_map(), metrics=metrics)
    assert res.scores["average_drop"] == pytest.approx(100 * 0.4 / 0.9, rel=1e-5)
    assert res.scores["increase_in_confidence"] is False
    assert res.n_forward == 2  # the intact pass plus one soft-masked pass, shared
    # a model that likes black: y = 0.1, o = 0.5 → no drop, an increase
    res = vidxai.evaluate(Affine(0.9, -0.8), x, _half_map(), metrics=metrics)
    assert res.scores["average_drop"] == 0.0 and res.scores["increase_in_confidence"] is True
    # mean fill of an all-ones clip changes nothing
    res = vidxai.evaluate(Affine(0.1, 0.8), x, _half_map(), metrics=metrics, fill="mean")
    assert res.scores["average_drop"] == pytest.approx(0.0, abs=1e-4)


def test_defaults_result_format_and_explanation_target(tiny_model, tiny_clip):
    exp = vidxai.explain(tiny_model, tiny_clip[0], method="saliency", target=2, progress=False)
    res = vidxai.evaluate(tiny_model, tiny_clip[0], exp, n_steps=5, thresholds="0.2,0.5")
    assert isinstance(res, EvaluationResult)
    assert list(res.scores) == [
        "deletion",
        "insertion",
        "minimal_mask",
        "minimal_mask_insertion",
        "average_drop",
        "increase_in_confidence",
    ]
    assert res.params["target"] == 2 and res.params["deletion"]["n_steps"] == 5
    assert set(res.scores["minimal_mask"]) == {0.2, 0.5}
    assert set(res.curves) == {"deletion", "insertion", "minimal_mask", "minimal_mask_insertion"}
    assert res.curves["deletion"]["fractions"][0] == 0.0
    assert res.curves["deletion"]["fractions"][-1] == 1.0
    assert res.higher_is_better["deletion"] is False
    assert set(res.timings) >= {"deletion", "insertion", "total"}
    flat = res.flat_scores()
    assert "minimal_mask@0.2" in flat and "deletion" in flat
    json.dumps(res.to_dict())  # JSON-able
    explicit = vidxai.evaluate(
        tiny_model, tiny_clip[0], exp.attribution, target=2, n_steps=5, thresholds=(0.2, 0.5)
    )
    assert explicit.scores == res.scores
    assert tiny_model.training is False


def test_same_seed_same_result_constant_map_documented(tiny_model, tiny_clip):
    zeros = torch.zeros(8, 32, 32)
    kw = dict(metrics=["deletion"], n_steps=4, target=0)
    with pytest.warns(UserWarning, match="constant"):
        a = vidxai.evaluate(tiny_model, tiny_clip[0], zeros, seed=1, **kw)
    with pytest.warns(UserWarning):
        b = vidxai.evaluate(tiny_model, tiny_clip[0], zeros, seed=1, **kw)
    assert a.scores == b.scores and math.isfinite(a.scores["deletion"])


def test_training_flag_restored(tiny_model, tiny_clip):
    tiny_model.train()
    vidxai.evaluate(
        tiny_model, tiny_clip[0], torch.rand(8, 32, 32), metrics=["deletion"], n_steps=2
    )
    assert tiny_model.training is True and tiny_model.fc.training is True


@pytest.mark.parametrize(
    ("attribution", "kw", "error", "match"),
    [
        (torch.rand(8, 32, 31), {}, InvalidInputError, "shape"),
        (torch.rand(4, 32, 32), {}, InvalidInputError, "shape"),
        (torch.full((8, 32, 32), math.nan), {}, InvalidInputError, "NaN"),
        ("not a map", {}, InvalidInputError, "tensor"),
        (None, {"n_steps": 1}, ParameterError, "n_steps"),
        (None, {"n_steps": "many"}, ParameterError, "n_steps"),
        (None, {"thresholds": (0.5, 1.2), "metrics": ["minimal_mask"]}, ParameterError, "(0, 1)"),
        (None, {"thresholds": (0.0,), "metrics": ["minimal_mask"]}, ParameterError, "(0, 1)"),
        (None, {"thresholds": (), "metrics": ["minimal_mask"]}, ParameterError, "empty"),
        (None, {"fill": "green"}, ParameterError, "fill"),
        (None, {"granularity": "pixel"}, ParameterError, "granularity"),
        (None, {"grid": (2, 2)}, ParameterError, "grid"),
        (None, {"nsteps": 3}, ParameterError, "n_steps"),
        (None, {"tolerance": 3}, ParameterError, "Unknown"),
        (None, {"metrics": ["auc"]}, UnknownNameError, "metric"),
        (None, {"metrics": ""}, ParameterError, "empty"),
        (None, {"metrics": ["pointing_game"]}, InvalidInputError, "ground_truth"),
        (None, {"seed": 1.5}, InvalidInputError, "seed"),
        (
            None,
            {"granularity": "supervoxel", "segments": torch.zeros(8, 32, 30, dtype=torch.long)},
            InvalidInputError,
            "segments",
        ),
    ],
)
def test_bad_input(tiny_model, tiny_clip, attribution, kw, error, match):
    attribution = torch.rand(8, 32, 32) if attribution is None else attribution
    kw = {"metrics": ["deletion"], **kw}
    with pytest.raises(error, match=match):
        vidxai.evaluate(tiny_model, tiny_clip[0], attribution, **kw)


def test_default_metrics_come_from_the_registry():
    from vidxai.metrics import default_metrics

    assert default_metrics(False) == [
        "deletion",
        "insertion",
        "minimal_mask",
        "minimal_mask_insertion",
        "average_drop",
        "increase_in_confidence",
    ]
    assert default_metrics(True)[-3:] == ["pointing_game", "iou", "energy"]
    assert "sanity" not in default_metrics(True) and get_metric("sanity").default is False
