"""Optional :func:`torch.compile` acceleration of the extremal kernels, with a portable fallback.

Each kernel is plain tensor code. With the ``compiled`` backend it is compiled on first use (once
per shape family; PyTorch caches the result on disk) and fused into a few loops. A kernel may
name an ``eager`` twin (the same values computed in cache-sized blocks, for kernels whose fused
form would store a large intermediate when run eagerly): the ``eager`` backend runs the twin, and
so does the ``compiled`` backend when compilation is impossible (no C++ compiler, unsupported
platform), after one warning. Only compiler errors trigger the fallback: any other exception
(out of memory, a bad shape) propagates.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from typing import Any, Literal

import torch

Backend = Literal["eager", "compiled"]

# Inductor imports torch.utils.cpp_extension, which logs "No CUDA runtime is found, using
# CUDA_HOME=..." on CPU-only machines; vidxai triggers that import only here, so the notice is
# silenced here (errors still show). Coordinated with the output developer (CLI rough edges).
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)

_compiled: dict[Callable[..., Any], Callable[..., Any]] = {}
_failures: list[str] = []


def compile_available() -> bool:
    """Whether the compiled backend can be tried (``torch.compile`` present, no failure yet)."""
    return hasattr(torch, "compile") and not _failures


def compiler_errors() -> tuple[type[BaseException], ...]:
    """Exception classes raised when torch.compile cannot build a kernel (Dynamo's and Inductor's
    errors, a failed C++ compilation) — never a plain runtime error of the kernel itself."""
    errors: list[type[BaseException]] = []
    try:
        from torch._dynamo.exc import TorchDynamoException

        errors.append(TorchDynamoException)
    except ImportError:  # pragma: no cover - torch without Dynamo
        pass
    try:
        from torch._inductor.exc import CppCompileError

        errors.append(CppCompileError)
    except ImportError:  # pragma: no cover - torch without Inductor
        pass
    return tuple(errors)


def run(
    backend: Backend, fn: Callable[..., Any], *args: Any, eager: Callable[..., Any] | None = None
) -> Any:
    """``fn(*args)`` compiled when ``backend == "compiled"``, else ``eager(*args)`` (default
    ``fn``); a compiler error warns once and falls back to ``eager``."""
    portable = fn if eager is None else eager
    if backend == "compiled" and compile_available():
        compiled = _compiled.get(fn)
        if compiled is None:
            compiled = _compiled[fn] = torch.compile(fn)
        try:
            return compiled(*args)
        except compiler_errors() as exc:  # the compiler failed → the portable path
            _failures.append(f"{type(exc).__name__}: {exc}")
            warnings.warn(
                "vidxai: torch.compile failed for the extremal kernels "
                f"({type(exc).__name__}); using the blocked eager kernels.",
                RuntimeWarning,
                stacklevel=2,
            )
    return portable(*args)
