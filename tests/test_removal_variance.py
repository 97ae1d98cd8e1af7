"""Variance reduction of the sampled removal methods: every technique keeps the estimator's
expectation on closed-form toy models; determinism, batch-size parity, the auto budget."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor, nn

import vidxai
from vidxai.core.registry import get_method
from vidxai.errors import ParameterError, UnknownNameError
from vidxai.removal.sample import BernoulliSampler, ShapleySampler
from vidxai.removal.segment import SEGMENTERS, grid_labels, make_segmenter
from vidxai.removal.summarize import ridge_loo

SHAPE = (4, 8, 8)
CPU = torch.device("cpu")
BASE = {"target": 0, "behaviour": "logit", "progress": False, "segmentation": "grid"}


def clip(seed: int = 0) -> Tensor:
    return torch.rand(3, *SHAPE, generator=torch.Generator().manual_seed(seed)) + 0.5


ZERO = torch.zeros(3, *SHAPE)  # removal = a reference video of zeros: removed voxels are 0


class CellModel(nn.Module):
    """``f(x) = Σ_k w_k m_k + Σ_S v_S ∏_(k∈S) m_k`` of the cell means ``m_k`` of a grid;
    output ``N×2`` = ``(f, −f)``."""

    def __init__(self, grid: tuple[int, int, int], w: Tensor, terms: dict | None = None):
        super().__init__()
        labels = grid_labels(grid, SHAPE, CPU)
        onehot = nn.functional.one_hot(labels.flatten(), int(labels.max()) + 1).float()
        self.register_buffer("avg", onehot / onehot.sum(0, keepdim=True))
        self.register_buffer("w", w.float())
        self.terms = dict(terms or {})

    def means(self, x: Tensor) -> Tensor:
        return x.mean(1).flatten(1) @ self.avg

    def value(self, m: Tensor) -> Tensor:
        """f from cell means ``…×M`` (float64 allowed)."""
        f = m @ self.w.to(m.dtype)
        for members, v in self.terms.items():
            f = f + v * m[..., list(members)].prod(-1)
        return f

    def forward(self, x: Tensor) -> Tensor:
        f = self.value(self.means(x))
        return torch.stack([f, -f], dim=1)


def coalition_values(net: CellModel, x: Tensor, m: int) -> dict[tuple[int, ...], float]:
    """f of every coalition with removed cells set to 0 (plain enumeration)."""
    means = net.means(x.unsqueeze(0))[0].double()
    out = {}
    for bits in itertools.product((0, 1), repeat=m):
        out[bits] = float(net.value(means * torch.tensor(bits, dtype=torch.float64)))
    return out


def exact_shapley(values: dict[tuple[int, ...], float], m: int) -> Tensor:
    """Shapley values by the permutation-weighted sum over every coalition (slow and plain)."""
    phi = torch.zeros(m, dtype=torch.float64)
    for bits, v in values.items():
        s = sum(bits)
        for j in range(m):
            if bits[j]:
                continue
            with_j = list(bits)
            with_j[j] = 1
            weight = math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m)
            phi[j] += weight * (values[tuple(with_j)] - v)
    return phi


def mean_when_kept_truth(values: dict[tuple[int, ...], float], m: int, p: float) -> Tensor:
    """``E[f(z) | z_j = 1]`` under independent Bernoulli(p) keeps, by enumeration."""
    out = torch.zeros(m, dtype=torch.float64)
    for bits, v in values.items():
        k = sum(bits)
        prob = p**k * (1 - p) ** (m - k)
        for j in range(m):
            if bits[j]:
                out[j] += prob / p * v
    return out


def feats(exp) -> Tensor:
    return exp.extras["feature_attribution"].double()


# ------------------------------------------------------------------------- samplers


@pytest.mark.parametrize("design", ["iid", "sobol"])
@pytest.mark.parametrize("antithetic", [False, True])
def test_bernoulli_options_keep_the_keep_rate_and_are_prefix_consistent(design, antithetic):
    s = BernoulliSampler(1024, 0.5, False, design, antithetic)
    z = s(30, SHAPE, torch.Generator().manual_seed(3)).z
    assert z.shape == (1024, 30) and set(z.unique().tolist()) <= {0.0, 1.0}
    rate = z.mean(0)
    if antithetic or design == "sobol":  # each column exactly balanced
        torch.testing.assert_close(rate, torch.full((30,), 0.5))
    else:
        assert float((rate - 0.5).abs().max()) < 0.08
    if antithetic:
        torch.testing.assert_close(z[0::2] + z[1::2], torch.ones(512, 30))
    head = BernoulliSampler(100, 0.5, False, design, antithetic)(
        30, SHAPE, torch.Generator().manual_seed(3)
    )
    torch.testing.assert_close(head.z, z[:100])


def test_sobol_rows_are_uniform_across_scrambles() -> None:
    """Each scrambled Sobol row is marginally uniform: its keep rate per entry is p, and two
    entries of one row are uncorrelated, across many independent scrambles."""
    rows = torch.stack(
        [
            BernoulliSampler(3, 0.3, design="sobol")(4, SHAPE, torch.Generator().manual_seed(i)).z[
                2
            ]
            for i in range(1500)
        ]
    )
    assert float((rows.mean(0) - 0.3).abs().max()) < 0.05
    corr = torch.corrcoef(rows.T)
    assert float((corr - torch.eye(4)).abs().max()) < 0.09


def test_antithetic_needs_p_one_half_and_bad_design_is_rejected() -> None:
    with pytest.raises(ParameterError, match=r"p=0\.5"):
        BernoulliSampler(10, 0.3, antithetic=True)
    with pytest.raises(ParameterError, match="design"):
        BernoulliSampler(10, 0.5, design="halton")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="size_distribution"):
        ShapleySampler(10, size_distribution="flat")  # type: ignore[arg-type]


def test_shapley_sampler_options_are_prefix_consistent_and_sizes_follow_the_kernel() -> None:
    m = 14  # 16382 coalitions: sampled, not enumerated
    for pairs, dist, design in itertools.product((False, True), ("kernel", "uniform"), DESIGNS):
        big = ShapleySampler(4000, pairs, dist, design)(m, SHAPE, torch.Generator().manual_seed(1))
        small = ShapleySampler(300, pairs, dist, design)(m, SHAPE, torch.Generator().manual_seed(1))
        torch.testing.assert_close(small.z, big.z[: small.n])
        sizes = big.z[2:].sum(1).long()
        freq = torch.bincount(sizes, minlength=m).double()[1:m] / sizes.numel()
        s = torch.arange(1, m, dtype=torch.float64)
        expect = 1 / (s * (m - s)) if dist == "kernel" else torch.ones(m - 1, dtype=torch.float64)
        torch.testing.assert_close(freq, expect / expect.sum(), atol=0.02, rtol=0)
        assert (big.weights is None) == (dist == "kernel")


DESIGNS = ("iid", "sobol")


# ------------------------------------------------------------- expectation on closed forms


def test_lime_options_recover_linear_weights_exactly() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(1))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    for design, anti in itertools.product(DESIGNS, (False, True)):
        exp = vidxai.explain(
            net, x, "lime3d", grid=grid, n_samples=120, alpha=0.0, removal=ZERO,
            design=design, antithetic=anti, **BASE,
        )  # fmt: skip
        torch.testing.assert_close(feats(exp), truth, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    ("pairs", "dist", "design"),
    [(False, "kernel", "iid"), (True, "kernel", "sobol"), (True, "uniform", "iid"),
     (False, "uniform", "sobol")],
)  # fmt: skip
def test_kernel_shap_options_average_to_the_exact_shapley_values(pairs, dist, design) -> None:
    grid = (1, 2, 5)  # 10 cells: 1022 coalitions, sampled at 60
    terms = {(0, 1, 2): 4.0, (3, 4): -3.0, (5, 6, 7, 8): 6.0}
    net, x = (
        CellModel(grid, torch.randn(10, generator=torch.Generator().manual_seed(2)), terms),
        clip(),
    )
    truth = exact_shapley(coalition_values(net, x, 10), 10)
    runs = [
        feats(
            vidxai.explain(
                net, x, "kernel_shap3d", grid=grid, n_samples=60, removal=ZERO, seed=seed,
                pairs=pairs, size_distribution=dist, design=design, **BASE,
            )
        )
        for seed in range(12)
    ]  # fmt: skip
    stack = torch.stack(runs)
    err_of_mean = (stack.mean(0) - truth).abs()
    spread = stack.std(0) / math.sqrt(len(runs))
    # consistent estimator: the bias at 60 samples is far below the single-run error
    assert float(err_of_mean.max()) < 4 * float(spread.max()) + 0.02 * float(truth.abs().max())
    for phi in runs:  # efficiency holds exactly for every run
        assert float(phi.sum()) == pytest.approx(float(truth.sum()), abs=1e-4)


@pytest.mark.parametrize(
    ("design", "antithetic", "control"),
    [("iid", False, "none"), ("sobol", False, "none"), ("iid", True, "none"),
     ("iid", False, "regression"), ("sobol", True, "regression")],
)  # fmt: skip
def test_rise_options_keep_the_mean_when_kept_on_a_one_cuboid_model(design, antithetic, control):
    grid = (2, 2, 2)
    w = torch.zeros(8)
    w[[0, 1]] = 1.0  # the model sees only the cuboid made of cells 0 and 1
    net, x = CellModel(grid, w, {(0, 1): 2.0}), clip()
    truth = mean_when_kept_truth(coalition_values(net, x, 8), 8, 0.5)
    runs = torch.stack(
        [
            feats(
                vidxai.explain(  # RISE's per-cell mean with hard cells (a closed form)
                    net, x, "removal", sampler="bernoulli", summary="mean", grid=grid,
                    n_samples=64, removal=ZERO, seed=seed, design=design,
                    antithetic=antithetic, control=control, **BASE,
                )
            )
            for seed in range(16)
        ]
    )  # fmt: skip
    se = runs.std(0) / 4
    assert float(((runs.mean(0) - truth).abs() - 4 * se).max()) < 0.01
    top = runs.mean(0).topk(2).indices.sort().values
    assert top.tolist() == [0, 1]


def test_regression_control_removes_the_other_cells_noise() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(5))
    net, x = CellModel(grid, w), clip()
    truth = mean_when_kept_truth(coalition_values(net, x, 8), 8, 0.5)
    err = {}
    for control in ("none", "regression"):
        runs = torch.stack(
            [
                feats(
                    vidxai.explain(
                        net, x, "removal", sampler="bernoulli", summary="mean", grid=grid,
                        n_samples=64, removal=ZERO, seed=s, control=control, **BASE,
                    )
                )
                for s in range(6)
            ]
        )  # fmt: skip
        err[control] = float((runs - truth).pow(2).mean().sqrt())
    assert err["regression"] < 0.05 * err["none"]  # additive model: the control is exact


def test_centred_pixel_rise_has_the_same_expectation_and_less_noise() -> None:
    grid = (2, 2, 2)
    w = torch.zeros(8)
    w[0] = 1.0
    net, x = CellModel(grid, w), clip()
    maps = {}
    for control in ("none", "mean"):
        maps[control] = torch.stack(
            [
                vidxai.explain(
                    net, x, "rise3d", grid=grid, n_samples=128, form="pixel", seed=s,
                    removal=ZERO, control=control, design="iid", antithetic=False, **BASE,
                ).attribution.double()
                for s in range(10)
            ]
        )  # fmt: skip
    big = torch.stack(
        [
            vidxai.explain(
                net, x, "rise3d", grid=grid, n_samples=2000, form="pixel", seed=100 + s,
                removal=ZERO, control="none", design="iid", antithetic=False, **BASE,
            ).attribution.double()
            for s in range(2)
        ]
    ).mean(0)  # fmt: skip
    for stack in maps.values():
        assert float((stack.mean(0) - big).abs().mean()) < 0.1 * float(big.abs().mean())
    assert float(maps["mean"].std(0).mean()) < 0.75 * float(maps["none"].std(0).mean())


def test_ridge_loo_picks_a_small_penalty_for_clean_data_and_a_large_one_for_noise() -> None:
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(200, 20, generator=g) < 0.5).double()
    beta = torch.randn(20, generator=g, dtype=torch.float64)
    coef, alpha_clean, dof_clean = ridge_loo(x, x @ beta + 3.0)
    torch.testing.assert_close(coef, beta, atol=1e-3, rtol=0)
    assert dof_clean == pytest.approx(20, abs=0.01)
    _, alpha_noise, dof_noise = ridge_loo(x, torch.randn(200, generator=g, dtype=torch.float64))
    assert alpha_noise > 100 * alpha_clean and dof_noise < 10


def test_regressions_report_infinite_errors_until_they_stop_interpolating() -> None:
    """With no more independent rows than coefficients the fit interpolates: its residuals say
    nothing, so the errors are infinite and the auto budget keeps drawing."""
    grid = (2, 8, 8)  # 128 cells: more than the first auto round's 100 rows
    w = torch.randn(128, generator=torch.Generator().manual_seed(9))
    net, x = CellModel(grid, w, {(0, 1): 4.0}), clip()
    few = vidxai.explain(net, x, "lime3d", grid=grid, n_samples=100, removal=ZERO, **BASE)
    assert bool(torch.isinf(few.extras["standard_error"]).all())
    auto = vidxai.explain(
        net, x, "lime3d", grid=grid, n_samples="auto", tolerance=10.0, removal=ZERO, **BASE
    )
    assert auto.extras["n_samples_used"] > 130 and auto.extras["relative_standard_error"] <= 10


# ---------------------------------------------------- standard errors, determinism, parity


@pytest.mark.parametrize("design", DESIGNS)
def test_standard_errors_shrink_like_one_over_root_n_and_match_the_spread(design: str) -> None:
    """Reported standard errors fall like 1/√n; with independent draws they match the spread
    over seeds, with Sobol points they are those of independent draws, i.e. conservative."""
    grid = (2, 2, 2)
    net = CellModel(grid, torch.randn(8, generator=torch.Generator().manual_seed(3)),
                    {(0, 1, 2): 5.0})  # fmt: skip
    x = clip()
    for method in ("lime3d", "rise3d"):
        se, spread = {}, {}
        for n in (100, 400):
            runs = [
                vidxai.explain(
                    net, x, method, grid=grid, n_samples=n, seed=s, removal=ZERO,
                    design=design, **BASE,
                )
                for s in range(8)
            ]  # fmt: skip
            se[n] = float(torch.stack([r.extras["standard_error"] for r in runs]).mean())
            spread[n] = float(torch.stack([feats(r) for r in runs]).std(0).mean())
        assert 1.5 < se[100] / se[400] < 2.7, method
        low = 0.4 if design == "iid" else 0.0
        assert low < spread[400] / se[400] < 1.6, method


@pytest.mark.parametrize("method", ["lime3d", "kernel_shap3d", "rise3d"])
def test_same_seed_same_result_and_batch_size_parity_with_auto(method: str) -> None:
    net = CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(4)),
                    {(0, 3): 2.0})  # fmt: skip
    x = clip()
    kw = dict(grid=(2, 2, 2), n_samples="auto", max_samples=300, tolerance=0.02, **BASE)
    if method == "kernel_shap3d":
        kw["grid"] = (1, 3, 4)  # 12 cells: sampled, not enumerated, below 4094 rows
    a = vidxai.explain(net, x, method, batch_size=1, seed=7, **kw)
    b = vidxai.explain(net, x, method, batch_size=64, seed=7, **kw)
    torch.testing.assert_close(a.attribution, b.attribution, atol=1e-6, rtol=1e-5)
    assert a.extras["n_samples_used"] == b.extras["n_samples_used"]
    c = vidxai.explain(net, x, method, batch_size=5, seed=8, **kw)
    assert not torch.equal(c.attribution, a.attribution)


# --------------------------------------------------------------------------- auto budget


def test_auto_stops_earlier_on_an_easy_model_and_never_exceeds_max_samples() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(6))
    easy = CellModel(grid, w)  # additive: the control variate leaves no noise
    hard = CellModel(grid, w, {(0, 1, 2): 8.0, (3, 4, 5, 6): -9.0, (1, 7): 6.0})
    x = clip()
    kw = dict(grid=grid, n_samples="auto", removal=ZERO, tolerance=0.02, max_samples=900, **BASE)
    for method in ("rise3d", "lime3d"):
        e = vidxai.explain(easy, x, method, **kw)
        h = vidxai.explain(hard, x, method, **kw)
        assert e.extras["n_samples_used"] < h.extras["n_samples_used"] <= 900, method
        assert e.extras["relative_standard_error"] <= 0.02
        assert e.n_forward == e.extras["n_samples_used"] + 1  # + the target-resolving pass
        assert e.extras["rounds"] >= 1
    capped = vidxai.explain(hard, x, "rise3d", **{**kw, "tolerance": 1e-6, "max_samples": 250})
    assert capped.extras["n_samples_used"] == 250
    assert capped.extras["relative_standard_error"] > 1e-6


def test_auto_parses_from_the_cli_and_bad_budgets_are_parameter_errors() -> None:
    p = get_method("lime3d").parse_params({"n_samples": "auto", "tolerance": "0.1"})
    assert p.n_samples == "auto" and p.tolerance == 0.1 and p.budget() is not None
    assert get_method("rise3d").parse_params({"n_samples": "250"}).n_samples == 250
    for bad in ({"n_samples": "lots"}, {"n_samples": 0}, {"n_samples": "auto", "tolerance": 0},
                {"n_samples": "auto", "max_samples": 1}):  # fmt: skip
        with pytest.raises(ParameterError):
            get_method("kernel_shap3d").parse_params(bad)
    with pytest.raises(ParameterError, match="regression"):
        get_method("rise3d").parse_params({"form": "pixel", "control": "regression"})


def test_exact_shapley_enumeration_ignores_the_auto_rounds() -> None:
    grid = (1, 2, 3)  # 6 cells: 62 coalitions ≤ max_samples
    net = CellModel(grid, torch.randn(6, generator=torch.Generator().manual_seed(8)), {(0, 5): 3.0})
    x = clip()
    exp = vidxai.explain(net, x, "kernel_shap3d", grid=grid, n_samples="auto", removal=ZERO, **BASE)
    assert exp.extras["exact"] and exp.extras["relative_standard_error"] == 0.0
    torch.testing.assert_close(feats(exp), exact_shapley(coalition_values(net, x, 6), 6))


# ----------------------------------------------------------------------------- registries


def test_stage_registries_list_and_reject_names() -> None:
    assert SEGMENTERS.names() == ("slic", "grid", "slic2d", "frames", "flow")
    with pytest.raises(UnknownNameError, match="grid"):
        make_segmenter("gird")
    with pytest.raises(ValueError, match="already registered"):
        SEGMENTERS.register("grid")(lambda *a: None)
    with pytest.raises(ParameterError):
        get_method("removal").parse_params({"summary": "median"})
    with pytest.raises(ParameterError):
        get_method("removal").parse_params({"masks": "fuzzy", "segmentation": "grid"})
