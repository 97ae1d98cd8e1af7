"""Named registries of components (the removal stages' segmenters, samplers, summaries and
mask layouts; the fills shared by removal and the metrics), so a new component is one
``register`` call instead of another ``elif``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from vidxai.errors import unknown_name

F = TypeVar("F", bound=Callable[..., object])


class StageRegistry(Generic[F]):
    """Factories by name for one kind of stage component.

    Args:
        kind: what the entries are (used in error messages, e.g. ``"segmentation"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        """Decorator adding a factory under ``name`` (names are unique)."""

        def add(factory: F) -> F:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = factory
            return factory

        return add

    def unregister(self, name: str) -> F:
        """Remove the entry ``name`` (e.g. a test's temporary fill) and return its factory;
        :class:`~vidxai.errors.UnknownNameError` if there is none."""
        factory = self.get(name)
        del self._entries[name]
        return factory

    def get(self, name: str) -> F:
        """The factory registered as ``name``; :class:`~vidxai.errors.UnknownNameError` listing
        the valid names otherwise."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            raise unknown_name(self.kind, name, self._entries) from None

    def names(self) -> tuple[str, ...]:
        """Registered names in registration order."""
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
