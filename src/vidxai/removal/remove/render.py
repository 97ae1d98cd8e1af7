"""Rendering perturbed clips: ``x' = x·(1 − m) + fill·m`` for a batch of removal masks ``m``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.removal.remove.blur import gaussian_matrix
from vidxai.removal.remove.buffers import ScratchBuffers
from vidxai.removal.remove.masks import BoxMasks, MaskLayout


@dataclass
class Renderer:
    """``make_batch(start, stop)`` for the scorer: the perturbed clips of design rows [start, stop).

    Everything is one batched ``torch.lerp`` on the clip's device, exact at both ends: voxels
    with mask 0 are the clip bit for bit, voxels with mask 1 are the fill bit for bit.

    Attributes:
        x: ``1×C×T×H×W`` clip in model-input space.
        fill: values of removed voxels, ``1×C×T×H×W`` or broadcastable to it (``1×C×1×1×1``
            for a colour), or None with ``box_mean`` (each row's fill is then its cuboid's mean
            colour).
        masks: the mask layout producing ``b×T×H×W`` removal masks.
        soft_edges: standard deviation (voxels) of a per-frame 2D Gaussian blur of each mask
            (REVEX presets: 3.5); 0 = hard edges.
        reuse_buffers: write masks and clips into preallocated buffers (see
            :class:`~vidxai.removal.remove.buffers.ScratchBuffers`; reuse is never visible).
        buffers: the scratch buffers to use (shared by the renderers of a batch of clips, so
            memory stays one batch whatever the number of clips); None = the renderer's own.
    """

    x: Tensor
    fill: Tensor | None
    masks: MaskLayout
    soft_edges: float = 0.0
    box_mean: bool = False
    reuse_buffers: bool = True
    buffers: ScratchBuffers | None = None

    def __post_init__(self) -> None:
        if self.buffers is None:
            self.buffers = ScratchBuffers(self.x.dtype, self.x.device, self.reuse_buffers)
        _, h, w = self.masks.shape
        if self.soft_edges > 0:
            self._gh = gaussian_matrix(h, self.soft_edges, self.x.device)
            self._gw_t = gaussian_matrix(w, self.soft_edges, self.x.device).T.contiguous()

    def removal_masks(self, start: int, stop: int) -> Tensor:
        """``b×T×H×W`` removal masks of rows [start, stop), edges softened if asked."""
        b = stop - start
        m = self.masks.removed(start, stop, out=self._scratch("mask", (b, *self.masks.shape)))
        if self.soft_edges > 0:
            m = self._gh @ (m @ self._gw_t)
        return m

    def _scratch(self, key: str, shape: tuple[int, ...]) -> Tensor | None:
        assert self.buffers is not None
        return self.buffers.get(key, shape)

    def __call__(self, start: int, stop: int, out: Tensor | None = None) -> Tensor:
        """``(stop−start)×C×T×H×W`` perturbed clips (written into ``out`` when given: e.g. this
        clip's rows of a batch that mixes clips)."""
        m = self.removal_masks(start, stop).unsqueeze(1)  # b×1×T×H×W
        if self.box_mean:
            assert isinstance(self.masks, BoxMasks)
            fill = self.masks.box_means(self.x, start, stop)[:, :, None, None, None]  # b×C×1×1×1
        else:
            assert self.fill is not None
            fill = self.fill
        if out is None:
            out = self._scratch("clip", (m.shape[0], *self.x.shape[1:]))
        if out is None:
            return torch.lerp(self.x, fill, m)
        return torch.lerp(self.x, fill, m, out=out)
