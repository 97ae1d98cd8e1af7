"""The contract every registered method keeps, checked over the whole method registry.

For each method (gradient, CAM, removal, extremal … — whatever ``list_methods()`` returns):
* it returns a finite ``T×H×W`` float32 map and leaves the user's clip untouched;
* no hook is left on any module (nor a global module hook), and every module's ``training``
  flag and every parameter's ``requires_grad`` flag are as before — also when the call raises;
* the same seed gives the same result.

Methods run with tiny budgets: each method's registered ``quick_params``, then :data:`SMALL`
shrinks common budget parameters wherever a method has them, and :data:`OVERRIDES` adds
per-method settings. A new method is covered automatically.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn
from torch.nn.modules import module as torch_module

import vidxai.api as api
from vidxai.core.hooks import count_hooks
from vidxai.core.registry import list_methods
from vidxai.errors import UnsupportedModelError
from vidxai.models.zoo import load_model

# tiny random clips make SLIC merge segments; the removal methods say so in a warning
pytestmark = pytest.mark.filterwarnings("ignore:SLIC kept only")

SMALL = {
    "n_samples": 12,
    "num_samples": 12,
    "n_segments": 8,
    "n_steps": 2,
    "num_iter": 3,
    "n_iter": 3,
    "iterations": 3,
    "max_channels": 3,
    "max_tubes": 2,
    "depth": 1,
}
OVERRIDES: dict[str, dict] = {}


def _tiny_params(spec) -> dict:
    """The method's own quick settings, shrunk further where it has a common budget field."""
    names = {f.name for f in dataclasses.fields(spec.params)}
    params = dict(getattr(spec, "quick_params", {}) or {})
    params.update({k: v for k, v in SMALL.items() if k in names})
    params.update(OVERRIDES.get(spec.name, {}))
    return params


def _global_hooks() -> int:
    return sum(
        len(getattr(torch_module, name, {}))
        for name in (
            "_global_forward_hooks",
            "_global_forward_pre_hooks",
            "_global_backward_hooks",
            "_global_backward_pre_hooks",
        )
    )


def _state(model: nn.Module):
    return (
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        count_hooks(model),
    )


def _mixed_state(model: nn.Module) -> nn.Module:
    """Training mode with one submodule in eval, and one frozen parameter."""
    model.train()
    submodules = [m for m in model.modules() if m is not model and any(True for _ in m.modules())]
    submodules[len(submodules) // 2].eval()
    list(model.parameters())[-1].requires_grad_(False)
    return model


class _Failing:
    """Makes a module's forward raise from the ``fail_at``-th call on (no hook involved)."""

    def __init__(self, module: nn.Module, fail_at: int = 2) -> None:
        self.inner = module.forward
        self.calls = 0
        self.fail_at = fail_at

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls >= self.fail_at:
            raise RuntimeError("model failure injected by the contract test")
        return self.inner(*args, **kwargs)


def _tiny_transformer() -> nn.Module:
    """A tiny VideoMAE (2 layers, 32² input, 4 frames) with random weights."""
    torch.manual_seed(0)
    return load_model(
        "videomae",
        weights=None,
        num_frames=4,
        image_size=32,
        patch_size=8,
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        num_classes=3,
    )


def _case(spec, tiny_model, tiny_clip) -> tuple[nn.Module, torch.Tensor]:
    """The tiny 3D CNN and its clip, or a tiny transformer for methods made for attention."""
    try:
        api.explain(
            tiny_model, tiny_clip[0], method=spec.name, progress=False, **_tiny_params(spec)
        )
    except UnsupportedModelError:
        model = _tiny_transformer()
        return model, torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(1))
    return tiny_model, tiny_clip[0]


SPECS = list_methods()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_method_contract(spec, tiny_model, tiny_clip):
    model, clip0 = _case(spec, tiny_model, tiny_clip)
    model = _mixed_state(model)
    before = _state(model)
    global_before = _global_hooks()
    clip = clip0.clone()
    params = _tiny_params(spec)

    first = api.explain(model, clip, method=spec.name, seed=3, progress=False, **params)
    assert first.attribution.shape == clip.shape[1:]
    assert first.attribution.dtype == torch.float32
    assert torch.isfinite(first.attribution).all()
    assert torch.equal(clip, clip0)
    assert _state(model) == before
    assert _global_hooks() == global_before

    again = api.explain(model, clip, method=spec.name, seed=3, progress=False, **params)
    assert torch.equal(first.attribution, again.attribution)
    assert (first.n_forward, first.n_backward) == (again.n_forward, again.n_backward)


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_method_restores_the_model_when_it_raises(spec, tiny_model, tiny_clip):
    model, clip = _case(spec, tiny_model, tiny_clip)
    model = _mixed_state(model)
    inner = getattr(model, "module", model)  # a VideoClassifier's network, or the module itself
    failing = _Failing(inner)
    inner.forward = failing  # an instance attribute: no hook is involved
    before = _state(model)
    global_before = _global_hooks()
    try:
        with pytest.raises(Exception, match="failure injected"):
            api.explain(model, clip, method=spec.name, progress=False, **_tiny_params(spec))
    finally:
        del inner.forward
    assert failing.calls >= 2
    assert _state(model) == before
    assert _global_hooks() == global_before
