"""The method selective_relevance: a base map filtered by selective_map, nothing else."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai
from vidxai.core.registry import get_method
from vidxai.errors import ParameterError
from vidxai.postprocess import selective_map


@pytest.fixture(scope="module")
def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv3d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool3d(1),
        nn.Flatten(),
        nn.Linear(6, 4),
    ).eval()


def moving_clip() -> torch.Tensor:
    """C×T×H×W: static random background, an 8×8 square sliding right in rows 4–12."""
    gen = torch.Generator().manual_seed(2)
    clip = torch.rand(3, 1, 32, 32, generator=gen).expand(3, 8, 32, 32).clone()
    for t in range(8):
        clip[:, t, 4:12, 4 + t : 12 + t] = 2.0
    return clip


def explain(net, clip, method, **kw):
    return vidxai.explain(net, clip, method=method, progress=False, seed=3, **kw)


@pytest.mark.parametrize(("base", "base_params"), [("saliency", None), ("gradcam", {"layer": "1"})])
def test_equals_the_base_map_filtered(net, base, base_params):
    clip = moving_clip()
    sel = explain(net, clip, "selective_relevance", base=base, base_params=base_params, sigma=0.5)
    ref_base = explain(net, clip, base, **(base_params or {}))
    torch.testing.assert_close(sel.extras["base_attribution"], ref_base.attribution)
    expected = selective_map(clip[None], ref_base.attribution[None], sigma=0.5)[0]
    torch.testing.assert_close(sel.attribution, expected)
    assert sel.n_forward == ref_base.n_forward and sel.n_backward == ref_base.n_backward
    assert sel.behaviour == "logit" == ref_base.behaviour


def test_only_the_moving_square_keeps_relevance(net):
    clip = moving_clip()
    sel = explain(net, clip, "selective_relevance", sigma=0.0, threshold=0.0)
    strip = torch.zeros(8, 32, 32, dtype=torch.bool)
    strip[:, 4:12, 4:20] = True  # where the square passes
    assert sel.attribution[~strip].abs().sum() == 0
    assert sel.attribution[strip].abs().sum() > 0
    assert 0 < sel.extras["kept_fraction"] < float(strip.float().mean()) + 1e-6


def test_static_clip_gives_a_zero_map(net):
    clip = torch.rand(3, 1, 32, 32).expand(3, 8, 32, 32).contiguous()
    for mode in ("threshold", "weight"):
        sel = explain(net, clip, "selective_relevance", base="grad_x_input", mode=mode)
        assert sel.attribution.abs().sum() == 0
        assert sel.extras["base_attribution"].abs().sum() > 0


def test_bad_bases_and_options_raise_parameter_error():
    spec = get_method("selective_relevance")
    for bad in (
        {"base": "no_such_method"},
        {"base": "occlusion3d"},  # a removal method
        {"base": "selective_relevance"},
        {"base": "gradcam", "base_params": {"nope": 1}},
        {"base_params": "layer=1"},
        {"base_params": "[1, 2]"},
        {"mode": "mask"},
        {"threshold": -1},
        {"source": "flow"},
    ):
        with pytest.raises(ParameterError):
            spec.parse_params(bad)
    assert spec.parse_params({"threshold": "0.5", "mode": "weight"}).threshold == 0.5
    from_cli = spec.parse_params({"base": "gradcam", "base_params": '{"layer": "1"}'})
    assert from_cli.base_params == {"layer": "1"}
    assert from_cli.base_parameters().layer == "1"
