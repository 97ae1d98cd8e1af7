"""Exceptions raised for user mistakes.

Every error that a user can cause (a bad path, a bad parameter, a wrong shape) is raised as a
subclass of :class:`VidxaiError` with a message naming the problem, never as a trace from inside
torch or PyAV.
"""

from __future__ import annotations

import difflib
import os
import zipfile
from collections.abc import Iterable


class VidxaiError(Exception):
    """Base class of every error vidxai raises for a user's mistake."""


class VideoReadError(VidxaiError):
    """A video (file or frame folder) is missing, unreadable, corrupt, empty or unsupported."""


class InvalidInputError(VidxaiError, ValueError):
    """An input has the wrong shape, dtype or values."""


class UnknownNameError(VidxaiError, KeyError):
    """An unknown model, method, metric, layer or class name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ParameterError(VidxaiError, ValueError):
    """A method parameter is unknown or has a bad value."""


class TargetError(VidxaiError, ValueError):
    """A target is out of range, unknown, or does not fit the model's output."""


class WeightsUnavailableError(VidxaiError):
    """Model weights cannot be obtained (no network, missing file)."""


class BatchSizeError(VidxaiError, MemoryError):
    """A batch of clips does not fit in memory (the message names a smaller batch size)."""


class UnsupportedModelError(VidxaiError):
    """The requested method cannot work on this model."""


def unknown_name(kind: str, name: object, valid: Iterable[str]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists the closest valid names."""
    valid = sorted(str(v) for v in valid)
    close = difflib.get_close_matches(str(name), valid, n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    shown = ", ".join(valid[:40]) + (" …" if len(valid) > 40 else "")
    return UnknownNameError(f"Unknown {kind} {name!r}.{hint} Valid {kind}s: {shown}")


def torch_file_problem(path: str | os.PathLike[str], exc: BaseException) -> str:
    """One line saying why ``torch.load(path, weights_only=True)`` failed (no torch trace)."""
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError:
        is_zip = False
    if not is_zip:
        return "it is not a file written by torch.save (corrupt, truncated or another format)"
    text = str(exc)
    if "weights only load failed" in text.lower():
        return (
            "it holds pickled Python objects, not only tensors (for example a whole model saved "
            "with torch.save(model)); vidxai loads such files only with weights_only=True"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
