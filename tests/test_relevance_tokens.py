"""Lifted attention operators against dense matrices built entry by entry."""

from __future__ import annotations

import pytest
import torch

from vidxai.relevance.tokens import (
    JointOp,
    SpatialOp,
    TemporalOp,
    discard_lowest,
    fuse_heads,
)


def _index(p: int, t: int, num_patches: int, frames: int, order: str, prefix: int = 1) -> int:
    return prefix + (p * frames + t if order == "hwt" else t * num_patches + p)


def dense_temporal(a, order, prefix=1):
    """The block-diagonal lifted temporal operator, written out entry by entry."""
    b, num_patches, frames, _ = a.shape
    n = prefix + num_patches * frames
    m = torch.zeros(b, n, n, dtype=a.dtype)
    for p in range(num_patches):
        for t in range(frames):
            for s in range(frames):
                i = _index(p, t, num_patches, frames, order, prefix)
                j = _index(p, s, num_patches, frames, order, prefix)
                m[:, i, j] = a[:, p, t, s]
    return m


def dense_spatial(a, order):
    """The lifted spatial operator: per-frame blocks, class-token row averaged over frames."""
    b, frames, q1, _ = a.shape
    num_patches = q1 - 1
    n = 1 + num_patches * frames
    m = torch.zeros(b, n, n, dtype=a.dtype)
    for t in range(frames):
        m[:, 0, 0] += a[:, t, 0, 0] / frames
        for q in range(num_patches):
            m[:, 0, _index(q, t, num_patches, frames, order)] += a[:, t, 0, 1 + q] / frames
        for p in range(num_patches):
            i = _index(p, t, num_patches, frames, order)
            m[:, i, 0] = a[:, t, 1 + p, 0]
            for q in range(num_patches):
                m[:, i, _index(q, t, num_patches, frames, order)] = a[:, t, 1 + p, 1 + q]
    return m


@pytest.mark.parametrize("order", ["hwt", "thw"])
def test_lifted_operators_match_dense_matrices(order):
    g = torch.Generator().manual_seed(0)
    b, num_patches, frames = 2, 3, 4
    n = 1 + num_patches * frames
    ta = torch.rand(b, num_patches, frames, frames, generator=g, dtype=torch.float64)
    sa = torch.rand(b, frames, 1 + num_patches, 1 + num_patches, generator=g, dtype=torch.float64)
    r = torch.randn(b, n, 5, generator=g, dtype=torch.float64)
    row = torch.randn(b, 2, n, generator=g, dtype=torch.float64)
    for op, dense in (
        (TemporalOp(ta, order=order), dense_temporal(ta, order)),
        (SpatialOp(sa, order=order), dense_spatial(sa, order)),
        (JointOp(sa[:, 0]), sa[:, 0]),
    ):
        if isinstance(op, JointOp):
            r_, row_ = r[:, : 1 + num_patches], row[:, :, : 1 + num_patches]
        else:
            r_, row_ = r, row
        torch.testing.assert_close(op.apply(r_), dense @ r_)
        torch.testing.assert_close(op.left(row_), row_ @ dense)
        torch.testing.assert_close(op.row_sums(), dense.sum(-1))


@pytest.mark.parametrize("order", ["hwt", "thw"])
@pytest.mark.parametrize("k", [1, 3])
def test_rollout_step_with_probability_rows_matches_the_measured_normaliser(order, k):
    """``rollout_left(v, None)`` (rows summing to one: ``d`` known) equals the dense step
    ``(v ⊘ d)·M + v ⊘ d`` with ``d = M·1 + 1`` counted from the dense matrix."""
    g = torch.Generator().manual_seed(1)
    b, num_patches, frames = 2, 3, 4
    n = 1 + num_patches * frames
    ta = torch.rand(b, num_patches, frames, frames, generator=g, dtype=torch.float64)
    sa = torch.rand(b, frames, 1 + num_patches, 1 + num_patches, generator=g, dtype=torch.float64)
    ta, sa = ta / ta.sum(-1, keepdim=True), sa / sa.sum(-1, keepdim=True)
    v = torch.rand(b, k, n, generator=g, dtype=torch.float64)
    for op, dense in (
        (TemporalOp(ta, order=order), dense_temporal(ta, order)),
        (SpatialOp(sa, order=order), dense_spatial(sa, order)),
        (JointOp(sa[:, 0]), sa[:, 0]),
    ):
        v_ = v[:, :, : dense.shape[-1]]
        d = (dense.sum(-1) + 1.0).unsqueeze(1)
        expected = (v_ / d) @ dense + v_ / d
        torch.testing.assert_close(op.rollout_left(v_, None), expected)
        torch.testing.assert_close(op.rollout_left(v_, op.row_sums() + 1.0), expected)


def test_fuse_heads():
    a = torch.tensor([[[1.0, 4.0]], [[3.0, 2.0]]]).unsqueeze(0)  # 1×2 heads×1×2
    assert fuse_heads(a, "mean").tolist() == [[[2.0, 3.0]]]
    assert fuse_heads(a, "max").tolist() == [[[3.0, 4.0]]]
    assert fuse_heads(a, "min").tolist() == [[[1.0, 2.0]]]


def test_discard_lowest_keeps_the_class_token_column():
    a = torch.tensor([[0.1, 0.5, 0.2], [0.05, 0.3, 0.9], [0.01, 0.02, 0.6]])
    out = discard_lowest(a, 0.5, keep_first_column=True)  # 4 of 9 entries dropped, not column 0
    assert out[:, 0].tolist() == a[:, 0].tolist()
    assert int((out[:, 1:] == 0).sum()) == 4
    # off the class-token column, the four lowest are 0.02, 0.2, 0.3 and 0.5
    assert sorted(out[:, 1:][out[:, 1:] > 0].tolist()) == pytest.approx([0.6, 0.9])
    plain = discard_lowest(a, 4 / 9 + 1e-6, keep_first_column=False)
    assert sorted(a[plain == 0].tolist()) == pytest.approx([0.01, 0.02, 0.05, 0.1])
    assert torch.equal(discard_lowest(a, 0.0, True), a)
