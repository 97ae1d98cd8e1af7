"""SWAG-V: superpixels weighted by average gradients, for video (Hartley et al., WACV 2022).

Only the paper's abstract is public, so each choice below is vidxai's, stated and tested:

* **Which gradient.** One backward pass gives ``g = ∂f/∂x`` (the target's logit by default,
  as for every gradient method). The per-voxel attribution is ``Σ_c |g|`` (``attribution=
  "saliency"``, the magnitude of the evidence, as in Simonyan et al.) or ``Σ_c g·x``
  (``"grad_x_input"``, signed). Summing over channels keeps every channel's evidence (a max
  would discard two of three).
* **Superpixels per frame** (SLIC, scikit-image), computed from ``source=``:
  ``"image"`` — the frame's colours (CIELAB, SLIC's calibration);
  ``"image+gradient"`` — the colours plus the attribution map as a fourth channel scaled by
  ``gradient_weight`` (min-max normalised per frame, so superpixel borders also follow where
  the evidence changes); ``"gradient"`` — the attribution map alone (one channel).
  Per frame rather than supervoxels: the abstract describes superpixels, and per-frame
  segments keep temporal resolution (a supervoxel would average the evidence over time).
* **Score.** A superpixel's score is the mean attribution of its pixels, broadcast to them;
  the mean (not the sum) keeps large superpixels from winning by size.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.errors import ParameterError


@dataclass(frozen=True)
class SwagVParams:
    """Parameters of :func:`swag_v`.

    Attributes:
        source: what SLIC clusters: ``image``, ``image+gradient`` or ``gradient``.
        n_segments: approximate number of superpixels per frame.
        compactness: SLIC's balance of appearance against space (per source: colours in
            CIELAB for ``image``, [0, 1] values otherwise).
        gradient_weight: scale of the attribution channel for ``image+gradient``.
        attribution: per-voxel evidence averaged in each superpixel: ``saliency`` (Σ_c |g|) or
            ``grad_x_input`` (Σ_c g·x).
    """

    source: Literal["image", "image+gradient", "gradient"] = "image+gradient"
    n_segments: int = 50
    compactness: float = 10.0
    gradient_weight: float = 1.0
    attribution: Literal["saliency", "grad_x_input"] = "saliency"

    def __post_init__(self) -> None:
        if self.source not in ("image", "image+gradient", "gradient"):
            raise ParameterError(
                f"source must be image, image+gradient or gradient, got {self.source!r}"
            )
        if self.attribution not in ("saliency", "grad_x_input"):
            raise ParameterError(
                f"attribution must be saliency or grad_x_input, got {self.attribution!r}"
            )
        if not isinstance(self.n_segments, int) or self.n_segments < 1:
            raise ParameterError(f"n_segments must be a positive integer, got {self.n_segments}")
        if not self.compactness > 0 or not self.gradient_weight >= 0:
            raise ParameterError("compactness must be > 0 and gradient_weight ≥ 0")


def _unit(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def frame_superpixels(pixels: np.ndarray, evidence: np.ndarray, params: SwagVParams) -> np.ndarray:
    """SLIC per frame. ``pixels`` ``T×H×W×C`` in [0, 1], ``evidence`` ``T×H×W`` → ``T×H×W``
    int64 labels, unique across frames (frame ``t``'s labels follow frame ``t − 1``'s)."""
    from skimage.segmentation import slic  # scikit-image is imported only when SWAG-V runs

    out = np.empty(evidence.shape, dtype=np.int64)
    offset = 0
    for t in range(evidence.shape[0]):
        unit = _unit(evidence[t])[..., None]
        if params.source == "image":
            image, lab = pixels[t], pixels.shape[-1] == 3
        elif params.source == "gradient":
            image, lab = unit, False
        else:
            image, lab = np.concatenate([pixels[t], params.gradient_weight * unit], -1), False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SLIC's notes on small or flat frames
            labels = slic(
                image.astype(np.float64),
                n_segments=params.n_segments,
                compactness=params.compactness,
                channel_axis=-1,
                convert2lab=lab,
                start_label=0,
                enforce_connectivity=True,
            )
        _, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(evidence.shape[1:])
        out[t] = labels + offset
        offset += int(labels.max()) + 1
    return out


def superpixel_means(values: Tensor, labels: Tensor) -> Tensor:
    """Each voxel takes the mean of ``values`` over its label (``T×H×W`` both)."""
    flat = labels.flatten()
    n = int(flat.max()) + 1
    sums = torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(
        0, flat, values.flatten()
    )
    counts = torch.bincount(flat, minlength=n).to(values.dtype)
    return (sums / counts)[flat].reshape(values.shape)


@register_method(
    "swag_v",
    params=SwagVParams,
    family="gradient",
    description="SWAG-V (Hartley et al. 2022): per-frame superpixels (image, image + gradient "
    "or gradient) scored by the mean input gradient inside them.",
)
def swag_v(ctx: ExplainContext, params: SwagVParams) -> MethodOutput:
    """One forward + backward pass, SLIC per frame; ``T×H×W`` map, extras: ``segments``
    (``T×H×W`` labels), ``gradient_map`` (the per-voxel attribution averaged)."""
    _, grad = ctx.score_and_grad(ctx.x)
    if params.attribution == "saliency":
        evidence = grad.abs().sum(1)[0]
    else:
        evidence = (grad * ctx.x).sum(1)[0]
    with ctx.timer("segmentation"):
        pixels = ctx.pixels().permute(1, 2, 3, 0).cpu().numpy()  # T×H×W×C
        labels = frame_superpixels(pixels, evidence.detach().cpu().numpy(), params)
    segments = torch.from_numpy(labels).to(evidence.device)
    attribution = superpixel_means(evidence, segments)
    return MethodOutput(
        attribution,
        {"segments": segments, "gradient_map": evidence, "n_superpixels": int(labels.max()) + 1},
    )
