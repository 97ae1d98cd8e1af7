"""SWAG-V: superpixels per frame scored by the mean gradient attribution inside them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import vidxai


class _Region(nn.Module):
    """A regression reading the squared values of one box only (the planted evidence)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, :, :, 8:16, 8:16] ** 2).flatten(1).sum(1, keepdim=True)


def _clip() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    clip = 0.3 * torch.rand(3, 4, 32, 32, generator=g)
    clip[:, :, 8:16, 8:16] += 0.5  # a bright square where the evidence is
    return clip


@pytest.mark.parametrize("source", ["image", "image+gradient", "gradient"])
def test_each_superpixel_scores_the_mean_attribution_inside_it(source: str, smooth_model) -> None:
    clip = _clip()
    exp = vidxai.explain(
        smooth_model, clip, method="swag_v", source=source, n_segments=12, target=2, progress=False
    )
    xg = clip[None].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(smooth_model(xg)[0, 2], xg)  # the logit, by hand
    saliency = grad.abs().sum(1)[0]
    segments = exp.extras["segments"]
    assert segments.shape == (4, 32, 32)
    for label in segments.unique():
        inside = segments == label
        assert exp.attribution[inside].unique().numel() == 1
        assert float(exp.attribution[inside][0]) == pytest.approx(
            float(saliency[inside].mean()), rel=1e-5
        )
    # per-frame superpixels: no label spans two frames
    for t in range(1, 4):
        assert not set(segments[t].unique().tolist()) & set(segments[t - 1].unique().tolist())


def test_the_planted_evidence_gets_the_highest_scores() -> None:
    exp = vidxai.explain(_Region(), _clip(), method="swag_v", n_segments=16, progress=False)
    a = exp.attribution
    inside = torch.zeros_like(a, dtype=torch.bool)
    inside[:, 8:16, 8:16] = True
    assert a[inside].mean() > 5 * a[~inside].mean()
    assert bool(inside.flatten()[a.flatten().argmax()])


def test_grad_x_input_is_signed(smooth_model) -> None:
    exp = vidxai.explain(
        smooth_model, _clip(), method="swag_v", attribution="grad_x_input", progress=False
    )
    assert exp.attribution.shape == (4, 32, 32) and exp.behaviour == "logit"
    assert exp.n_forward == 2 and exp.n_backward == 1


def test_bad_parameters(smooth_model) -> None:
    with pytest.raises(vidxai.ParameterError, match="source"):
        vidxai.explain(smooth_model, _clip(), method="swag_v", source="edges", progress=False)
