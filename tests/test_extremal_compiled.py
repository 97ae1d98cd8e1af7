"""The ``compiled`` extremal kernels (torch.compile) give the eager kernels' results.

The first run compiles the kernels (about 35 s on a busy 2-core machine; PyTorch caches them, so
later runs take about 15 s). Skipped where torch.compile cannot build CPU kernels (no C++
compiler) or when ``VIDXAI_SKIP_COMPILED=1``.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch
from torch import nn

import vidxai
from vidxai.extremal.losses import area_loss
from vidxai.extremal.mask import MaskGrid, SmoothMaskGenerator
from vidxai.extremal.perturbation import Perturbation

NO_COMPILER = shutil.which("g++") is None and shutil.which("cc") is None
pytestmark = [
    pytest.mark.skipif(
        os.environ.get("VIDXAI_SKIP_COMPILED") == "1",
        reason="VIDXAI_SKIP_COMPILED=1",
    ),
    pytest.mark.skipif(
        not hasattr(torch, "compile") or NO_COMPILER,
        reason="torch.compile needs a C++ compiler on CPU",
    ),
]


def test_compiled_mask_matches_eager_forward_and_backward():
    grid = MaskGrid((12, 10), 2, 1.4)  # 5×5 neighbours: quick to compile
    gen = torch.Generator().manual_seed(0)
    p = torch.rand(3, *grid.param_shape, generator=gen)
    p[0] = 1.0
    w = torch.randn(3, *grid.padded_shape, generator=gen)
    out = {}
    for backend in ("eager", "compiled"):
        q = p.clone().requires_grad_(True)
        mask, padded = SmoothMaskGenerator(grid, backend=backend).generate(q)
        (g,) = torch.autograd.grad((padded * w).sum(), q)
        out[backend] = (mask, padded, g)
    for a, b in zip(out["eager"], out["compiled"]):
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def test_compiled_blend_and_area_loss_match_eager():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 2, 6, 7, generator=gen)
    m = torch.rand(2, 2, 6, 7, generator=gen)
    res = {}
    for backend in ("eager", "compiled"):
        mm = m.clone().requires_grad_(True)
        y = Perturbation(x, "blur", 2.0, backend=backend).apply(mm)
        loss = area_loss(mm, [0.1, 0.3], torch.arange(2 * 6 * 7), True, backend=backend)
        (g,) = torch.autograd.grad((y * x).sum() + loss.sum(), mm)
        res[backend] = (y, loss, g)
    for a, b in zip(res["eager"], res["compiled"]):
        torch.testing.assert_close(a, b)


def test_explain_with_the_compiled_backend():
    class Net(nn.Module):
        def forward(self, v: torch.Tensor) -> torch.Tensor:
            s = v[:, :, 1:3, 4:12, 4:12].mean((1, 2, 3, 4))
            return torch.stack([20 * (s - 0.3), torch.zeros_like(s)], 1)

    x = torch.zeros(3, 4, 16, 16)
    x[:, 1:3, 4:12, 4:12] = 1.0
    kw = dict(method="ep3d", num_iter=15, perturb_area=0.1, progress=False, target=0)
    kw |= {"mask_step": 2, "mask_sigma": 1.4}
    eager = vidxai.explain(Net(), x, backend="eager", **kw)
    compiled = vidxai.explain(Net(), x, backend="compiled", **kw)
    assert compiled.extras["backend"] == "compiled"
    torch.testing.assert_close(compiled.extras["masks"], eager.extras["masks"], atol=1e-4, rtol=0)
