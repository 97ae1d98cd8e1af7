"""Removal methods on a batch of clips: rows of all clips share engine batches, each clip's
result equals explaining it alone; fills as a registry.

References are written plainly here (a loop over segments / cuboids, one forward pass per
perturbed clip); expected values never come from the code under test.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import vidxai
from vidxai.errors import ParameterError, UnknownNameError
from vidxai.removal.batch import PooledRows
from vidxai.removal.remove import FILLS, FillInput, ScratchBuffers

pytestmark = pytest.mark.filterwarnings("ignore:SLIC kept only")

SHAPE = (4, 16, 16)
TARGETS = [0, 2, 1]
QUIET: dict[str, Any] = {"progress": False}


class TinyNet(nn.Module):
    """Conv3d + ReLU + global average pool + linear head, 3 classes; fixed seeded weights."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(11)
        self.conv = nn.Conv3d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.relu(self.conv(x)).mean((2, 3, 4)))


class Calls(nn.Module):
    """Records the number of clips of every forward call of the wrapped model."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.sizes: list[int] = []

    def forward(self, x: Tensor) -> Tensor:
        self.sizes.append(int(x.shape[0]))
        return self.inner(x)


def clips(n: int = 3, seed: int = 4) -> Tensor:
    """``n×3×T×H×W`` clips with block structure (SLIC finds different segments per clip)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 2, 4, 4, generator=g)
    blocks = coarse.repeat_interleave(2, 2).repeat_interleave(4, 3).repeat_interleave(4, 4)
    return (blocks + 0.1 * torch.rand(n, 3, *SHAPE, generator=g)).clamp(0, 1)


GRID: dict[str, Any] = {"segmentation": "grid", "grid": (2, 2, 2)}
#: Every preset with small settings (and rise3d in both forms, the generic method twice).
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "lime3d": ("lime3d", {"n_samples": 24, "n_segments": 8}),
    "kernel_shap3d": ("kernel_shap3d", {"n_samples": 20, **GRID}),
    "kernel_shap3d_slic": ("kernel_shap3d", {"n_samples": 20, "n_segments": 8}),
    "rise3d": ("rise3d", {"n_samples": 20, "grid": (2, 2, 2)}),
    "rise3d_pixel": ("rise3d", {"n_samples": 20, "grid": (2, 2, 2), "form": "pixel"}),
    "loco": ("loco", {"n_segments": 8}),
    "univariate": ("univariate", {**GRID, "removal": "blur", "blur_sigma": 1.0}),
    "occlusion3d": ("occlusion3d", {"kernel": (2, 2, 2), "stride": (1, 1, 1)}),
    "occlusion3d_mean": ("occlusion3d", {"kernel": (2, 2, 2), "removal": "mean"}),
    "removal": ("removal", {"n_samples": 16, "summary": "mean", **GRID, "removal": "gray"}),
    "removal_shapley": (
        "removal",
        {"n_samples": 16, "sampler": "shapley", "summary": "shapley", "n_segments": 8},
    ),
}


def _explain(model, x, name, params, **kw):
    return vidxai.explain(model, x, method=name, seed=3, **QUIET, **params, **kw)


def _assert_same(a, b) -> None:
    torch.testing.assert_close(a.attribution, b.attribution, rtol=2e-4, atol=2e-6)
    assert a.target == b.target
    for key in ("feature_attribution", "standard_error", "segments"):
        if key in b.extras:
            torch.testing.assert_close(
                torch.as_tensor(a.extras[key]).float(),
                torch.as_tensor(b.extras[key]).float(),
                rtol=2e-4,
                atol=2e-6,
            )
    assert a.extras["n_samples_used"] == b.extras["n_samples_used"]


@pytest.mark.parametrize("case", list(CASES))
def test_a_batch_of_clips_equals_each_clip_alone(case: str) -> None:
    name, params = CASES[case]
    model, x = TinyNet(), clips()
    batch = _explain(model, list(x), name, params, target=TARGETS)
    assert len(batch) == 3 and batch[0].extras["batch"]["clips"] == 3
    for i, t in enumerate(TARGETS):
        alone = _explain(model, x[i], name, params, target=t)
        _assert_same(batch[i], alone)
    # the clips differ, so the maps must too (a batch returning clip 0 three times fails)
    assert not torch.allclose(batch[0].attribution, batch[1].attribution)


def test_clips_with_different_row_counts_share_batches_and_match_alone() -> None:
    """SLIC finds a different number of supervoxels per clip: LOCO has M_i + 1 rows each."""
    model, x = Calls(TinyNet()), clips()
    params = {"n_segments": 8, "batch_size": 5}
    batch = _explain(model, list(x), "loco", params, target=TARGETS)
    rows = [e.extras["n_samples_used"] for e in batch]
    assert len(set(rows)) > 1, rows  # the case this test is about
    assert model.sizes == [3, *_chunks(sum(rows), 5)]
    for i, t in enumerate(TARGETS):
        _assert_same(batch[i], _explain(TinyNet(), x[i], "loco", params, target=t))


def _chunks(n: int, size: int) -> list[int]:
    return [min(size, n - start) for start in range(0, n, size)]


@pytest.mark.parametrize("case", ["lime3d", "rise3d", "occlusion3d", "loco"])
def test_rows_of_different_clips_share_engine_batches(case: str) -> None:
    name, params = CASES[case]
    x = clips()
    one = Calls(TinyNet())
    rows = []
    for i, t in enumerate(TARGETS):
        e = _explain(one, x[i], name, params, target=t, batch_size=64)
        rows.append(e.extras["n_samples_used"])
    assert max(rows) < 64  # batch_size exceeds one clip's rows
    many = Calls(TinyNet())
    out = _explain(many, list(x), name, params, target=TARGETS, batch_size=64)
    # one first pass of the three clips, then the pooled rows in as few batches as fit
    assert many.sizes == [3, *_chunks(sum(rows), 64)]
    assert len(many.sizes) < len(one.sizes) == 3 * 2
    assert max(many.sizes) <= 64  # rendered batch by batch, never more than one batch
    total = out[0].extras["batch"]["n_forward"]
    assert total == 3 + sum(rows) and sum(e.n_forward for e in out) <= total


@pytest.mark.parametrize("case", ["lime3d", "rise3d_pixel", "occlusion3d", "removal_shapley"])
def test_batch_size_parity_in_a_batch_of_clips(case: str) -> None:
    name, params = CASES[case]
    model, x = TinyNet(), clips()
    runs = {
        b: _explain(model, list(x), name, params, target=TARGETS, batch_size=b)
        for b in (1, 7, "auto")
    }
    for b in (7, "auto"):
        for a, ref in zip(runs[b], runs[1]):
            _assert_same(a, ref)
        assert runs[b][0].extras["batch"]["n_forward"] == runs[1][0].extras["batch"]["n_forward"]


@pytest.mark.parametrize("case", ["lime3d", "kernel_shap3d", "rise3d_pixel"])
def test_same_seed_same_result_and_another_seed_differs(case: str) -> None:
    name, params = CASES[case]
    model, x = TinyNet(), clips()
    a, b, c = (
        vidxai.explain(model, list(x), method=name, seed=s, target=TARGETS, **QUIET, **params)
        for s in (5, 5, 6)
    )
    assert isinstance(a, list) and isinstance(b, list) and isinstance(c, list)
    for ea, eb in zip(a, b):
        assert torch.equal(ea.attribution, eb.attribution)
    assert not all(torch.allclose(ea.attribution, ec.attribution) for ea, ec in zip(a, c))


def test_auto_budget_in_a_batch_runs_each_clips_rounds_and_matches_alone() -> None:
    params = {"n_samples": "auto", "max_samples": 120, "tolerance": 0.05, **GRID}
    model, x = TinyNet(), clips()
    batch = _explain(model, list(x), "rise3d", params, target=TARGETS)
    for i, t in enumerate(TARGETS):
        alone = _explain(model, x[i], "rise3d", params, target=t)
        _assert_same(batch[i], alone)
        assert batch[i].extras["rounds"] == alone.extras["rounds"]


# ------------------------------------------------------------------ known answers, plainly


def _probability(model: nn.Module, clip: Tensor, target: int) -> float:
    with torch.no_grad():
        return float(torch.softmax(model(clip[None]), 1)[0, target])


def _grid_cell(shape: tuple[int, int, int], cells: tuple[int, int, int]) -> Tensor:
    """Cell label of every voxel: C order over cells, voxel v in cell v·c // L per axis."""
    labels = torch.empty(shape, dtype=torch.long)
    for t in range(shape[0]):
        for h in range(shape[1]):
            for w in range(shape[2]):
                i = [v * c // n for v, c, n in zip((t, h, w), cells, shape)]
                labels[t, h, w] = (i[0] * cells[1] + i[1]) * cells[2] + i[2]
    return labels


def _loco_reference(model: nn.Module, clip: Tensor, target: int, value: float) -> Tensor:
    """LOCO on a 2×2×2 grid, removed voxels set to ``value``: per voxel f(x) − f(x without
    its cell), f = the target's probability."""
    labels = _grid_cell(SHAPE, (2, 2, 2))
    base = _probability(model, clip, target)
    out = torch.zeros(SHAPE)
    for k in range(8):
        cell = labels == k
        removed = clip.clone()
        removed[:, cell] = value
        out[cell] = base - _probability(model, removed, target)
    return out


def test_pooled_rows_are_each_scored_against_their_own_clips_target() -> None:
    model, x = TinyNet(), clips()
    out = _explain(model, list(x), "loco", GRID, target=TARGETS, batch_size=4)
    for i, t in enumerate(TARGETS):
        expected = _loco_reference(model, x[i], t, 0.0)  # plain module: black = 0
        torch.testing.assert_close(out[i].attribution, expected, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(out[i].extras["segments"], _grid_cell(SHAPE, (2, 2, 2)))


def test_occlusion_in_a_batch_matches_a_plain_loop_over_cuboids() -> None:
    """Non-overlapping 2×8×8 cuboids: each voxel gets f(x) − f(x with its cuboid black)."""
    model, x = TinyNet(), clips()
    params = {"kernel": (2, 8, 8), "stride": (2, 8, 8), "units": "voxels"}
    out = _explain(model, list(x), "occlusion3d", params, target=TARGETS, batch_size=3)
    for i, t in enumerate(TARGETS):
        base = _probability(model, x[i], t)
        expected = torch.zeros(SHAPE)
        for t0, h0, w0 in ((a, b, c) for a in (0, 2) for b in (0, 8) for c in (0, 8)):
            occluded = x[i].clone()
            occluded[:, t0 : t0 + 2, h0 : h0 + 8, w0 : w0 + 8] = 0.0
            drop = base - _probability(model, occluded, t)
            expected[t0 : t0 + 2, h0 : h0 + 8, w0 : w0 + 8] = drop
        torch.testing.assert_close(out[i].attribution, expected, rtol=1e-4, atol=1e-6)


class _FakeRender:
    """Rows of clip ``k``: row ``r`` is a constant ``1000·k + r`` clip of shape 1×2×2."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.x = torch.zeros(1, 1, 1, 2, 2)

    def __call__(self, start: int, stop: int, out: Tensor) -> Tensor:
        values = torch.arange(start, stop, dtype=torch.float32) + 1000 * self.k
        out.copy_(values.view(-1, 1, 1, 1, 1).expand_as(out))
        return out


def test_pooled_rows_cover_every_range_across_clip_boundaries() -> None:
    counts = [3, 1, 4]
    runs = [
        SimpleNamespace(samples=SimpleNamespace(n=n), render=_FakeRender(k))
        for k, n in enumerate(counts)
    ]
    pool = PooledRows(runs, ScratchBuffers(torch.float32, torch.device("cpu")))  # type: ignore[arg-type]
    every = [1000 * k + r for k, n in enumerate(counts) for r in range(n)]
    assert pool.n == 8 and pool.clip_of_row.tolist() == [0, 0, 0, 1, 2, 2, 2, 2]
    for start in range(8):
        for stop in range(start + 1, 9):
            rows = pool(start, stop)[:, 0, 0, 0, 0].tolist()
            assert rows == every[start:stop]


# ------------------------------------------------------------------------------- fills


@pytest.fixture
def white_fill():
    """A registered fill named ``test_white`` (removed again afterwards)."""

    def white(inp: FillInput) -> Tensor:
        return inp.pixel_value(1.0).reshape(1, -1, 1, 1, 1)

    FILLS.register("test_white")(white)
    yield white
    FILLS.unregister("test_white")


def test_a_registered_fill_works_end_to_end(white_fill) -> None:
    model, x = TinyNet(), clips()
    out = _explain(model, list(x), "loco", {**GRID, "removal": "test_white"}, target=TARGETS)
    for i, t in enumerate(TARGETS):
        expected = _loco_reference(model, x[i], t, 1.0)  # plain module: white = 1
        torch.testing.assert_close(out[i].attribution, expected, rtol=1e-4, atol=1e-6)
    same = _explain(model, list(x), "loco", {**GRID, "removal": 1.0}, target=TARGETS)
    for a, b in zip(out, same):
        torch.testing.assert_close(a.attribution, b.attribution)
    assert "test_white" in FILLS.names()


def test_a_random_fill_draws_from_the_clips_generator(request) -> None:
    def noise(inp: FillInput) -> Tensor:
        return torch.rand(inp.x.shape, generator=inp.generator, device=inp.x.device)

    FILLS.register("test_noise")(noise)
    request.addfinalizer(lambda: FILLS.unregister("test_noise"))
    model, x = TinyNet(), clips()
    params = {"n_samples": 12, **GRID, "removal": "test_noise"}
    batch = _explain(model, list(x), "lime3d", params, target=TARGETS)
    for i, t in enumerate(TARGETS):
        _assert_same(batch[i], _explain(model, x[i], "lime3d", params, target=t))


def test_an_unknown_fill_lists_the_registered_names(white_fill) -> None:
    with pytest.raises(ParameterError) as info:
        vidxai.explain(TinyNet(), clips(1)[0], method="loco", removal="purple", **QUIET)
    message = str(info.value)
    assert "purple" in message
    for name in ("black", "gray", "mean", "blur", "blur2d", "test_white"):
        assert name in message


def test_a_fill_of_the_wrong_shape_is_a_parameter_error(request) -> None:
    FILLS.register("test_bad")(lambda inp: torch.zeros(2, 3))
    FILLS.register("test_int")(lambda inp: torch.zeros(1, 3, 1, 1, 1, dtype=torch.long))
    request.addfinalizer(lambda: [FILLS.unregister(n) for n in ("test_bad", "test_int")])
    x = clips(1)[0]
    with pytest.raises(ParameterError, match=r"'test_bad' returned shape \(2, 3\)"):
        vidxai.explain(TinyNet(), x, method="loco", removal="test_bad", **GRID, **QUIET)
    with pytest.raises(ParameterError, match=r"'test_int' returned Tensor torch\.int64"):
        vidxai.explain(TinyNet(), x, method="loco", removal="test_int", **GRID, **QUIET)


def test_fill_names_are_unique_and_unregistering_an_unknown_name_fails() -> None:
    with pytest.raises(ValueError, match="already registered"):
        FILLS.register("black")(lambda inp: inp.x)
    with pytest.raises(UnknownNameError, match="Valid fills: black"):
        FILLS.unregister("no_such_fill")
    assert set(FILLS.names()) >= {"black", "gray", "mean", "blur", "blur2d"}


def test_builtin_named_fills_keep_their_values() -> None:
    """Known answers for a plain module (identity normalisation): black 0, gray 0.5, mean of
    the segment, blur of a constant clip = the constant."""
    x = torch.rand(1, 3, *SHAPE, generator=torch.Generator().manual_seed(0))
    labels = _grid_cell(SHAPE, (2, 2, 2))
    inp = FillInput(x, lambda v: torch.as_tensor(v).expand(3).float(), labels, 1.0)
    assert FILLS.get("black")(inp).flatten().tolist() == [0.0, 0.0, 0.0]
    assert FILLS.get("gray")(inp).flatten().tolist() == [0.5, 0.5, 0.5]
    mean = FILLS.get("mean")(inp)
    for k in range(8):
        cell = labels == k
        expected = x[0][:, cell].mean(1)
        torch.testing.assert_close(mean[0][:, cell], expected[:, None].expand(3, int(cell.sum())))
    flat = FillInput(torch.full((1, 3, *SHAPE), 0.25), inp.pixel_value, None, 2.0)
    for name in ("blur", "blur2d"):
        torch.testing.assert_close(FILLS.get(name)(flat), flat.x)
    assert math.isclose(float(FILLS.get("gray")(inp)[0, 1, 0, 0, 0]), 0.5)


# --------------------------------------------------------------------- other models, input


class Regression(nn.Module):
    """One output per clip: the mean of channel 0 weighted by a fixed ramp over voxels."""

    def __init__(self) -> None:
        super().__init__()
        self.ramp: Tensor
        self.register_buffer("ramp", torch.linspace(0.0, 1.0, math.prod(SHAPE)).view(SHAPE))

    def forward(self, x: Tensor) -> Tensor:
        return (x[:, 0] * self.ramp).mean((1, 2, 3)).unsqueeze(1)


def test_a_regression_model_in_a_batch_matches_its_closed_form() -> None:
    """Linear model, black = 0: LOCO of cell k = the model's value on that cell alone."""
    model, x = Regression(), clips()
    out = _explain(model, list(x), "loco", GRID, batch_size=5)
    labels = _grid_cell(SHAPE, (2, 2, 2))
    for i in range(3):
        expected = torch.zeros(SHAPE)
        for k in range(8):
            cell = labels == k
            expected[cell] = float((x[i, 0] * model.ramp * cell).mean())
        torch.testing.assert_close(out[i].attribution, expected, rtol=1e-4, atol=1e-7)
        assert out[i].behaviour == "identity"


class Keeper(nn.Module):
    """Keeps every input it was given (a model that holds on to its input batch)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.kept: list[tuple[Tensor, Tensor]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.kept.append((x, x.clone()))
        return self.inner(x)


def test_reused_render_buffers_never_overwrite_a_batch_someone_holds() -> None:
    model, x = Keeper(TinyNet()), clips()
    _explain(model, list(x), "rise3d", CASES["rise3d"][1], target=TARGETS, batch_size=8)
    assert len(model.kept) == 1 + math.ceil(3 * 20 / 8)
    for held, copy in model.kept:
        assert torch.equal(held, copy)


def test_a_reference_fill_of_the_wrong_shape_in_a_batch_is_refused() -> None:
    with pytest.raises(vidxai.InvalidInputError, match="reference video fill"):
        _explain(TinyNet(), list(clips()), "loco", {**GRID, "removal": torch.rand(3, 2, 8, 8)})


def test_a_reference_fill_serves_every_clip_of_a_batch() -> None:
    model, x = TinyNet(), clips()
    ref = torch.rand(3, *SHAPE, generator=torch.Generator().manual_seed(9))
    out = _explain(model, list(x), "occlusion3d", {"kernel": (2, 2, 2), "removal": ref})
    for i in range(3):
        alone = _explain(model, x[i], "occlusion3d", {"kernel": (2, 2, 2), "removal": ref})
        _assert_same(out[i], alone)


def test_auto_budget_rounds_run_in_lockstep_one_engine_call_per_round() -> None:
    """Each round is one engine call over every clip still sampling; a clip that stops early
    drops out of the later calls, and every clip scores exactly the rows it scores alone."""
    params = {"n_samples": "auto", "max_samples": 400, "tolerance": 0.03, "batch_size": 4096}
    params = {**params, **GRID}
    model, x = Calls(TinyNet()), clips()
    batch = _explain(model, list(x), "rise3d", params, target=TARGETS)
    rounds = [e.extras["rounds"] for e in batch]
    used = [e.extras["n_samples_used"] for e in batch]
    assert len(set(rounds)) > 1, rounds  # the case this test is about: clips stop apart
    assert model.sizes[0] == 3  # the session's first pass
    assert len(model.sizes) == 1 + max(rounds)  # one call per round, all clips pooled
    assert sum(model.sizes[1:]) == sum(used)
    for i, t in enumerate(TARGETS):
        alone = _explain(TinyNet(), x[i], "rise3d", params, target=t)
        _assert_same(batch[i], alone)
        assert batch[i].extras["rounds"] == alone.extras["rounds"]
