"""Kinetics-400 class names, in the label order of torchvision's and the usual checkpoints."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def _names() -> tuple[str, ...]:
    text = resources.files("vidxai.models").joinpath("kinetics400.txt").read_text("utf-8")
    return tuple(line for line in text.splitlines() if line)


def kinetics400_names() -> list[str]:
    """The 400 Kinetics-400 class names, index ``i`` → name of class ``i``."""
    return list(_names())
