"""The parts of 2D-EP / 3D-EP / STEP against plain reference implementations written here."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter1d

from vidxai.core.registry import get_method
from vidxai.errors import ParameterError
from vidxai.extremal.losses import CoreLoss, CoreSpec, area_loss, core_kernel, top_mask
from vidxai.extremal.mask import MaskGrid, SmoothMaskGenerator, _SmoothMask, smooth_kernel
from vidxai.extremal.perturbation import Perturbation, blur_frames, blur_matrix
from vidxai.extremal.reward import log_reward

# ------------------------------------------------------------------ smooth mask


def torchray_mask(params: torch.Tensor, size: int, step: int, sigma: float) -> torch.Tensor:
    """TorchRay's MaskGenerator formula (unfold, nearest upsampling, weights, smax), square."""
    margin = sigma
    padding = 1 + math.ceil((margin + sigma) / step)
    radius = 1 + math.ceil(sigma / step)
    k = 2 * radius + 1
    mid = math.ceil(size / step) + 2 * padding - k + 1
    up = step * mid
    out = up - step + 1
    uy, ux = torch.meshgrid(torch.arange(out).float(), torch.arange(out).float(), indexing="ij")
    weight = torch.zeros(k * k, out, out)
    for ky in range(k):
        for kx in range(k):
            iy = torch.floor(uy / step) + ky - padding
            ix = torch.floor(ux / step) + kx - padding
            d = torch.sqrt((uy - margin - step * iy) ** 2 + (ux - margin - step * ix) ** 2)
            weight[ky * k + kx] = smooth_kernel(d / sigma)
    u = F.unfold(params.unsqueeze(1), (k, k), padding=padding).reshape(-1, k * k, mid, mid)
    u = F.interpolate(u, size=(up, up), mode="nearest")[:, :, :out, :out]
    v = weight * u
    return (v * torch.softmax(20 * v, 1)).sum(1).clamp(0, 1)


def direct_mask(
    params: torch.Tensor, size: tuple[int, int], step: int, sigma: float, clamp: bool = True
):
    """Each padded pixel: smax over its K×K neighbour parameters (zero outside the grid);
    ``clamp=False`` leaves out the final clamp to [0, 1] (whose autograd is 0 where the smax
    is exactly 0, as every cell whose neighbours are all 0 is)."""
    h, w = params.shape[1:]
    r = round(sigma)
    hp, wp = size[0] + 2 * r, size[1] + 2 * r
    radius = 1 + math.ceil(sigma / step)
    padding = 1 + math.ceil(2 * sigma / step)
    uy = torch.arange(hp)[:, None].expand(hp, wp)
    ux = torch.arange(wp)[None, :].expand(hp, wp)
    vs = []
    for ky in range(2 * radius + 1):
        for kx in range(2 * radius + 1):
            iy = uy // step + ky - padding
            ix = ux // step + kx - padding
            ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            p = params[:, iy.clamp(0, h - 1), ix.clamp(0, w - 1)] * ok
            d = torch.sqrt(
                (uy - sigma - step * iy).double() ** 2 + (ux - sigma - step * ix).double() ** 2
            )
            vs.append(p.double() * smooth_kernel(d / sigma))
    v = torch.stack(vs, 1)
    m = (v * torch.softmax(20 * v, 1)).sum(1)
    return m.clamp(0, 1) if clamp else m


def test_grid_of_the_reference_setting():
    g = MaskGrid((112, 112), 7, 11.0)
    assert g.param_shape == (16, 16)
    assert g.padded_shape == (134, 134)
    assert (g.kernel_size, g.padding, g.cells) == (7, 5, (20, 20))


def test_mask_matches_torchray_at_112():
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(2, 16, 16, generator=gen)
    mask, padded = SmoothMaskGenerator(MaskGrid((112, 112), 7, 11.0)).generate(p)
    ref = torchray_mask(p, 112, 7, 11.0)
    assert padded.shape == (2, 134, 134) and mask.shape == (2, 112, 112)
    torch.testing.assert_close(padded, ref, atol=2e-6, rtol=0)
    torch.testing.assert_close(mask, ref[:, 11:123, 11:123], atol=2e-6, rtol=0)


@pytest.mark.parametrize(
    ("size", "step", "sigma"), [((32, 40), 2, 3.14), ((20, 20), 3, 5.0), ((9, 13), 1, 1.6)]
)
def test_mask_matches_direct_definition(size, step, sigma):
    grid = MaskGrid(size, step, sigma)
    gen = torch.Generator().manual_seed(1)
    p = torch.rand(3, *grid.param_shape, generator=gen)
    p[0] = 1.0  # ties everywhere
    p[1, 0] = 0.0
    _, padded = SmoothMaskGenerator(grid).generate(p)
    ref = direct_mask(p, size, step, sigma)
    torch.testing.assert_close(padded.double(), ref, atol=3e-6, rtol=0)


def test_mask_gradient_matches_autograd_of_reference():
    gen = torch.Generator().manual_seed(2)
    p = torch.rand(2, 16, 16, generator=gen, requires_grad=True)
    w = torch.randn(2, 134, 134, generator=gen)
    _, padded = SmoothMaskGenerator(MaskGrid((112, 112), 7, 11.0)).generate(p)
    (g_ours,) = torch.autograd.grad((padded * w).sum(), p)
    (g_ref,) = torch.autograd.grad((torchray_mask(p, 112, 7, 11.0) * w).sum(), p)
    torch.testing.assert_close(g_ours, g_ref, atol=1e-3, rtol=1e-4)


def test_mask_backward_passes_gradcheck():
    grid = MaskGrid((5, 6), 2, 1.5)
    k, (ch, cw) = grid.kernel_size, grid.cells
    geo = (ch, cw, grid.step, *grid.padded_shape)
    gen = torch.Generator().manual_seed(3)
    ppad = torch.rand(2, ch + k - 1, cw + k - 1, generator=gen, dtype=torch.float64)
    wt = grid.phase_weights().double()
    fn = lambda z: _SmoothMask.apply(z, wt, k, geo, "eager")  # noqa: E731
    assert torch.autograd.gradcheck(fn, (ppad.requires_grad_(),))


def test_blocked_eager_kernels_equal_one_block(monkeypatch):
    """Frames split into blocks give the values and gradients of one block holding them all,
    also with exact zeros."""
    from vidxai.extremal import mask as mask_module

    grid = MaskGrid((20, 24), 3, 4.0)
    p = torch.rand(5, *grid.param_shape, generator=torch.Generator().manual_seed(5))
    p[1, 2:] = 0.0  # a frame that is mostly zero: blocks with fewer rows, cells left out
    p[3] = 0.0
    w = torch.randn(5, *grid.padded_shape, generator=torch.Generator().manual_seed(6))
    out = []
    for elements in (1, 1 << 30):  # one frame per block; everything in one block
        monkeypatch.setattr(mask_module, "_BLOCK_ELEMENTS", elements)
        q = p.clone().requires_grad_(True)
        _, padded = SmoothMaskGenerator(grid).generate(q)
        out.append((padded, torch.autograd.grad((padded * w).sum(), q)[0]))
    torch.testing.assert_close(out[0], out[1])


def sparse_params(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """Parameters as the clamp leaves them late in a run: mostly exactly 0, one frame all 0,
    one all 1, isolated non-zero values and a blob."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.rand(shape, generator=gen, dtype=torch.float64)
    p[torch.rand(shape, generator=gen) < 0.8] = 0.0
    p[0] = 0.0
    p[1] = 1.0
    p[2, 1:3, 1:4] = 0.7
    return p


@pytest.mark.parametrize(
    ("size", "step", "sigma"), [((112, 112), 7, 11.0), ((20, 26), 3, 5.0), ((9, 13), 1, 1.6)]
)
def test_mask_with_exact_zeros_matches_direct_definition_and_its_gradient(size, step, sigma):
    """At exact zeros (as the clamp leaves many parameters) values and gradients equal the
    plain float64 definition's (autograd through ``direct_mask`` without its final clamp,
    which the kernel's backward treats as the identity: at p = 0 the derivative from the
    feasible side, ∂m/∂v = 1/N)."""
    grid = MaskGrid(size, step, sigma)
    p = sparse_params((4, *grid.param_shape), 7)
    w = torch.randn(4, *grid.padded_shape, generator=torch.Generator().manual_seed(8))
    q = p.float().requires_grad_(True)
    _, padded = SmoothMaskGenerator(grid).generate(q)
    (g_ours,) = torch.autograd.grad((padded * w).sum(), q)
    ref_p = p.clone().requires_grad_(True)
    ref = direct_mask(ref_p, size, step, sigma, clamp=False)
    (g_ref,) = torch.autograd.grad((ref * w.double()).sum(), ref_p)
    torch.testing.assert_close(padded.double(), ref, atol=3e-6, rtol=0)
    torch.testing.assert_close(g_ours.double(), g_ref, atol=2e-4, rtol=1e-4)
    assert torch.equal(padded[0], torch.zeros_like(padded[0]))  # an all-zero frame: m = 0


def test_a_frame_gets_bitwise_the_same_mask_and_gradient_in_any_batch():
    """Sparse and dense frames in one batch: a frame's values do not depend on the other frames
    (the methods' batch parity needs this bitwise: the optimisation amplifies rounding)."""
    grid = MaskGrid((112, 112), 7, 11.0)
    p = sparse_params((6, *grid.param_shape), 11).float()
    p[3] = torch.rand(grid.param_shape, generator=torch.Generator().manual_seed(12))
    w = torch.randn(6, *grid.padded_shape, generator=torch.Generator().manual_seed(13))
    gen = SmoothMaskGenerator(grid)

    def run(rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        q = p[rows].clone().requires_grad_(True)
        _, padded = gen.generate(q)
        return padded.detach(), torch.autograd.grad((padded * w[rows]).sum(), q)[0]

    everything = run(list(range(6)))
    for rows in ([3], [2, 3], [5, 4, 3, 2, 1, 0]):
        alone = run(rows)
        for i, r in enumerate(rows):
            assert torch.equal(alone[0][i], everything[0][r])
            assert torch.equal(alone[1][i], everything[1][r])


def test_unfold_equals_f_unfold():
    from vidxai.extremal.mask import _unfold

    x = torch.rand(3, 11, 9, generator=torch.Generator().manual_seed(14))
    for k in (1, 3, 7):
        assert torch.equal(_unfold(x, k), F.unfold(x.unsqueeze(1), (k, k)))
    assert torch.equal(_unfold(x.transpose(1, 2), 3), F.unfold(x.transpose(1, 2)[:, None], 3))


def test_mask_stays_in_unit_interval_and_rejects_bad_shapes():
    grid = MaskGrid((24, 24), 3, 4.0)
    gen = SmoothMaskGenerator(grid)
    m, padded = gen.generate(torch.rand(4, *grid.param_shape))
    assert float(padded.min()) >= 0 and float(padded.max()) <= 1
    assert m.shape == (4, 24, 24)
    with pytest.raises(ValueError, match="expected parameters"):
        gen.generate(torch.rand(4, 5, 5))


# ------------------------------------------------------------------ perturbation


def test_blur_matrix_is_a_normalised_truncated_gaussian():
    g = blur_matrix(60, 3.0)
    torch.testing.assert_close(g.sum(1), torch.ones(60))
    impulse = np.zeros(60)
    impulse[30] = 1.0
    expected = gaussian_filter1d(impulse, 3.0, mode="constant", truncate=4.0)
    torch.testing.assert_close(g[:, 30].double(), torch.from_numpy(expected), atol=1e-6, rtol=0)
    assert torch.equal(blur_matrix(7, 0.0), torch.eye(7))


def test_blur_frames_keeps_constants_and_matches_separable_filter():
    x = torch.full((2, 3, 20, 30), 0.7)
    torch.testing.assert_close(blur_frames(x, 5.0), x)
    gen = torch.Generator().manual_seed(4)
    y = torch.rand(20, 30, generator=gen, dtype=torch.float64)
    ours = blur_frames(y.float(), 1.5).double()
    ref = gaussian_filter1d(gaussian_filter1d(y.numpy(), 1.5, 0, truncate=4.0), 1.5, 1, truncate=4)
    inner = (slice(7, 13), slice(7, 23))  # farther than 4σ from every border
    torch.testing.assert_close(ours[inner], torch.from_numpy(ref)[inner], atol=1e-5, rtol=0)


def test_fade_is_x_times_mask():
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, 6, 5, generator=gen)
    m = torch.rand(2, 4, 6, 5, generator=gen)
    out = Perturbation(x, "fade").apply(m)
    torch.testing.assert_close(out, x[None] * m[:, None], atol=1e-6, rtol=1e-5)


def test_blur_levels_and_blending():
    gen = torch.Generator().manual_seed(6)
    x = torch.rand(3, 2, 16, 16, generator=gen)
    pert = Perturbation(x, "blur", max_blur=4.0)
    ones = torch.ones(1, 2, 16, 16)
    assert torch.equal(pert.apply(ones)[0], x)  # m = 1 keeps the clip exactly
    torch.testing.assert_close(pert.apply(0 * ones)[0], blur_frames(x, 4.0))
    lvl3 = blur_frames(x, (1 - 3 / 7) * 4.0)
    torch.testing.assert_close(pert.apply(ones * 3 / 7)[0], lvl3, atol=1e-5, rtol=0)
    lvl4 = blur_frames(x, (1 - 4 / 7) * 4.0)
    torch.testing.assert_close(pert.apply(ones * 3.5 / 7)[0], (lvl3 + lvl4) / 2, atol=1e-5, rtol=0)


def test_blend_equals_the_two_levels_around_each_mask_value():
    """Plain per-voxel reference: ``w = 7m``, ``k = ⌊w⌋``, ``y_k + (w − k)(y_{k+1} − y_k)``."""
    gen = torch.Generator().manual_seed(8)
    x = torch.rand(3, 2, 6, 5, generator=gen)
    m = torch.rand(2, 2, 6, 5, generator=gen)
    m[0, 0, 0, :4] = torch.tensor([0.0, 1.0, 3 / 7, 1 - 1e-7])
    ys = [blur_frames(x, (1 - i / 7) * 3.0) for i in range(8)]
    expected = torch.empty(2, 3, 2, 6, 5)
    for a, t, i, j in np.ndindex(2, 2, 6, 5):
        w = 7 * float(m[a, t, i, j])
        k = min(math.floor(w), 7)
        upper = ys[min(k + 1, 7)][:, t, i, j]
        expected[a, :, t, i, j] = ys[k][:, t, i, j] + (w - k) * (upper - ys[k][:, t, i, j])
    for backend in ("eager", "compiled_formula"):
        pert = Perturbation(x, "blur", 3.0)
        if backend == "eager":
            out = pert.apply(m)
        else:  # the gather formula the compiled backend fuses, run as plain tensor code
            from vidxai.extremal.perturbation import _blend_forward

            out = _blend_forward(m.reshape(1, 2, -1), pert.levels, pert.diffs).reshape(
                2, 3, 2, 6, 5
            )
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_blend_gradient_gradcheck_and_zero_at_one():
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(2, 2, 5, 5, generator=gen, dtype=torch.float64)
    pert = Perturbation(x, "blur", max_blur=2.0)
    m = (torch.rand(3, 2, 5, 5, generator=gen, dtype=torch.float64) * 0.9 + 0.05).requires_grad_()
    assert torch.autograd.gradcheck(pert.apply, (m,))
    one = torch.ones(1, 2, 5, 5, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(pert.apply(one).sum(), one)
    assert torch.equal(g, torch.zeros_like(g))  # as the reference: y_{k+1} = y_k at the top


def test_perturbation_rejects_unknown_type():
    with pytest.raises(ValueError, match="blur"):
        Perturbation(torch.zeros(3, 2, 4, 4), "noise")  # type: ignore[arg-type]


# ------------------------------------------------------------------ reward


def test_rewards_match_their_formulas():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    p = torch.softmax(logits, 1)[:, 0]
    r, prob = log_reward(logits, 0, "preserve", 4)
    torch.testing.assert_close(r, -torch.log(p))
    torch.testing.assert_close(prob, p)
    r, _ = log_reward(logits, 0, "delete", 4)
    torch.testing.assert_close(r, -torch.log(1 - p))
    r, prob = log_reward(logits, 0, "dual", 2)
    torch.testing.assert_close(r, -torch.log(p[:2]) - torch.log(1 - p[2:]))
    torch.testing.assert_close(prob, p[:2])
    big = torch.tensor([[60.0, 0.0]])  # 1 − p underflows in float32; the log form does not
    assert torch.isfinite(log_reward(big, 0, "delete", 1)[0]).all()


# ------------------------------------------------------------------ area and core terms


def sorted_top(values: torch.Tensor, n: int, perm: torch.Tensor) -> set[int]:
    order = sorted(range(len(values)), key=lambda i: (float(values[i]), int(perm[i])))
    return set(order[len(values) - n :])


def test_top_mask_selects_the_largest_with_permutation_tie_breaks():
    gen = torch.Generator().manual_seed(8)
    v = torch.tensor([0.5, 0.2, 0.5, 0.9, 0.5, 0.0, -0.0, 0.5])
    perm = torch.randperm(8, generator=gen)
    for n in range(9):
        top = top_mask(v[None], [n], perm)[0]
        assert int(top.sum()) == n
        assert set(torch.nonzero(top).flatten().tolist()) == sorted_top(v, n, perm)
    rows = torch.rand(3, 50, generator=gen).round(decimals=1)
    perm = torch.randperm(50, generator=gen)
    top = top_mask(rows, [5, 20, 5], perm)
    for i, n in enumerate([5, 20, 5]):
        assert set(torch.nonzero(top[i]).flatten().tolist()) == sorted_top(rows[i], n, perm)


def test_ties_are_broken_uniformly():
    counts = torch.zeros(6)
    gen = torch.Generator().manual_seed(9)
    for _ in range(600):
        counts += top_mask(torch.ones(1, 6), [2], torch.randperm(6, generator=gen))[0]
    assert counts.sum() == 1200
    assert counts.min() > 150 and counts.max() < 250  # 200 each in expectation


def reference_area_loss(m: torch.Tensor, a: float) -> torch.Tensor:
    """The reference: (permute,) sort, compare with 0…0 1…1 (the value ignores tie order)."""
    s = m.flatten().sort().values
    r = torch.zeros_like(s)
    r[len(s) - math.floor(a * len(s)) :] = 1
    return ((s - r) ** 2).mean()


def test_area_loss_equals_sorting_reference_volume_and_frames():
    gen = torch.Generator().manual_seed(10)
    m = torch.rand(2, 3, 6, 7, generator=gen).round(decimals=1)
    perm = torch.randperm(3 * 6 * 7, generator=gen)
    ours = area_loss(m, [0.1, 0.3], perm, per_frame=False)
    for i, a in enumerate([0.1, 0.3]):
        torch.testing.assert_close(ours[i], reference_area_loss(m[i], a))
    ours = area_loss(m, [0.1, 0.3], perm, per_frame=True)
    for i, a in enumerate([0.1, 0.3]):
        frames = [reference_area_loss(m[i, t], a) for t in range(3)]
        torch.testing.assert_close(ours[i], torch.stack(frames).mean())


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("per_frame", [False, True])
def test_area_term_selects_as_sorting_with_rotated_tie_breaks(ties, per_frame, monkeypatch):
    """The voxels the area term pushes to 1 (read from its gradient ``2(m − top)/V``) are the
    ``⌊a·V⌋`` largest by (value, (π + shift) mod V), found by sorting; without ties the float
    selection alone decides (the integer keys are never built), with ties the keys do."""
    from vidxai.extremal import losses

    gen = torch.Generator().manual_seed(12)
    m = torch.rand(2, 3, 6, 7, generator=gen, dtype=torch.float64).float()
    if ties:
        m = m.round(decimals=1)
    else:  # no ties: the integer keys must not be needed
        monkeypatch.setattr(losses, "_keys", lambda *a: pytest.fail("keys built without ties"))
    v = 3 * 6 * 7
    perm = torch.randperm(v, generator=gen)
    shift = torch.tensor(17)
    rotated = torch.remainder(perm + shift, v)
    areas = [0.1, 0.3]
    mm = m.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(area_loss(mm, areas, perm, per_frame, shift).sum(), mm)
    for i, a in enumerate(areas):
        parts = [(m[i, t].flatten(), rotated.reshape(3, -1)[t]) for t in range(3)]
        if not per_frame:
            parts = [(m[i].flatten(), rotated)]
        top = []
        for values, tie in parts:
            chosen = sorted_top(values, math.floor(a * len(values)), tie)
            top.append(torch.tensor([float(j in chosen) for j in range(len(values))]))
        top_t = torch.cat(top).reshape(m[i].shape)
        size = parts[0][0].numel()
        expected = 2 * (m[i] - top_t) / size / len(parts)
        torch.testing.assert_close(g[i], expected)


def test_tied_rows_select_what_the_integer_keys_select():
    """Rows whose threshold value is tied are resolved among the tied entries alone; the
    selection equals the integer keys' (value bits, rotated tie-breaker) for clips × areas ×
    frames with many ties, any counts (0 … V) and per-clip shifts."""
    from vidxai.extremal import losses

    gen = torch.Generator().manual_seed(25)
    for trial in range(12):
        n, a, frames, v = 2, 3, 4 if trial % 2 else 1, 40
        values = (torch.rand(n, a, frames, v, generator=gen) * 4).round() / 4
        tie = torch.stack([torch.randperm(frames * v, generator=gen) for _ in range(n)])
        tie = tie.reshape(n, 1, frames, v)
        shift = torch.randint(frames * v, (n, 1, 1, 1), generator=gen)
        counts = [int(c) for c in torch.randint(0, v + 1, (n * a * frames,), generator=gen)]
        rows = values.reshape(-1, v)
        got = losses._select_top(rows, tie, shift, counts, frames * v, "eager", values.shape)
        keys = losses._keys(values, tie, shift, frames * v).reshape(rows.shape)
        assert torch.equal(got, keys >= losses._thresholds(keys, counts)[:, None])
        assert got.sum(1).tolist() == counts


def test_area_loss_gradient_is_two_m_minus_top_over_v():
    m = torch.tensor([[[[0.1, 0.8], [0.4, 0.3]]]], requires_grad=True)  # 1×1×2×2
    loss = area_loss(m, [0.5], torch.arange(4), per_frame=False)
    (g,) = torch.autograd.grad(loss.sum(), m)
    top = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    torch.testing.assert_close(g, 2 * (m.detach() - top) / 4)


def test_core_kernels():
    e = core_kernel(8, 11, "ellipsoid")
    c = core_kernel(8, 11, "cylinder")
    assert e.shape == c.shape == (8, 11, 11)
    assert torch.equal(c[0], c[7]) and torch.equal(c[0], c[3])
    assert e[3:5, 5, 5].all() and not e[0, 0, 0] and not e[0, 5, 0]
    assert e.sum() < c.sum() and torch.equal(e, e.flip(0)) and torch.equal(e, e.flip(2))
    # grid points at linspace(−1, 1, n) per axis inside the unit ball (exact rationals)
    inside = sum(
        Fraction(2 * t - 7, 7) ** 2 + Fraction(2 * y - 10, 10) ** 2 + Fraction(2 * x - 10, 10) ** 2
        <= 1
        for t in range(8)
        for y in range(11)
        for x in range(11)
    )
    assert int(e.sum()) == inside


def test_core_top_k_of_the_reference_setting():
    assert CoreSpec(8, 11).top_k(0.1, (16, 134, 134)) == 57
    assert CoreSpec(8, 11).num_responses((16, 134, 134)) == 9 * 12 * 12


def test_core_loss_equals_sorting_reference():
    gen = torch.Generator().manual_seed(11)
    spec = CoreSpec(3, 4, "ellipsoid")
    padded = torch.rand(2, 5, 13, 9, generator=gen)
    loss = CoreLoss(spec, (5, 13, 9), [0.1, 0.4])
    perm = torch.randperm(loss.num_responses, generator=gen)
    ours = loss(padded, perm)
    kern = core_kernel(3, 4, "ellipsoid")
    for i, a in enumerate([0.1, 0.4]):
        resp = []
        for t in range(3):
            for y in range(3):
                for x in range(2):
                    patch = padded[i, t : t + 3, 4 * y : 4 * y + 4, 4 * x : 4 * x + 4]
                    resp.append((patch * kern).sum() / kern.sum())
        c = torch.stack(resp)[perm].sort(descending=True).values
        k = min(spec.top_k(a, (5, 13, 9)), len(c))
        ref = ((c[:k] - 1) ** 2).mean() + ((c[k:]) ** 2).mean()
        torch.testing.assert_close(ours[i], ref)


def test_core_responses_are_the_strided_convolution_and_differentiable():
    gen = torch.Generator().manual_seed(12)
    for spec, shape in ((CoreSpec(8, 11), (9, 134, 134)), (CoreSpec(3, 4, "cylinder"), (5, 13, 9))):
        loss = CoreLoss(spec, shape, [0.1])
        loss.kernel = loss.kernel.double()
        m = torch.rand(2, *shape, generator=gen, dtype=torch.float64)
        conv = F.conv3d(m.unsqueeze(1), loss.kernel[None, None], stride=(1, spec.size, spec.size))
        torch.testing.assert_close(loss.responses(m), conv.reshape(2, -1) / loss.kernel_sum)
    assert torch.autograd.gradcheck(loss.responses, (m.requires_grad_(),))


# ------------------------------------------------------------------ parameters


@pytest.mark.parametrize("method", ["ep2d", "ep3d", "step"])
def test_parameters_parse_and_validate(method):
    spec = get_method(method)
    params = spec.parse_params({"perturb_area": "0.05,0.1", "num_iter": "7"})
    assert params.perturb_area == (0.05, 0.1) and params.num_iter == 7
    assert spec.params(perturb_area=0.2).perturb_area == (0.2,)
    for bad in ({"perturb_area": 0.0}, {"perturb_area": (0.1, 1.0)}, {"perturb_area": -0.5}):
        with pytest.raises(ParameterError, match="between 0 and 1"):
            spec.parse_params(bad)
    with pytest.raises(ParameterError, match="num_iter"):
        spec.parse_params({"num_iter": 0})
    with pytest.raises(ParameterError, match="perturb_type"):
        spec.parse_params({"perturb_type": "noise"})
    with pytest.raises(ParameterError, match="learning_rate"):
        spec.parse_params({"learning_rate": 0})


def test_step_parameters_validate():
    spec = get_method("step")
    with pytest.raises(ParameterError, match="num_keyframes"):
        spec.parse_params({"num_keyframes": 0})
    with pytest.raises(ParameterError, match="core_shape"):
        spec.parse_params({"core_shape": "cube"})


# ------------------------------------------------------------------ compiled backend fallback


def _broken_compile(error: Exception):
    def compile_(fn):
        def call(*args):
            raise error

        return call

    return compile_


@pytest.fixture
def no_compiler(monkeypatch):
    from torch._inductor.exc import CppCompileError

    from vidxai.extremal import _compile

    monkeypatch.setattr(_compile, "_compiled", {})
    monkeypatch.setattr(_compile, "_failures", [])
    monkeypatch.setattr(torch, "compile", _broken_compile(CppCompileError(["c++"], "no compiler")))
    return _compile


def test_compile_failure_falls_back_to_eager_with_a_warning(no_compiler):
    with pytest.warns(RuntimeWarning, match="eager"):
        assert no_compiler.run("compiled", lambda a, b: a + b, 2, 3) == 5
    assert not no_compiler.compile_available()
    assert no_compiler.run("compiled", lambda a: a * 2, 4) == 8  # no second warning, eager
    # the eager twin of a kernel runs, not the kernel itself
    assert no_compiler.run("compiled", lambda a: a * 2, 4, eager=lambda a: a + 100) == 104


def test_compile_failure_uses_the_blocked_eager_mask_kernel(no_compiler, monkeypatch):
    from vidxai.extremal import mask as mask_module

    def fused_must_not_run(*args):
        raise AssertionError("the fused kernel ran eagerly (it stores B×P×L×N)")

    monkeypatch.setattr(mask_module, "_forward_fused", fused_must_not_run)
    monkeypatch.setattr(mask_module, "_backward_fused", fused_must_not_run)
    grid = MaskGrid((24, 20), 3, 4.0)
    p = torch.rand(3, *grid.param_shape, generator=torch.Generator().manual_seed(4))
    out = {}
    for backend in ("compiled", "eager"):
        q = p.clone().requires_grad_(True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _, padded = SmoothMaskGenerator(grid, backend=backend).generate(q)
            out[backend] = (padded, torch.autograd.grad(padded.square().sum(), q)[0])
        assert len(caught) == (backend == "compiled")  # one warning, at the first kernel
    assert no_compiler._failures  # the compiled backend was tried and failed
    torch.testing.assert_close(out["compiled"], out["eager"], atol=0, rtol=0)


def test_other_errors_in_a_compiled_kernel_are_not_swallowed(monkeypatch):
    from vidxai.extremal import _compile

    monkeypatch.setattr(_compile, "_compiled", {})
    monkeypatch.setattr(_compile, "_failures", [])
    monkeypatch.setattr(torch, "compile", _broken_compile(RuntimeError("out of memory")))
    with pytest.raises(RuntimeError, match="out of memory"):
        _compile.run("compiled", lambda a: a, 1, eager=lambda a: a)
    assert _compile.compile_available()  # not counted as a compiler failure


def test_explain_without_a_compiler_gives_the_eager_result(no_compiler):
    import vidxai

    class Net(torch.nn.Module):
        def forward(self, v: torch.Tensor) -> torch.Tensor:
            s = v[:, :, 1:3, 4:12, 4:12].mean((1, 2, 3, 4))
            return torch.stack([20 * (s - 0.3), torch.zeros_like(s)], 1)

    x = torch.rand(3, 4, 16, 16, generator=torch.Generator().manual_seed(9))
    kw = dict(method="ep3d", num_iter=4, perturb_area=0.1, progress=False, target=0)
    with pytest.warns(RuntimeWarning, match="blocked eager"):
        fallback = vidxai.explain(Net(), x, backend="compiled", **kw)
    eager = vidxai.explain(Net(), x, backend="eager", **kw)
    assert fallback.extras["backend"] == "eager"
    torch.testing.assert_close(fallback.extras["masks"], eager.extras["masks"], atol=0, rtol=0)
