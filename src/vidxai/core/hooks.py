"""Context managers that touch a model and always put it back as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn

from vidxai.errors import unknown_name


@contextmanager
def eval_mode(module: nn.Module) -> Iterator[nn.Module]:
    """Put every submodule in eval mode; restore each one's ``training`` flag in ``finally``."""
    flags = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        yield module
    finally:
        for m, flag in flags:
            m.training = flag


@contextmanager
def preserved_requires_grad(module: nn.Module) -> Iterator[nn.Module]:
    """Restore every parameter's ``requires_grad`` flag in ``finally``."""
    flags = [(p, p.requires_grad) for p in module.parameters()]
    try:
        yield module
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


@contextmanager
def preserved_device(module: nn.Module, device: torch.device) -> Iterator[nn.Module]:
    """Move ``module`` to ``device`` for the block and back to where it was afterwards."""
    try:
        original = next(module.parameters()).device
    except StopIteration:
        original = device
    moved = original != device
    try:
        if moved:
            module.to(device)
        yield module
    finally:
        if moved:
            module.to(original)


def find_layer(module: nn.Module, name: str) -> nn.Module:
    """Return the submodule at dotted path ``name`` (UnknownNameError listing close names)."""
    modules = dict(module.named_modules())
    if name not in modules or name == "":
        raise unknown_name("layer", name, [n for n in modules if n])
    return modules[name]


@contextmanager
def capture_activations(layer: nn.Module, retain_grad: bool = True) -> Iterator[dict[str, Any]]:
    """Record ``layer``'s output during forward passes inside the block.

    Yields a dict whose ``"activations"`` entry holds the latest output (a tensor, or the first
    tensor of a tuple output). The hook is removed in ``finally``.
    """
    store: dict[str, Any] = {}

    def hook(_m: nn.Module, _inp: Any, out: Any) -> None:
        tensor = out[0] if isinstance(out, (tuple, list)) else out
        if isinstance(tensor, Tensor):
            store["activations"] = tensor

    handle = layer.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def count_hooks(module: nn.Module) -> int:
    """Number of forward/backward/pre hooks registered on ``module`` and its submodules."""
    total = 0
    for m in module.modules():
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
            "_forward_hooks_with_kwargs",
        ):
            hooks = getattr(m, attr, None)
            if hooks and attr != "_forward_hooks_with_kwargs":
                total += len(hooks)
    return total
