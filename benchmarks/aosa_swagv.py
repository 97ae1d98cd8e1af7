"""AOSA and SWAG-V: overhead over the model's own passes, and what AOSA's approximation saves.

Two regimes, as for the other methods:

* heavy: torchvision r3d_18 (random weights) on 8×56×56 clips — the ratio of the explanation's
  wall time to the same forward (AOSA exact) or forward + backward (SWAG-V, AOSA approximate)
  passes run alone on a ready-made batch;
* fast: one strided Conv3d + a linear head on 16×112×112 clips (~1–2 ms per clip) — the
  method's own time per forward pass = (wall − model time) ÷ forward passes, flow and SLIC
  included.

For AOSA it also reports, on the heavy model, the forward and backward passes of exact
occlusion and of the first-order approximation at the same masks, and the Spearman
correlation of the per-mask score drops and of the maps.

Run:  OMP_NUM_THREADS=2 python benchmarks/aosa_swagv.py [--device cuda] [--repeats R]
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import time

import torch
from removal_overhead import FastNet, smooth_clip
from scipy.stats import spearmanr

import vidxai


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _plain(model, clip, n: int, batch: int, grad: bool, device: torch.device) -> float:
    """Seconds for ``n`` forward (+ backward) passes of ready-made batches."""
    x = clip[None].expand(min(batch, n), *clip.shape).contiguous()
    _sync(device)
    t0 = time.perf_counter()
    done = 0
    while done < n:
        b = min(batch, n - done)
        if grad:
            xg = x[:b].clone().requires_grad_(True)
            out = model(xg)
            torch.autograd.grad(out[:, 0].sum(), xg)
        else:
            with torch.no_grad():
                model(x[:b])
        done += b
    _sync(device)
    return time.perf_counter() - t0


def _run(model, clip, method: str, repeats: int, **params):
    best, exp = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        exp = vidxai.explain(model, clip, method=method, progress=False, batch_size=16, **params)
        best = min(best, time.perf_counter() - t0)
    return best, exp


CASES = (
    ("aosa", {"n_stack": 3}),
    ("aosa", {"n_stack": 3, "approximate": True}),
    ("swag_v", {}),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    heavy = vidxai.load_model("r3d_18", weights=None, num_frames=8, size=56).to(device)
    fast = FastNet().eval().to(device)
    heavy_clip = smooth_clip((8, 56, 56), device)
    fast_clip = smooth_clip((16, 112, 112), device)

    print("| method | regime | forward | backward | wall (s) | model passes alone (s) | ratio |")
    print("|---|---|---|---|---|---|---|")
    exps = {}
    for regime, model, clip in (("heavy", heavy, heavy_clip), ("fast", fast, fast_clip)):
        for name, params in CASES:
            wall, exp = _run(model, clip, name, args.repeats, **params)
            grad = exp.n_backward > 0
            plain = min(
                _plain(model, clip, exp.n_forward, 16, grad, device) for _ in range(args.repeats)
            )
            label = name + (" (approximate)" if params.get("approximate") else "")
            exps[(regime, label)] = exp
            if regime == "heavy":
                extra = f"{wall / plain:.3f}"
            else:
                own_ms = 1000 * (wall - plain) / exp.n_forward
                extra = f"own {own_ms:.2f} ms / forward"
            print(
                f"| {label} | {regime} | {exp.n_forward} | {exp.n_backward} | {wall:.3f} | "
                f"{plain:.3f} | {extra} |"
            )

    exact, approx = exps[("heavy", "aosa")], exps[("heavy", "aosa (approximate)")]
    rho_d = spearmanr(exact.extras["d"], approx.extras["d"]).statistic
    rho_map = spearmanr(exact.attribution.flatten(), approx.attribution.flatten()).statistic
    print()
    print(
        "| AOSA, r3d_18 8×56×56 | masks | forward | backward | Spearman (drops) | Spearman (map) |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| exact | {exact.extras['n_masks']} | {exact.n_forward} | {exact.n_backward} | 1 | 1 |")
    print(
        f"| first-order + re-linearised ({approx.extras['relinearised']} outliers) | "
        f"{approx.extras['n_masks']} | {approx.n_forward} | {approx.n_backward} | {rho_d:.3f} | "
        f"{rho_map:.3f} |"
    )


if __name__ == "__main__":
    main()
