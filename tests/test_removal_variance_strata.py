"""Issue 15, second round: Kernel SHAP stratified by coalition size (complete=True), the
randomised Hadamard keep design and LIME's leave-one-out ridge penalty (alpha="auto"). Each is
checked against plain re-implementations and closed-form toy models."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import vidxai
from test_removal_variance import (
    BASE,
    ZERO,
    CellModel,
    clip,
    coalition_values,
    exact_shapley,
    feats,
)
from vidxai.errors import ParameterError
from vidxai.removal.budget import AutoBudget, score_in_rounds
from vidxai.removal.presets import KernelShap3DParams
from vidxai.removal.sample import BernoulliSampler, ShapleySampler
from vidxai.removal.sample.design import hadamard_points
from vidxai.removal.sample.stratified import complete_strata, draw_remaining
from vidxai.removal.summarize.ridge import weighted_ridge
from vidxai.removal.summarize.ridge_cv import loo_penalty, penalty_grid

SHAPE = (4, 8, 8)


def plain_strata(m: int, budget: int) -> list[int]:
    """The enumeration rule written out: take size pair (s, M−s) while its coalitions fit the
    rows a proportional share of the remaining budget would give it."""
    mass = {s: (m - 1) / (s * (m - s)) for s in range(1, m)}
    left, rows, out = sum(mass.values()), budget, []
    for s in range(1, m // 2 + 1):
        sizes = {s, m - s}
        count = sum(math.comb(m, k) for k in sizes)
        share = sum(mass[k] for k in sizes)
        if count > rows * share / left + 1e-9:
            break
        out.append(s)
        left, rows = left - share, rows - count
    return out


# --------------------------------------------------------------- stratified Kernel SHAP


@pytest.mark.parametrize(("m", "n"), [(12, 100), (12, 333), (12, 1000), (10, 60), (7, 50)])
def test_enumerated_strata_are_every_coalition_of_their_sizes_with_the_kernel_weight(m, n):
    assert complete_strata(m, n) == plain_strata(m, n)
    s = ShapleySampler(n, pairs=True, complete=True)(m, SHAPE, torch.Generator().manual_seed(0))
    assert not s.nested and s.n <= n + 3 and s.full_row == 0 and s.empty_row == 1
    z, w = s.z[2:].double(), s.weights[2:].double()
    fixed = s.first_random - 2
    sizes = z.sum(1).round().long()
    strata = set(plain_strata(m, n))
    want = {c for c in itertools.product((0, 1), repeat=m) if min(sum(c), m - sum(c)) in strata}
    got = [tuple(int(v) for v in row) for row in z[:fixed]]
    assert len(got) == len(set(got)) and set(got) == want
    for weight, k in zip(w[:fixed].tolist(), sizes[:fixed].tolist()):
        assert weight == pytest.approx((m - 1) / (math.comb(m, k) * k * (m - k)))
    drawn = z[fixed:]
    assert all(min(k, m - k) not in strata for k in sizes[fixed:].tolist())
    torch.testing.assert_close(drawn[0::2] + drawn[1::2], torch.ones_like(drawn[0::2]))
    assert len({tuple(r.tolist()) for r in drawn}) == drawn.shape[0]  # no pass spent twice
    total = sum((m - 1) / (k * (m - k)) for k in range(1, m))
    assert float(w.sum()) == pytest.approx(total)  # the whole kernel mass, strata by strata


def test_repeated_draws_add_weight_instead_of_passes() -> None:
    """Few coalitions left to draw from: the multiplicities count every draw, sum to the number
    of draws, and their frequencies follow the kernel over the remaining sizes."""
    m = 6
    sizes = torch.tensor([2, 3, 4])
    prob = torch.tensor([(m - 1) / (k * (m - k)) for k in (2, 3, 4)], dtype=torch.float64)
    rows, mult, draws = draw_remaining(
        m, sizes, prob, 1000, False, torch.Generator().manual_seed(1)
    )
    assert rows.shape[0] == 50  # every coalition of sizes 2–4 (C(6,2)+C(6,3)+C(6,4)), once
    assert len({tuple(r.tolist()) for r in rows}) == 50
    assert float(mult.sum()) == draws and bool((mult >= 1).all())
    k = rows.sum(1).round().long()
    freq = torch.stack([mult[k == size].sum() / draws for size in (2, 3, 4)])
    want = prob / prob.sum()
    assert bool(((freq - want).abs() <= 4 * (want * (1 - want) / draws).sqrt()).all())


def test_complete_sizes_average_to_the_exact_shapley_values_with_less_error() -> None:
    grid = (1, 2, 5)  # 10 cells: 1022 coalitions, 60 rows
    terms = {(0, 1, 2): 4.0, (3, 4): -3.0, (5, 6, 7, 8): 6.0}
    w = torch.randn(10, generator=torch.Generator().manual_seed(2))
    net, x = CellModel(grid, w, terms), clip()
    truth = exact_shapley(coalition_values(net, x, 10), 10)
    runs = {}
    for complete in (False, True):
        runs[complete] = torch.stack(
            [
                feats(
                    vidxai.explain(
                        net, x, "kernel_shap3d", grid=grid, n_samples=60, removal=ZERO,
                        seed=seed, complete=complete, **BASE,
                    )
                )
                for seed in range(12)
            ]
        )  # fmt: skip
    stack = runs[True]
    spread = stack.std(0) / math.sqrt(stack.shape[0])
    bias = (stack.mean(0) - truth).abs()
    assert float(bias.max()) < 4 * float(spread.max()) + 0.02 * float(truth.abs().max())
    for phi in stack:  # efficiency stays exact
        assert float(phi.sum()) == pytest.approx(float(truth.sum()), abs=1e-4)
    rmse = {c: float((r - truth).pow(2).mean().sqrt()) for c, r in runs.items()}
    assert rmse[True] < rmse[False]  # sizes 1 and 9 exact: less error at the same passes


def test_complete_sizes_are_exact_on_an_additive_model() -> None:
    """On an additive model every stratum's regression is exact, so is the stratified fit."""
    grid = (1, 3, 4)
    w = torch.randn(12, generator=torch.Generator().manual_seed(3))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    exp = vidxai.explain(
        net, x, "kernel_shap3d", grid=grid, n_samples=100, removal=ZERO, complete=True, **BASE
    )
    torch.testing.assert_close(feats(exp), truth, atol=1e-5, rtol=1e-5)
    assert exp.extras["relative_standard_error"] < 1e-4


def test_complete_sizes_need_the_kernel_draws_and_a_fixed_budget() -> None:
    with pytest.raises(ParameterError, match="size_distribution='kernel'"):
        ShapleySampler(100, complete=True, size_distribution="uniform")
    with pytest.raises(ParameterError, match="design='iid'"):
        ShapleySampler(100, complete=True, design="sobol")
    auto = KernelShap3DParams(n_samples="auto", complete=True).build()
    assert auto.sampler.complete is False  # type: ignore[attr-defined]
    fixed = KernelShap3DParams(n_samples=200, complete=True).build()
    assert fixed.sampler.complete is True  # type: ignore[attr-defined]
    default = KernelShap3DParams(n_samples=200).build()  # on by default with a fixed budget
    assert default.sampler.complete is True  # type: ignore[attr-defined]
    sobol = KernelShap3DParams(n_samples=200, design="sobol").build()  # its own draws
    assert sobol.sampler.complete is False  # type: ignore[attr-defined]
    with pytest.raises(ParameterError, match="design='iid'"):
        KernelShap3DParams(n_samples=200, design="sobol", complete=True)
    # the rounds of n_samples="auto" refuse a budget-dependent design with a clear error
    strata = ShapleySampler(100, complete=True)(12, SHAPE, torch.Generator().manual_seed(0))
    with pytest.raises(ParameterError, match="prefix-consistent"):
        score_in_rounds(strata, lambda a, b: torch.zeros(b - a), None, AutoBudget(), 14)  # type: ignore[arg-type]


# ------------------------------------------------------------------ Hadamard keep design


def test_hadamard_blocks_are_balanced_orthogonal_resolution_iv_and_prefix_consistent() -> None:
    u = hadamard_points(300, 20, torch.Generator().manual_seed(4))  # blocks of 64 rows
    assert u.shape == (300, 20) and float(u.min()) >= 0 and float(u.max()) < 1
    signs = 2.0 * (u < 0.5).double() - 1.0
    for b in range(4):  # every whole block
        block = signs[64 * b : 64 * (b + 1)]
        torch.testing.assert_close(block.T @ block, 64 * torch.eye(20, dtype=torch.float64))
        # no main effect aliased with a two-feature interaction: Σ x_i x_j x_k = 0
        triple = torch.einsum("ni,nj,nk->ijk", block, block, block)
        assert float(triple.abs().max()) == 0.0
    head = hadamard_points(45, 20, torch.Generator().manual_seed(4))
    torch.testing.assert_close(head, u[:45])


def test_hadamard_rows_are_independent_bernoulli_draws_across_randomisations() -> None:
    rows = torch.stack(
        [
            BernoulliSampler(8, 0.3, design="hadamard")(
                5, SHAPE, torch.Generator().manual_seed(i)
            ).z[3]
            for i in range(1500)
        ]
    )  # fmt: skip
    assert float((rows.mean(0) - 0.3).abs().max()) < 0.05
    corr = torch.corrcoef(rows.T)
    assert float((corr - torch.eye(5)).abs().max()) < 0.09


def test_hadamard_lime_recovers_linear_weights_and_rise_keeps_its_mean() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(1))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    exp = vidxai.explain(
        net, x, "lime3d", grid=grid, n_samples=40, alpha=0.0, removal=ZERO, design="hadamard",
        **BASE,
    )  # fmt: skip
    torch.testing.assert_close(feats(exp), truth, atol=1e-5, rtol=1e-5)
    # RISE's mean when kept on an additive model, with every column balanced (16 rows = 2
    # blocks): E[f | z_j = 1] = f(p·1) + (1 − p)·a_j exactly
    means = net.means(x.unsqueeze(0))[0].double()
    want = 0.5 * float(truth.sum()) + 0.5 * truth
    rise = vidxai.explain(
        net, x, "removal", sampler="bernoulli", summary="mean", grid=grid, n_samples=16,
        removal=ZERO, design="hadamard", **BASE,
    )  # fmt: skip
    assert means.numel() == 8
    torch.testing.assert_close(feats(rise), want, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------- LIME's ridge penalty


def brute_loo_error(x, y, w, alpha) -> float:
    """Leave-one-out error by refitting the weighted ridge without each row (slow, plain)."""
    err = 0.0
    for i in range(x.shape[0]):
        keep = torch.arange(x.shape[0]) != i
        coef, intercept, _, _ = weighted_ridge(x[keep], y[keep], w[keep], alpha)
        err += float(w[i]) * float(y[i] - x[i] @ coef - intercept) ** 2
    return err


def test_loo_penalty_is_the_brute_force_leave_one_out_minimiser() -> None:
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(40, 12, generator=g) < 0.5).double()
    y = x @ torch.randn(12, generator=g, dtype=torch.float64) + 2 * torch.randn(
        40, generator=g, dtype=torch.float64
    )
    w = torch.rand(40, generator=g, dtype=torch.float64) + 0.2
    sw = w.sum()
    xc = w.sqrt().unsqueeze(1) * (x - (w @ x) / sw)
    grid = penalty_grid(float(torch.linalg.svdvals(xc).pow(2).sum()) / 12, 40, 12)
    errors = [brute_loo_error(x, y, w, a) for a in grid]
    assert loo_penalty(x, y, w) == pytest.approx(grid[errors.index(min(errors))])


def test_loo_penalty_vanishes_relative_to_n_and_is_zero_on_exact_data() -> None:
    for m in (10, 200):
        # λ̄ grows like n; the largest candidate over n falls like n^(-1/2)
        tops = [max(penalty_grid(0.25 * n, n, m)) / n for n in (m, 10 * m, 100 * m)]
        assert tops[1] / tops[0] == pytest.approx(10**-0.5)
        assert tops[2] / tops[1] == pytest.approx(10**-0.5)
    g = torch.Generator().manual_seed(6)
    x = (torch.rand(60, 10, generator=g) < 0.5).double()
    beta = torch.randn(10, generator=g, dtype=torch.float64)
    assert loo_penalty(x, x @ beta + 1.0, torch.ones(60, dtype=torch.float64)) == 0.0


def test_lime_auto_penalty_recovers_linear_weights_and_rejects_bad_values() -> None:
    grid = (2, 2, 3)
    w = torch.randn(12, generator=torch.Generator().manual_seed(7))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    exp = vidxai.explain(
        net, x, "lime3d", grid=grid, n_samples=60, alpha="auto", removal=ZERO, **BASE
    )
    torch.testing.assert_close(feats(exp), truth, atol=1e-5, rtol=1e-5)
    assert exp.extras["alpha"] == 0.0
    for bad in ("big", -1.0, True):
        with pytest.raises(ParameterError, match="alpha"):
            vidxai.explain(net, x, "lime3d", grid=grid, n_samples=60, alpha=bad, **BASE)


# ------------------------------------------------------- determinism and batch-size parity


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("kernel_shap3d", {"complete": True, "grid": (1, 3, 4), "n_samples": 150}),
        ("lime3d", {"design": "hadamard", "alpha": "auto", "n_samples": 90}),
        ("rise3d", {"design": "hadamard", "n_samples": 90}),
    ],
)
def test_same_seed_same_result_and_batch_size_parity(method, options) -> None:
    net = CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(4)),
                    {(0, 3): 2.0})  # fmt: skip
    x = clip()
    kw = {"grid": (2, 2, 2), **options, **BASE}
    a = vidxai.explain(net, x, method, batch_size=1, seed=7, **kw)
    b = vidxai.explain(net, x, method, batch_size=64, seed=7, **kw)
    torch.testing.assert_close(a.attribution, b.attribution, atol=1e-6, rtol=1e-5)
    assert a.n_forward == b.n_forward
    c = vidxai.explain(net, x, method, batch_size=5, seed=8, **kw)
    assert not torch.equal(c.attribution, a.attribution)
