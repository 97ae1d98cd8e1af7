"""Model-randomisation sanity check: Spearman, layer groups, edge detector fails, gradients pass."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr
from torch import Tensor, nn

import vidxai
from vidxai.errors import ParameterError, UnknownNameError, WeightsUnavailableError
from vidxai.metrics.sanity import parameter_groups, randomise_, rankdata, spearman


def edge_detector(model: nn.Module, x: Tensor, target: int | None) -> Tensor:
    """Spatial gradient magnitude of the input, max over channels; ignores the model."""
    clip = x[0]
    dy = torch.zeros_like(clip)
    dx = torch.zeros_like(clip)
    dy[..., 1:, :] = clip[..., 1:, :] - clip[..., :-1, :]
    dx[..., :, 1:] = clip[..., :, 1:] - clip[..., :, :-1]
    return (dy**2 + dx**2).sqrt().amax(0)


def test_spearman_matches_scipy_with_ties():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(0, 5, (200,), generator=g).float()
    b = a + torch.randn(200, generator=g)
    assert spearman(a, b) == pytest.approx(spearmanr(a.numpy(), b.numpy()).statistic, abs=1e-12)
    assert rankdata(torch.tensor([3.0, 1.0, 3.0, 2.0])).tolist() == [2.5, 0.0, 2.5, 1.0]
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(torch.ones(5), a[:5]) != spearman(torch.ones(5), a[:5])  # NaN


def test_parameter_groups_top_first(tiny_model):
    assert parameter_groups(tiny_model, "block") == ["fc", "features"]
    assert parameter_groups(tiny_model, "layer") == ["fc", "features.2", "features.0"]
    wrapped = nn.Sequential(tiny_model)  # a lone child is descended into
    assert parameter_groups(wrapped, "block") == ["0.fc", "0.features"]


def test_randomise_is_seeded_and_keeps_scale(tiny_model):
    a, b = (nn.Linear(30, 20) for _ in range(2))
    b.load_state_dict(a.state_dict())
    randomise_(a, torch.Generator().manual_seed(0))
    randomise_(b, torch.Generator().manual_seed(0))
    assert torch.equal(a.weight, b.weight)
    fresh = nn.Linear(30, 20)
    before = fresh.weight.detach().clone()
    randomise_(fresh, torch.Generator().manual_seed(1))
    assert not torch.equal(before, fresh.weight)
    assert float(fresh.weight.detach().std()) == pytest.approx(float(before.std()), rel=0.2)


def test_edge_detector_that_ignores_the_model_fails(tiny_model, tiny_clip):
    original = edge_detector(tiny_model, tiny_clip, None)
    state = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    res = vidxai.evaluate(
        tiny_model,
        tiny_clip[0],
        original,
        metrics=["sanity"],
        sanity_method=edge_detector,
        granularity="layer",
    )
    assert res.scores["sanity"] is False
    assert res.curves["sanity"]["correlations"] == pytest.approx([1.0, 1.0, 1.0])
    assert res.details["sanity"]["layers"] == ["fc", "features.2", "features.0"]
    for k, v in tiny_model.state_dict().items():  # the user's model is untouched
        assert torch.equal(v, state[k])


def test_saliency_on_random_model_decorrelates(tiny_model, tiny_clip):
    exp = vidxai.explain(tiny_model, tiny_clip[0], method="saliency", target=1, progress=False)
    res = vidxai.evaluate(tiny_model, tiny_clip[0], exp, metrics=["sanity"])
    rhos = res.curves["sanity"]["correlations"]
    assert len(rhos) == 2 and rhos[-1] < 0.5 and res.scores["sanity"] is True


def test_plain_gradients_on_the_trained_demo_model_pass():
    from vidxai.data.demo_model import frames_to_input
    from vidxai.data.synthetic import make_clip

    try:
        model = vidxai.load_model("vidxai-demo")
    except WeightsUnavailableError:
        pytest.skip("demo model weights are not built in this checkout")
    clip = make_clip(3)
    exp = vidxai.explain(model, clip.frames, method="saliency", target=clip.label, progress=False)
    res = vidxai.evaluate(model, clip.frames, exp, metrics=["sanity"], granularity="layer")
    rhos = res.curves["sanity"]["correlations"]
    assert res.scores["sanity"] is True, rhos
    assert len(rhos) == len(parameter_groups(model.module, "layer"))
    original = edge_detector(model, frames_to_input(clip.frames), clip.label)
    edge = vidxai.evaluate(
        model, clip.frames, original, metrics=["sanity"], sanity_method=edge_detector
    )
    assert edge.scores["sanity"] is False


def test_sanity_bad_input(tiny_model, tiny_clip):
    a = torch.rand(8, 32, 32)
    with pytest.raises(ParameterError, match="sanity_method"):
        vidxai.evaluate(tiny_model, tiny_clip[0], a, metrics=["sanity"])
    with pytest.raises(UnknownNameError):
        vidxai.evaluate(
            tiny_model,
            tiny_clip[0],
            a,
            metrics=["sanity"],
            sanity_method=edge_detector,
            layers=("nope",),
        )
    with pytest.raises(ParameterError):
        vidxai.evaluate(
            tiny_model,
            tiny_clip[0],
            a,
            metrics=["sanity"],
            sanity_method=edge_detector,
            max_correlation=2.0,
        )
