"""The perturbation operator of extremal perturbations: a per-frame blur (or fade) pyramid.

The clip is turned once into ``L = 8`` levels (TorchRay's ``Perturbation``):

* ``blur``: ``y_l = GaussianBlur(x, σ_l)``, ``σ_l = (1 − l/(L−1)) · max_blur``, per frame;
* ``fade``: ``y_l = x · l/(L−1)`` (towards 0 in model-input space, i.e. the dataset mean colour
  for a normalised model, black for a plain one).

A mask value ``m ∈ [0, 1]`` selects ``w = (L−1)·m``, ``k = ⌊w⌋`` and blends
``x' = y_k + (w − k)·(y_{k+1} − y_k)``: ``m = 1`` keeps the pixel, ``m = 0`` gives the strongest
blur (or 0). The pyramid and its level differences are computed once per explanation; applying a
mask is two gathers and one multiply-add (fused into one loop by the ``compiled`` backend; the
eager kernel sums the ``L − 1`` level differences instead of gathering), with a hand-written
backward ``∂x'/∂m = (L−1)·(y_{k+1} − y_k)`` (zero at ``m = 1``, as in the
reference).

Blur: vidxai's one Gaussian blur (:func:`vidxai.ops.blur.blur2d`: reflect border, kernel
radius ``int(4σ + 0.5)``). TorchRay pads with zeros; with reflection every output pixel is a
weighted mean of pixels inside the frame, so a blurred border keeps its colour instead of fading
to 0.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import Tensor

from vidxai.extremal._compile import Backend, run
from vidxai.ops.blur import blur2d, gaussian_matrix

PerturbationType = Literal["blur", "fade"]
NUM_LEVELS = 8


#: ``n×n`` blur matrix and per-frame blur ``(…, H, W)`` → same shape (see :mod:`vidxai.ops.blur`).
blur_matrix = gaussian_matrix
blur_frames = blur2d


def _blend_forward(mask: Tensor, levels: Tensor, diffs: Tensor) -> Tensor:
    top = levels.shape[0] - 1
    w = mask * top
    k = w.floor().clamp(0, top)
    idx = k.long().unsqueeze(1).expand(-1, levels.shape[1], -1)  # A×C×V
    y = torch.gather(levels, 0, idx)
    d = torch.gather(diffs, 0, idx)
    return y + (w - k).unsqueeze(1) * d


def _blend_forward_eager(mask: Tensor, levels: Tensor, diffs: Tensor) -> Tensor:
    """The same blend without gathers (a gather of ``A×C×V`` values is several times slower
    than a multiply-add on a CPU): ``x' = y_{L−1} − Σ_l d_l · clamp(l + 1 − w, 0, 1)``, which
    is ``y_k + (w − k)·d_k`` and exactly ``x`` where ``m = 1``."""
    top = levels.shape[0] - 1
    w = mask * top
    out = levels[top].expand(mask.shape[0], -1, -1).clone()  # A×C×V
    for level in range(top):
        frac = (level + 1.0 - w).clamp_(0.0, 1.0).unsqueeze(1)
        out.addcmul_(frac, diffs[level], value=-1.0)
    return out


def _blend_backward(mask: Tensor, diffs: Tensor, grad: Tensor) -> Tensor:
    top = diffs.shape[0] - 1
    k = (mask * top).floor().clamp(0, top)
    idx = k.long().unsqueeze(1).expand(-1, diffs.shape[1], -1)
    return (grad * torch.gather(diffs, 0, idx)).sum(1) * top


class _Blend(torch.autograd.Function):
    """``mask A×V`` → ``y_k + f·d_k`` as ``A×C×V`` (pyramid ``L×C×V``, differences ``L×C×V``);
    the backward recomputes the level index instead of storing the gathered differences."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, mask: Tensor, levels: Tensor, diffs: Tensor, backend: Backend
    ) -> Tensor:
        ctx.save_for_backward(mask, diffs)
        ctx.backend = backend
        m = mask.contiguous()
        return run(backend, _blend_forward, m, levels, diffs, eager=_blend_forward_eager)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        mask, diffs = ctx.saved_tensors
        return run(ctx.backend, _blend_backward, mask, diffs, grad.contiguous()), None, None, None


class Perturbation:
    """Precomputed pyramid of one clip; :meth:`apply` perturbs it with a batch of masks.

    Args:
        x: the clip, ``C×T×H×W`` in model-input space.
        kind: ``"blur"`` or ``"fade"``.
        max_blur: σ of the strongest blur level in pixels (blur only).
        num_levels: pyramid levels ``L`` (≥ 2).
        backend: ``"eager"`` or ``"compiled"`` (fused gathers, see :mod:`vidxai.extremal.mask`).
    """

    def __init__(
        self,
        x: Tensor,
        kind: PerturbationType = "blur",
        max_blur: float = 20.0,
        num_levels: int = NUM_LEVELS,
        backend: Backend = "eager",
    ) -> None:
        if kind not in ("blur", "fade"):
            raise ValueError(f"perturbation type must be 'blur' or 'fade', got {kind!r}")
        if num_levels < 2:
            raise ValueError(f"num_levels must be >= 2, got {num_levels}")
        self.kind = kind
        self.backend: Backend = backend
        self.shape = tuple(x.shape)
        c = x.shape[0]
        x = x.detach()
        with torch.no_grad():
            ts = torch.linspace(0.0, 1.0, num_levels).tolist()
            if kind == "blur":
                ys = [blur_frames(x, (1.0 - t) * max_blur) for t in ts]
            else:
                ys = [x * t for t in ts]
            levels = torch.stack(ys).reshape(num_levels, c, -1).contiguous()
            diffs = torch.zeros_like(levels)
            diffs[:-1] = levels[1:] - levels[:-1]
        self.levels = levels  # L×C×(T·H·W)
        self.diffs = diffs  # L×C×(T·H·W), last level 0

    def apply(self, mask: Tensor) -> Tensor:
        """Perturb the clip with masks ``A×T×H×W`` in [0, 1] → ``A×C×T×H×W`` (differentiable)."""
        a = mask.shape[0]
        c, t, h, w = self.shape
        out = _Blend.apply(mask.reshape(a, -1), self.levels, self.diffs, self.backend)
        return out.reshape(a, c, t, h, w)
