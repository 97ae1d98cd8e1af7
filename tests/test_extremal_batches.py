"""ep2d / ep3d / step on a batch of clips: every clip equals that clip explained alone.

A batch is optimised jointly (all clips × all areas in one engine forward + backward per
iteration), each row against its own clip's target, with its own reward weight and tie-breaking
stream. The references here are plain: each clip explained alone, the rewards written out with
``log_softmax`` row by row, the pyramids and area terms built clip by clip.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import vidxai
from vidxai.errors import UnsupportedModelError
from vidxai.extremal.losses import area_loss
from vidxai.extremal.perturbation import Perturbation
from vidxai.extremal.reward import row_rewards
from vidxai.extremal.rows import RowLayout

T, H, W = 4, 16, 16
TARGETS = [0, 2, 1]
# tiny settings: 2-px mask cells, σ 1.4; STEP's core kernel 2 frames × 3 px
FAST = {"num_iter": 6, "mask_step": 2, "mask_sigma": 1.4, "learning_rate": 0.3, "progress": False}
STEP_KW = {"num_keyframes": 2, "core_size": 3, "core_start": 2}


class Tiny(nn.Module):
    """Conv3d + ReLU + average pooling + Linear: N×3×T×H×W → N×4 (fixed random weights)."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.conv = nn.Conv3d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 4)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).mean((2, 3, 4)))


class Counter(nn.Module):
    """Records the batch size of every call."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(int(x.shape[0]))
        return self.inner(x)


class Regression(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((1, 2, 3, 4))


def clips() -> torch.Tensor:
    return torch.rand(3, 3, T, H, W, generator=torch.Generator().manual_seed(3))


def _kw(method: str) -> dict:
    return {**FAST, **(STEP_KW if method == "step" else {})}


def _assert_same(batch, alone) -> None:
    for many, one in zip(batch, alone, strict=True):
        assert many.target == one.target
        torch.testing.assert_close(many.extras["masks"], one.extras["masks"], rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(many.attribution, one.attribution, rtol=1e-4, atol=1e-5)
        for term in ("reward", "probability", "area", "core", "energy"):
            torch.testing.assert_close(
                torch.tensor(many.extras["loss_history"][term]),
                torch.tensor(one.extras["loss_history"][term]),
                rtol=1e-4,
                atol=1e-5,
            )
        assert many.extras["reward_weight"] == pytest.approx(one.extras["reward_weight"], rel=1e-5)


@pytest.mark.parametrize(
    ("method", "extra"),
    [
        ("ep2d", {"perturb_area": (0.1, 0.3)}),
        ("ep3d", {"variant": "dual", "perturb_type": "fade"}),
        ("step", {"perturb_area": (0.1, 0.2)}),  # automatic reward weight: one per clip
    ],
)
def test_a_batch_of_clips_with_different_targets_equals_each_clip_alone(method, extra):
    model, x = Tiny(), clips()
    kw = {**_kw(method), **extra, "method": method, "seed": 4}
    batch = vidxai.explain(model, list(x), target=TARGETS, **kw)
    alone = [vidxai.explain(model, c, target=t, **kw) for c, t in zip(x, TARGETS)]
    assert len(batch) == 3
    _assert_same(batch, alone)
    if method == "step":  # the clips' own reward ranges, hence weights, differ
        weights = [e.extras["reward_weight"] for e in batch]
        assert len({round(w, 3) for w in weights}) == 3


@pytest.mark.parametrize("method", ["ep2d", "ep3d", "step"])
def test_one_model_call_per_iteration_for_the_whole_batch(method):
    model = Counter(Tiny())
    kw = {**_kw(method), "method": method, "perturb_area": (0.1, 0.2)}
    out = vidxai.explain(model, list(clips()), target=TARGETS, **kw)
    n_iter = FAST["num_iter"]
    # the session's first pass of the 3 clips, STEP's reward range (intact + fully perturbed
    # clip of each of the 3 clips), then one call of 3 clips × 2 areas per iteration
    expected = [3] + ([6] if method == "step" else []) + [6] * n_iter
    assert model.calls == expected
    assert out[0].extras["batch"]["n_backward"] == 6 * n_iter


def test_the_engine_may_split_the_rows_without_changing_the_result():
    model, x = Tiny(), clips()
    kw = {**_kw("step"), "method": "step", "perturb_area": (0.1, 0.2), "variant": "dual"}
    whole = vidxai.explain(model, list(x), target=TARGETS, **kw)
    counter = Counter(model)
    split = vidxai.explain(counter, list(x), target=TARGETS, batch_size=5, **kw)
    assert max(counter.calls) <= 5 and len(counter.calls) > 1 + FAST["num_iter"]
    _assert_same(split, whole)


def test_same_seed_same_result_and_the_seed_matters():
    model, x = Tiny(), clips()
    kw = {**_kw("ep3d"), "method": "ep3d", "num_iter": 4}
    a = vidxai.explain(model, list(x), target=TARGETS, seed=7, **kw)
    b = vidxai.explain(model, list(x), target=TARGETS, seed=7, **kw)
    for ea, eb in zip(a, b, strict=True):
        assert torch.equal(ea.extras["masks"], eb.extras["masks"])
        assert torch.equal(ea.attribution, eb.attribution)
    # a mask of constant ones at the start: the first area term ties everywhere, so the seed's
    # tie-breaking decides which voxels it pushes down
    c = vidxai.explain(model, list(x), target=TARGETS, seed=8, **kw)
    assert not torch.equal(a[0].extras["masks"], c[0].extras["masks"])


def _neg_log_p(model: nn.Module, x: torch.Tensor, target: int) -> float:
    with torch.no_grad():
        return float(-torch.log_softmax(model(x[None]), 1)[0, target])


def test_step_weights_each_clip_by_its_own_reward_range():
    """λ_r,i = 300 / |−log p_i(faded to 0) − (−log p_i(x_i))| with each clip's own target."""
    model, x = Tiny(), clips()
    kw = {**_kw("step"), "method": "step", "num_iter": 1, "perturb_type": "fade"}
    out = vidxai.explain(model, list(x), target=TARGETS, **kw)
    for exp, c, t in zip(out, x, TARGETS, strict=True):
        span = abs(_neg_log_p(model, torch.zeros_like(c), t) - _neg_log_p(model, c, t))
        assert exp.extras["reward_range"] == pytest.approx(span, rel=1e-5)
        assert exp.extras["reward_weight"] == pytest.approx(300.0 / max(span, 0.01), rel=1e-5)


def test_a_regression_model_is_refused_for_a_batch():
    with pytest.raises(UnsupportedModelError, match="probability"):
        vidxai.explain(Regression(), list(clips()), method="ep2d", **FAST)


# ------------------------------------------------------------------ the batched parts


def test_row_rewards_match_log_softmax_row_by_row():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 4, generator=g, dtype=torch.float64)
    index = torch.tensor([0, 3, 1, 1, 2])
    deleted = torch.tensor([False, True, False, True, True])
    term, prob = row_rewards(logits, index, deleted)
    for r in range(5):
        p = math.exp(float(torch.log_softmax(logits[r], 0)[index[r]]))
        expected = -math.log(1 - p) if deleted[r] else -math.log(p)
        assert float(term[r]) == pytest.approx(expected, rel=1e-9)
        assert float(prob[r]) == pytest.approx(p, rel=1e-9)
    preserved, _ = row_rewards(logits, index, None)  # no deleted rows
    torch.testing.assert_close(preserved, row_rewards(logits, index, torch.zeros(5).bool())[0])
    with pytest.raises(ValueError, match="K >= 2"):
        row_rewards(torch.zeros(2, 1), torch.zeros(2, dtype=torch.long), deleted[:2])


def test_row_layout_orders_rows_clip_by_clip_preserved_first():
    layout = RowLayout(2, 3, "dual")
    assert (layout.per_clip, layout.n_rows) == (6, 12)
    assert layout.clip_of_row().tolist() == [0] * 6 + [1] * 6
    assert layout.deleted().tolist() == ([False] * 3 + [True] * 3) * 2
    masks = torch.arange(6.0).reshape(6, 1)  # clip 0: 0, 1, 2; clip 1: 3, 4, 5
    rows = layout.row_masks(masks)[:, 0].tolist()
    assert rows == [0, 1, 2, 1, 0, -1, 3, 4, 5, -2, -3, -4]
    values = torch.arange(12.0)
    assert layout.per_mask(values).tolist() == [[3, 5, 7], [15, 17, 19]]
    assert layout.shown(values).tolist() == [[0, 1, 2], [6, 7, 8]]
    one = RowLayout(2, 3, "delete")
    assert one.row_masks(masks)[:, 0].tolist() == [1, 0, -1, -2, -3, -4]


def test_batched_pyramid_perturbs_each_clip_with_its_own_masks():
    x = clips()
    m = torch.rand(6, T, H, W, generator=torch.Generator().manual_seed(2))
    for kind in ("blur", "fade"):
        out = Perturbation(x, kind, 3.0).apply(m)
        for i in range(3):
            alone = Perturbation(x[i], kind, 3.0).apply(m[2 * i : 2 * i + 2])
            torch.testing.assert_close(out[2 * i : 2 * i + 2], alone, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="split evenly"):
        Perturbation(x, "fade").apply(m[:5])


@pytest.mark.parametrize("per_frame", [False, True])
def test_batched_area_loss_is_each_clips_own(per_frame):
    g = torch.Generator().manual_seed(5)
    padded = torch.rand(6, T, 5, 5, generator=g)
    padded[1, :, :2] = 0.5  # ties, broken by each clip's own permutation
    v = T * 5 * 5
    ties = torch.stack([torch.randperm(v, generator=g) for _ in range(3)])
    shift = torch.tensor([3, 0, 97])
    areas = [0.1, 0.4]
    batch = area_loss(padded, areas, ties, per_frame, shift)
    for i in range(3):
        alone = area_loss(padded[2 * i : 2 * i + 2], areas, ties[i], per_frame, shift[i])
        torch.testing.assert_close(batch[2 * i : 2 * i + 2], alone)
    with pytest.raises(ValueError, match="tie-breakers"):
        area_loss(padded, areas, ties[:2], per_frame, shift)
