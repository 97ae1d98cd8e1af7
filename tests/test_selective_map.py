"""selective_map: the relevance survives only where the clip changes in time."""

from __future__ import annotations

import pytest
import torch

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.postprocess import SelectiveParams, selective_map, temporal_change


def moving_square_clip(t: int = 8, size: int = 32) -> torch.Tensor:
    """1×3×T×H×W: a static textured background and a 6×6 square moving right in the top-left."""
    gen = torch.Generator().manual_seed(0)
    background = torch.rand(3, 1, size, size, generator=gen).expand(3, t, size, size).clone()
    for k in range(t):
        background[:, k, 2:8, 2 + k : 8 + k] = 1.5
    return background.unsqueeze(0)


def test_only_the_moving_region_keeps_relevance():
    x = moving_square_clip()
    relevance = torch.rand(1, 8, 32, 32, generator=torch.Generator().manual_seed(1)) + 0.1
    out = selective_map(x, relevance, sigma=0.0, threshold=0.0)
    moving = torch.zeros(8, 32, 32, dtype=torch.bool)
    moving[:, 2:8, 2:16] = True  # the strip the square sweeps
    assert out[0][~moving].abs().sum() == 0
    kept = out[0] != 0
    assert kept.any()
    assert torch.equal(out[0][kept], relevance[0][kept])  # kept values are untouched
    # at σ = 1 with a 1-std level the kept set is still inside the (blurred) moving strip
    smooth = selective_map(x, relevance, sigma=1.0, threshold=1.0)
    grown = torch.zeros(8, 32, 32, dtype=torch.bool)
    grown[:, 0:11, 0:19] = True
    assert smooth[0][~grown].abs().sum() == 0 and smooth.abs().sum() > 0


@pytest.mark.parametrize("mode", ["threshold", "weight"])
@pytest.mark.parametrize("source", ["input", "relevance"])
def test_static_input_gives_zero(mode, source):
    x = torch.rand(2, 3, 1, 16, 16).expand(2, 3, 6, 16, 16)
    relevance = torch.rand(2, 6, 16, 16) if source == "input" else torch.ones(2, 6, 16, 16)
    out = selective_map(x, relevance, mode=mode, source=source)
    assert out.shape == (2, 6, 16, 16)
    assert out.abs().sum() == 0


def test_temporal_change_matches_plain_loops():
    gen = torch.Generator().manual_seed(3)
    v = torch.rand(2, 3, 5, 4, 4, generator=gen)
    ref = torch.zeros(2, 5, 4, 4)
    for n in range(2):
        for t in range(5):
            diffs = []
            if t > 0:
                diffs.append((v[n, :, t] - v[n, :, t - 1]).abs().sum(0))
            if t < 4:
                diffs.append((v[n, :, t + 1] - v[n, :, t]).abs().sum(0))
            ref[n, t] = sum(diffs) / len(diffs)
    torch.testing.assert_close(temporal_change(v), ref)
    assert temporal_change(v[:, :, :1]).abs().sum() == 0


def test_weight_mode_is_relevance_times_normalised_change():
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(1, 3, 4, 8, 8, generator=gen)
    r = torch.rand(1, 4, 8, 8, generator=gen)
    d = temporal_change(x)
    expected = r * d / d.max()
    torch.testing.assert_close(selective_map(x, r, mode="weight", sigma=0.0), expected)


def test_threshold_level_in_standard_deviations():
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(1, 3, 4, 8, 8, generator=gen)
    r = torch.ones(1, 4, 8, 8)
    d = temporal_change(x)
    keep = d > 1.5 * d.flatten().std(unbiased=False)
    out = selective_map(x, r, threshold=1.5, sigma=0.0)
    assert torch.equal(out != 0, keep)


def test_relevance_source_discards_relevance_constant_in_time():
    x = torch.zeros(1, 3, 6, 8, 8)  # the clip is irrelevant for source="relevance"
    r = torch.ones(1, 6, 8, 8)
    r[0, 3:, :4, :4] = 5.0  # the top-left relevance jumps at t = 3
    out = selective_map(x, r, source="relevance", sigma=0.0, threshold=0.0)
    assert out[0, :, 4:, :].abs().sum() == 0 and out[0, :, :, 4:].abs().sum() == 0
    assert torch.equal(out[0, 2:4, :4, :4], r[0, 2:4, :4, :4])


def test_batch_rows_are_independent():
    a, b = moving_square_clip(), torch.rand(1, 3, 8, 32, 32)
    ra, rb = torch.rand(1, 8, 32, 32), torch.rand(1, 8, 32, 32)
    both = selective_map(torch.cat([a, b]), torch.cat([ra, rb]))
    torch.testing.assert_close(both[:1], selective_map(a, ra))
    torch.testing.assert_close(both[1:], selective_map(b, rb))


def test_bad_input_raises_documented_errors():
    x = torch.rand(1, 3, 4, 8, 8)
    with pytest.raises(InvalidInputError):
        selective_map(x, torch.rand(4, 8, 8))
    with pytest.raises(InvalidInputError):
        selective_map(x, torch.rand(1, 4, 8, 9))
    with pytest.raises(InvalidInputError):
        selective_map(x[0], torch.rand(1, 4, 8, 8))
    with pytest.raises(ParameterError):
        selective_map(x, torch.rand(1, 4, 8, 8), mode="mask")  # type: ignore[arg-type]
    with pytest.raises(ParameterError):
        SelectiveParams(threshold=-1.0)
    with pytest.raises(ParameterError):
        SelectiveParams(sigma=-0.5)
    with pytest.raises(ParameterError):
        SelectiveParams(source="flow")  # type: ignore[arg-type]
