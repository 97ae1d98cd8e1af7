"""Selective relevance (Hiley et al. 2020): keep the relevance where the video changes in time.

A 3D explanation mixes static appearance with motion. Selective relevance filters any map
``R`` (``N×T×H×W``) with a temporal-change volume ``D`` of the same shape:

* ``source="input"`` (default, as vidxai's issue asks): ``D`` is the temporal derivative of the
  clip, ``D_t = ½·(|x_t − x_{t−1}| + |x_{t+1} − x_t|)`` summed over channels (one-sided at the
  first and last frame), optionally Gaussian-smoothed per frame (``sigma`` pixels);
* ``source="relevance"``: ``D`` is the same temporal derivative of the map itself (|∂R/∂t|),
  Hiley et al.'s own filter, which discards relevance that is constant over time.

``mode="threshold"`` keeps ``R`` where ``D > threshold · std(D)`` (per clip; the paper's σ-level,
in standard deviations of ``D``) and zeroes it elsewhere; ``mode="weight"`` multiplies ``R`` by
``D / max(D)`` (per clip). A clip that does not change at all (``D ≡ 0``) gives a zero map in
both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.ops import blur2d

SelectiveMode = Literal["threshold", "weight"]
SelectiveSource = Literal["input", "relevance"]
MODES: tuple[str, ...] = ("threshold", "weight")
SOURCES: tuple[str, ...] = ("input", "relevance")


@dataclass(frozen=True)
class SelectiveParams:
    """Options of :func:`selective_map`.

    Attributes:
        mode: ``threshold`` (keep ``R`` where the change exceeds the level, else 0) or
            ``weight`` (``R · D / max(D)``).
        threshold: the level in standard deviations of the change volume ``D`` of the clip
            (``mode="threshold"`` only; ≥ 0). 0 keeps every voxel that changes at all.
        sigma: Gaussian smoothing of ``D`` per frame, in pixels (0 = none).
        source: ``input`` (temporal derivative of the clip) or ``relevance`` (of the map).
    """

    mode: SelectiveMode = "threshold"
    threshold: float = 1.0
    sigma: float = 1.0
    source: SelectiveSource = "input"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ParameterError(f"selective mode must be one of {MODES}, got {self.mode!r}")
        if self.source not in SOURCES:
            raise ParameterError(f"selective source must be one of {SOURCES}, got {self.source!r}")
        if not (isinstance(self.threshold, (int, float)) and self.threshold >= 0):
            raise ParameterError(f"selective threshold must be >= 0, got {self.threshold!r}")
        if not (isinstance(self.sigma, (int, float)) and self.sigma >= 0):
            raise ParameterError(f"selective sigma must be >= 0 pixels, got {self.sigma!r}")


def temporal_change(volume: Tensor) -> Tensor:
    """Absolute temporal derivative of ``N×C×T×H×W`` (summed over C) → ``N×T×H×W``.

    ``D_t = ½(|v_t − v_{t−1}| + |v_{t+1} − v_t|)``; the first and last frames take their one
    difference; a single frame has no change (zeros).
    """
    n, _, t, h, w = volume.shape
    if t < 2:
        return volume.new_zeros(n, t, h, w)
    diff = (volume[:, :, 1:] - volume[:, :, :-1]).abs().sum(dim=1)  # N×(T−1)×H×W
    out = volume.new_zeros(n, t, h, w)
    out[:, 1:] += diff
    out[:, :-1] += diff
    count = torch.full((t,), 2.0, dtype=volume.dtype, device=volume.device)
    count[0] = count[-1] = 1.0
    return out / count.view(1, t, 1, 1)


def change_volume(x: Tensor, attribution: Tensor, params: SelectiveParams) -> Tensor:
    """The change volume ``D`` (``N×T×H×W``, ≥ 0) :func:`selective_map` filters with."""
    source = x if params.source == "input" else attribution.unsqueeze(1)
    change = temporal_change(source.detach().float())
    if params.sigma > 0:
        change = blur2d(change, float(params.sigma))
    return change.clamp(min=0)


def selective_map(
    x: Tensor,
    attribution: Tensor,
    *,
    mode: SelectiveMode = "threshold",
    sigma: float = 1.0,
    threshold: float = 1.0,
    source: SelectiveSource = "input",
) -> Tensor:
    """Keep the relevance of ``attribution`` where the clip changes in time.

    Args:
        x: ``N×C×T×H×W`` clips in model-input space (what was explained).
        attribution: ``N×T×H×W`` maps on the same ``T×H×W`` grid (any method's).
        mode, sigma, threshold, source: see :class:`SelectiveParams`.

    Returns:
        ``N×T×H×W`` float32: ``R·[D > threshold·std(D)]`` (threshold) or ``R·D/max(D)``
        (weight), per clip; zero where nothing changes.

    Raises:
        InvalidInputError: shapes that do not match.
        ParameterError: bad options.

    Example:
        >>> x = torch.zeros(1, 3, 4, 8, 8); x[:, :, 2:, :2, :2] = 1.0  # a corner lights up
        >>> out = selective_map(x, torch.ones(1, 4, 8, 8), sigma=0.0, threshold=0.0)
        >>> bool(out[0, :, 4:, 4:].eq(0).all()), bool(out[0, 1:3, :2, :2].eq(1).all())
        (True, True)
    """
    params = SelectiveParams(mode, threshold, sigma, source)
    check_shapes(x, attribution)
    change = change_volume(x, attribution, params)
    attribution = attribution.float()
    flat = change.flatten(1)
    if params.mode == "threshold":
        level = params.threshold * flat.std(dim=1, unbiased=False)
        keep = (flat > level.unsqueeze(1)).reshape(change.shape)
        return torch.where(keep, attribution, torch.zeros_like(attribution))
    peak = flat.max(dim=1).values.view(-1, 1, 1, 1)
    weight = torch.where(peak > 0, change / peak.clamp(min=torch.finfo(change.dtype).tiny), 0.0)
    return attribution * weight


def apply_selective(x: Tensor, attribution: Tensor, params: SelectiveParams) -> Tensor:
    """:func:`selective_map` with the options of a :class:`SelectiveParams`."""
    return selective_map(
        x,
        attribution,
        mode=params.mode,
        sigma=params.sigma,
        threshold=params.threshold,
        source=params.source,
    )


def check_shapes(x: Tensor, attribution: Tensor) -> None:
    """``x`` N×C×T×H×W and ``attribution`` N×T×H×W on the same grid, else InvalidInputError."""
    if x.ndim != 5:
        raise InvalidInputError(f"x must be N×C×T×H×W, got shape {tuple(x.shape)}")
    if attribution.ndim != 4:
        raise InvalidInputError(
            f"attribution must be N×T×H×W, got shape {tuple(attribution.shape)}"
        )
    n, _, t, h, w = x.shape
    if tuple(attribution.shape) != (n, t, h, w):
        raise InvalidInputError(
            f"attribution {tuple(attribution.shape)} does not match the clips' N×T×H×W "
            f"{(n, t, h, w)}"
        )
