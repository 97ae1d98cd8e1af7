"""Batches of clips: ``explain`` on N clips equals N one-by-one calls, for every method.

Every registered method runs on a list of three clips (and on an ``N×C×T×H×W`` tensor) with
per-clip targets; each Explanation must equal explaining that clip alone with the same seed.
Batched methods (``register_method(..., batched=True)``) must also put the whole batch
through one forward (and backward) pass.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

import vidxai
from vidxai.core.registry import get_method, list_methods

pytestmark = pytest.mark.filterwarnings("ignore:SLIC kept only")


def _params(spec) -> dict:
    from tests.test_contracts import _tiny_params  # the contract suite's tiny budgets

    return _tiny_params(spec)


def _clips() -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    return torch.rand(3, 3, 8, 32, 32, generator=g)


def _names() -> list[str]:
    return [spec.name for spec in list_methods()]


@pytest.mark.parametrize("name", _names())
def test_a_batch_equals_one_clip_at_a_time(name: str, tiny_model: nn.Module, tiny_clip) -> None:
    from tests.test_contracts import _case  # the tiny CNN, or a tiny transformer

    spec = get_method(name)
    params = _params(spec)
    model, clip = _case(spec, tiny_model, tiny_clip)
    g = torch.Generator().manual_seed(5)
    clips = torch.rand(3, *clip.shape, generator=g)
    targets = [0, 2, 1]
    alone = [
        vidxai.explain(model, clip, method=name, target=t, seed=3, progress=False, **params)
        for clip, t in zip(clips, targets)
    ]
    batch = vidxai.explain(
        model, list(clips), method=name, target=targets, seed=3, progress=False, **params
    )
    assert isinstance(batch, list) and len(batch) == 3
    for one, many in zip(alone, batch):
        assert many.target == one.target and many.behaviour == one.behaviour
        assert many.score == pytest.approx(one.score, rel=1e-5, abs=1e-6)
        torch.testing.assert_close(many.attribution, one.attribution, rtol=2e-4, atol=2e-5)


def test_a_tensor_batch_returns_a_list_and_one_target_serves_every_clip(tiny_model) -> None:
    clips = _clips()
    out = vidxai.explain(tiny_model, clips, method="saliency", target=1, progress=False)
    assert [e.target for e in out] == [1, 1, 1]
    alone = vidxai.explain(tiny_model, clips[2], method="saliency", target=1, progress=False)
    torch.testing.assert_close(out[2].attribution, alone.attribution, rtol=1e-4, atol=1e-6)


def test_per_clip_targets_must_match_the_batch(tiny_model) -> None:
    with pytest.raises(vidxai.InvalidInputError, match="target has 2 entries for 3 clip"):
        vidxai.explain(tiny_model, list(_clips()), target=[0, 1], progress=False)


def test_an_empty_batch_is_refused(tiny_model) -> None:
    with pytest.raises(vidxai.InvalidInputError, match="empty"):
        vidxai.explain(tiny_model, [], progress=False)


def test_clips_of_different_shapes_are_refused_in_one_batch(tiny_model) -> None:
    clips = [torch.rand(3, 8, 32, 32), torch.rand(3, 8, 16, 16)]
    with pytest.raises(vidxai.InvalidInputError, match="one shape"):
        vidxai.explain(tiny_model, clips, progress=False)


class _CallCounter(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.batches: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(int(x.shape[0]))
        return self.inner(x)


@pytest.mark.parametrize("name", [s.name for s in list_methods() if s.batched])
def test_batched_methods_pass_the_whole_batch_at_once(name: str, tiny_model) -> None:
    spec = get_method(name)
    model = _CallCounter(tiny_model)
    params = _params(spec)
    if "layer" in {f.name for f in dataclasses.fields(spec.params)} and spec.family == "cam":
        params.setdefault("layer", "inner.features.2")
    out = vidxai.explain(model, list(_clips()), method=name, progress=False, **params)
    assert len(out) == 3
    # the first pass and the method's own passes see batches of clips, never one clip alone
    assert model.batches[0] == 3 and max(model.batches) >= 3
    assert out[0].extras["batch"]["clips"] == 3
