"""Issue 15, third round: the fold-over Hadamard keep design (design="foldover", the lime3d
and rise3d default): an orthogonal block then its complements. Checked exactly (balance,
orthogonality, fold-over, resolution IV, rank), statistically (every row an independent
Bernoulli(p) draw) and through the methods on closed-form toy models."""

from __future__ import annotations

import pytest
import torch

import vidxai
from test_removal_variance import BASE, ZERO, CellModel, clip, feats
from vidxai.core.registry import get_method
from vidxai.errors import ParameterError
from vidxai.removal.sample import BernoulliSampler
from vidxai.removal.sample.design import uniform_points
from vidxai.removal.sample.foldover import foldover_points

SHAPE = (4, 8, 8)


def signs(u: torch.Tensor) -> torch.Tensor:
    return 2.0 * (u < 0.5).double() - 1.0


def test_foldover_blocks_are_orthogonal_folded_resolution_iv_and_prefix_consistent() -> None:
    d, b = 20, 32  # 2^5 ≥ 21
    u = foldover_points(150, d, torch.Generator().manual_seed(4))  # blocks of 64 rows
    assert u.shape == (150, d) and float(u.min()) >= 0 and float(u.max()) < 1
    x = signs(u)
    eye = torch.eye(d, dtype=torch.float64)
    for start in (0, 64):  # every whole block
        half, other = x[start : start + b], x[start + b : start + 2 * b]
        # the first half alone: balanced columns, pairwise orthogonal
        torch.testing.assert_close(half.T @ half, b * eye)
        assert float(half.sum(0).abs().max()) == 0.0
        # the second half: the complements of the first half's rows, in another order
        assert {tuple(r) for r in (-other).tolist()} == {tuple(r) for r in half.tolist()}
        assert not torch.equal(-other, half)
        block = x[start : start + 2 * b]
        triple = torch.einsum("ni,nj,nk->ijk", block, block, block)
        assert float(triple.abs().max()) == 0.0  # no main effect aliased with a 2-interaction
        # the other digits are folded too: u and 1 − u
        torch.testing.assert_close(
            torch.sort(1.0 - u[start + b : start + 2 * b], 0).values,
            torch.sort(u[start : start + b], 0).values,
            atol=1e-6,
            rtol=0,
        )
    head = foldover_points(45, d, torch.Generator().manual_seed(4))
    torch.testing.assert_close(head, u[:45])


@pytest.mark.parametrize("d", [5, 200])
def test_foldover_is_full_rank_from_one_half_block_where_sobol_is_not(d: int) -> None:
    b = 8 if d == 5 else 256
    for n in (b, b + b // 3, 2 * b):
        z = (uniform_points("foldover", n, d, torch.Generator().manual_seed(1)) < 0.5).double()
        design = torch.cat([torch.ones(n, 1, dtype=torch.float64), z], 1)
        assert int(torch.linalg.matrix_rank(design)) == d + 1
    if d == 200:  # the scrambled Sobol points repeat columns below 2^(L+1) = 512 points
        z = (uniform_points("sobol", 333, d, torch.Generator().manual_seed(1)) < 0.5).double()
        design = torch.cat([torch.ones(333, 1, dtype=torch.float64), z], 1)
        assert int(torch.linalg.matrix_rank(design)) < d + 1


@pytest.mark.parametrize(("p", "row"), [(0.3, 3), (0.5, 12)])  # row 12: in the folded half
def test_foldover_rows_are_independent_bernoulli_draws_across_randomisations(p, row) -> None:
    rows = torch.stack(
        [
            BernoulliSampler(16, p, design="foldover")(
                5, SHAPE, torch.Generator().manual_seed(i)
            ).z[row]
            for i in range(1500)
        ]
    )
    assert float((rows.mean(0) - p).abs().max()) < 0.05
    corr = torch.corrcoef(rows.T)
    assert float((corr - torch.eye(5)).abs().max()) < 0.09


def test_foldover_lime_recovers_linear_weights_and_rise_keeps_its_mean_exactly() -> None:
    grid = (2, 2, 2)  # 8 cells: half-blocks of 16 rows
    w = torch.randn(8, generator=torch.Generator().manual_seed(1))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    lime = vidxai.explain(
        net, x, "lime3d", grid=grid, n_samples=20, alpha=0.0, removal=ZERO, design="foldover",
        **BASE,
    )  # fmt: skip
    assert lime.params["design"] == "foldover"
    torch.testing.assert_close(feats(lime), truth, atol=1e-5, rtol=1e-5)
    # RISE's mean when kept on an additive model, every pair of columns balanced after a
    # half-block: E[f | z_j = 1] = f(p·1) + (1 − p)·a_j exactly (plain arithmetic)
    want = 0.5 * float(truth.sum()) + 0.5 * truth
    for n in (16, 32):
        rise = vidxai.explain(
            net, x, "removal", sampler="bernoulli", summary="mean", grid=grid, n_samples=n,
            removal=ZERO, design="foldover", **BASE,
        )  # fmt: skip
        torch.testing.assert_close(feats(rise), want, atol=1e-5, rtol=1e-5)


def test_foldover_rise_default_averages_to_the_mean_when_kept() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(2))
    net, x = CellModel(grid, w, {(0, 1): 3.0, (2, 5, 7): -4.0}), clip()
    means = net.means(x.unsqueeze(0))[0].double()
    # E[f | z_j = 1] under independent fair keeps, by plain enumeration of the 2^8 masks
    truth = torch.zeros(8, dtype=torch.float64)
    masks = ((torch.arange(256).unsqueeze(1) >> torch.arange(8)) & 1).double()
    values = net.value(masks * means)
    for j in range(8):
        truth[j] = values[masks[:, j] == 1].mean()
    runs = torch.stack(
        [
            feats(
                vidxai.explain(
                    net, x, "removal", sampler="bernoulli", summary="mean", grid=grid,
                    n_samples=40, removal=ZERO, design="foldover", seed=s, **BASE,
                )
            )
            for s in range(12)
        ]
    )  # fmt: skip
    spread = runs.std(0) / 12**0.5
    assert float((runs.mean(0) - truth).abs().max()) < 4 * float(spread.max()) + 1e-6


def test_foldover_is_deterministic_and_a_known_design_name() -> None:
    net, x = (
        CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(3))),
        clip(),
    )
    kw = dict(grid=(2, 2, 2), n_samples=50, removal=ZERO, **BASE)
    a = vidxai.explain(net, x, "rise3d", seed=3, batch_size=1, **kw)
    b = vidxai.explain(net, x, "rise3d", seed=3, batch_size=64, **kw)
    assert a.params["design"] == "foldover"
    torch.testing.assert_close(a.attribution, b.attribution, atol=1e-6, rtol=1e-5)
    assert get_method("lime3d").parse_params({"design": "foldover"}).design == "foldover"
    with pytest.raises(ParameterError, match="design"):
        get_method("lime3d").parse_params({"design": "folded"})
