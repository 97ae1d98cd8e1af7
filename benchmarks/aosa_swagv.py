"""AOSA and SWAG-V: overhead over the model's own passes, and what AOSA's approximation saves.

Two regimes, as for the other methods:

* heavy: torchvision r3d_18 (random weights) on 8×56×56 clips — the ratio of the explanation's
  time to the same model calls (same batch sizes; forward, or forward + backward to the input
  where the method back-propagated) made again with nothing around them;
* fast: one strided Conv3d + a linear head on 16×112×112 clips (~1–2 ms per clip) — the
  method's own time per model pass = (explanation − model calls) ÷ passes, flow and SLIC
  included.

For AOSA it also reports the forward and backward passes of exact occlusion and of the
first-order approximation at the same masks, and the Spearman correlation of the per-mask
score drops and of the maps — on the heavy random model and on the trained demo model
(held-out synthetic clip 20 000 001), where the scores mean something.

Clock: per-process CPU time (``time.process_time``) on the CPU — run it with one thread so it
measures the work, not the machine's load — and wall time after a device synchronisation on
CUDA. Each explanation and its replayed model calls run interleaved, ``--repeats`` times; the
tables report the minimum of each.

Run:  OMP_NUM_THREADS=1 python benchmarks/aosa_swagv.py [--device cuda] [--repeats R]
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from removal_overhead import FastNet, smooth_clip
from scipy.stats import spearmanr
from torch import Tensor, nn

import vidxai


def clock(device: torch.device) -> Callable[[], float]:
    """CPU seconds of this process on the CPU; synchronised wall seconds on CUDA."""
    if device.type != "cuda":
        return time.process_time

    def wall() -> float:
        torch.cuda.synchronize(device)
        return time.perf_counter()

    return wall


@contextmanager
def recorded_calls(model: nn.Module) -> Iterator[list[list[Any]]]:
    """While active, every call of ``model`` appends ``[batch size, backward happened]``."""
    calls: list[list[Any]] = []

    def hook(_m: nn.Module, inputs: tuple[Tensor, ...], out: Tensor) -> None:
        call: list[Any] = [int(inputs[0].shape[0]), False]
        calls.append(call)
        if out.requires_grad:
            out.register_hook(lambda g, call=call: call.__setitem__(1, True))

    handle = model.register_forward_hook(hook)
    try:
        yield calls
    finally:
        handle.remove()


def replay(model: nn.Module, clip: Tensor, calls: list[list[Any]], now: Callable[[], float]):
    """Seconds to make the same calls again on a ready-made batch of ``clip`` (``C×T×H×W``)."""
    ready = clip[None].expand(max(b for b, _ in calls), *clip.shape).contiguous()
    start = now()
    for batch, backward in calls:
        if backward:
            xg = ready[:batch].clone().requires_grad_(True)
            torch.autograd.grad(model(xg)[:, 0].sum(), xg)
        else:
            with torch.no_grad():
                model(ready[:batch])
    return now() - start


def measure(model, clip, method: str, params: dict, repeats: int, now):
    """(min explanation seconds, min replay seconds, last Explanation), interleaved."""
    best, best_plain, exp = float("inf"), float("inf"), None
    for _ in range(repeats):
        with recorded_calls(model) as calls:
            start = now()
            exp = vidxai.explain(
                model, clip, method=method, progress=False, batch_size=16, **params
            )
            best = min(best, now() - start)
        best_plain = min(best_plain, replay(model, clip, calls, now))
    return best, best_plain, exp


CASES = (
    ("aosa", {"n_stack": 3}),
    ("aosa", {"n_stack": 3, "approximate": True}),
    ("swag_v", {}),
)


def overhead_table(regimes, repeats: int, now) -> dict:
    print("| method | regime | forward | backward | time (s) | model calls alone (s) | figure |")
    print("|---|---|---|---|---|---|---|")
    exps = {}
    for regime, model, clip in regimes:
        for name, params in CASES:
            spent, plain, exp = measure(model, clip, name, params, repeats, now)
            label = name + (" (approximate)" if params.get("approximate") else "")
            exps[(regime, label)] = exp
            passes = exp.n_forward
            if regime == "heavy":
                figure = f"ratio {spent / plain:.3f}"
            else:
                figure = f"own {1000 * (spent - plain) / passes:.2f} ms / pass"
            print(
                f"| {label} | {regime} | {exp.n_forward} | {exp.n_backward} | {spent:.3f} | "
                f"{plain:.3f} | {figure} |",
                flush=True,
            )
    return exps


def closeness_row(name: str, exact, approx) -> None:
    rho_d = spearmanr(exact.extras["d"], approx.extras["d"]).statistic
    rho_map = spearmanr(exact.attribution.flatten(), approx.attribution.flatten()).statistic
    saved = exact.n_forward - approx.n_forward
    print(
        f"| {name} | {exact.extras['n_masks']} | {exact.n_forward} / {exact.n_backward} | "
        f"{approx.n_forward} / {approx.n_backward} ({approx.extras['relinearised']} "
        f"re-linearised) | {saved} | {rho_d:.3f} | {rho_map:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    device = torch.device(args.device)
    now = clock(device)
    torch.manual_seed(0)
    heavy = vidxai.load_model("r3d_18", weights=None, num_frames=8, size=56).to(device)
    fast = FastNet().eval().to(device)
    regimes = (
        ("heavy", heavy, smooth_clip((8, 56, 56), device)),
        ("fast", fast, smooth_clip((16, 112, 112), device)),
    )
    print(f"torch threads: {torch.get_num_threads()}, clock: {now.__name__}\n")
    exps = overhead_table(regimes, args.repeats, now)

    from vidxai.data.synthetic import make_clip

    demo, sample = vidxai.load_model("vidxai-demo").to(device), make_clip(20_000_001)
    kw: dict[str, Any] = {"method": "aosa", "target": int(sample.label), "progress": False}
    demo_exact = vidxai.explain(demo, sample.frames, **kw)
    demo_approx = vidxai.explain(demo, sample.frames, approximate=True, **kw)
    print()
    print(
        "| AOSA (n_stack=3) | masks | exact fwd / bwd | approximate fwd / bwd | forward passes "
        "saved | Spearman (drops) | Spearman (map) |"
    )
    print("|---|---|---|---|---|---|---|")
    closeness_row(
        "r3d_18 random, 8×56×56", exps[("heavy", "aosa")], exps[("heavy", "aosa (approximate)")]
    )
    closeness_row("demo model, clip 20 000 001", demo_exact, demo_approx)


if __name__ == "__main__":
    main()
