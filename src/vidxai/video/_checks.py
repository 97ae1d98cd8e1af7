"""Small argument checks shared by the video module (raise :class:`InvalidInputError`)."""

from __future__ import annotations

import math
import numbers

from vidxai.errors import InvalidInputError


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise :class:`InvalidInputError`.

    Accepts Python and NumPy integers (not booleans, not floats such as ``2.0``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}.")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InvalidInputError(f"{name} must be >= {minimum}, got {value}.")
    return value


def check_positive_number(value: object, name: str) -> float:
    """Return ``value`` as a finite ``float`` > 0 or raise :class:`InvalidInputError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a positive number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}.")
    return value


def check_nonnegative_number(value: object, name: str) -> float:
    """Return ``value`` as a finite ``float`` >= 0 or raise :class:`InvalidInputError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInputError(f"{name} must be a number >= 0, got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"{name} must be a finite number >= 0, got {value!r}.")
    return value
