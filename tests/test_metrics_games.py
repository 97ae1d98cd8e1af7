"""Deletion / insertion games and minimal masks: closed forms, parity, determinism."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from scipy.ndimage import gaussian_filter
from torch import Tensor, nn

import vidxai
from vidxai.metrics.games import grid_labels, rank_voxels, step_counts, trapezoid


class SumModel(nn.Module):
    """Regression f(x) = Σ x over channels and voxels (output N)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.sum(dim=(1, 2, 3, 4))


class AffineMean(nn.Module):
    """Regression f(x) = 0.1 + 0.8 · mean(x): from 0.9 (all ones) down to 0.1 (all black)."""

    def forward(self, x: Tensor) -> Tensor:
        return 0.1 + 0.8 * x.mean(dim=(1, 2, 3, 4))


def _ranked_clip(shape=(2, 4, 4), seed=0) -> tuple[Tensor, Tensor]:
    """A clip whose channel 0 holds a permutation of 1..V (others zero) and that map."""
    v = math.prod(shape)
    vals = (torch.randperm(v, generator=torch.Generator().manual_seed(seed)) + 1).float()
    vals = vals.view(shape)
    x = torch.zeros(3, *shape)
    x[0] = vals
    return x, vals


def test_exact_auc_sum_classifier_one_voxel_per_step():
    x, vals = _ranked_clip()
    v = vals.numel()
    res = vidxai.evaluate(SumModel(), x, vals, metrics=["deletion", "insertion"], n_steps=v)
    # Deleting the largest first leaves S_k = (V−k)(V−k+1)/2; trapezoid over k/V.
    deletion = (v + 1) * (v + 2) / 6 - (v + 1) / 4
    insertion = v * (v + 1) / 2 - (v + 1) * (v - 1) / 6 - (v + 1) / 4
    assert res.scores["deletion"] == pytest.approx(deletion, rel=1e-9)
    assert res.scores["insertion"] == pytest.approx(insertion, rel=1e-9)
    curve = res.curves["deletion"]
    assert curve["fractions"] == [k / v for k in range(v + 1)]
    assert curve["scores"][0] == v * (v + 1) / 2 and curve["scores"][-1] == 0.0
    assert res.n_forward == 1 + 2 * (v + 1)


def test_auc_trapezoid_over_actual_fractions_with_unequal_cells():
    # W = 5 split into 2 cells of widths 3 and 2 → cells of 3/5 and 2/5 of the voxels.
    shape = (1, 1, 5)
    x = torch.zeros(3, *shape)
    x[0, 0, 0] = torch.tensor([1.0, 1.0, 1.0, 10.0, 10.0])
    attribution = torch.tensor([[[0.0, 0.0, 0.0, 1.0, 1.0]]])
    res = vidxai.evaluate(
        SumModel(),
        x,
        attribution,
        metrics=["deletion"],
        n_steps=2,
        granularity="grid",
        grid=(1, 1, 2),
    )
    # step 1 wants ≥ 2.5 voxels: the first cell (2 voxels, value 20) is not enough → both cells.
    assert res.curves["deletion"]["fractions"] == [0.0, 1.0]
    res = vidxai.evaluate(
        SumModel(),
        x,
        attribution,
        metrics=["deletion"],
        n_steps=4,
        granularity="grid",
        grid=(1, 1, 2),
    )
    fr = res.curves["deletion"]["fractions"]
    sc = res.curves["deletion"]["scores"]
    assert fr == [0.0, 0.4, 1.0] and sc == [23.0, 3.0, 0.0]
    assert res.scores["deletion"] == pytest.approx(0.4 * 13 + 0.6 * 1.5)


def test_trapezoid_and_step_counts_helpers():
    assert trapezoid([0.0, 0.5, 1.0], [1.0, 1.0, 0.0]) == pytest.approx(0.75)
    counts, fractions = step_counts(torch.tensor([1, 1, 1, 1]), 2)
    assert counts.tolist() == [0, 2, 4] and fractions == [0.0, 0.5, 1.0]
    counts, fractions = step_counts(torch.tensor([3, 1]), 4)  # merged repeated counts
    assert counts.tolist() == [0, 1, 2] and fractions == [0.0, 0.75, 1.0]


def test_grid_labels_cover_cells():
    labels = grid_labels((4, 6, 6), (2, 3, 3))
    assert labels.shape == (4, 6, 6)
    assert torch.bincount(labels.flatten()).tolist() == [8] * 18


def test_ties_broken_by_seed_and_deterministic():
    attribution = torch.zeros(2, 3, 3)
    labels = torch.arange(18).view(2, 3, 3)
    r1, _ = rank_voxels(attribution, labels, torch.Generator().manual_seed(1))
    r2, _ = rank_voxels(attribution, labels, torch.Generator().manual_seed(1))
    r3, _ = rank_voxels(attribution, labels, torch.Generator().manual_seed(2))
    assert torch.equal(r1, r2) and not torch.equal(r1, r3)
    assert sorted(r1.flatten().tolist()) == list(range(18))
    # a strict order is respected whatever the seed
    ranked, _ = rank_voxels(torch.arange(18.0).view(2, 3, 3), labels, torch.Generator())
    assert ranked.flatten().tolist() == list(range(17, -1, -1))


@pytest.mark.parametrize("batch_size", [1, 3, 7])
def test_chunked_equals_unchunked(tiny_model, tiny_clip, batch_size):
    attribution = torch.rand(8, 32, 32, generator=torch.Generator().manual_seed(3))
    kw = dict(metrics=["deletion", "insertion", "average_drop"], n_steps=12, target=1)
    ref = vidxai.evaluate(tiny_model, tiny_clip[0], attribution, batch_size=64, **kw)
    got = vidxai.evaluate(tiny_model, tiny_clip[0], attribution, batch_size=batch_size, **kw)
    for name in ("deletion", "insertion"):
        assert got.curves[name]["fractions"] == ref.curves[name]["fractions"]
        torch.testing.assert_close(
            torch.tensor(got.curves[name]["scores"]),
            torch.tensor(ref.curves[name]["scores"]),
            rtol=1e-5,
            atol=1e-6,
        )
    assert got.scores["average_drop"] == pytest.approx(ref.scores["average_drop"], abs=1e-4)


def test_sum_model_chunking_is_bit_identical():
    x, vals = _ranked_clip((2, 6, 6), seed=4)
    runs = [
        vidxai.evaluate(SumModel(), x, vals, metrics=["deletion"], n_steps=9, batch_size=b)
        for b in (1, 4, 100)
    ]
    assert runs[0].curves == runs[1].curves == runs[2].curves


def test_minimal_mask_known_crossings():
    x = torch.ones(3, 2, 5, 5)
    attribution = torch.rand(2, 5, 5, generator=torch.Generator().manual_seed(0))
    res = vidxai.evaluate(
        AffineMean(),
        x,
        attribution,
        metrics=["minimal_mask", "minimal_mask_insertion"],
        n_steps=10,
        thresholds=(0.3, 0.46, 0.7, 0.05, 0.95),
    )
    # deletion: 0.9 − 0.8q <= th ⇔ q >= (0.9 − th)/0.8 → first grid point of q = k/10.
    assert res.scores["minimal_mask"] == {0.3: 0.8, 0.46: 0.6, 0.7: 0.3, 0.05: None, 0.95: 0.0}
    # insertion: 0.1 + 0.8q >= th
    assert res.scores["minimal_mask_insertion"] == {
        0.3: 0.3,
        0.46: 0.5,
        0.7: 0.8,
        0.05: 0.0,
        0.95: None,
    }
    curve = res.curves["minimal_mask"]
    assert curve["thresholds"] == [0.3, 0.46, 0.7, 0.05, 0.95]
    assert curve["fractions"][:3] == [0.8, 0.6, 0.3] and math.isnan(curve["fractions"][3])


def test_minimal_mask_shares_the_game_with_the_auc():
    x, vals = _ranked_clip()
    both = vidxai.evaluate(SumModel(), x, vals, metrics=["deletion", "minimal_mask"], n_steps=8)
    alone = vidxai.evaluate(SumModel(), x, vals, metrics=["deletion"], n_steps=8)
    assert both.n_forward == alone.n_forward == 1 + 9


def test_fills_black_mean_and_blur():
    x, vals = _ranked_clip()
    total = float(x.sum())
    v = vals.numel()
    for fill, expected_end in (
        ("black", 0.0),
        ("mean", total),
        ("gray", 1.5 * v),
        (0.25, 0.75 * v),
    ):
        res = vidxai.evaluate(SumModel(), x, vals, metrics=["deletion"], n_steps=4, fill=fill)
        assert res.curves["deletion"]["scores"][-1] == pytest.approx(expected_end, rel=1e-5)
    res = vidxai.evaluate(
        SumModel(), x, vals, metrics=["insertion"], n_steps=4, fill="blur", blur_sigma=1.0
    )
    # independent reference: SciPy's 3D Gaussian with the reflect border of vidxai.ops.blur
    blurred = gaussian_filter(x.double().numpy(), sigma=(0, 1.0, 1.0, 1.0), mode="reflect")
    assert res.curves["insertion"]["scores"][0] == pytest.approx(float(blurred.sum()), rel=1e-5)


def test_supervoxel_granularity_with_label_volume():
    x, vals = _ranked_clip((2, 4, 4))
    segments = torch.zeros(2, 4, 4, dtype=torch.long)
    segments[:, :, 2:] = 7  # two halves, labels need not be contiguous
    attribution = torch.zeros(2, 4, 4)
    attribution[:, :, 2:] = 1.0
    res = vidxai.evaluate(
        SumModel(),
        x,
        attribution,
        metrics=["deletion"],
        n_steps=2,
        granularity="supervoxel",
        segments=segments,
    )
    right = float(vals[:, :, 2:].sum())
    assert res.curves["deletion"]["fractions"] == [0.0, 0.5, 1.0]
    assert res.curves["deletion"]["scores"] == [float(vals.sum()), float(vals.sum()) - right, 0.0]


@pytest.mark.filterwarnings("ignore:SLIC kept only")  # the tiny clip is noise
def test_supervoxel_granularity_defaults_to_slic(tiny_model, tiny_clip):
    attribution = torch.rand(8, 32, 32, generator=torch.Generator().manual_seed(0))
    res = vidxai.evaluate(
        tiny_model,
        tiny_clip[0],
        attribution,
        metrics=["deletion"],
        n_steps=4,
        granularity="supervoxel",
        n_segments=16,
    )
    fractions = res.curves["deletion"]["fractions"]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(fractions) <= 5
    assert all(b > a for a, b in itertools.pairwise(fractions))
