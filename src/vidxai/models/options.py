"""Shared handling of ``load_model`` keyword options (input size overrides, unknown keys)."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from vidxai.errors import ParameterError
from vidxai.models.spec import InputSpec


def reject_unknown(model: str, options: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise :class:`ParameterError` naming options ``model`` does not take (with close names)."""
    valid = sorted(valid)
    unknown = [k for k in options if k not in valid]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        hints.append(f"{key!r}" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    raise ParameterError(
        f"Model {model!r} does not take option(s) {', '.join(hints)}. "
        f"Valid options: {', '.join(valid) or 'none'}"
    )


def _scaled(value: int, factor: float, minimum: int) -> int:
    return max(round(value * factor), minimum)


def spec_with(spec: InputSpec, num_frames: int | None = None, size: Any = None) -> InputSpec:
    """``spec`` with another frame count and/or input size; the resize step scales along.

    Args:
        spec: the default spec.
        num_frames: new ``T`` or ``None``.
        size: new ``H`` (square) or ``(H, W)``, or ``None``.
    """
    changes: dict[str, Any] = {}
    if num_frames is not None:
        changes["num_frames"] = num_frames
    if size is not None:
        new = InputSpec(size=size, resize=None).size  # validates and normalises to (H, W)
        factor = max(new[0] / spec.size[0], new[1] / spec.size[1])
        changes["size"] = new
        if isinstance(spec.resize, tuple):
            changes["resize"] = (
                _scaled(spec.resize[0], factor, new[0]),
                _scaled(spec.resize[1], factor, new[1]),
            )
        elif spec.resize is not None:
            changes["resize"] = _scaled(spec.resize, factor, max(new))
    return dataclasses.replace(spec, **changes)
