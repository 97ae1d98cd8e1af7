"""IS-CAM (Naidu et al. 2020, "Integrated Score-CAM"): Score-CAM integrated along the mask.

For every channel mask ``M_k`` (see :mod:`vidxai.cam.score_masks`) the clips
``b + (i/N)·M_k·(x − b)`` for ``i = 1…N`` (a Riemann sum from the fill-only clip to the
Score-CAM clip, like integrated gradients) are scored; ``w = softmax_k`` of the mean score and the
map is ``ReLU(Σ_k w_k·A_k)``. Deterministic.

Difference from torchcam's ``ISCAM``: torchcam scales the i-th masked clip by the cumulative sum
``Σ_{j≤i} j/N`` (which grows past 1, to ``(N+1)/2``); vidxai scales by ``i/N`` so that the path
ends at the Score-CAM clip, which is what an integral from the baseline to the masked input means.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from vidxai.cam.score_masks import check_score_params, score_rounds_cam
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method


@dataclass(frozen=True)
class ISCamParams:
    """Parameters of :func:`iscam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        n_samples: integration steps N per channel (≥ 1); ``C·N`` forward passes. ``N = 1``
            is Score-CAM.
        max_channels: score only the channels with the largest mean activation (others get
            weight 0); ``None`` scores every channel.
        fill: pixel value in [0, 1] shown outside the masks (0 = black).
    """

    layer: str | None = None
    n_samples: int = 10
    max_channels: int | None = None
    fill: float = 0.0

    def __post_init__(self) -> None:
        check_score_params(self.max_channels, self.fill, self.n_samples)


@register_method(
    "iscam",
    params=ISCamParams,
    family="cam",
    description="IS-CAM: Score-CAM weights integrated over masks scaled from 0 to 1.",
    quick_params={"max_channels": 8, "n_samples": 2},
    demo_params={"n_samples": 5},
)
def iscam(ctx: ExplainContext, params: ISCamParams) -> MethodOutput:
    """1 + C·n_samples forward passes (C = scored channels), no gradients; ``T×H×W`` map."""
    n = params.n_samples

    def transform(masks: Tensor, pos: Tensor, rnd: Tensor) -> Tensor:
        return masks * ((rnd + 1).to(masks.dtype) / n).view(-1, 1, 1, 1)

    return score_rounds_cam(
        ctx, params.layer, params.max_channels, params.fill, n, transform, "iscam"
    )
