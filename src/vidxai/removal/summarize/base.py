"""What a summary receives, and the shared helper mapping per-feature values onto voxels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from torch import Tensor

from vidxai.core.registry import MethodOutput
from vidxai.removal.remove.masks import MaskLayout
from vidxai.removal.sample.base import Samples


@dataclass(frozen=True)
class SummaryInput:
    """Everything a summary may use.

    Attributes:
        samples: the design (rows in scoring order).
        scores: ``n`` target values of the perturbed clips (float32, on the device).
        masks: the mask layout that rendered the clips (to map features to voxels, or to
            regenerate masks for per-voxel summaries).
        shape: ``(T, H, W)``.
        chunk: rows per chunk when masks are regenerated (the scorer's batch size).
    """

    samples: Samples
    scores: Tensor
    masks: MaskLayout
    shape: tuple[int, int, int]
    chunk: int


class Summary(Protocol):
    """A summary stage: ``SummaryInput → MethodOutput`` (attribution ``T×H×W`` + extras)."""

    def __call__(self, inp: SummaryInput) -> MethodOutput: ...


def feature_output(
    inp: SummaryInput, values: Tensor, standard_error: Tensor | None, **extras: Any
) -> MethodOutput:
    """Per-feature values → a :class:`MethodOutput` whose attribution maps them onto voxels.

    Args:
        values: ``M`` attributions per feature (any float dtype/device).
        standard_error: ``M`` standard errors, or None.

    Returns:
        attribution ``T×H×W`` float32 on the scores' device; extras ``feature_attribution``
        (``M``), ``standard_error`` (``M``, when given) plus ``extras``.
    """
    dev = inp.scores.device
    values = values.to(dev, dtype=inp.scores.dtype)
    to_voxels = getattr(inp.masks, "to_voxels", None)
    if to_voxels is None:  # guarded by the pipeline's compatibility check
        raise TypeError(f"{type(inp.masks).__name__} cannot map feature values onto voxels")
    out: dict[str, Any] = {"feature_attribution": values}
    if standard_error is not None:
        out["standard_error"] = standard_error.to(dev, dtype=inp.scores.dtype)
    out.update(extras)
    return MethodOutput(attribution=to_voxels(values).contiguous(), extras=out)
