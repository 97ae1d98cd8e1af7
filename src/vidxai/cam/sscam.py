"""SS-CAM (Wang et al. 2020, "Smoothed Score-CAM"): Score-CAM with noise on the masks.

For every channel mask ``M_k`` (see :mod:`vidxai.cam.score_masks`), ``n_samples`` clips
``b + (M_k + δ)·(x − b)`` with ``δ ~ N(0, noise_std²)`` drawn per voxel at input resolution are
scored; ``w = softmax_k`` of the mean score and the map is ``ReLU(Σ_k w_k·A_k)``. The defaults
(35 samples, std 2.0 on masks in [0, 1]) are torchcam's. Random: the noise comes from the
call's generator (same seed ⇒ same map).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.cam.score_masks import check_score_params, score_rounds_cam
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError


@dataclass(frozen=True)
class SSCamParams:
    """Parameters of :func:`sscam`.

    Attributes:
        layer: dotted module path inside the model (default: the model's default layer).
        n_samples: noisy masks per channel (≥ 1); ``C·n_samples`` forward passes.
        noise_std: standard deviation of the Gaussian noise added to the [0, 1] masks (≥ 0).
        max_channels: score only the channels with the largest mean activation (others get
            weight 0); ``None`` scores every channel.
        fill: pixel value in [0, 1] shown outside the masks (0 = black).
    """

    layer: str | None = None
    n_samples: int = 35
    noise_std: float = 2.0
    max_channels: int | None = None
    fill: float = 0.0

    def __post_init__(self) -> None:
        check_score_params(self.max_channels, self.fill, self.n_samples)
        if not self.noise_std >= 0:
            raise ParameterError(f"noise_std must be >= 0, got {self.noise_std}")


@register_method(
    "sscam",
    params=SSCamParams,
    family="cam",
    description="SS-CAM: Score-CAM weights averaged over noisy copies of each channel mask.",
    quick_params={"max_channels": 8, "n_samples": 2},
    demo_params={"n_samples": 8},
)
def sscam(ctx: ExplainContext, params: SSCamParams) -> MethodOutput:
    """1 + C·n_samples forward passes (C = scored channels), no gradients; ``T×H×W`` map."""
    base_seed = int(torch.randint(0, 2**62, (1,), generator=ctx.generator, device=ctx.device))

    def transform(masks: Tensor, pos: Tensor, rnd: Tensor) -> Tensor:
        # row (channel position, round) has its own seed: independent of the batch size
        rows = (pos * params.n_samples + rnd).tolist()
        noise = torch.stack([_row_noise(base_seed + r, masks[0]) for r in rows])
        return masks + params.noise_std * noise

    return score_rounds_cam(
        ctx, params.layer, params.max_channels, params.fill, params.n_samples, transform, "sscam"
    )


def _row_noise(seed: int, like: Tensor) -> Tensor:
    """Standard normal noise shaped like ``like`` (``T×H×W``) from its own generator."""
    gen = torch.Generator(device=like.device).manual_seed(seed)
    return torch.randn(like.shape, generator=gen, device=like.device, dtype=like.dtype)
