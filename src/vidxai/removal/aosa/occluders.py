"""AOSA's occluders: squares that follow the motion of the video, as boxes per frame.

Each occluder starts as a ``size×size`` square centred on a seed point of frame 0 (seeds on a
grid at ``stride/2 + k·stride``). From frame to frame its seed moves by the forward Farnebäck
flow at the rounded seed position (the flow the flow segmentation uses), and the square moves
with it; a seed that leaves the frame is dropped from then on (its occluder covers nothing in
later frames). The ``"simple"`` occluders are fixed cuboids instead (AOSA's baseline).

Occluders are kept as centres per frame (``N×T×2``), never as full masks: a batch of keep-masks
is rendered on demand by :func:`render_keep`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vidxai.removal.segment.base import to_numpy_video
from vidxai.removal.segment.flow import farneback_flow, gray_uint8


@dataclass(frozen=True)
class Occluders:
    """Occluders of one clip.

    Attributes:
        centres: ``N×T×2`` float32 ``(y, x)`` centre of occluder ``i`` in frame ``t``.
        visible: ``N×T`` bool, False once the seed has left the frame (or outside a cuboid's
            frames for the simple occluders).
        size: side of the square, pixels.
        groups: ``N×S`` long: keep-mask ``i`` removes the union of occluders ``groups[i]``
            (``S = 1`` without stacking).
        trajectories: ``N×(T−1)×2`` frame-to-frame displacements (for stacking by similarity).
    """

    centres: Tensor
    visible: Tensor
    size: int
    groups: Tensor
    trajectories: Tensor

    @property
    def n(self) -> int:
        """Number of keep-masks (forward passes of the exact method)."""
        return int(self.groups.shape[0])


def seed_grid(h: int, w: int, stride: int) -> np.ndarray:
    """Seed points ``(y, x)`` at ``stride/2 + k·stride`` inside an ``h×w`` frame → ``N×2``."""
    ys = np.arange(stride / 2, h, stride, dtype=np.float32)
    xs = np.arange(stride / 2, w, stride, dtype=np.float32)
    grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1)
    return grid.reshape(-1, 2)


def flow_occluders(pixels: Tensor, size: int, stride: int) -> Occluders:
    """Motion-following squares for ``pixels`` (``C×T×H×W`` in [0, 1])."""
    video = to_numpy_video(pixels)
    t, h, w = video.shape[:3]
    seeds = seed_grid(h, w, stride)
    centres = np.empty((len(seeds), t, 2), dtype=np.float32)
    visible = np.ones((len(seeds), t), dtype=bool)
    centres[:, 0] = seeds
    gray = gray_uint8(video[0])
    for i in range(1, t):
        nxt = gray_uint8(video[i])
        flow = farneback_flow(gray, nxt)  # frame i−1 → frame i
        prev = centres[:, i - 1]
        yi = np.clip(np.rint(prev[:, 0]).astype(int), 0, h - 1)
        xi = np.clip(np.rint(prev[:, 1]).astype(int), 0, w - 1)
        step = flow[yi, xi][:, ::-1]  # (dy, dx)
        centres[:, i] = prev + step
        inside = (
            (centres[:, i, 0] >= 0)
            & (centres[:, i, 0] <= h - 1)
            & (centres[:, i, 1] >= 0)
            & (centres[:, i, 1] <= w - 1)
        )
        visible[:, i] = visible[:, i - 1] & inside
        gray = nxt
    device = pixels.device
    c = torch.from_numpy(centres).to(device)
    groups = torch.arange(len(seeds), device=device).unsqueeze(1)
    return Occluders(c, torch.from_numpy(visible).to(device), size, groups, (c[:, 1:] - c[:, :-1]))


def cuboid_occluders(
    shape: tuple[int, int, int], size: int, stride: int, t_size: int, t_stride: int
) -> Occluders:
    """AOSA's "simple" occluders: fixed ``t_size×size×size`` cuboids at ``(t_stride, stride,
    stride)`` steps, as squares that stay put during their frames."""
    t, h, w = shape
    seeds = seed_grid(h, w, stride)
    starts = list(range(0, max(t - t_size, 0) + 1, t_stride))
    n = len(seeds) * len(starts)
    centres = np.repeat(np.repeat(seeds[None], len(starts), 0).reshape(n, 1, 2), t, axis=1)
    visible = np.zeros((n, t), dtype=bool)
    for k, s in enumerate(starts):
        visible[k * len(seeds) : (k + 1) * len(seeds), s : s + t_size] = True
    c = torch.from_numpy(np.ascontiguousarray(centres))
    return Occluders(
        c,
        torch.from_numpy(visible),
        size,
        torch.arange(n).unsqueeze(1),
        torch.zeros(n, max(t - 1, 0), 2),
    )


def stack_by_motion(occluders: Occluders, n_stack: int) -> Occluders:
    """Each keep-mask removes its occluder and the ``n_stack − 1`` most similar ones.

    Similarity is AOSA's ``flow_vec_corr``: the cosine similarity of the occluders'
    frame-to-frame displacement trajectories (ties broken by index).
    """
    if n_stack <= 1:
        return occluders
    traj = occluders.trajectories.flatten(1)
    norm = traj.norm(dim=1, keepdim=True).clamp(min=1e-8)
    sim = (traj / norm) @ (traj / norm).T
    sim.fill_diagonal_(float("inf"))  # each mask keeps its own occluder first
    k = min(n_stack, sim.shape[0])
    groups = sim.topk(k, dim=1).indices
    return Occluders(
        occluders.centres, occluders.visible, occluders.size, groups, occluders.trajectories
    )


def render_keep(occluders: Occluders, rows: Tensor, shape: tuple[int, int, int]) -> Tensor:
    """Keep-masks of the masks ``rows``: ``len(rows)×T×H×W`` float32, 0 inside the occluders.

    The square covers pixels ``p − size//2 … p − size//2 + size − 1`` along each axis, ``p``
    the pixel the centre lies in (``floor``), clipped at the frame border.
    """
    _, h, w = shape
    device = occluders.centres.device
    members = occluders.groups[rows.to(device)]  # B×S
    c = occluders.centres[members]  # B×S×T×2
    vis = occluders.visible[members]  # B×S×T
    lo = c.floor().long() - occluders.size // 2  # B×S×T×2, first covered row / column
    ys = torch.arange(h, device=device)
    xs = torch.arange(w, device=device)
    dy = ys.view(1, 1, 1, h) - lo[..., 0:1]
    dx = xs.view(1, 1, 1, w) - lo[..., 1:2]
    vis = vis.to(torch.float32)
    in_y = ((dy >= 0) & (dy < occluders.size)).to(torch.float32) * vis[..., None]  # B×S×T×H
    in_x = ((dx >= 0) & (dx < occluders.size)).to(torch.float32)  # B×S×T×W
    # covered[b, t, h, w] = OR_s (in_y[b, s, t, h] AND in_x[b, s, t, w]): one batched matmul
    covered = torch.einsum("bsth,bstw->bthw", in_y, in_x)
    return (covered == 0).to(torch.float32)
