"""The generic ``removal`` method takes each summary's control variate by the same ``control``
parameter as the presets (``triples`` for ``shapley``), and rejects a control its summary
does not take instead of ignoring it."""

from __future__ import annotations

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

GRID = (1, 3, 4)  # 12 cells
M = 12


def generic(net, x, **kw):
    kw = {"grid": GRID, "removal": ZERO, **BASE, **kw}
    return vidxai.explain(net, x, "removal", sampler="shapley", summary="shapley", **kw)


def test_triples_control_is_exact_on_an_additive_model_through_the_generic_method() -> None:
    net = CellModel(GRID, torch.randn(M, generator=torch.Generator().manual_seed(3)))
    x = clip()
    truth = exact_shapley(coalition_values(net, x, M), M)  # enumerated, written out in the test
    exp = generic(net, x, n_samples=300, control="triples", seed=1)
    assert exp.extras["control"] == "triples"
    torch.testing.assert_close(feats(exp), truth.to(feats(exp).dtype), atol=1e-4, rtol=1e-4)
    plain = generic(net, x, n_samples=300, control="none", seed=1)
    assert plain.extras["control"] == "none"


def test_generic_shapley_with_triples_equals_the_preset_without_strata() -> None:
    net = CellModel(
        GRID, torch.randn(M, generator=torch.Generator().manual_seed(4)), {(0, 1, 2): 3.0}
    )
    x = clip()
    a = generic(net, x, n_samples=200, control="triples", antithetic=True, seed=5)  # = pairs
    b = vidxai.explain(
        net, x, "kernel_shap3d", grid=GRID, removal=ZERO, n_samples=200, control="triples",
        complete=False, seed=5, **BASE,
    )  # fmt: skip
    torch.testing.assert_close(feats(a), feats(b))


@pytest.mark.parametrize(
    ("summary", "sampler", "control"),
    [
        ("shapley", "shapley", "regression"),
        ("ridge", "bernoulli", "triples"),
        ("mean", "bernoulli", "logistic"),
        ("ridge", "bernoulli", "mean"),
        ("mean", "bernoulli", "mean"),
        ("mean_pixel", "bernoulli", "regression"),
        ("difference", "one_out", "triples"),
    ],
)
def test_a_control_the_summary_does_not_take_is_a_parameter_error(summary, sampler, control):
    net, x = CellModel(GRID, torch.ones(M)), clip()
    with pytest.raises(ParameterError, match=f"control='{control}' does not apply"):
        vidxai.explain(
            net, x, "removal", sampler=sampler, summary=summary, control=control, grid=GRID,
            removal=ZERO, n_samples=20, **BASE,
        )  # fmt: skip


def test_generic_ridge_with_the_logistic_control_equals_lime3d() -> None:
    """The same rows (iid design), summary and control: the generic composition and the
    preset give the same map."""
    cells = CellModel((2, 2, 2), torch.randn(8, generator=torch.Generator().manual_seed(8)))
    net = torch.nn.Sequential(cells, torch.nn.Sigmoid())  # scores in (0, 1): the control applies
    x = clip()
    common = {"grid": (2, 2, 2), "removal": ZERO, "n_samples": 120, "seed": 3, **BASE}
    a = vidxai.explain(net, x, "removal", sampler="bernoulli", summary="ridge",
                       control="logistic", **common)  # fmt: skip
    b = vidxai.explain(net, x, "lime3d", design="iid", control="logistic", **common)
    assert a.extras["control"] == b.extras["control"] == "logistic"
    torch.testing.assert_close(feats(a), feats(b))
