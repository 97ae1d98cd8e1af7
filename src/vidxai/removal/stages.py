"""The registry class of the removal stages (it lives in :mod:`vidxai.ops.registry`, below
every family, because the fills registry is shared with the metrics)."""

from __future__ import annotations

from vidxai.ops.registry import StageRegistry

__all__ = ["StageRegistry"]
