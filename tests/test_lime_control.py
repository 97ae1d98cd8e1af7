"""Issue 15, LIME: the logistic control variate of lime3d (control="logistic"). Checked on
closed forms (adjacency, population fits, the logistic fit), for exactness on linear models,
for keeping LIME's estimand (the exact kernel-weighted fit by enumeration) on a nonlinear
toy model, for variance reduction, determinism, batch-size parity and bad input."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor

import vidxai
from test_removal_variance import ZERO, CellModel, clip, feats
from vidxai.core.registry import get_method
from vidxai.errors import ParameterError
from vidxai.removal.remove.masks import SegmentMasks
from vidxai.removal.sample import BernoulliSampler
from vidxai.removal.sample.fitted import (
    FittedFoldoverSampler,
    fitted_order,
    fitted_points,
    hadamard_matrix,
    is_hadamard_order,
)
from vidxai.removal.segment import grid_labels
from vidxai.removal.summarize import LimeRidge, SummaryInput, lime_kernel
from vidxai.removal.summarize.lime_control import (
    adjacent_pairs,
    logistic_fit,
    population_fit,
    surrogate_features,
)

SHAPE = (4, 8, 8)
CPU = torch.device("cpu")
PROB = {"target": 0, "behaviour": "probability", "progress": False, "segmentation": "grid"}


def exact_lime(value, m: int, p: float, width: float = 0.25) -> tuple[Tensor, float]:
    """LIME's estimand by enumeration: the kernel-weighted least-squares fit of ``value`` over
    every coalition, each with its Bernoulli(p) probability (slow and plain)."""
    rows = torch.tensor(list(itertools.product((0.0, 1.0), repeat=m)), dtype=torch.float64)
    k = rows.sum(1)
    prob = p**k * (1 - p) ** (m - k)
    cos = torch.where(k > 0, k / (rows.norm(dim=1).clamp_min(1e-12) * math.sqrt(m)), 0.0)
    d = torch.where(k > 0, 1.0 - cos, torch.ones_like(k))
    w = prob * torch.exp(-(d**2) / width**2).sqrt()
    x = torch.cat([torch.ones(len(rows), 1, dtype=torch.float64), rows], 1)
    sol = torch.linalg.solve(x.T @ (w[:, None] * x), x.T @ (w * value(rows)))
    return sol[1:], float(sol[0])


def summary_input(z: Tensor, y: Tensor, labels: Tensor) -> SummaryInput:
    samples = BernoulliSampler(2, 0.5, True)(2, SHAPE, torch.Generator())  # kind/fields only
    samples = type(samples)(z=z.float(), kind="bernoulli", full_row=0, first_random=1)
    return SummaryInput(samples, y.float(), SegmentMasks(z.float(), labels), SHAPE, 64)


def design(n: int, m: int, seed: int, kind: str = "foldover") -> Tensor:
    s = BernoulliSampler(n, 0.5, True, kind)(m, SHAPE, torch.Generator().manual_seed(seed))
    return s.z.double()


# ------------------------------------------------------------------------------ closed forms


def test_adjacent_pairs_of_a_grid_are_the_face_neighbours() -> None:
    labels = grid_labels((2, 2, 2), SHAPE, CPU)  # cells (t, h, w) → 4t + 2h + w
    got = {tuple(r) for r in adjacent_pairs(labels).tolist()}
    cells = list(itertools.product(range(2), repeat=3))
    want = {
        (4 * a[0] + 2 * a[1] + a[2], 4 * b[0] + 2 * b[1] + b[2])
        for a, b in itertools.combinations(cells, 2)
        if sum(abs(i - j) for i, j in zip(a, b)) == 1
    }
    assert got == want and len(got) == 12  # the cube's 12 edges
    assert adjacent_pairs(torch.zeros(2, 3, 3, dtype=torch.long)).shape == (0, 2)


def test_population_fit_is_exact_on_linear_functions_and_matches_a_pair_closed_form() -> None:
    m = 5
    b = torch.tensor([0.3, -1.0, 2.0, 0.0, 0.5], dtype=torch.float64)

    def kernel(z: Tensor) -> Tensor:
        return lime_kernel(z, 0.25)

    slopes, icpt = population_fit(lambda z: 0.7 + z @ b, m, 0.3, kernel, 5000, 1)
    torch.testing.assert_close(slopes, b, atol=1e-10, rtol=0)
    assert icpt == pytest.approx(0.7, abs=1e-10)
    # unweighted: z0·z1 = (z0 − p)(z1 − p) + p z0 + p z1 − p², the first term orthogonal
    p = 0.4
    slopes, icpt = population_fit(
        lambda z: z[:, 0] * z[:, 1], m, p, lambda z: torch.ones(len(z), dtype=z.dtype), 400_000, 2
    )
    torch.testing.assert_close(slopes, torch.tensor([p, p, 0, 0, 0], dtype=torch.float64),
                               atol=5e-3, rtol=0)  # fmt: skip
    assert icpt == pytest.approx(-(p**2), abs=5e-3)
    # with the LIME kernel: the enumerated estimand
    want, want_icpt = exact_lime(lambda z: z[:, 0] * z[:, 1], m, p)
    slopes, icpt = population_fit(lambda z: z[:, 0] * z[:, 1], m, p, kernel, 400_000, 3)
    torch.testing.assert_close(slopes, want, atol=5e-3, rtol=0)
    assert icpt == pytest.approx(want_icpt, abs=5e-3)


def test_logistic_fit_recovers_a_noise_free_logistic_model() -> None:
    z = design(200, 6, 0)
    pairs = torch.tensor([[0, 1], [2, 3]])
    x = surrogate_features(z, pairs)
    coef = torch.tensor([-0.5, 1.0, -2.0, 0.3, 0.0, 0.8, -0.4, 1.5, -1.0], dtype=torch.float64)
    y = torch.sigmoid(x @ coef)
    got = logistic_fit(x, y, lime_kernel(z, 0.25), torch.zeros(x.shape[1], dtype=torch.float64))
    torch.testing.assert_close(got, coef, atol=1e-6, rtol=0)


# ------------------------------------------------------------------------- LIME's estimand


def test_linear_model_gives_lime_own_exact_weights() -> None:
    grid, m = (2, 2, 2), 8
    labels = grid_labels(grid, SHAPE, CPU)
    b = torch.linspace(-0.04, 0.05, m, dtype=torch.float64)
    z = design(120, m, 3)
    y = 0.4 + z @ b  # probabilities in [0, 1]
    out = LimeRidge(alpha=0.0, control="logistic")(summary_input(z, y, labels))
    assert out.extras["control"] == "logistic" and abs(out.extras["control_theta"]) < 1e-5
    torch.testing.assert_close(out.extras["feature_attribution"].double(), b, atol=1e-5, rtol=0)
    plain = LimeRidge(alpha=0.0)(summary_input(z, y, labels))
    torch.testing.assert_close(
        out.extras["feature_attribution"], plain.extras["feature_attribution"]
    )
    # through the method: a model linear in the kept cells, probabilities as its two outputs
    w = torch.randn(m, generator=torch.Generator().manual_seed(1))
    net, x = CellModel(grid, w), clip()
    kw = dict(grid=grid, n_samples=120, alpha=0.0, removal=ZERO, target=0, progress=False,
              segmentation="grid", behaviour="logit")  # fmt: skip
    a = vidxai.explain(_Prob(net), x, "lime3d", control="logistic", **kw)
    truth = 0.02 * w.double() * net.means(x.unsqueeze(0))[0].double()
    torch.testing.assert_close(feats(a), truth, atol=1e-5, rtol=1e-5)


class _Prob(torch.nn.Module):
    """``0.5 + 0.02·f`` and its complement: probabilities linear in the kept cells."""

    def __init__(self, net: CellModel) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        f = self.net(x)[:, 0]
        return torch.stack([0.5 + 0.02 * f, 0.5 - 0.02 * f], 1)


def nonlinear(z: Tensor) -> Tensor:
    """A probability with pair and three-cell interactions (not a logistic-pairs model)."""
    eta = -0.3 + z @ torch.tensor([1.2, -0.8, 0.5, 0.9, -0.2, 0.4], dtype=z.dtype)
    eta = eta + 1.1 * z[:, 0] * z[:, 1] - 0.7 * z[:, 2] * z[:, 3] * z[:, 4]
    return torch.sigmoid(eta) * (0.8 + 0.2 * z[:, 5])


def test_controlled_fit_keeps_lime_estimand_and_has_less_error() -> None:
    labels = grid_labels((1, 2, 3), SHAPE, CPU)
    truth, _ = exact_lime(nonlinear, 6, 0.5)
    ctl, plain = [], []
    for seed in range(24):
        z = design(160, 6, seed, "iid")
        inp = summary_input(z, nonlinear(z), labels)
        ctl.append(LimeRidge(control="logistic")(inp).extras["feature_attribution"].double())
        plain.append(LimeRidge()(inp).extras["feature_attribution"].double())
    ctl_t, plain_t = torch.stack(ctl), torch.stack(plain)
    # unbiased to within the Monte Carlo error of 24 runs (and the O(1/n) fit bias)
    se = ctl_t.std(0) / math.sqrt(len(ctl))
    assert float(((ctl_t.mean(0) - truth).abs() / (3 * se + 2e-3)).max()) < 1.0
    err_ctl = float(((ctl_t - truth) ** 2).mean())
    err_plain = float(((plain_t - truth) ** 2).mean())
    assert err_ctl < 0.5 * err_plain
    # the reported standard errors are LIME's own: conservative for the controlled fit
    z = design(160, 6, 0, "iid")
    inp = summary_input(z, nonlinear(z), labels)
    se = LimeRidge(control="logistic")(inp).extras["standard_error"]
    torch.testing.assert_close(se, LimeRidge()(inp).extras["standard_error"])
    assert float(se.mean()) > float(ctl_t.std(0).mean())


def test_consistent_the_error_shrinks_with_rows() -> None:
    labels = grid_labels((1, 2, 3), SHAPE, CPU)
    truth, _ = exact_lime(nonlinear, 6, 0.5)
    err = {}
    for n in (100, 1600):
        runs = []
        for seed in range(6):
            z = design(n, 6, 100 + seed, "iid")
            out = LimeRidge(control="logistic")(summary_input(z, nonlinear(z), labels))
            runs.append(float(((out.extras["feature_attribution"].double() - truth) ** 2).mean()))
        err[n] = sum(runs) / len(runs)
    assert err[1600] < err[100] / 4


# ------------------------------------------------------------------ method-level behaviour


def test_same_seed_same_result_batch_size_parity_and_skips() -> None:
    net = CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(4)),
                    {(0, 3): 2.0, (1, 2, 5): -1.5})  # fmt: skip
    x = clip()
    kw = dict(grid=(2, 2, 2), n_samples=60, control="logistic", **PROB)
    a = vidxai.explain(net, x, "lime3d", batch_size=1, seed=7, **kw)
    b = vidxai.explain(net, x, "lime3d", batch_size=64, seed=7, **kw)
    assert a.extras["control"] == "logistic"
    torch.testing.assert_close(a.attribution, b.attribution, atol=1e-6, rtol=1e-5)
    c = vidxai.explain(net, x, "lime3d", batch_size=5, seed=8, **kw)
    assert not torch.equal(c.attribution, a.attribution)
    none = vidxai.explain(net, x, "lime3d", batch_size=5, seed=7, **{**kw, "control": "none"})
    assert not torch.equal(none.attribution, a.attribution)
    # logits are not probabilities: LIME's own fit, and the reason
    logit = vidxai.explain(net, x, "lime3d", seed=7, **{**kw, "behaviour": "logit"})
    plain = vidxai.explain(net, x, "lime3d", seed=7, **{**kw, "behaviour": "logit",
                                                       "control": "none"})  # fmt: skip
    assert logit.extras["control"].startswith("skipped: scores outside")
    torch.testing.assert_close(logit.attribution, plain.attribution)


def test_bad_control_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="control"):
        LimeRidge(control="pairs")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        vidxai.explain(CellModel((1, 1, 2), torch.ones(2)), clip(), "lime3d", grid=(1, 1, 2),
                       n_samples=20, control="pairs", **PROB)  # fmt: skip


# ------------------------------------------------------------ the budget-fitted fold-over


def test_hadamard_orders_are_hadamard_and_others_rejected() -> None:
    for order in (1, 2, 8, 12, 104, 164, 256):
        h = hadamard_matrix(order)
        eye = order * torch.eye(order, dtype=torch.float64)
        assert torch.equal(h @ h.T, eye) and bool((h[:, 0] == 1).all())
    assert not is_hadamard_order(156) and not is_hadamard_order(100)
    with pytest.raises(ParameterError):
        hadamard_matrix(156)
    # the largest order fitting two blocks in the budget, else the smallest ≥ M + 1
    assert fitted_order(332, 154) == 164 and fitted_order(999, 154) == 492
    assert fitted_order(499, 154) == 240 and fitted_order(99, 100) == 104


def test_fitted_points_are_folded_orthogonal_blocks_of_the_fitted_order() -> None:
    u = fitted_points(100, 10, torch.Generator().manual_seed(3))  # order 48: 96 + 4 rows
    assert u.shape == (100, 10) and float(u.min()) >= 0 and float(u.max()) < 1
    x = 2.0 * (u < 0.5).double() - 1.0
    half, other = x[:48], x[48:96]
    torch.testing.assert_close(half.T @ half, 48 * torch.eye(10, dtype=torch.float64))
    assert {tuple(r) for r in (-other).tolist()} == {tuple(r) for r in half.tolist()}
    triple = torch.einsum("ni,nj,nk->ijk", x[:96], x[:96], x[:96])
    assert float(triple.abs().max()) == 0.0  # no main effect aliased with a 2-interaction
    torch.testing.assert_close(
        torch.sort(1.0 - u[48:96], 0).values, torch.sort(u[:48], 0).values, atol=1e-6, rtol=0
    )


def test_fitted_rows_are_independent_bernoulli_draws() -> None:
    p, d = 0.3, 6
    z = torch.stack([
        (fitted_points(30, d, torch.Generator().manual_seed(s))[7] < p).double()
        for s in range(3000)
    ])  # row 7 of 3000 independent designs  # fmt: skip
    assert float((z.mean(0) - p).abs().max()) < 0.03
    cov = torch.cov(z.T) - torch.diag(torch.full((d,), p * (1 - p), dtype=torch.float64))
    assert float(cov.abs().max()) < 0.03
    # all 2^d patterns of one row at p = 0.5 appear about equally often
    z = torch.stack([
        (fitted_points(30, 3, torch.Generator().manual_seed(s))[11] < 0.5).long()
        for s in range(4000)
    ])  # fmt: skip
    counts = torch.bincount(z @ torch.tensor([1, 2, 4]), minlength=8).double()
    assert float((counts / 4000 - 1 / 8).abs().max()) < 0.025


def test_lime3d_fitted_design_is_exact_on_linear_models_and_auto_uses_the_nested_one() -> None:
    grid = (2, 2, 2)
    w = torch.randn(8, generator=torch.Generator().manual_seed(1))
    net, x = CellModel(grid, w), clip()
    truth = w.double() * net.means(x.unsqueeze(0))[0].double()
    kw = dict(grid=grid, alpha=0.0, removal=ZERO, target=0, progress=False,
              segmentation="grid", behaviour="logit")  # fmt: skip
    exp = vidxai.explain(net, x, "lime3d", n_samples=40, design="fitted", **kw)
    torch.testing.assert_close(feats(exp), truth, atol=1e-5, rtol=1e-5)
    p = get_method("lime3d").parse_params({"design": "fitted", "n_samples": 40})
    assert isinstance(p.build().sampler, FittedFoldoverSampler)
    assert not p.build().sampler(8, SHAPE, torch.Generator()).nested
    auto = get_method("lime3d").parse_params({"design": "fitted", "n_samples": "auto"})
    assert auto.build().sampler.design == "foldover"  # prefix-consistent rounds
    with pytest.raises(ParameterError):
        vidxai.explain(net, x, "lime3d", n_samples=40, design="fitted", antithetic=True, **kw)


def test_defaults_are_the_fitted_design_with_the_logistic_control_and_auto_still_rounds() -> None:
    p = get_method("lime3d").parse_params({})
    assert p.design == "fitted" and p.control == "logistic"
    net = CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(2)),
                    {(0, 1): 1.5})  # fmt: skip
    kw = dict(grid=(2, 2, 2), **PROB)
    fixed = vidxai.explain(net, clip(), "lime3d", n_samples=50, seed=3, **kw)
    assert fixed.extras["control"] == "logistic" and fixed.n_forward == 1 + 50
    auto = vidxai.explain(net, clip(), "lime3d", n_samples="auto", max_samples=300,
                          tolerance=0.05, seed=3, **kw)  # fmt: skip
    assert auto.extras["control"] == "logistic" and auto.extras["n_samples_used"] <= 300
