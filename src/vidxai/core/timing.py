"""Wall-clock accounting for the REVEX timing breakdown (segmentation / inference / explanation)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch

SECTIONS = ("segmentation", "inference")


class Stopwatch:
    """Accumulates seconds per named section; the outermost open section gets the time.

    Nested sections are not double counted: a forward pass (timed as ``inference``) inside a
    ``with sw.section("inference")`` block around a backward pass counts once.
    """

    def __init__(self, device: torch.device | None = None) -> None:
        self.totals: dict[str, float] = dict.fromkeys(SECTIONS, 0.0)
        self._depth = 0
        self._sync = device is not None and device.type == "cuda"
        self._start = time.perf_counter()

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        """Time the block as ``name`` unless an enclosing section is already timing it."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._depth = 1
        if self._sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self._sync:
                torch.cuda.synchronize()
            self.totals[name] = self.totals.get(name, 0.0) + time.perf_counter() - t0
            self._depth = 0

    def breakdown(self) -> dict[str, float]:
        """``{"segmentation", "inference", "explanation", "total"}`` in seconds since creation."""
        if self._sync:
            torch.cuda.synchronize()
        total = time.perf_counter() - self._start
        seg = self.totals.get("segmentation", 0.0)
        inf = self.totals.get("inference", 0.0)
        return {
            "segmentation": seg,
            "inference": inf,
            "explanation": max(total - seg - inf, 0.0),
            "total": total,
        }
