"""Command-line argument helpers that import nothing heavy (``vidxai --help`` loads them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vidxai.errors import InvalidInputError, ParameterError

__all__ = ["make_out_dir", "parse_key_values"]


def parse_key_values(items: Sequence[str], option: str = "--param") -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; values stay strings (typed later)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"{option} expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def make_out_dir(path: Path, option: str = "--out") -> Path:
    """Create the output folder now (before any long work) or say clearly why it cannot be."""
    if path.exists() and not path.is_dir():
        raise InvalidInputError(f"{option} {path} exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot create the output folder {path} ({option}): {exc.strerror or exc}"
        ) from exc
    return path
