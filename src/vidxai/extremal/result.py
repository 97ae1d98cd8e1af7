"""The optimised masks of a batch of clips → one :class:`MethodOutput` per clip."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.extremal.perturbation import blur_frames

TERMS = ("reward", "probability", "area", "core", "energy")


def area_names(areas: list[float]) -> list[str]:
    """Keys of ``extras["area_masks"]``: ``"0.05"``, …, with an index where two areas print
    alike."""
    names = [f"{a:g}" for a in areas]
    return [n if names.count(n) == 1 else f"{n}_{i}" for i, n in enumerate(names)]


def clip_output(
    mask: Tensor, padded: Tensor, hist: Tensor, areas: list[float], smooth: float, extra: dict
) -> MethodOutput:
    """One clip's explanation from its masks.

    Args:
        mask: ``A×T×H×W`` masks (one per area).
        padded: ``A×T×Hp×Wp`` padded masks.
        hist: ``num_iter × len(TERMS) × A`` loss history.
        areas: the ``A`` target areas.
        smooth: σ in pixels of the per-frame Gaussian of the summed masks (0 = none).
        extra: the clip's other extras (settings, reward weight, …).

    Returns:
        ``attribution`` ``T×H×W`` (sum of the masks, smoothed, divided by its maximum) and the
        extras ``masks``, ``area_masks``, ``areas``, ``kept_area`` (``A``),
        ``kept_area_per_frame`` (``A×T``), ``loss_history`` (``{term: num_iter × A}``),
        ``final_probability`` and ``extra``.
    """
    attribution = blur_frames(mask.sum(0), smooth)
    peak = attribution.max()
    attribution = attribution / torch.where(peak > 0, peak, torch.ones_like(peak))
    kept_frames = padded.mean((2, 3)).cpu()  # A×T fraction of each padded frame kept
    hist_cpu = hist.cpu()
    masks_cpu = mask.detach().cpu()
    extras: dict[str, Any] = {
        "masks": masks_cpu,
        "area_masks": {n: masks_cpu[i] for i, n in enumerate(area_names(areas))},
        "areas": list(areas),
        "kept_area": kept_frames.mean(1).tolist(),
        "kept_area_per_frame": kept_frames.tolist(),
        "loss_history": {name: hist_cpu[:, i].tolist() for i, name in enumerate(TERMS)},
        "final_probability": hist_cpu[-1, 1].tolist(),
        **extra,
    }
    return MethodOutput(attribution=attribution.float(), extras=extras)
