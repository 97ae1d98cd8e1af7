"""Activation layouts: every supported shape round-trips to the same N×C×T'×H'×W' volume."""

from __future__ import annotations

import pytest
import torch

from vidxai.cam.layout import ActivationLayout, coerce_layout, cover, infer_layout, to_volume
from vidxai.errors import InvalidInputError, ParameterError

N, C, T, H, W = 2, 5, 4, 3, 2  # a volume N×C×T'×H'×W'


@pytest.fixture
def volume() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.randn(N, C, T, H, W, generator=g)


def _tokens_thw(v: torch.Tensor, prefix: int) -> torch.Tensor:
    """N×C×T×H×W → N×(prefix + T·H·W)×C, time-major, written out index by index."""
    n, c, t, h, w = v.shape
    out = torch.zeros(n, prefix + t * h * w, c)
    out[:, :prefix] = 7.0
    for ti in range(t):
        for hi in range(h):
            for wi in range(w):
                out[:, prefix + (ti * h + hi) * w + wi] = v[:, :, ti, hi, wi]
    return out


def _tokens_hwt(v: torch.Tensor) -> torch.Tensor:
    """N×C×T×H×W → N×(1 + H·W·T)×C with time varying fastest (Hugging Face TimeSformer)."""
    n, c, t, h, w = v.shape
    out = torch.zeros(n, 1 + t * h * w, c)
    for hi in range(h):
        for wi in range(w):
            for ti in range(t):
                out[:, 1 + (hi * w + wi) * t + ti] = v[:, :, ti, hi, wi]
    return out


def test_ncthw_is_identity(volume):
    layout = infer_layout(tuple(volume.shape), (N, 3, 8, 96, 64))
    assert layout.kind == "ncthw"
    assert torch.equal(to_volume(volume, layout, N), volume)


def test_channels_last_detected_and_permuted(volume):
    act = volume.permute(0, 2, 3, 4, 1).contiguous()  # N×T×H×W×C
    layout = infer_layout(tuple(act.shape), (N, 3, 8, 96, 64))
    assert layout.kind == "nthwc"
    assert torch.equal(to_volume(act, layout, N), volume)


def test_frames_are_batch_major(volume):
    act = volume.permute(0, 2, 1, 3, 4).reshape(N * T, C, H, W)  # (N·T)×C×H×W
    layout = infer_layout(tuple(act.shape), (N, 3, 4, 96, 64))
    assert layout.kind == "frames"
    assert torch.equal(to_volume(act, layout, N), volume)


@pytest.mark.parametrize("prefix", [0, 1])
def test_tokens_grid_inferred(volume, prefix):
    # input 8×48×32 with patch 16 and tubelet 2 → grid 4×3×2
    act = _tokens_thw(volume, prefix)
    layout = infer_layout(tuple(act.shape), (N, 3, 8, 48, 32))
    assert (layout.kind, layout.grid, layout.prefix) == ("tokens", (T, H, W), prefix)
    assert torch.equal(to_volume(act, layout, N), volume)


def test_tokens_prefer_smallest_tubelet():
    # 8 frames 32×32, VideoMAE-like (tubelet 2, patch 16): 16 tokens = 4×2×2
    # (T' = 8 would leave 2 tokens per frame, which fit no square grid)
    layout = infer_layout((1, 16, 6), (1, 3, 8, 32, 32))
    assert layout.grid == (4, 2, 2) and layout.prefix == 0


def test_timesformer_order_from_declared_layout(volume):
    act = _tokens_hwt(volume)
    hint = coerce_layout({"kind": "tokens", "cls": True, "t": T, "h": H, "w": W, "order": "hwt"})
    layout = infer_layout(tuple(act.shape), (N, 3, T, 48, 32), hint)
    assert (layout.grid, layout.prefix, layout.order) == ((T, H, W), 1, "hwt")
    assert torch.equal(to_volume(act, layout, N), volume)


def test_declared_grid_for_another_size_falls_back_to_inference(volume):
    act = _tokens_thw(volume, 1)
    hint = coerce_layout({"kind": "tokens", "cls": True, "t": 8, "h": 14, "w": 14})
    layout = infer_layout(tuple(act.shape), (N, 3, 8, 48, 32), hint)
    assert layout.grid == (T, H, W)
    assert torch.equal(to_volume(act, layout, N), volume)


def test_frame_tokens(volume):
    # (N·T)×(1 + H·W)×C: a ViT run frame by frame
    per_frame = volume.permute(0, 2, 3, 4, 1).reshape(N * T, H * W, C)
    act = torch.cat([torch.full((N * T, 1, C), 3.0), per_frame], dim=1)
    layout = infer_layout(tuple(act.shape), (N, 3, T, 48, 32))
    assert (layout.kind, layout.grid, layout.prefix) == ("frame_tokens", (T, H, W), 1)
    assert torch.equal(to_volume(act, layout, N), volume)


@pytest.mark.parametrize(
    ("declared", "kind"),
    [
        ({"kind": "conv3d"}, "ncthw"),
        ({"kind": "channels_last", "t": 2, "h": 2, "w": 2}, "nthwc"),
        ({"kind": "frames", "t": 8}, "frames"),
        ("timesformer", "tokens"),
    ],
)
def test_coerce_model_zoo_layouts(declared, kind):
    assert coerce_layout(declared).kind == kind


def test_bad_layouts():
    with pytest.raises(InvalidInputError, match="feature map"):
        infer_layout((1, 10), (1, 3, 8, 32, 32))
    with pytest.raises(InvalidInputError, match="grid"):
        infer_layout((1, 78, 4), (1, 3, 8, 32, 32))  # 78 tokens fit no 8×32×32 grid
    with pytest.raises(InvalidInputError, match="split"):
        infer_layout((5, 4, 2, 2), (2, 3, 8, 32, 32))
    with pytest.raises(InvalidInputError, match="dimensions"):
        infer_layout((1, 4, 2, 2), (1, 3, 8, 32, 32), ActivationLayout("ncthw"))
    with pytest.raises(ParameterError):
        ActivationLayout("nchw")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="kind"):
        coerce_layout({"t": 2})


@pytest.mark.parametrize("cell", [(1, 1, 1), (2, 4, 4), (1, 3, 2)])
def test_cover_fills_each_cell_with_its_tokens_value(cell):
    """Every voxel holds the value of the token whose cell contains it; voxels beyond the last
    whole cell (a remainder the patch embedding drops) are 0. Checked voxel by voxel."""
    values = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)
    ct, ch, cw = cell
    size = (3 * ct + 1, 2 * ch + 1, 4 * cw)
    out = cover(values, cell, size)
    assert out.shape == (2, *size)
    for n in range(2):
        for t in range(size[0]):
            for y in range(size[1]):
                for x in range(size[2]):
                    i, j, k = t // ct, y // ch, x // cw
                    inside = i < 3 and j < 2 and k < 4
                    expected = float(values[n, i, j, k]) if inside else 0.0
                    assert float(out[n, t, y, x]) == expected
