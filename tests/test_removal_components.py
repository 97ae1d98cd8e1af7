"""REVEX stage components tested directly: segmenters, samplers, fills, masks, summaries."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.removal.remove import (
    BoxMasks,
    Renderer,
    SegmentMasks,
    ShiftedGridMasks,
    SmoothGridMasks,
    blur_video,
    make_fill,
)
from vidxai.removal.sample import (
    BernoulliSampler,
    OneInSampler,
    OneOutSampler,
    ShapleySampler,
    SlidingCuboidSampler,
    shapley_kernel,
)
from vidxai.removal.segment import grid_labels, make_segmenter, pixel_video
from vidxai.removal.summarize import constrained_wls, weighted_ridge

SHAPE = (8, 32, 32)


def smooth_clip(seed: int = 0, shape: tuple[int, int, int] = SHAPE) -> torch.Tensor:
    """``3×T×H×W`` in [0, 1] with blob-like structure (SLIC needs more than noise)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(1, 3, 2, 4, 4, generator=g)
    return F.interpolate(coarse, size=shape, mode="trilinear", align_corners=False)[0]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------ segmenters


@pytest.mark.parametrize("name", ["slic", "grid", "slic2d", "frames", "flow"])
def test_every_segmenter_covers_every_voxel_with_labels_0_to_m(name: str) -> None:
    labels = make_segmenter(name, n_segments=24, grid=(2, 3, 4))(smooth_clip())
    assert labels.shape == SHAPE and labels.dtype == torch.int64
    m = int(labels.max()) + 1
    assert torch.equal(torch.unique(labels), torch.arange(m))
    assert m >= 2


def test_grid_labels_closed_form() -> None:
    labels = grid_labels((2, 3, 4), SHAPE, torch.device("cpu"))
    for t, h, w in [(0, 0, 0), (7, 31, 31), (3, 10, 8), (4, 11, 24)]:
        cell = (t * 2 // 8, h * 3 // 32, w * 4 // 32)
        assert labels[t, h, w] == (cell[0] * 3 + cell[1]) * 4 + cell[2]


def test_frames_segmenter_groups_whole_frames() -> None:
    labels = make_segmenter("frames", n_segments=3)(smooth_clip())
    assert int(labels.max()) == 2
    for t in range(SHAPE[0]):
        assert labels[t].unique().numel() == 1
    assert make_segmenter("frames", n_segments=100)(smooth_clip()).max() == SHAPE[0] - 1


def test_slic2d_segments_never_span_two_frames() -> None:
    labels = make_segmenter("slic2d", n_segments=32)(smooth_clip())
    per_frame = [set(labels[t].unique().tolist()) for t in range(SHAPE[0])]
    for a, b in itertools.combinations(per_frame, 2):
        assert not a & b


def test_flow_segments_follow_a_moving_square() -> None:
    clip = torch.zeros(3, 6, 32, 32)
    for t in range(6):
        clip[:, t, 8:20, 4 + 2 * t : 16 + 2 * t] = 1.0  # bright square moving right
    labels = make_segmenter("flow", n_segments=4)(clip)
    inside = labels[0, 14, 10]
    # the square's label travels with it
    assert labels[5, 14, 10 + 10] == inside


def test_more_segments_than_voxels_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="voxels"):
        make_segmenter("slic", n_segments=10_000)(smooth_clip(shape=(4, 8, 8)))


def test_grid_larger_than_clip_is_clamped_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="using"):
        labels = make_segmenter("grid", grid=(16, 2, 2))(smooth_clip())
    assert int(labels.max()) + 1 == 8 * 2 * 2


def test_pixel_video_undoes_normalisation_or_min_max_scales() -> None:
    pix = smooth_clip()
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    x = (pix - mean.view(3, 1, 1, 1)) / std.view(3, 1, 1, 1)
    torch.testing.assert_close(pixel_video(x, mean, std, True), pix)
    scaled = pixel_video(x * 7 + 3, torch.zeros(3), torch.ones(3), False)
    assert (
        scaled.amin((1, 2, 3)).abs().max() < 1e-6
        and (scaled.amax((1, 2, 3)) - 1).abs().max() < 1e-6
    )


# -------------------------------------------------------------------------------- samplers


def test_one_out_and_one_in_designs() -> None:
    out = OneOutSampler()(4, SHAPE, gen())
    assert torch.equal(out.z, torch.cat([torch.ones(1, 4), 1 - torch.eye(4)]))
    inn = OneInSampler()(4, SHAPE, gen())
    assert torch.equal(inn.z, torch.cat([torch.zeros(1, 4), torch.eye(4)]))


def test_bernoulli_rate_intact_row_and_bad_p() -> None:
    s = BernoulliSampler(2000, 0.3, include_intact=True)(50, SHAPE, gen())
    assert s.n == 2000 and torch.equal(s.z[0], torch.ones(50))
    assert abs(float(s.z[1:].mean()) - 0.3) < 0.01
    for p in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ParameterError, match="p"):
            BernoulliSampler(10, p)


def test_shapley_sampler_enumerates_when_budget_allows() -> None:
    s = ShapleySampler(30)(4, SHAPE, gen())
    assert s.exact and s.n == 16
    rows = {tuple(r.tolist()) for r in s.z}
    assert len(rows) == 16  # every coalition exactly once
    sizes = s.z[2:].sum(1).long()
    torch.testing.assert_close(s.weights[2:], shapley_kernel(4, sizes))
    assert float(shapley_kernel(4, torch.tensor([1]))) == pytest.approx(3 / (4 * 1 * 3))


def test_shapley_sampler_pairs_and_size_distribution() -> None:
    m = 14  # 2^14 − 2 > 4001: sampled, not enumerated
    s = ShapleySampler(4001)(m, SHAPE, gen())
    assert not s.exact and s.n == 2 + 4002 and s.unit == 2
    pairs = s.z[2:].view(-1, 2, m)
    assert torch.equal(pairs[:, 0] + pairs[:, 1], torch.ones(pairs.shape[0], m))
    sizes = pairs[:, 0].sum(1).long()
    freq = torch.bincount(sizes, minlength=m).double() / sizes.numel()
    expect = torch.tensor([0.0] + [1 / (k * (m - k)) for k in range(1, m)])
    expect /= expect.sum()
    assert (freq - expect).abs().max() < 0.03


def test_shapley_sampler_needs_as_many_samples_as_features() -> None:
    with pytest.raises(ParameterError, match="n_samples"):
        ShapleySampler(20)(64, SHAPE, gen())


def test_cuboid_positions_follow_revex_rule() -> None:
    s = SlidingCuboidSampler((4, 7, 7), (2, 2, 2))(0, (16, 112, 112), gen())
    assert s.positions == (7, 13, 13) and s.n == 1 + 7 * 13 * 13
    t_starts = sorted({int(b[0]) for b in s.boxes[1:]})
    assert t_starts == [0, 2, 4, 6, 8, 10, 12]
    assert {int(b[1] - b[0]) for b in s.boxes[1:]} == {4}
    assert {int(b[3] - b[2]) for b in s.boxes[1:]} == {16}
    assert int(s.boxes[1:, 5].max()) == 112


def test_cuboid_voxel_units_cover_the_end_and_reject_oversize() -> None:
    s = SlidingCuboidSampler((3, 10, 10), (3, 8, 8), "voxels")(0, (8, 32, 32), gen())
    t_iv = sorted({(int(b[0]), int(b[1])) for b in s.boxes[1:]})
    assert t_iv == [(0, 3), (3, 6), (5, 8)]
    with pytest.raises(ParameterError, match="exceed"):
        SlidingCuboidSampler((9, 2, 2), (1, 1, 1), "voxels")(0, SHAPE, gen())
    with pytest.raises(ParameterError, match="exceed"):
        SlidingCuboidSampler((2, 2, 2), (1, 40, 1), "voxels")(0, SHAPE, gen())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = SlidingCuboidSampler((16, 7, 7), (2, 2, 2))(0, SHAPE, gen())
    messages = " ".join(str(w.message) for w in caught)
    assert "kernel fraction" in messages and "stride" in messages
    assert s.positions[0] == 8


# ---------------------------------------------------------------------------- fills, masks


def test_blur_matches_scipy_reflect_gaussian() -> None:
    x = torch.rand(1, 3, 8, 16, 16, generator=gen())
    ref3 = np.stack([gaussian_filter(x[0, c].double().numpy(), 3.0) for c in range(3)])
    np.testing.assert_allclose(blur_video(x, 3.0, "3d")[0].numpy(), ref3, atol=1e-5)
    ref2 = np.stack(
        [[gaussian_filter(x[0, c, t].double().numpy(), 8.0) for t in range(8)] for c in range(3)]
    )
    np.testing.assert_allclose(blur_video(x, 8.0, "2d")[0].numpy(), ref2, atol=1e-5)


def _pixel_value(mean: torch.Tensor, std: torch.Tensor):
    return lambda v: (torch.as_tensor(v, dtype=torch.float32).expand(3) - mean) / std


def test_colour_fills_are_pixel_space_values_in_input_space() -> None:
    mean, std = torch.tensor([0.4, 0.5, 0.6]), torch.tensor([0.2, 0.25, 0.3])
    x = torch.zeros(1, 3, 2, 4, 4)
    pv = _pixel_value(mean, std)
    black = make_fill("black", x, pv, None, 8.0)
    torch.testing.assert_close(black[0, :, 0, 0, 0], -mean / std)
    gray = make_fill("gray", x, pv, None, 8.0).expand_as(x)
    torch.testing.assert_close(gray[0, :, 1, 3, 2], (0.5 - mean) / std)
    colour = make_fill((1.0, 0.0, 0.5), x, pv, None, 8.0)
    torch.testing.assert_close(colour[0, :, 0, 0, 0], (torch.tensor([1.0, 0.0, 0.5]) - mean) / std)


def test_mean_fill_is_each_segments_mean_colour() -> None:
    x = torch.rand(1, 3, *SHAPE, generator=gen())
    labels = grid_labels((2, 2, 2), SHAPE, torch.device("cpu"))
    fill = make_fill("mean", x, _pixel_value(torch.zeros(3), torch.ones(3)), labels, 8.0)
    seg = labels == 5
    torch.testing.assert_close(
        fill[0][:, seg], x[0][:, seg].mean(1, keepdim=True).expand(-1, int(seg.sum()))
    )


def test_tensor_constants_are_in_model_input_space() -> None:
    x = torch.rand(1, 3, *SHAPE, generator=gen())
    pv = _pixel_value(torch.full((3,), 0.5), torch.full((3,), 0.25))
    one = make_fill(torch.tensor(-2.0), x, pv, None, 8.0)
    torch.testing.assert_close(one.expand_as(x), torch.full_like(x, -2.0))
    per_channel = make_fill(torch.tensor([1.0, 2.0, 3.0]), x, pv, None, 8.0)
    torch.testing.assert_close(per_channel[0, :, 0, 0, 0], torch.tensor([1.0, 2.0, 3.0]))


def test_reference_fill_shape_is_checked() -> None:
    x = torch.rand(1, 3, *SHAPE, generator=gen())
    pv = _pixel_value(torch.zeros(3), torch.ones(3))
    ref = torch.rand(3, *SHAPE, generator=gen())
    torch.testing.assert_close(make_fill(ref, x, pv, None, 8.0)[0], ref)
    with pytest.raises(InvalidInputError, match="reference"):
        make_fill(torch.rand(3, 4, 32, 32), x, pv, None, 8.0)
    with pytest.raises(ParameterError):
        make_fill("purple", x, pv, None, 8.0)
    with pytest.raises(ParameterError):
        make_fill(1.5, x, pv, None, 8.0)


def test_segment_masks_render_exact_swaps_and_keep_the_intact_clip() -> None:
    x = torch.rand(1, 3, *SHAPE, generator=gen())
    fill = torch.full_like(x, -1.0)
    labels = grid_labels((2, 2, 2), SHAPE, torch.device("cpu"))
    s = BernoulliSampler(6, 0.5, include_intact=True)(8, SHAPE, gen(1))
    out = Renderer(x, fill, SegmentMasks(s.z, labels))(0, 6)
    assert torch.equal(out[0], x[0])
    for i in range(6):
        kept = s.z[i][labels].bool()
        assert torch.equal(out[i], torch.where(kept, x[0], fill[0]))


def test_smooth_grid_masks_are_trilinear_upsampling() -> None:
    z = (torch.rand(5, 8, generator=gen()) < 0.5).float()
    masks = SmoothGridMasks(z, (2, 2, 2), SHAPE)
    ref = F.interpolate((1 - z).view(5, 1, 2, 2, 2), size=SHAPE, mode="trilinear")[:, 0]
    torch.testing.assert_close(masks.removed(0, 5), ref)


def test_shifted_grid_masks_are_random_crops_of_a_larger_upsampled_grid() -> None:
    z = (torch.rand(4, 27, generator=gen()) < 0.5).float()
    masks = ShiftedGridMasks(z, (2, 2, 2), SHAPE, gen(3))
    big = F.interpolate((1 - z).view(4, 1, 3, 3, 3), size=(12, 48, 48), mode="trilinear")[:, 0]
    got = masks.removed(0, 4)
    for i in range(4):
        ot, oh, ow = (int(o[i]) for o in masks.offsets)
        torch.testing.assert_close(got[i], big[i, ot : ot + 8, oh : oh + 32, ow : ow + 32])
    assert len({tuple(int(o[i]) for o in masks.offsets) for i in range(4)}) > 1


def test_box_masks_and_box_means() -> None:
    x = torch.rand(1, 3, *SHAPE, generator=gen())
    s = SlidingCuboidSampler()(0, SHAPE, gen())
    masks = BoxMasks(s.boxes, SHAPE)
    m = masks.removed(0, 5)
    assert float(m[0].sum()) == 0
    t0, t1, h0, h1, w0, w1 = (int(v) for v in s.boxes[3])
    assert float(m[3, t0:t1, h0:h1, w0:w1].min()) == 1 and float(m[3].sum()) == (t1 - t0) * (
        h1 - h0
    ) * (w1 - w0)
    means = masks.box_means(x, 0, 5)
    torch.testing.assert_close(means[3], x[0, :, t0:t1, h0:h1, w0:w1].mean((1, 2, 3)))


def test_soft_edges_blur_each_frame_of_the_mask() -> None:
    x = torch.ones(1, 3, *SHAPE)
    labels = grid_labels((1, 1, 2), SHAPE, torch.device("cpu"))
    z = torch.tensor([[1.0, 0.0]])
    out = Renderer(x, torch.zeros_like(x), SegmentMasks(z, labels), soft_edges=2.0)(0, 1)[0, 0, 0]
    hard = z[0][labels[0]]
    assert float(out[:, 0].min()) > 0.99 and float(out[:, -1].max()) < 0.01
    assert 0.2 < float(out[5, 15]) < 0.8 and not torch.equal(out, hard)


# -------------------------------------------------------------------------------- summaries


def test_weighted_ridge_without_penalty_is_exact_on_linear_data() -> None:
    x = (torch.rand(200, 6, generator=gen()) < 0.5).double()
    coef = torch.tensor([0.5, -1.0, 2.0, 0.0, 0.3, 1.5], dtype=torch.float64)
    y = 0.7 + x @ coef
    w = torch.rand(200, generator=gen(1)).double() + 0.1
    est, intercept, se, r2 = weighted_ridge(x, y, w, alpha=0.0)
    torch.testing.assert_close(est, coef)
    assert float(intercept) == pytest.approx(0.7) and r2 == pytest.approx(1.0)
    assert float(se.max()) < 1e-8


def test_constrained_wls_sums_exactly_to_delta_even_when_rank_deficient() -> None:
    x = torch.tensor([[1, 1, 0.0], [0, 0, 1.0], [1, 1, 1.0]], dtype=torch.float64)
    phi, _ = constrained_wls(x, torch.tensor([1.0, 2.0, 3.0]).double(), torch.ones(3).double(), 3.0)
    assert float(phi.sum()) == pytest.approx(3.0, abs=1e-12)
    assert float(phi[0]) == pytest.approx(float(phi[1]))  # symmetric in identical columns


def test_huge_blur_sigma_is_uniform_and_cheap() -> None:
    from vidxai.removal.remove.blur import gaussian_matrix

    moderate = gaussian_matrix(5, 19.0, truncate=40.0)  # folded taps, built the slow way
    torch.testing.assert_close(moderate, torch.full((5, 5), 0.2), atol=1e-6, rtol=0)
    torch.testing.assert_close(gaussian_matrix(5, 1e9), torch.full((5, 5), 0.2))
