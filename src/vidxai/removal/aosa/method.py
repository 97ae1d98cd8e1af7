"""AOSA: adaptive occlusion sensitivity analysis (Uchiyama et al.), exact and first-order.

Keep-masks ``M_i`` (1 outside occluder ``i``, 0 inside) come from squares that follow the
motion (:mod:`vidxai.removal.aosa.occluders`), optionally stacked with their most similar
neighbours. A removed voxel takes the value ``r`` (0 in model-input space, or with
``conditional=True`` the per-frame local mean over a ``size×size`` window), so clip ``i`` is
``x_i = x ⊙ M_i + r ⊙ (1 − M_i)``. With ``d_i = f(x_i) − f(x)`` the map is

    A = (1/N) · Σ_i d_i · M_i / mean(M_i)        (mean over channels is trivial: M_i has none)

Exact: one forward pass per mask, batched through the engine. Approximate (``approximate=True``):
one forward + backward at ``x`` gives ``f̂_i = f(x) + Σ_v ∇f(x)_v · (r_v − x_v) · (1 − M_i)_v``;
with ``adjust="simple"`` the outliers of ``f̂_i − f(x)`` (Tukey fences, 1.5·IQR) are
re-linearised at the most extreme mask on their side (one more forward + backward per side).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError
from vidxai.ops import minmax
from vidxai.removal.aosa.occluders import (
    Occluders,
    cuboid_occluders,
    flow_occluders,
    render_keep,
    stack_by_motion,
)
from vidxai.removal.segment import pixel_video

REFERENCE_SIZE = 112  # AOSA's settings are for 112×112 inputs; they scale with the input


@dataclass(frozen=True)
class AosaParams:
    """Parameters of :func:`aosa`.

    Attributes:
        size: side of the square occluder in pixels (None: 16 at 112 px, scaled to the input).
        stride: spacing of the seed grid in pixels (None: 8 at 112 px, scaled).
        occluders: ``flow`` (squares following the Farnebäck flow from frame 0) or ``simple``
            (fixed cuboids of ``temporal_size`` frames every ``temporal_stride`` frames).
        temporal_size: frames of a ``simple`` cuboid (clipped to the clip's length).
        temporal_stride: frames between ``simple`` cuboids.
        n_stack: each mask removes its occluder and the ``n_stack − 1`` occluders with the most
            similar motion (AOSA: 3; 1 = "AOSA-single").
        approximate: first-order Taylor estimate instead of one forward pass per mask.
        conditional: removed voxels take the per-frame local mean (else 0 in input space).
        adjust: ``simple`` re-linearises the Taylor outliers (Tukey fences), ``none`` does not.
        rescale: min-max rescale the map to [0, 1], as the authors' code does. The raw map
            ``(1/N)·Σ_i d_i·M_i / mean(M_i)`` is ≤ 0 wherever occlusion only lowers the target
            (the least negative voxels are the evidence), so unrescaled it shows nothing on a
            positive display; the raw map is kept in ``extras["raw_map"]``.
    """

    size: int | None = None
    stride: int | None = None
    occluders: Literal["flow", "simple"] = "flow"
    temporal_size: int = 16
    temporal_stride: int = 2
    n_stack: int = 3
    approximate: bool = False
    conditional: bool = False
    adjust: Literal["simple", "none"] = "simple"
    rescale: bool = True

    def __post_init__(self) -> None:
        for name in ("size", "stride"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ParameterError(f"{name} must be a positive integer or None, got {value!r}")
        for name in ("temporal_size", "temporal_stride", "n_stack"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ParameterError(f"{name} must be a positive integer, got {value!r}")
        if self.occluders not in ("flow", "simple"):
            raise ParameterError(f"occluders must be 'flow' or 'simple', got {self.occluders!r}")
        if self.adjust not in ("simple", "none"):
            raise ParameterError(f"adjust must be 'simple' or 'none', got {self.adjust!r}")


def _scaled(value: int | None, reference: int, h: int, w: int) -> int:
    if value is not None:
        return value
    return max(1, round(reference * min(h, w) / REFERENCE_SIZE))


def _fill(x: Tensor, conditional: bool, size: int) -> Tensor:
    """The removal value ``r``: zeros, or the per-frame ``size×size`` box mean (``1×C×T×H×W``)."""
    if not conditional:
        return torch.zeros_like(x)
    h, w = int(x.shape[3]), int(x.shape[4])
    frames = x[0].permute(1, 0, 2, 3)  # T×C×H×W
    k = min(size, h, w) | 1  # odd window, centred
    mean = F.avg_pool2d(frames, k, stride=1, padding=k // 2, count_include_pad=False)
    return mean.permute(1, 0, 2, 3).unsqueeze(0)


def _occluders(ctx: ExplainContext, params: AosaParams, size: int, stride: int) -> Occluders:
    shape: tuple[int, int, int] = tuple(ctx.x.shape[2:])  # type: ignore[assignment]
    if params.occluders == "simple":
        occ = cuboid_occluders(
            shape, size, stride, min(params.temporal_size, shape[0]), params.temporal_stride
        )
        occ = Occluders(
            occ.centres.to(ctx.device),
            occ.visible.to(ctx.device),
            occ.size,
            occ.groups.to(ctx.device),
            occ.trajectories.to(ctx.device),
        )
    else:
        with ctx.timer("segmentation"):
            has_pre = bool(getattr(ctx.classifier, "has_preprocessing", False))
            pixels = pixel_video(ctx.x[0], ctx.mean, ctx.std, has_pre)
            occ = flow_occluders(pixels, size, stride)
    if occ.n == 0:
        raise ParameterError(f"No occluder fits a {shape[1]}×{shape[2]} frame at stride {stride}")
    return stack_by_motion(occ, params.n_stack)


def _voxel_sums(occ: Occluders, values: Tensor, field: Tensor, chunk: int) -> Tensor:
    """``Σ_v field_v · (1 − M_i)_v`` for every mask i (``N``), rendering masks in chunks."""
    shape: tuple[int, int, int] = tuple(field.shape)  # type: ignore[assignment]
    out = values.new_empty(occ.n)
    for start in range(0, occ.n, chunk):
        rows = torch.arange(start, min(occ.n, start + chunk), device=field.device)
        removed = 1.0 - render_keep(occ, rows, shape)
        out[start : start + len(rows)] = (removed * field).flatten(1).sum(1)
    return out


def _map(occ: Occluders, d: Tensor, shape: tuple[int, int, int], chunk: int) -> Tensor:
    """``(1/N) Σ_i d_i · M_i / mean(M_i)`` → ``T×H×W``."""
    acc = torch.zeros(shape, device=d.device)
    for start in range(0, occ.n, chunk):
        rows = torch.arange(start, min(occ.n, start + chunk), device=d.device)
        keep = render_keep(occ, rows, shape)
        mean = keep.flatten(1).mean(1).clamp(min=1e-12)
        acc += torch.einsum("b,bthw->thw", d[rows] / mean, keep)
    return acc / occ.n


@register_method(
    "aosa",
    params=AosaParams,
    family="removal",
    description="AOSA (Uchiyama et al.): occlusion by squares that follow the optical flow; "
    "exact or first-order Taylor (approximate=True) with outlier re-linearisation.",
    quick_params={"n_stack": 1},
)
def aosa(ctx: ExplainContext, params: AosaParams) -> MethodOutput:
    """Occlusion sensitivity with motion-following occluders; ``T×H×W`` map in [0, 1] (with
    ``rescale``; higher = occluding the voxel lowered the target more), extras: ``d`` (per mask),
    ``n_masks``, the passes used and the passes exact occlusion would need."""
    x = ctx.x
    t, h, w = (int(s) for s in x.shape[2:])
    size = _scaled(params.size, 16, h, w)
    stride = _scaled(params.stride, 8, h, w)
    occ = _occluders(ctx, params, size, stride)
    r = _fill(x, params.conditional, size)
    shape = (t, h, w)
    chunk = max(1, ctx.engine.batch_size)
    before_f, before_b = ctx.engine.n_forward, ctx.engine.n_backward

    def perturbed(rows: Tensor) -> Tensor:
        keep = render_keep(occ, rows, shape).unsqueeze(1)  # B×1×T×H×W
        if not params.conditional:  # r = 0
            return x * keep
        return torch.lerp(r, x, keep)  # x ⊙ M + r ⊙ (1 − M)

    base = float(ctx.scorer.run(1, lambda a, b: x, desc="aosa")[0])
    extras: dict[str, Any] = {"n_masks": occ.n, "size": size, "stride": stride}
    if not params.approximate:
        scores = ctx.scorer.run(
            occ.n, lambda a, b: perturbed(torch.arange(a, b, device=x.device)), desc="aosa"
        )
        d = scores - base
    else:
        d, adjusted = _taylor(ctx, occ, x, r, shape, chunk, params.adjust, perturbed)
        extras["relinearised"] = adjusted
    used_f = ctx.engine.n_forward - before_f
    used_b = ctx.engine.n_backward - before_b
    extras.update(
        d=d.detach().cpu(),
        approximate=params.approximate,
        passes={"forward": used_f, "backward": used_b},
        passes_exact={"forward": occ.n + 1, "backward": 0},
        forward_passes_saved=occ.n + 1 - used_f,
    )
    raw = _map(occ, d, shape, chunk)
    if not params.rescale:
        return MethodOutput(raw, extras)
    extras["raw_map"] = raw.detach().cpu()
    return MethodOutput(minmax(raw[None])[0], extras)


def _taylor(
    ctx: ExplainContext,
    occ: Occluders,
    x: Tensor,
    r: Tensor,
    shape: tuple[int, int, int],
    chunk: int,
    adjust: str,
    perturbed: Any,
) -> tuple[Tensor, int]:
    """First-order estimates ``d_i = f̂_i − f(x)``; returns them and how many were re-linearised."""
    value, grad = ctx.score_and_grad(x)
    field = (grad * (r - x)).sum(1)[0]  # T×H×W: Σ_c ∇f·(r − x)
    d = _voxel_sums(occ, value.new_zeros(occ.n), field, chunk)
    if adjust == "none" or occ.n < 4:
        return d, 0
    q1, q3 = torch.quantile(d, torch.tensor([0.25, 0.75], device=d.device, dtype=d.dtype))
    iqr = q3 - q1
    adjusted = 0
    for outliers, pick in ((d > q3 + 1.5 * iqr, torch.argmax), (d < q1 - 1.5 * iqr, torch.argmin)):
        if not bool(outliers.any()):
            continue
        j = int(pick(d))
        xj = perturbed(torch.tensor([j], device=x.device))
        value_j, grad_j = ctx.score_and_grad(xj)
        # f̂_i = f(x_j) + Σ ∇f(x_j)·(x_i − x_j), with x_i − x_j = (r − x)·(M_j − M_i)
        field_j = (grad_j * (r - x)).sum(1)[0]
        keep_j = render_keep(occ, torch.tensor([j], device=x.device), shape)[0]
        rows = outliers.nonzero().flatten()
        removed_i = 1.0 - render_keep(occ, rows, shape)
        diff = keep_j.unsqueeze(0) - (1.0 - removed_i)  # M_j − M_i
        estimate = value_j - value + (diff * field_j).flatten(1).sum(1)
        d[rows] = estimate
        adjusted += int(rows.numel())
    return d, adjusted
