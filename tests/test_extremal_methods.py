"""ep2d / ep3d / step end to end on a hand-built model whose evidence is a known cuboid.

The clip is black except a white cuboid (frames 2–5, a 20×20 square); the model's class-0 logit is
``a · (mean of the cuboid's voxels − s0)`` (class 1: 0). With the ``fade`` perturbation a voxel
outside the cuboid has no effect on the model, so a good mask keeps the requested area inside the
cuboid. Runs are short (8×32×32, ≤ 200 iterations): a larger learning rate than the reference's
0.05, and an area weight growing 2% per iteration (STEP's schedule grows it 0.087%) so that the
area term wins within 200 iterations — with a constant area weight the reward keeps some extra area
wherever it still gains probability.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai
from vidxai.errors import ParameterError, UnsupportedModelError
from vidxai.extremal.perturbation import blur_frames

T, H, W = 8, 32, 32
REGION = (slice(2, 6), slice(6, 26), slice(8, 28))
FAST = {"learning_rate": 0.3, "perturb_type": "fade", "progress": False, "target": 0}
GROW = 1.02


class CuboidModel(nn.Module):
    """logits ``[a·(mean of x over the cuboid − s0), 0]``."""

    def __init__(self, a: float = 100.0, s0: float = 0.25) -> None:
        super().__init__()
        self.a, self.s0 = a, s0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x[:, :, REGION[0], REGION[1], REGION[2]].mean((1, 2, 3, 4))
        return torch.stack([self.a * (s - self.s0), torch.zeros_like(s)], 1)


FULL = (slice(0, 8), slice(10, 22), slice(10, 22))


class Flicker(nn.Module):
    """Evidence in every frame (a 12×12 square), but odd frames count 0.3× as much as even ones:
    keeping only the even frames is best for the reward alone (3D-EP), while STEP's core term asks
    for blobs spanning several consecutive frames."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("w", torch.tensor([1.0, 0.3] * 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        per_frame = x[:, :, FULL[0], FULL[1], FULL[2]].mean((1, 3, 4))
        s = (per_frame * self.w).sum(1) / self.w.sum()
        return torch.stack([100 * (s - 0.3), torch.zeros_like(s)], 1)


class Regression(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((1, 2, 3, 4))


def clip() -> torch.Tensor:
    x = torch.zeros(3, T, H, W)
    x[:, REGION[0], REGION[1], REGION[2]] = 1.0
    return x


def inside() -> torch.Tensor:
    m = torch.zeros(T, H, W, dtype=torch.bool)
    m[REGION] = True
    return m


def mass_inside(masks: torch.Tensor) -> torch.Tensor:
    """``A×T×H×W`` → fraction of each mask's mass inside the cuboid."""
    return (masks * inside()).sum((1, 2, 3)) / masks.sum((1, 2, 3))


def temporal_change(masks: torch.Tensor) -> torch.Tensor:
    """Mean absolute frame-to-frame change of each mask."""
    return (masks[:, 1:] - masks[:, :-1]).abs().mean((1, 2, 3))


@pytest.fixture(scope="module")
def ep3d_run():
    return vidxai.explain(
        CuboidModel(),
        clip(),
        method="ep3d",
        num_iter=200,
        perturb_area=0.05,
        area_growth=GROW,
        **FAST,
    )


def flicker_clip() -> torch.Tensor:
    x = torch.zeros(3, T, H, W)
    x[:, FULL[0], FULL[1], FULL[2]] = 1.0
    return x


@pytest.fixture(scope="module")
def step_run():
    # the weights of 3D-EP plus the core term: only the core term differs
    return vidxai.explain(
        Flicker(),
        flicker_clip(),
        method="step",
        num_iter=200,
        perturb_area=0.05,
        reward_weight=100.0,
        area_growth=GROW,
        num_keyframes=4,
        core_start=50,
        **FAST,
    )


def test_ep3d_keeps_the_requested_area_inside_the_evidence(ep3d_run):
    assert ep3d_run.extras["kept_area"][0] == pytest.approx(0.05, rel=0.1)
    assert float(mass_inside(ep3d_run.extras["masks"])[0]) > 0.9
    assert ep3d_run.extras["final_probability"][0] > 0.99
    att = ep3d_run.attribution
    assert att.shape == (T, H, W) and float(att.max()) == pytest.approx(1.0)
    assert float(att[inside()].mean()) > 5 * float(att[~inside()].mean())


def test_ep2d_keeps_the_same_area_in_every_frame(ep3d_run):
    exp = vidxai.explain(
        CuboidModel(s0=0.12),
        clip(),
        method="ep2d",
        num_iter=200,
        perturb_area=0.05,
        area_growth=GROW,
        **FAST,
    )
    per_frame = torch.tensor(exp.extras["kept_area_per_frame"][0])
    assert per_frame.shape == (T,)
    # every frame, with evidence (2–5) or without, keeps about 5 % (measured 0.044–0.057) …
    torch.testing.assert_close(per_frame, torch.full((T,), 0.05), atol=0.012, rtol=0)
    # … while 3D-EP puts the whole area into the evidence frames
    per_frame_3d = torch.tensor(ep3d_run.extras["kept_area_per_frame"][0])
    assert float(per_frame_3d[[0, 1, 6, 7]].max()) < 0.01 < 0.06 < float(per_frame_3d[2:6].min())
    masks = exp.extras["masks"][0]
    in_evidence_frames = (masks[REGION[0]] * inside()[REGION[0]]).sum() / masks[REGION[0]].sum()
    assert float(in_evidence_frames) > 0.9


def test_step_is_more_temporally_coherent_than_ep3d(step_run):
    ep3d = vidxai.explain(
        Flicker(),
        flicker_clip(),
        method="ep3d",
        num_iter=200,
        perturb_area=0.05,
        area_growth=GROW,
        **FAST,
    )
    change_3d = float(temporal_change(ep3d.extras["masks"])[0])
    change_step = float(temporal_change(step_run.extras["masks"])[0])
    assert change_step < 0.5 * change_3d  # measured: 0.03 vs 0.15
    per_frame_3d = torch.tensor(ep3d.extras["kept_area_per_frame"][0])
    assert float(per_frame_3d[1::2].max()) < 0.01  # 3D-EP drops the weak (odd) frames
    per_frame_step = torch.tensor(step_run.extras["kept_area_per_frame"][0])
    assert float(per_frame_step[1:-1].min()) > 0.03  # STEP keeps a tube through them
    in_square = torch.zeros(T, H, W, dtype=torch.bool)
    in_square[FULL] = True
    masks = step_run.extras["masks"][0]
    assert float((masks * in_square).sum() / masks.sum()) > 0.85
    assert step_run.extras["num_keyframes"] == 4


def test_step_loss_history_follows_the_schedule(step_run):
    hist = step_run.extras["loss_history"]
    assert set(hist) == {"reward", "probability", "area", "core", "energy"}
    assert all(len(v) == 200 and len(v[0]) == 1 for v in hist.values())
    for it in (0, 49, 50, 199):
        core_on = 300.0 if it >= 50 else 0.0
        expected = 100 * hist["reward"][it][0] + 300 * GROW**it * hist["area"][it][0]
        expected += core_on * hist["core"][it][0]
        assert hist["energy"][it][0] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert hist["area"][-1][0] < 0.2 * hist["area"][0][0]


def test_step_area_weight_grows_by_default():
    exp = vidxai.explain(CuboidModel(), clip(), method="step", num_iter=3, num_keyframes=4, **FAST)
    h = exp.extras["loss_history"]
    weight = exp.extras["reward_weight"]
    for it in range(3):
        expected = weight * h["reward"][it][0] + 300 * 1.0008668**it * h["area"][it][0]
        assert h["energy"][it][0] == pytest.approx(expected, rel=1e-5)


def _neg_log_p(model: nn.Module, x: torch.Tensor) -> float:
    return float(-torch.log_softmax(model(x[None]), 1)[0, 0])


@pytest.mark.parametrize("a", [100.0, 3.0])
def test_step_reward_weight_comes_from_the_reward_range(a):
    """Default λ_r = λ_a / |−log p(fully blurred) − (−log p(intact))|, computed here directly."""
    model = CuboidModel(a=a)
    exp = vidxai.explain(model, clip(), method="step", num_iter=2, num_keyframes=4, **FAST)
    # FAST fades: the fully perturbed clip is 0 everywhere
    span = abs(_neg_log_p(model, torch.zeros(3, T, H, W)) - _neg_log_p(model, clip()))
    assert exp.extras["reward_range"] == pytest.approx(span, rel=1e-5)
    assert exp.extras["reward_weight"] == pytest.approx(300.0 / span, rel=1e-5)
    assert exp.n_forward == 1 + 2 + 2  # intact clip, the two reward-range clips, 2 iterations
    blur = {**FAST, "perturb_type": "blur"}
    blurred = vidxai.explain(model, clip(), method="step", num_iter=1, num_keyframes=4, **blur)
    x_blur = blur_frames(clip(), 20 * 32 / 112)
    span_blur = abs(_neg_log_p(model, x_blur) - _neg_log_p(model, clip()))
    assert blurred.extras["reward_range"] == pytest.approx(span_blur, rel=1e-4)
    reference = vidxai.explain(
        model, clip(), method="step", num_iter=1, num_keyframes=4, reward_weight=1.0, **FAST
    )
    assert reference.extras["reward_weight"] == 1.0 and "reward_range" not in reference.extras
    assert reference.n_forward == 2  # the reference weight needs no extra passes


def test_step_defaults_localise_a_weakly_responding_model_where_the_reference_weight_fails():
    """A model whose probability barely moves under blurring (logit slope 1 instead of 100): with
    the reference's λ_r = 1 the area term swamps the reward and the mask lands about at random
    (the cuboid holds 20 % of the clip); the automatic weight keeps the evidence."""
    kw = dict(method="step", num_iter=150, perturb_area=0.05, num_keyframes=4, core_start=50)
    kw |= {"area_growth": GROW, "seed": 0, **{**FAST, "perturb_type": "blur"}}
    auto = vidxai.explain(CuboidModel(a=1.0, s0=0.1), clip(), **kw)
    reference = vidxai.explain(CuboidModel(a=1.0, s0=0.1), clip(), reward_weight=1.0, **kw)
    inside_auto = float(mass_inside(auto.extras["masks"])[0])
    inside_reference = float(mass_inside(reference.extras["masks"])[0])
    assert inside_auto > 0.5 > 0.4 > inside_reference  # measured 0.60 against 0.33


def test_same_seed_same_masks():
    kw = dict(method="step", num_iter=20, perturb_area=(0.05, 0.1), num_keyframes=4, seed=5)
    a = vidxai.explain(CuboidModel(), clip(), core_start=5, **kw, **FAST)
    b = vidxai.explain(CuboidModel(), clip(), core_start=5, **kw, **FAST)
    assert torch.equal(a.extras["masks"], b.extras["masks"])
    assert torch.equal(a.attribution, b.attribution)


@pytest.mark.parametrize("method", ["ep2d", "step"])
def test_several_areas_in_one_batch_equal_one_at_a_time(method):
    kw = dict(method=method, num_iter=25, seed=1, **FAST)
    if method == "step":
        kw |= {"num_keyframes": 4, "core_start": 10}
    joint = vidxai.explain(CuboidModel(), clip(), perturb_area=(0.05, 0.1), **kw)
    assert joint.extras["masks"].shape == (2, T, H, W)
    assert joint.extras["areas"] == [0.05, 0.1]
    extra = 2 if method == "step" else 0  # STEP's reward range: the intact and blurred clips
    assert joint.n_forward == 25 * 2 + 1 + extra and joint.n_backward == 25 * 2
    for i, area in enumerate((0.05, 0.1)):
        alone = vidxai.explain(CuboidModel(), clip(), perturb_area=area, **kw)
        torch.testing.assert_close(joint.extras["masks"][i], alone.extras["masks"][0])
        assert joint.extras["loss_history"]["area"][7][i] == pytest.approx(
            alone.extras["loss_history"]["area"][7][0], rel=1e-5
        )
    split = vidxai.explain(CuboidModel(), clip(), perturb_area=(0.05, 0.1), batch_size=1, **kw)
    torch.testing.assert_close(split.extras["masks"], joint.extras["masks"])


@pytest.mark.parametrize(
    ("method", "variant"), [("ep3d", "delete"), ("ep3d", "dual"), ("step", "dual")]
)
def test_delete_and_dual_variants_run(method, variant):
    kw = {"num_keyframes": 4} if method == "step" else {}
    exp = vidxai.explain(
        CuboidModel(), clip(), method=method, num_iter=5, variant=variant, **kw, **FAST
    )
    assert exp.extras["masks"].shape == (1, T, H, W)
    reward_range = 4 if method == "step" else 0  # intact and faded clips, preserved and deleted
    assert exp.n_forward == 5 * (2 if variant == "dual" else 1) + 1 + reward_range
    assert all(torch.isfinite(torch.tensor(exp.extras["loss_history"]["energy"])).flatten())


def test_blur_on_a_texture_prefers_the_texture():
    g = torch.Generator().manual_seed(0)
    x = torch.full((3, T, H, W), 0.5)
    x[:, REGION[0], REGION[1], REGION[2]] = torch.rand(3, 4, 20, 20, generator=g)

    class Texture(nn.Module):
        def forward(self, v: torch.Tensor) -> torch.Tensor:
            e = (v[:, :, :, 1:] - v[:, :, :, :-1]).square().mean((1, 2, 3, 4))
            return torch.stack([400 * (e - 0.004), torch.zeros_like(e)], 1)

    exp = vidxai.explain(
        Texture(),
        x,
        method="ep3d",
        num_iter=60,
        perturb_area=0.05,
        learning_rate=0.3,
        progress=False,
        target=0,
    )
    assert float(mass_inside(exp.extras["masks"])[0]) > 0.5  # the cuboid is 14% of the clip
    assert exp.extras["max_blur"] == pytest.approx(20 * 32 / 112)


def test_settings_scale_with_the_input_size(ep3d_run):
    ex = ep3d_run.extras
    assert ex["mask_step"] == 2 and ex["mask_sigma"] == pytest.approx(11 * 32 / 112)
    assert ex["smooth"] == pytest.approx(10 * 32 / 112)
    assert ex["backend"] == "eager"  # too short a run to pay for compilation


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ParameterError, match="fewer than the core kernel's num_keyframes=8"):
        vidxai.explain(CuboidModel(), clip()[:, :6], method="step", num_iter=2, progress=False)
    with pytest.raises(ParameterError, match="between 0 and 1"):
        vidxai.explain(CuboidModel(), clip(), method="ep3d", perturb_area=1.5, progress=False)
    with pytest.raises(ParameterError, match="num_iter"):
        vidxai.explain(CuboidModel(), clip(), method="ep2d", num_iter=0, progress=False)
    with pytest.raises(ParameterError, match="core_size"):
        vidxai.explain(CuboidModel(), clip(), method="step", core_size=64, progress=False)
    with pytest.raises(UnsupportedModelError, match="probability"):
        vidxai.explain(Regression(), clip(), method="ep3d", num_iter=2, progress=False)
