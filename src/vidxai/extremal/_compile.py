"""Optional :func:`torch.compile` acceleration of the extremal kernels, with a portable fallback.

Each kernel is written once as plain tensor code. With the ``compiled`` backend it is compiled on
first use (once per shape family; PyTorch caches the result on disk) and fused into a few loops;
if compilation is impossible (no C++ compiler, unsupported platform) vidxai warns once and runs
the same code eagerly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch

Backend = Literal["eager", "compiled"]

_compiled: dict[Callable[..., Any], Callable[..., Any]] = {}
_failures: list[str] = []


def compile_available() -> bool:
    """Whether the compiled backend can be tried (``torch.compile`` present, no failure yet)."""
    return hasattr(torch, "compile") and not _failures


def run(backend: Backend, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, compiled when ``backend == "compiled"`` (eager if compiling fails)."""
    if backend == "compiled" and compile_available():
        compiled = _compiled.get(fn)
        if compiled is None:
            compiled = _compiled[fn] = torch.compile(fn)
        try:
            return compiled(*args)
        except Exception as exc:  # any compiler failure → the portable path
            _failures.append(f"{type(exc).__name__}: {exc}")
            warnings.warn(
                "vidxai: torch.compile failed for the extremal kernels "
                f"({type(exc).__name__}); using the slower eager kernels.",
                RuntimeWarning,
                stacklevel=2,
            )
    return fn(*args)
