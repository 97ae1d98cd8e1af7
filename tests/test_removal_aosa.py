"""AOSA: motion-following occluders, the exact map against plain occlusion, the Taylor variant."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import vidxai
from vidxai.removal.aosa.occluders import (
    cuboid_occluders,
    flow_occluders,
    render_keep,
    stack_by_motion,
)


class Linear(nn.Module):
    """A regression ``f(x) = Σ w·x`` (one output): first-order Taylor is exact for it."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("w", weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.w).flatten(1).sum(1, keepdim=True)


def _moving_square(t: int = 6, size: int = 32, speed: int = 2) -> torch.Tensor:
    """A textured bright square moving right by ``speed`` px per frame: ``3×T×H×W`` in [0, 1]."""
    g = torch.Generator().manual_seed(0)
    background = 0.4 * torch.rand(size, size, generator=g)  # static texture anchors the flow
    clip = background.expand(3, t, size, size).clone()
    texture = 0.6 + 0.4 * torch.rand(8, 8, generator=g)
    for i in range(t):
        clip[:, i, 12:20, 4 + speed * i : 12 + speed * i] = texture
    return clip


def test_a_square_is_rendered_where_its_centre_is() -> None:
    occ = cuboid_occluders((2, 16, 16), size=4, stride=8, t_size=2, t_stride=2)
    keep = render_keep(occ, torch.tensor([0]), (2, 16, 16))[0]
    expected = torch.ones(2, 16, 16)
    expected[:, 2:6, 2:6] = 0  # seed (4, 4): rows and columns 4 − 2 … 4 + 1
    assert torch.equal(keep, expected)


def test_flow_occluders_follow_the_motion() -> None:
    clip = _moving_square()
    occ = flow_occluders(clip, size=8, stride=8)
    # the seed at (16, 8) sits on the moving square at frame 0
    i = int(((occ.centres[:, 0] - torch.tensor([12.0, 4.0])).abs().sum(1)).argmin())
    steps = occ.trajectories[i, :, 1]
    assert occ.visible[i].all()
    assert steps.mean() == pytest.approx(2.0, abs=0.6)  # moves right at ~2 px / frame
    # the seeds on the static background far from the square stay put
    still = (occ.centres[:, 0, 0] > 24).nonzero().flatten()
    assert occ.trajectories[still].abs().mean() < 0.5


def test_stacking_joins_the_occluders_with_the_most_similar_motion() -> None:
    occ = flow_occluders(_moving_square(), size=8, stride=8)
    stacked = stack_by_motion(occ, 2)
    assert stacked.groups.shape == (occ.n, 2)
    assert torch.equal(stacked.groups[:, 0], torch.arange(occ.n))


def test_exact_map_equals_plain_occlusion_with_the_same_masks(tiny_model) -> None:
    clip = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    exp = vidxai.explain(
        tiny_model, clip, method="aosa", occluders="simple", size=4, stride=8,
        temporal_size=2, temporal_stride=2, n_stack=1, target=1, rescale=False, progress=False,
    )  # fmt: skip
    # the same cuboids written out by hand: seeds (4, 4), (4, 12), (12, 4), (12, 12) px,
    # frames [0, 2) then [2, 4); removed voxels become 0
    masks = []
    for t0 in (0, 2):
        for y, x in ((4, 4), (4, 12), (12, 4), (12, 12)):
            m = torch.ones(4, 16, 16)
            m[t0 : t0 + 2, y - 2 : y + 2, x - 2 : x + 2] = 0
            masks.append(m)
    with torch.no_grad():
        p0 = torch.softmax(tiny_model(clip[None]), 1)[0, 1]
        d = [torch.softmax(tiny_model((clip * m)[None]), 1)[0, 1] - p0 for m in masks]
    expected = sum(di * m / m.mean() for di, m in zip(d, masks)) / len(masks)
    torch.testing.assert_close(exp.extras["d"], torch.stack(d), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(exp.attribution, expected, rtol=1e-4, atol=1e-6)
    assert exp.n_forward == 1 + 1 + 8 and exp.n_backward == 0
    # the default rescales min-max to [0, 1], as the authors' code does
    scaled = vidxai.explain(
        tiny_model, clip, method="aosa", occluders="simple", size=4, stride=8,
        temporal_size=2, temporal_stride=2, n_stack=1, target=1, progress=False,
    )  # fmt: skip
    lo, hi = expected.min(), expected.max()
    rescaled = (expected - lo) / (hi - lo)
    torch.testing.assert_close(scaled.attribution, rescaled, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(scaled.extras["raw_map"], expected, rtol=1e-4, atol=1e-6)
    assert exp.behaviour == "probability"


@pytest.mark.parametrize("conditional", [False, True])
def test_taylor_estimate_is_exact_for_a_linear_model(conditional: bool) -> None:
    g = torch.Generator().manual_seed(2)
    model = Linear(torch.randn(1, 3, 6, 32, 32, generator=g))
    clip = _moving_square()
    kw = {"size": 8, "stride": 8, "n_stack": 2, "conditional": conditional, "progress": False}
    exact = vidxai.explain(model, clip, method="aosa", **kw)
    approx = vidxai.explain(model, clip, method="aosa", approximate=True, adjust="none", **kw)
    torch.testing.assert_close(approx.extras["d"], exact.extras["d"], rtol=1e-3, atol=1e-4)
    assert approx.n_backward == 1 and approx.n_forward == 1 + 1 + 1
    assert approx.extras["forward_passes_saved"] == exact.extras["n_masks"] + 1 - 2


def test_relinearising_outliers_moves_them_towards_the_exact_value(tiny_model) -> None:
    clip = torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(3))
    kw = {"size": 8, "stride": 4, "n_stack": 1, "progress": False, "target": 0}
    exact = vidxai.explain(tiny_model, clip, method="aosa", **kw).extras["d"]
    plain = vidxai.explain(tiny_model, clip, method="aosa", approximate=True, adjust="none", **kw)
    fixed = vidxai.explain(tiny_model, clip, method="aosa", approximate=True, **kw)
    changed = ~torch.isclose(plain.extras["d"], fixed.extras["d"])
    assert fixed.extras["relinearised"] == int(changed.sum())
    if changed.any():
        err_plain = (plain.extras["d"] - exact)[changed].abs().mean()
        err_fixed = (fixed.extras["d"] - exact)[changed].abs().mean()
        assert err_fixed <= err_plain


def test_the_planted_evidence_ranks_first() -> None:
    # a regression that reads only the moving square's pixels
    clip = _moving_square()
    weight = torch.zeros(1, 3, 6, 32, 32)
    for i in range(6):
        weight[0, :, i, 12:20, 4 + 2 * i : 12 + 2 * i] = 1.0
    exp = vidxai.explain(Linear(weight), clip, method="aosa", size=8, stride=4, progress=False)
    a = exp.attribution.numpy().ravel()
    inside = weight[0, 0].numpy().ravel() > 0
    assert inside[a.argmax()]
    # AUROC of the evidence (rank statistic, written out): P(a_inside > a_outside)
    ranks = np.argsort(np.argsort(a)) + 1
    n_in, n_out = inside.sum(), (~inside).sum()
    auroc = (ranks[inside].sum() - n_in * (n_in + 1) / 2) / (n_in * n_out)
    assert auroc > 0.9


def test_bad_parameters_are_refused(tiny_model, tiny_clip) -> None:
    with pytest.raises(vidxai.ParameterError, match="n_stack"):
        vidxai.explain(tiny_model, tiny_clip[0], method="aosa", n_stack=0, progress=False)
    with pytest.raises(vidxai.ParameterError, match="occluders"):
        vidxai.explain(tiny_model, tiny_clip[0], method="aosa", occluders="boxes", progress=False)
