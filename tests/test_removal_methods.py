"""The REVEX presets through ``vidxai.explain``: known answers on toy models, parity, bad input."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import Tensor, nn

import vidxai
from vidxai.core.registry import get_method
from vidxai.errors import InvalidInputError, ParameterError
from vidxai.removal.segment import grid_labels

SHAPE = (4, 16, 16)
GRID = (2, 2, 2)  # 8 features
LOGIT = {"target": 0, "behaviour": "logit", "progress": False, "segmentation": "grid"}


def clip(seed: int = 0) -> Tensor:
    """``3×T×H×W`` positive clip."""
    return torch.rand(3, *SHAPE, generator=torch.Generator().manual_seed(seed)) + 0.5


class SegmentModel(nn.Module):
    """``f(x) = Σ_k w_k m_k + Σ_S v_S ∏_(k∈S) m_k`` with ``m_k`` the mean of ``x`` over segment
    ``k`` (channels and voxels) and ``S`` tuples of segments. Output ``N×2`` = ``(f, −f)``."""

    def __init__(self, segments: Tensor, w: Tensor, pairs: dict | None = None) -> None:
        super().__init__()
        m = int(segments.max()) + 1
        onehot = nn.functional.one_hot(segments.flatten(), m).float()
        self.register_buffer("avg", onehot / onehot.sum(0, keepdim=True))
        self.register_buffer("w", w.float())
        self.pairs = dict(pairs or {})

    def means(self, x: Tensor) -> Tensor:
        return x.mean(1).flatten(1) @ self.avg  # N×M

    def forward(self, x: Tensor) -> Tensor:
        m = self.means(x)
        f = m @ self.w
        for members, v in self.pairs.items():
            f = f + v * m[:, list(members)].prod(1)
        return torch.stack([f, -f], dim=1)

    def shapley(self, x: Tensor) -> Tensor:
        """Closed-form Shapley values with removal to 0: each product term is split equally
        among its members."""
        m = self.means(x.unsqueeze(0))[0].double()
        phi = self.w.double() * m
        for members, v in self.pairs.items():
            term = v * m[list(members)].prod()
            for k in members:
                phi[k] += term / len(members)
        return phi


def model(pairs: dict | None = None, shape=SHAPE, grid=GRID, seed: int = 1) -> SegmentModel:
    labels = grid_labels(grid, shape, torch.device("cpu"))
    m = int(labels.max()) + 1
    w = torch.randn(m, generator=torch.Generator().manual_seed(seed))
    return SegmentModel(labels, w, pairs)


def seg_values(exp) -> Tensor:
    return exp.extras["feature_attribution"].double()


# --------------------------------------------------------------------------- known answers


def test_kernel_shap_enumeration_equals_closed_form_shapley() -> None:
    net = model(pairs={(0, 1): 3.0, (2, 5): -2.0, (3, 7): 1.5})
    x = clip()
    exp = vidxai.explain(net, x, "kernel_shap3d", grid=GRID, n_samples=300, **LOGIT)
    assert exp.extras["exact"] and exp.n_forward == 1 + 2**8
    torch.testing.assert_close(seg_values(exp), net.shapley(x), atol=1e-5, rtol=1e-5)
    assert float(exp.extras["standard_error"].abs().max()) == 0.0
    labels = exp.extras["segments"]
    torch.testing.assert_close(exp.attribution, exp.extras["feature_attribution"][labels])


def test_sampled_kernel_shap_efficiency_is_exact_and_error_shrinks() -> None:
    grid = (1, 3, 4)  # 12 features: 4094 coalitions, so 40 or 1000 samples are sampled
    # paired sampling is exact for pairwise interactions, so use third and fourth order terms
    pairs = {(0, 1, 2): 4.0, (3, 4, 5): -3.0, (6, 9, 10, 11): 5.0, (7, 8, 1): 3.0}
    net = model(pairs=pairs, grid=grid, seed=3)
    x = clip()
    truth = net.shapley(x)
    errors, ses = {}, {}
    for n in (40, 1000):
        errs, se = [], []
        for seed in range(4):
            exp = vidxai.explain(
                net, x, "kernel_shap3d", grid=grid, n_samples=n, seed=seed, **LOGIT
            )
            phi = seg_values(exp)
            gap = exp.extras["full_value"] - exp.extras["base_value"]
            assert float(phi.sum()) == pytest.approx(gap, abs=1e-5)
            assert not exp.extras["exact"]
            errs.append(float((phi - truth).pow(2).mean().sqrt()))
            se.append(float(exp.extras["standard_error"].double().pow(2).mean().sqrt()))
        errors[n], ses[n] = sum(errs) / 4, sum(se) / 4
    assert errors[1000] < 0.4 * errors[40]
    # the reported standard errors are of the size of the actual errors
    assert 0.3 < errors[1000] / ses[1000] < 3.0


def test_lime_recovers_linear_weights() -> None:
    net = model()
    x = clip()
    truth = net.shapley(x)  # for a linear model, every weight times its segment mean
    exact = vidxai.explain(net, x, "lime3d", grid=GRID, n_samples=200, alpha=0.0, **LOGIT)
    torch.testing.assert_close(seg_values(exact), truth, atol=1e-5, rtol=1e-5)
    ridge = vidxai.explain(net, x, "lime3d", grid=GRID, n_samples=1000, **LOGIT)
    torch.testing.assert_close(
        seg_values(ridge), truth, atol=0.03 * float(truth.abs().max()), rtol=0
    )
    assert ridge.extras["r2"] > 0.99 and ridge.n_forward == 1 + 1000


def test_loco_and_univariate_equal_their_closed_forms() -> None:
    net = model(pairs={(0, 1): 2.0})
    x = clip()
    m = net.means(x.unsqueeze(0))[0].double()
    w = net.w.double()
    loco = vidxai.explain(net, x, "loco", grid=GRID, **LOGIT)
    expected_loco = w * m
    expected_loco[0] += 2.0 * m[0] * m[1]  # removing 0 or 1 also removes the interaction
    expected_loco[1] += 2.0 * m[0] * m[1]
    torch.testing.assert_close(seg_values(loco), expected_loco, atol=1e-5, rtol=1e-5)
    assert loco.n_forward == 1 + 9
    uni = vidxai.explain(net, x, "univariate", grid=GRID, **LOGIT)
    torch.testing.assert_close(seg_values(uni), w * m, atol=1e-5, rtol=1e-5)  # alone: no pair
    assert uni.extras["removed_score"] == pytest.approx(0.0, abs=1e-6)


def _occlusion_reference(net: nn.Module, x: Tensor, kernel, stride) -> Tensor:
    """Plain loops: REVEX's positions, one occluded clip at a time, per-voxel mean drop."""
    t_len, h_len, w_len = x.shape[1:]
    axes = []
    for length, k, s in zip((t_len, h_len, w_len), kernel, stride):
        size = max(1, int(length / k + 0.5))
        starts = [min(int(i * length / (s * k) + 0.5), length - size) for i in range(k * s - s + 1)]
        axes.append([(a, a + size) for a in starts])
    with torch.no_grad():
        base = float(net(x.unsqueeze(0))[0, 0])
        total = torch.zeros(t_len, h_len, w_len, dtype=torch.float64)
        count = torch.zeros_like(total)
        for (t0, t1), (h0, h1), (w0, w1) in itertools.product(*axes):
            occluded = x.clone()
            occluded[:, t0:t1, h0:h1, w0:w1] = 0.0
            drop = base - float(net(occluded.unsqueeze(0))[0, 0])
            total[t0:t1, h0:h1, w0:w1] += drop
            count[t0:t1, h0:h1, w0:w1] += 1
    return (total / count.clamp_min(1)).float()


def test_occlusion_matches_a_slow_reference(tiny_model: nn.Module) -> None:
    x = clip()
    kwargs = {"target": 0, "behaviour": "logit", "progress": False}
    exp = vidxai.explain(tiny_model, x, "occlusion3d", kernel=(2, 4, 4), stride=(2, 2, 2), **kwargs)
    ref = _occlusion_reference(tiny_model, x, (2, 4, 4), (2, 2, 2))
    torch.testing.assert_close(exp.attribution, ref, atol=1e-5, rtol=1e-4)
    assert exp.n_forward == 1 + 1 + 3 * 7 * 7  # intact (core) + intact row + positions
    assert exp.extras["positions"] == [3, 7, 7]


def test_occlusion_in_voxel_units_matches_the_captum_convention(tiny_model: nn.Module) -> None:
    x = clip()
    exp = vidxai.explain(
        tiny_model,
        x,
        "occlusion3d",
        kernel=(2, 6, 6),
        stride=(2, 5, 5),
        units="voxels",
        target=1,
        behaviour="logit",
        progress=False,
    )
    # positions along H: 0, 5, then 10 flush with the end (16 − 6)
    assert exp.extras["positions"] == [2, 3, 3]
    with torch.no_grad():
        base = float(tiny_model(x.unsqueeze(0))[0, 1])
        occluded = x.clone()
        occluded[:, 2:4, 10:16, 10:16] = 0.0
        drop = base - float(tiny_model(occluded.unsqueeze(0))[0, 1])
    assert float(exp.extras["occluded_scores"][1, 2, 2]) == pytest.approx(base - drop, abs=1e-5)
    # voxel (3, 15, 15) is covered by that cuboid only
    assert float(exp.attribution[3, 15, 15]) == pytest.approx(drop, abs=1e-5)


class CuboidModel(nn.Module):
    """Looks only at the cuboid t∈[0,2), h∈[0,8), w∈[8,16): ``N×2`` = (mean there, 0)."""

    def forward(self, x: Tensor) -> Tensor:
        f = x[:, :, 0:2, 0:8, 8:16].mean((1, 2, 3, 4))
        return torch.stack([f, torch.zeros_like(f)], 1)


@pytest.mark.parametrize("form", ["cell", "pixel"])
def test_rise_puts_its_highest_values_on_the_only_cuboid_the_model_sees(form: str) -> None:
    x = clip()
    exp = vidxai.explain(
        CuboidModel(),
        x,
        "rise3d",
        grid=(2, 4, 4),
        n_samples=400,
        form=form,
        target=0,
        behaviour="logit",
        progress=False,
    )
    a = exp.attribution
    inside = torch.zeros(SHAPE, dtype=torch.bool)
    inside[0:2, 0:8, 8:16] = True
    assert inside.flatten()[int(a.argmax())]
    assert float(a[inside].mean()) > float(a[~inside].mean()) + 0.03
    top = a.flatten().topk(int(inside.sum())).indices  # as many voxels as the cuboid has
    assert float(inside.flatten()[top].float().mean()) > 0.7
    assert exp.extras["standard_error"].shape == ((2 * 4 * 4,) if form == "cell" else SHAPE)


def test_removal_generic_reproduces_presets() -> None:
    net = model(pairs={(0, 1): 2.0})
    x = clip()
    loco = vidxai.explain(net, x, "loco", grid=GRID, **LOGIT)
    same = vidxai.explain(
        net, x, "removal", grid=GRID, sampler="one_out", summary="difference", **LOGIT
    )
    torch.testing.assert_close(same.attribution, loco.attribution)
    shap = vidxai.explain(
        net,
        x,
        "removal",
        grid=GRID,
        sampler="shapley",
        summary="shapley",
        n_samples=300,
        **LOGIT,
    )
    torch.testing.assert_close(seg_values(shap), net.shapley(x), atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------- parity, determinism


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("lime3d", {"n_samples": 70}),
        ("kernel_shap3d", {"n_samples": 70, "grid": (2, 3, 3)}),
        ("rise3d", {"n_samples": 70, "form": "pixel"}),
        ("occlusion3d", {"kernel": (2, 4, 4), "stride": (1, 1, 1)}),
    ],
)
def test_batch_size_1_and_64_and_same_seed_give_identical_results(method: str, params) -> None:
    net = model(pairs={(0, 1): 2.0})
    x = clip()
    kw = {"target": 0, "behaviour": "logit", "progress": False, **params}
    if method != "occlusion3d":
        kw["segmentation"] = "grid"
    one = vidxai.explain(net, x, method, batch_size=1, seed=5, **kw)
    many = vidxai.explain(net, x, method, batch_size=64, seed=5, **kw)
    again = vidxai.explain(net, x, method, batch_size=64, seed=5, **kw)
    # the model's own batched arithmetic may differ in the last bit; the clips may not (below)
    torch.testing.assert_close(one.attribution, many.attribution, atol=1e-6, rtol=1e-6)
    assert torch.equal(many.attribution, again.attribution)
    if method in ("lime3d", "rise3d"):
        other = vidxai.explain(net, x, method, batch_size=64, seed=6, **kw)
        assert not torch.equal(other.attribution, many.attribution)


class Recorder(nn.Module):
    """Wraps a model and keeps a copy of every input batch."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(x.detach().clone())
        return self.inner(x)


@pytest.mark.parametrize("method", ["lime3d", "rise3d", "kernel_shap3d"])
def test_perturbed_clips_do_not_depend_on_the_batch_size(method: str) -> None:
    params = {"n_samples": 70, "grid": (2, 3, 3), "seed": 2, **LOGIT}
    if method == "rise3d":
        params["form"] = "pixel"  # random offsets too
    clips = []
    for batch_size in (1, 64):
        rec = Recorder(model())
        vidxai.explain(rec, clip(), method, batch_size=batch_size, **params)
        clips.append(torch.cat(rec.seen))
    assert clips[0].shape[0] > 70 and torch.equal(clips[0], clips[1])


class InputView(nn.Module):
    """Returns a view of its input as the logits: ``N×2`` = voxel (0, 0, 0) of channels 0, 1."""

    def forward(self, x: Tensor) -> Tensor:
        return x[:, :2, 0, 0, 0]


def test_a_model_returning_a_view_of_its_input_is_not_corrupted_by_buffer_reuse() -> None:
    x = clip()
    exp = vidxai.explain(InputView(), x, "loco", grid=GRID, batch_size=2, **LOGIT)
    expected = torch.zeros(8, dtype=torch.float64)
    expected[0] = float(x[0, 0, 0, 0])  # only the segment holding voxel (0, 0, 0) matters
    torch.testing.assert_close(seg_values(exp), expected)


def test_slic_default_runs_and_reports_segments_and_timings() -> None:
    coarse = torch.rand(1, 3, 2, 4, 4, generator=torch.Generator().manual_seed(0))
    x = torch.nn.functional.interpolate(coarse, size=SHAPE, mode="trilinear")[0]  # SLIC-able
    net = model()
    exp = vidxai.explain(net, x, "loco", n_segments=12, target=0, behaviour="logit", progress=False)
    labels = exp.extras["segments"]
    assert labels.shape == SHAPE and exp.extras["n_features"] == int(labels.max()) + 1
    assert exp.n_forward == 1 + exp.extras["n_features"] + 1
    assert exp.timings["segmentation"] > 0


# -------------------------------------------------------------------------------- removal


def test_reference_removal_with_the_clip_itself_changes_nothing() -> None:
    net = model()
    x = clip()
    exp = vidxai.explain(net, x, "loco", grid=GRID, removal=x.clone(), **LOGIT)
    assert float(exp.attribution.abs().max()) < 1e-6


def test_gray_and_value_removal_are_pixel_space() -> None:
    net = model()
    x = clip()
    gray = vidxai.explain(net, x, "univariate", grid=GRID, removal="gray", **LOGIT)
    half = vidxai.explain(net, x, "univariate", grid=GRID, removal=0.5, **LOGIT)
    torch.testing.assert_close(gray.attribution, half.attribution)
    m = net.means(x.unsqueeze(0))[0].double()
    torch.testing.assert_close(seg_values(gray), net.w.double() * (m - 0.5), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("removal", ["mean", "blur", "blur2d"])
def test_other_fills_run_through_every_segment_method(removal: str) -> None:
    net = model()
    for method in ("lime3d", "loco", "occlusion3d"):
        params = {"removal": removal, "target": 0, "behaviour": "logit", "progress": False}
        if method == "lime3d":
            params.update(n_samples=20, segmentation="grid")
        if method == "loco":
            params["segmentation"] = "grid"
        if method == "occlusion3d":
            params.update(kernel=(2, 2, 2), stride=(1, 1, 1))
        exp = vidxai.explain(net, clip(), method, **params)
        assert torch.isfinite(exp.attribution).all()


# ------------------------------------------------------------------------------ bad input


def test_bad_parameters_raise_parameter_errors() -> None:
    lime = get_method("lime3d")
    for bad in (
        {"p": 0.0},
        {"p": 1.0},
        {"p": -0.5},
        {"removal": "purple"},
        {"removal": 1.5},
        {"n_segments": 0},
        {"segmentation": "watershed"},
        {"grid": (0, 2, 2)},
        {"soft_edges": -1.0},
        {"kernel_width": 0.0},
    ):
        with pytest.raises(ParameterError):
            lime.parse_params(bad)
    with pytest.raises(ParameterError):
        get_method("rise3d").parse_params({"form": "pixel", "segmentation": "slic"})
    with pytest.raises(ParameterError):
        get_method("removal").parse_params({"sampler": "bernoulli", "summary": "shapley"})
    with pytest.raises(ParameterError):
        get_method("removal").parse_params({"sampler": "one_in", "summary": "occluded"})


def test_cli_strings_are_converted() -> None:
    p = get_method("lime3d").parse_params(
        {"n_samples": "10", "grid": "2x2x2", "removal": "0.25", "segmentation": "grid"}
    )
    assert p.n_samples == 10 and p.grid == (2, 2, 2) and p.removal == 0.25
    assert get_method("lime3d").parse_params({"removal": "blur2d"}).removal == "blur2d"


def test_bad_inputs_at_run_time() -> None:
    net = model()
    x = clip()
    with pytest.raises(ParameterError, match="n_samples"):
        vidxai.explain(net, x, "kernel_shap3d", grid=(2, 4, 4), n_samples=20, **LOGIT)
    with pytest.raises(ParameterError, match="voxels"):
        vidxai.explain(net, x, "loco", n_segments=5000, target=0, progress=False)
    with pytest.raises(InvalidInputError, match="reference"):
        vidxai.explain(net, x, "loco", grid=GRID, removal=torch.zeros(3, 2, 16, 16), **LOGIT)
    with pytest.raises(ParameterError, match="exceed"):
        vidxai.explain(
            net,
            x,
            "occlusion3d",
            kernel=(2, 2, 2),
            stride=(1, 32, 1),
            units="voxels",
            progress=False,
        )
    with pytest.warns(UserWarning, match="using"):
        exp = vidxai.explain(net, x, "rise3d", grid=(8, 2, 2), n_samples=10, **LOGIT)
    assert exp.extras["n_features"] == 4 * 2 * 2


def test_explanations_with_extras_and_a_reference_video_save_and_load(tmp_path) -> None:
    net = model()
    x = clip()
    exp = vidxai.explain(
        net, x, "kernel_shap3d", grid=GRID, n_samples=300, removal=torch.zeros(3, *SHAPE), **LOGIT
    )
    back = vidxai.load_explanation(exp.save(tmp_path / "shap.pt"))
    torch.testing.assert_close(back.attribution, exp.attribution)
    torch.testing.assert_close(back.extras["segments"], exp.extras["segments"])
    assert back.extras["exact"] is True and back.params["n_samples"] == 300
