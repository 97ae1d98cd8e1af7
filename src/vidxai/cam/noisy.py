"""Layer gradients on noisy copies of the clip (the passes Smooth Grad-CAM++ averages)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from vidxai.cam.layers import capture_outputs, layer_hint
from vidxai.cam.layout import infer_layout, to_volume
from vidxai.core.context import ExplainContext
from vidxai.core.hooks import find_layer
from vidxai.errors import InvalidInputError


@dataclass
class GradientMoments:
    """Means over noisy copies of ``g``, ``g²`` and ``g³`` at a layer, each ``1×C×T'×H'×W'``."""

    g1: Tensor
    g2: Tensor
    g3: Tensor
    n_samples: int


def noise_seeds(ctx: ExplainContext, n: int) -> list[int]:
    """One seed per noisy copy, drawn from the call's generator (batch-size independent)."""
    return torch.randint(0, 2**62, (n,), generator=ctx.generator, device=ctx.device).tolist()


def noisy_clip(ctx: ExplainContext, seed: int, sigma: float) -> Tensor:
    """``C×T×H×W``: clip 0 of ``ctx.x`` plus Gaussian noise of std ``sigma`` (seeded)."""
    gen = torch.Generator(device=ctx.device).manual_seed(int(seed))
    x = ctx.x[0]
    return x + sigma * torch.randn(x.shape, generator=gen, device=ctx.device, dtype=x.dtype)


def noisy_layer_moments(
    ctx: ExplainContext, layer: str, n_samples: int, sigma: float
) -> GradientMoments:
    """Forward + backward (down to ``layer``) on ``n_samples`` noisy copies of the clip.

    Args:
        layer: the dotted path of the layer (already resolved, e.g. by ``run_layer``).
        n_samples: noisy copies ``x + N(0, sigma²)``; batched by the engine.
        sigma: noise standard deviation in model-input units.

    Returns:
        The means of the first three powers of ``∂score/∂A`` over the copies.
    """
    modules = {layer: find_layer(ctx.module, layer)}
    seeds = noise_seeds(ctx, n_samples)
    sums: list[Tensor] = []

    def step(start: int, stop: int) -> None:
        x = torch.stack([noisy_clip(ctx, s, sigma) for s in seeds[start:stop]])
        with capture_outputs(modules) as store, torch.enable_grad():
            scores = ctx.target.score(ctx.model(x.requires_grad_(True)))
            raw = store.get(layer)
            if raw is None or not raw.requires_grad:
                raise InvalidInputError(
                    f"The target's gradient does not reach layer {layer!r}; choose another layer."
                )
            with ctx.timer("inference"):
                (grad,) = torch.autograd.grad(scores.sum(), raw)
        n = stop - start
        hint = layer_hint(ctx, layer, raw, n)
        g = to_volume(grad.detach(), infer_layout(tuple(raw.shape), tuple(x.shape), hint), n)
        part = [g.pow(k).sum(0, keepdim=True) for k in (1, 2, 3)]
        if sums:
            for total, p in zip(sums, part, strict=True):
                total.add_(p)
        else:
            sums.extend(part)

    ctx.engine.backward_batches(n_samples, step, desc="noisy gradients")
    g1, g2, g3 = (s / n_samples for s in sums)
    return GradientMoments(g1, g2, g3, n_samples)
