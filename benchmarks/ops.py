"""Benchmark of vidxai.ops (blur, fills) against SciPy, and of SmoothGrad's noise tunnel.

Usage: ``OMP_NUM_THREADS=1 python benchmarks/ops.py`` (CPU, one thread; prints Markdown tables).

* blur: ``blur2d`` / ``blur3d`` on a ``1×3×16×112×112`` clip and on long frames (1×3×4×480×640,
  the convolution path) vs ``scipy.ndimage.gaussian_filter`` (reflect), median of 5 runs, and
  the largest absolute difference between the two.
* noise tunnel: ``smoothgrad`` (n_samples=16) around saliency / grad×input on the demo model,
  against 16 separate ``explain`` calls of the base method (what a caller without the tunnel
  would do): the tunnel batches the copies, so it should be no slower.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

import vidxai
from vidxai.ops import blur2d, blur3d


def _median_time(fn: Callable[[], object], repeats: int = 5) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def blur_table() -> None:
    print("| input | blur | sigma | vidxai (ms) | SciPy (ms) | max abs diff |")
    print("|---|---|---|---|---|---|")
    gen = torch.Generator().manual_seed(0)
    for shape in ((1, 3, 16, 112, 112), (1, 3, 4, 480, 640)):
        x = torch.rand(shape, generator=gen)
        xn = x.numpy()
        for mode, sigma in (("2d", 2.0), ("2d", 10.0), ("3d", 8.0)):
            sig = (0, 0, 0, sigma, sigma) if mode == "2d" else (0, 0, sigma, sigma, sigma)
            blur = blur2d if mode == "2d" else blur3d
            ref = gaussian_filter(xn, sig, mode="reflect")
            diff = float(np.abs(blur(x, sigma).numpy() - ref).max())
            t_ours = _median_time(partial(blur, x, sigma))
            t_ref = _median_time(partial(gaussian_filter, xn, sig, mode="reflect"), repeats=3)
            name = "×".join(map(str, shape))
            print(f"| {name} | {mode} | {sigma:g} | {1e3 * t_ours:.1f} | {1e3 * t_ref:.1f} | "
                  f"{diff:.1e} |")  # fmt: skip


def tunnel_table() -> None:
    model = vidxai.load_model("vidxai-demo")
    clip = torch.rand(3, 16, 64, 64, generator=torch.Generator().manual_seed(1))
    n = 16
    print("| base | smoothgrad, n_samples=16 (s) | 16 separate base calls (s) | ratio |")
    print("|---|---|---|---|")
    for base in ("saliency", "grad_x_input"):

        def tunnel(base: str = base) -> object:
            return vidxai.explain(
                model, clip, method="smoothgrad", base=base, n_samples=n, progress=False
            )

        def separate(base: str = base) -> object:
            return [vidxai.explain(model, clip, method=base, progress=False) for _ in range(n)]

        t_tunnel = _median_time(tunnel, repeats=3)
        t_separate = _median_time(separate, repeats=3)
        print(f"| {base} | {t_tunnel:.3f} | {t_separate:.3f} | {t_tunnel / t_separate:.2f} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    blur_table()
    print()
    tunnel_table()
