"""Reusable scratch buffers for rendering batches of perturbed clips.

On CPU, allocating a fresh batch every time page-faults ~10× longer than rendering it, so
masks and clips are written into buffers kept between batches. Before a rewrite a buffer's
storage is checked for other users (e.g. a model returning a view of its input); if there are
any, a fresh buffer is taken instead, so reuse is never visible to the caller.
"""

from __future__ import annotations

import torch
from torch import Tensor


def storage_users(t: Tensor) -> int:
    """Number of tensors sharing ``t``'s storage (−1 where PyTorch cannot tell: never reuse)."""
    try:
        return int(torch._C._storage_Use_Count(t.untyped_storage()._cdata))
    except (AttributeError, RuntimeError):  # pragma: no cover - older/other PyTorch builds
        return -1


class ScratchBuffers:
    """Buffers by key, grown on demand; shared by every renderer of one batch of clips.

    Args:
        dtype, device: of every buffer.
        enabled: False = :meth:`get` always returns None (the caller allocates).
    """

    def __init__(self, dtype: torch.dtype, device: torch.device, enabled: bool = True) -> None:
        self.dtype = dtype
        self.device = device
        self.enabled = enabled
        self._buffers: dict[str, tuple[Tensor, int]] = {}

    def get(self, key: str, shape: tuple[int, ...]) -> Tensor | None:
        """A buffer of ``shape`` (its first ``shape[0]`` rows): the previous one under ``key``
        if nothing else holds a reference into it and it is large enough, else a fresh one;
        None when reuse is off (or PyTorch cannot count storage users)."""
        if not self.enabled:
            return None
        entry = self._buffers.get(key)
        buf = None if entry is None else self._reusable(entry, shape)
        if buf is None:
            buf = torch.empty(shape, dtype=self.dtype, device=self.device)
            users = storage_users(buf)
            if users < 0:
                self.enabled = False
                return None
            self._buffers[key] = (buf, users)
        return buf[: shape[0]]

    @staticmethod
    def _reusable(entry: tuple[Tensor, int], shape: tuple[int, ...]) -> Tensor | None:
        """The kept buffer if it fits ``shape`` and nobody else holds its storage."""
        buf, users = entry
        fits = tuple(buf.shape[1:]) == tuple(shape[1:]) and buf.shape[0] >= shape[0]
        return buf if fits and storage_users(buf) == users else None
