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


# Layouts: masks N×M×V (M masks of each of N clips, V = T·H·W voxels), pyramid levels and their
# differences N×L×C×V, perturbed clips N×M×C×V.


def _level_index(mask: Tensor, top: int, channels: int) -> Tensor:
    """N×M×V masks → N×M×1×C×V level indices ``⌊(L−1)·m⌋`` (for the gathers)."""
    k = (mask * top).floor().clamp(0, top).long()
    return k.unsqueeze(2).expand(-1, -1, channels, -1).unsqueeze(2)


def _blend_forward(mask: Tensor, levels: Tensor, diffs: Tensor) -> Tensor:
    top = levels.shape[1] - 1
    w = mask * top
    frac = (w - w.floor().clamp(0, top)).unsqueeze(2)  # N×M×1×V
    idx = _level_index(mask, top, levels.shape[2])
    y = torch.take_along_dim(levels.unsqueeze(1), idx, 2).squeeze(2)  # N×M×C×V
    d = torch.take_along_dim(diffs.unsqueeze(1), idx, 2).squeeze(2)
    return y + frac * d


def _blend_forward_eager(mask: Tensor, levels: Tensor, diffs: Tensor) -> Tensor:
    """The same blend without gathers (a gather of ``M×C×V`` values is several times slower
    than a multiply-add on a CPU): ``x' = y_{L−1} − Σ_l d_l · clamp(l + 1 − w, 0, 1)``, which
    is ``y_k + (w − k)·d_k`` and exactly ``x`` where ``m = 1``."""
    top = levels.shape[1] - 1
    n, m = mask.shape[:2]
    w = mask * top
    out = levels[:, top].unsqueeze(1).expand(n, m, -1, -1).clone()  # N×M×C×V
    for level in range(top):
        frac = (level + 1.0 - w).clamp_(0.0, 1.0).unsqueeze(2)  # N×M×1×V
        out.addcmul_(frac, diffs[:, level].unsqueeze(1), value=-1.0)
    return out


def _blend_backward(mask: Tensor, diffs: Tensor, grad: Tensor) -> Tensor:
    """``∂x'/∂m = (L−1)·d_k``: one ``gather`` along the level axis of the ``N×L×C×V``
    differences with an ``N×M×C×V`` index (``take_along_dim`` broadcasts and wraps the indices
    first, which costs more than the gather itself on a CPU)."""
    top = diffs.shape[1] - 1
    k = (mask * top).floor().clamp_(0, top).long()  # N×M×V
    idx = k.unsqueeze(2).expand(-1, -1, diffs.shape[2], -1)  # N×M×C×V
    d = torch.gather(diffs, 1, idx)  # N×M×C×V: d[n, m, c, v] = diffs[n, k[n, m, v], c, v]
    return (grad * d).sum(2) * top


class _Blend(torch.autograd.Function):
    """``mask N×M×V`` → ``y_k + f·d_k`` as ``N×M×C×V`` (pyramids ``N×L×C×V``, differences
    ``N×L×C×V``); the backward recomputes the level index instead of storing the gathered
    differences."""

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
    """Precomputed pyramids of one clip or of a batch of clips; :meth:`apply` perturbs each
    clip with its own masks.

    Args:
        x: the clip ``C×T×H×W``, or ``N`` clips ``N×C×T×H×W``, in model-input space.
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
        if x.ndim not in (4, 5):
            raise ValueError(f"expected a clip C×T×H×W or clips N×C×T×H×W, got {tuple(x.shape)}")
        clips = x.detach() if x.ndim == 5 else x.detach().unsqueeze(0)
        self.n_clips = int(clips.shape[0])
        self.shape = tuple(clips.shape[1:])  # C×T×H×W of each clip
        n, c = clips.shape[:2]
        with torch.no_grad():
            ts = torch.linspace(0.0, 1.0, num_levels).tolist()
            if kind == "blur":
                ys = [blur_frames(clips, (1.0 - t) * max_blur) for t in ts]
            else:
                ys = [clips * t for t in ts]
            levels = torch.stack(ys, 1).reshape(n, num_levels, c, -1).contiguous()
            diffs = torch.zeros_like(levels)
            diffs[:, :-1] = levels[:, 1:] - levels[:, :-1]
        self.levels = levels  # N×L×C×(T·H·W)
        self.diffs = diffs  # N×L×C×(T·H·W), last level 0

    def apply(self, mask: Tensor) -> Tensor:
        """Perturb the clips with masks ``(N·M)×T×H×W`` in [0, 1] → ``(N·M)×C×T×H×W``
        (differentiable): masks ``i·M … i·M + M − 1`` perturb clip ``i``."""
        rows = mask.shape[0]
        if rows % self.n_clips:
            raise ValueError(f"{rows} masks do not split evenly over {self.n_clips} clips")
        c, t, h, w = self.shape
        m = mask.reshape(self.n_clips, rows // self.n_clips, -1)
        out = _Blend.apply(m, self.levels, self.diffs, self.backend)
        return out.reshape(rows, c, t, h, w)
