"""Regularisers of extremal perturbations: the area terms and STEP's spatio-temporal core term.

Area (3D-EP and STEP, over the whole padded volume; 2D-EP per frame). The reference sorts the
randomly permuted mask ``m`` and takes ``mean((sort(m) − r)²)`` with ``r`` = 0…0 1…1 (the last
``⌊a·V⌋`` ones). Pairing sorted values with ``r`` is the same as pairing each voxel with 1 if it is
among the ``⌊a·V⌋`` largest (ties broken at random) and 0 otherwise, so the loss is
``mean((m − top)²)`` with ``top`` found by one selection (a partial ``topk``) instead of a sort.
Ties are broken at random, as the reference's permutation does: the selection key is the mask
value with a tie-breaking integer in its low bits, so every key is distinct and exactly ``⌊a·V⌋``
voxels are selected. The reference draws a fresh permutation every iteration; vidxai draws one
permutation per explanation and rotates it by a random offset every iteration (``(π + r) mod V``),
which gives every tied voxel the same chance of selection at a fraction of the cost.

Core (STEP). The padded mask volume is convolved with a binary ellipsoid (or cylinder) kernel of
``K_t×s×s`` voxels at stride ``(1, s, s)`` and divided by the kernel sum; the ``top_k`` largest
responses should be 1 and the others 0::

    top_k = ⌈a·T·Hp·Wp / ⌊K_t·s·s·0.5236⌋⌉,  L_core = mean_top((c − 1)²) + mean_rest(c²)

(0.5236 = π/6, the ellipsoid-to-box volume ratio), with the same random tie-breaking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from vidxai.extremal._compile import Backend, run

CoreShape = Literal["ellipsoid", "cylinder"]
ELLIPSOID_RATIO = 0.5236


def _keys(values: Tensor, tie: Tensor, shift: Tensor, modulus: int) -> Tensor:
    """int64 keys: the float bits of ``values`` (≥ 0) above ``(tie + shift) mod modulus``
    (``0 ≤ tie, shift < modulus``, so the modulo is one conditional subtraction, several times
    cheaper than an integer division)."""
    bits = values.view(torch.int32).long() & 0x7FFFFFFF  # −0.0 ranks as 0.0
    return (bits << 32) | _tie_breaker(tie, shift, modulus)


def _tie_breaker(tie: Tensor, shift: Tensor, modulus: int) -> Tensor:
    """``(tie + shift) mod modulus`` for ``0 ≤ tie, shift < modulus`` (one conditional
    subtraction)."""
    rotated = tie + shift
    return torch.where(rotated >= modulus, rotated - modulus, rotated)


def _clip_counts(counts: Sequence[int], v: int) -> list[int]:
    return [min(max(int(c), 0), v) for c in counts]


def _kth_largest(keys: Tensor, c: int) -> Tensor:
    """Per row the ``c``-th largest entry (``1 ≤ c ≤ V``) of ``R×V`` keys: the smallest of the
    ``c`` largest, by a partial ``topk`` of the smaller side (about twice as fast on a CPU as
    ``kthvalue``, which copies and partitions the whole row)."""
    v = keys.shape[1]
    if 2 * c <= v:
        return torch.topk(keys, c, dim=1, sorted=False).values.amin(1)
    return torch.topk(keys, v - c + 1, dim=1, largest=False, sorted=False).values.amax(1)


def _thresholds(keys: Tensor, counts: Sequence[int]) -> Tensor:
    """Per row the smallest of the ``counts[r]`` largest keys (``keys >= thr`` selects them;
    integer keys or float values; a count of 0 gives a threshold above every key)."""
    r, v = keys.shape
    if len(counts) != r:
        raise ValueError(f"need one count per row: {r} rows, {len(counts)} counts")
    clipped = _clip_counts(counts, v)
    groups = sorted(set(clipped))
    if len(groups) == 1 and groups[0] > 0:
        return _kth_largest(keys, groups[0])
    above = torch.iinfo(torch.int64).max if not keys.is_floating_point() else float("inf")
    thr = torch.full((r,), above, dtype=keys.dtype, device=keys.device)
    for c in groups:
        if c == 0:
            continue
        idx = torch.tensor([i for i, ci in enumerate(clipped) if ci == c], device=keys.device)
        thr[idx] = _kth_largest(keys[idx], c)
    return thr


def top_mask(values: Tensor, counts: Sequence[int], tie: Tensor) -> Tensor:
    """Mark the ``counts[r]`` largest entries of each row, ties broken by ``tie``.

    Args:
        values: ``R×V`` non-negative float32 values.
        counts: how many entries to mark in each row (clipped to ``[0, V]``).
        tie: ``V`` or ``R×V`` non-negative integers below ``2³¹``, distinct within a row (e.g. a
            random permutation); among equal values the larger ``tie`` entry ranks higher.

    Returns:
        ``R×V`` bool mask with exactly ``counts[r]`` True entries in row ``r``.
    """
    zero = torch.zeros((), dtype=torch.int64, device=values.device)
    keys = _keys(values.detach().float().contiguous(), tie.long(), zero, 1 << 31)
    return keys >= _thresholds(keys, counts)[:, None]


def _select_top(
    rows: Tensor,
    tie: Tensor,
    shift: Tensor,
    counts: Sequence[int],
    modulus: int,
    backend: Backend,
    shape: tuple[int, ...],
) -> Tensor:
    """``R×V`` bool: the ``counts[r]`` largest entries of each row of ``rows`` (non-negative),
    ties broken by ``(tie + shift) mod modulus`` (broadcast against ``shape``, the rows'
    unflattened shape).

    On a CPU the values are selected first by one float selection (a ``topk`` on float32 is
    faster than on int64 keys, and the keys cost several passes to build); exactly as the keys
    would, unless the threshold value is shared by more entries than a row may still take —
    then (ties decide) :func:`_break_ties` picks, in those rows only, the tied entries with the
    largest tie-breakers (what the keys ``value bits · 2³² + tie-breaker`` select).
    """
    if rows.device.type == "cpu":
        thr = _thresholds(rows, counts)
        top = rows >= thr[:, None]
        wanted = _clip_counts(counts, rows.shape[1])
        taken = top.sum(1).tolist()
        bad = [r for r in range(len(wanted)) if taken[r] != wanted[r]]
        if bad:
            _break_ties(rows, top, thr, (bad, wanted, taken), tie, shift, modulus, shape)
        return top
    keys = run(backend, _keys, rows.reshape(shape), tie, shift, modulus).reshape(rows.shape)
    return keys >= _thresholds(keys, counts)[:, None]


def _break_ties(
    rows: Tensor,
    top: Tensor,
    thr: Tensor,
    need: tuple[list[int], list[int], list[int]],
    tie: Tensor,
    shift: Tensor,
    modulus: int,
    shape: tuple[int, ...],
) -> None:
    """In place: rows ``bad`` of ``top`` (``rows >= thr``, ``taken`` entries instead of
    ``wanted``) keep the entries above the threshold and, of those equal to it, the
    ``wanted − (taken − tied)`` with the largest ``(tie + shift) mod modulus``."""
    bad, wanted, taken = need
    lead = shape[:-1]
    ties = tie.expand(shape)
    shifts = shift.expand(*lead, 1)
    for r in bad:
        at = tuple(int(i) for i in np.unravel_index(r, lead))
        tied = (rows[r] == thr[r]).nonzero().squeeze(1)
        rotated = _tie_breaker(ties[at][tied].long(), shifts[at], modulus)
        keep = wanted[r] - (taken[r] - tied.numel())
        row = rows[r] > thr[r]
        row[tied[torch.topk(rotated, keep, sorted=False).indices]] = True
        top[r] = row


def _squared_distance(values: Tensor, top: Tensor) -> tuple[Tensor, Tensor]:
    diff = values - top.to(values.dtype)
    return diff, diff.square().mean(1)


class _TopDistance(torch.autograd.Function):
    """Per row ``mean((values − top)²)`` with ``top`` the marked largest entries; the gradient is
    ``2·(values − top)/V`` (the selection is piecewise constant). ``values`` is ``…×V`` (rows
    flattened in order), ``tie`` and ``shift`` broadcast against it."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        values: Tensor,
        tie: Tensor,
        shift: Tensor,
        counts: tuple[int, ...],
        modulus: int,
        backend: Backend,
    ) -> Tensor:
        v = values.shape[-1]
        rows = values.contiguous().reshape(-1, v)
        top = _select_top(rows, tie, shift, counts, modulus, backend, tuple(values.shape))
        diff, loss = run(backend, _squared_distance, rows, top)
        ctx.save_for_backward(diff)
        ctx.shape = values.shape
        return loss

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None, None, None]:  # type: ignore[override]
        (diff,) = ctx.saved_tensors
        g = diff * (grad * (2.0 / diff.shape[1]))[:, None]
        return g.reshape(ctx.shape), None, None, None, None, None


def area_counts(area: float, size: int) -> int:
    """Voxels kept for a target area: ``⌊a·size⌋`` (at least 1)."""
    return max(1, math.floor(area * size))


def area_loss(
    padded: Tensor,
    areas: Sequence[float],
    tie: Tensor,
    per_frame: bool,
    shift: Tensor | None = None,
    backend: Backend = "eager",
) -> Tensor:
    """Area term of each mask, for the masks of one clip or of a batch of clips.

    Args:
        padded: ``(N·A)×T×Hp×Wp`` padded masks in [0, 1]: the ``A`` masks of clip 0, then those
            of clip 1, …
        areas: target area of each of a clip's masks (``A`` values in (0, 1)).
        tie: ``T·Hp·Wp`` (one clip) or ``N×(T·Hp·Wp)`` (one row per clip) distinct integers in
            ``[0, T·Hp·Wp)`` for tie-breaking (e.g. a random permutation); ``shift`` (an integer
            tensor, ``()`` or ``N``, one per clip) rotates them: ``(tie + shift) mod V``.
        per_frame: 2D-EP: every frame keeps ``⌊a·Hp·Wp⌋`` pixels; otherwise the whole volume keeps
            ``⌊a·T·Hp·Wp⌋`` voxels (3D-EP, STEP).
        backend: ``"eager"`` or ``"compiled"`` (fused key and distance loops).

    Returns:
        ``N·A`` losses ``mean((m − top)²)``.
    """
    rows, t = padded.shape[:2]
    a = len(areas)
    if a == 0 or rows % a:
        raise ValueError(f"{rows} masks do not split into clips of {a} areas")
    n = rows // a
    volume = padded[0].numel()
    if tie.numel() != n * volume and tie.numel() != volume:
        raise ValueError(f"need {volume} tie-breakers per clip, got {tuple(tie.shape)}")
    if shift is None:
        shift = torch.zeros((), dtype=torch.int64, device=padded.device)
    frames = t if per_frame else 1
    values = padded.reshape(n, a, frames, -1)  # N×A×T'×V'
    ties = tie.reshape(-1, 1, frames, values.shape[3])
    shifts = shift.reshape(-1, 1, 1, 1)
    size = values.shape[3]
    counts = tuple(area_counts(x, size) for _ in range(n) for x in areas for _ in range(frames))
    losses = _TopDistance.apply(values, ties, shifts, counts, volume, backend)  # N·A·T'
    return losses.reshape(rows, frames).mean(1)


def core_kernel(num_keyframes: int, size: int, shape: CoreShape) -> Tensor:
    """Binary ``K_t×s×s`` kernel: voxels of the inscribed ellipsoid or cylinder (float32)."""
    axes = [np.linspace(-1.0, 1.0, n) for n in (num_keyframes, size, size)]
    zt, zy, zx = np.meshgrid(*axes, indexing="ij")
    if shape == "ellipsoid":
        inside = zt**2 + zy**2 + zx**2 <= 1.0
    elif shape == "cylinder":
        inside = zy**2 + zx**2 <= 1.0
    else:
        raise ValueError(f"core_shape must be 'ellipsoid' or 'cylinder', got {shape!r}")
    return torch.from_numpy(inside.astype(np.float32))


@dataclass(frozen=True)
class CoreSpec:
    """STEP's core term for one mask volume shape.

    Attributes:
        num_keyframes: temporal extent ``K_t`` of the kernel (frames).
        size: spatial extent ``s`` of the kernel and its stride (pixels).
        shape: ``ellipsoid`` or ``cylinder``.
    """

    num_keyframes: int
    size: int
    shape: CoreShape = "ellipsoid"

    def num_responses(self, padded_shape: tuple[int, int, int]) -> int:
        """Responses per mask for a ``T×Hp×Wp`` padded volume."""
        t, hp, wp = padded_shape
        s = self.size
        return (t - self.num_keyframes + 1) * ((hp - s) // s + 1) * ((wp - s) // s + 1)

    def top_k(self, area: float, padded_shape: tuple[int, int, int]) -> int:
        """``⌈a·T·Hp·Wp / ⌊K_t·s·s·0.5236⌋⌉`` responses pushed to 1 (the reference's budget)."""
        t, hp, wp = padded_shape
        ones = max(1, int(self.num_keyframes * self.size * self.size * ELLIPSOID_RATIO))
        return math.ceil(area * t * hp * wp / ones)


class CoreLoss:
    """STEP's core term for masks of one shape.

    Args:
        spec: kernel description.
        padded_shape: ``(T, Hp, Wp)`` of the padded mask volume.
        areas: target area of each mask.
        device: device of the kernel.
    """

    def __init__(
        self,
        spec: CoreSpec,
        padded_shape: tuple[int, int, int],
        areas: Sequence[float],
        device: torch.device | str = "cpu",
    ) -> None:
        self.spec = spec
        self.kernel = core_kernel(spec.num_keyframes, spec.size, spec.shape).to(device)
        self.kernel_sum = float(self.kernel.sum())
        self.num_responses = spec.num_responses(padded_shape)
        if self.num_responses < 1:
            raise ValueError(
                f"the core kernel ({spec.num_keyframes}×{spec.size}×{spec.size}) does not fit the "
                f"padded mask volume {padded_shape}"
            )
        self.top_k = [min(spec.top_k(a, padded_shape), self.num_responses) for a in areas]

    def responses(self, padded: Tensor) -> Tensor:
        """``A×T×Hp×Wp`` → ``A×R`` normalised kernel responses in [0, 1], ordered as the
        ``(T − K_t + 1)×⌊Hp/s⌋×⌊Wp/s⌋`` output of the strided 3D convolution.

        The spatial stride equals the kernel's size, so the ``s×s`` tiles do not overlap: one
        matrix product projects every tile of every frame onto the ``K_t`` kernel slices, and
        each response sums ``K_t`` projections of consecutive frames (several times faster on
        a CPU than the strided single-channel ``conv3d``, forward and backward).
        """
        s, kt = self.spec.size, self.spec.num_keyframes
        a, t, hp, wp = padded.shape
        ny, nx = (hp - s) // s + 1, (wp - s) // s + 1
        tiles = padded[:, :, : ny * s, : nx * s].reshape(a, t, ny, s, nx, s)
        tiles = tiles.permute(0, 1, 2, 4, 3, 5).reshape(a, t, ny, nx, s * s)
        proj = tiles @ self.kernel.reshape(kt, s * s).t()  # A×T×ny×nx×K_t
        nt = t - kt + 1
        c = proj[:, :nt, :, :, 0]
        for k in range(1, kt):
            c = c + proj[:, k : k + nt, :, :, k]
        return c.reshape(a, -1) / self.kernel_sum

    def __call__(self, padded: Tensor, tie: Tensor) -> Tensor:
        """Core loss of each mask: ``A×T×Hp×Wp`` and ``R`` tie-breaking integers → ``A``."""
        c = self.responses(padded)
        top = top_mask(c, self.top_k, tie).to(c.dtype)
        k = torch.tensor(self.top_k, dtype=c.dtype, device=c.device)
        rest = (self.num_responses - k).clamp(min=1)
        return ((c - 1).square() * top).sum(1) / k + (c.square() * (1 - top)).sum(1) / rest
