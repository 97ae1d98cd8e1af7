"""``selective=`` on gradient, CAM and relevance methods keeps the map where the clip moves."""

from __future__ import annotations

import pytest
import torch

import vidxai


def _clip() -> torch.Tensor:
    """A static random background with one square moving right: ``3×6×32×32``."""
    g = torch.Generator().manual_seed(0)
    clip = torch.rand(3, 1, 32, 32, generator=g).expand(3, 6, 32, 32).clone()
    for t in range(6):
        clip[:, t, 10:18, 2 + 3 * t : 10 + 3 * t] = 1.0
    return clip


@pytest.mark.parametrize("method", ["saliency", "gradcam"])
def test_selective_keeps_only_moving_voxels(method: str, tiny_model) -> None:
    clip = _clip()
    plain = vidxai.explain(tiny_model, clip, method=method, progress=False)
    sel = vidxai.explain(tiny_model, clip, method=method, selective={"sigma": 0.0}, progress=False)
    step = (clip[:, 1:] - clip[:, :-1]).abs().sum(0)  # change from frame t to t + 1
    static = (step[:-1] == 0) & (step[1:] == 0)  # frames 1…T−2: no change either side
    assert float(sel.attribution[1:-1][static].abs().max()) == 0.0
    assert float(plain.attribution[1:-1][static].abs().max()) > 0.0
    assert sel.params["selective"]["mode"] == "threshold"
    smooth = vidxai.explain(tiny_model, clip, method=method, selective=True, progress=False)
    assert float(smooth.attribution[1:, 24:].abs().max()) == 0.0  # far from the motion


def test_selective_options_and_errors(tiny_model) -> None:
    clip = _clip()
    weighted = vidxai.explain(
        tiny_model, clip, selective={"mode": "weight", "sigma": 0.0}, progress=False
    )
    assert weighted.params["selective"]["mode"] == "weight"
    off = vidxai.explain(tiny_model, clip, selective="false", progress=False)
    assert "selective" not in off.params
    with pytest.raises(vidxai.ParameterError, match="selective"):
        vidxai.explain(tiny_model, clip, method="rise3d", selective=True, progress=False)
    with pytest.raises(vidxai.ParameterError, match="selective"):
        vidxai.explain(tiny_model, clip, selective={"mode": "blur"}, progress=False)
