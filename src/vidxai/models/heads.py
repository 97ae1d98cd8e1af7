"""Replace a model's classification head (for ``num_classes``)."""

from __future__ import annotations

from torch import nn

from vidxai.errors import ParameterError, UnsupportedModelError


def check_num_classes(num_classes: object) -> int | None:
    """``None`` or a positive int, else :class:`ParameterError`."""
    if num_classes is None:
        return None
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ParameterError(f"num_classes must be a positive int, got {num_classes!r}")
    return num_classes


def replace_head(module: nn.Module, path: str, num_classes: int) -> None:
    """Swap the ``nn.Linear`` or 1×1×1 ``nn.Conv3d`` at dotted ``path`` for a fresh one with
    ``num_classes`` outputs (randomly initialised)."""
    parent_path, _, attr = path.rpartition(".")
    parent = module.get_submodule(parent_path) if parent_path else module
    old = getattr(parent, attr)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv3d) and old.kernel_size == (1, 1, 1):
        new = nn.Conv3d(old.in_channels, num_classes, kernel_size=1, bias=old.bias is not None)
    else:
        raise UnsupportedModelError(
            f"Cannot replace the head {path!r} ({type(old).__name__}): not a Linear or 1×1×1 Conv3d"
        )
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    setattr(parent, attr, new)
