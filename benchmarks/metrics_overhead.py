"""Does a deletion/insertion game cost more than its forward passes?

Two regimes, as in the removal benchmark:

* an expensive model (torchvision r3d_18, random weights, 8×56×56 clips): the game's time divided
  by the time of the same number of plain forward passes on ready-made batches (ratio ≈ 1 means
  building the perturbed clips is free);
* a fast model (the demo network, 16×64×64), where the model is cheap enough for any
  per-step overhead to show: milliseconds per step of the whole game and of its forward passes.

Run:  OMP_NUM_THREADS=2 python benchmarks/metrics_overhead.py [--steps 100] [--repeats 3]
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import vidxai
from vidxai.metrics.benchmark import mean_ci


def forward_only(model: torch.nn.Module, x: torch.Tensor, n: int, batch: int) -> float:
    """Seconds for ``n`` clips through ``model`` in batches of ``batch`` (clips prebuilt)."""
    ready = x.expand(batch, *x.shape[1:]).clone()
    start = time.perf_counter()
    with torch.no_grad():
        done = 0
        while done < n:
            b = min(batch, n - done)
            model(ready[:b])
            done += b
    return time.perf_counter() - start


def measure(name: str, model, shape, steps: int, batch: int, repeats: int) -> dict:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, *shape, generator=g)
    attribution = torch.rand(shape[1:], generator=g)
    model.eval()
    game, plain = [], []
    n_forward = 0
    for _ in range(repeats + 1):  # the first round warms up
        res = vidxai.evaluate(
            model,
            x[0],
            attribution,
            metrics=["deletion", "insertion"],
            n_steps=steps,
            batch_size=batch,
            target=0,
        )
        n_forward = res.n_forward
        game.append(res.timings["deletion"] + res.timings["insertion"])
        plain.append(forward_only(model, x, n_forward - 1, batch))
    game, plain = game[1:], plain[1:]
    ratios = [a / b for a, b in zip(game, plain)]
    n_steps_total = n_forward - 1
    return {
        "model": name,
        "input": "×".join(map(str, shape[1:])),
        "clips": n_steps_total,
        "batch": batch,
        "game_s": statistics.median(game),
        "forward_s": statistics.median(plain),
        "ratio": mean_ci(ratios),
        "game_ms_per_step": 1000 * statistics.median(game) / n_steps_total,
        "forward_ms_per_step": 1000 * statistics.median(plain) / n_steps_total,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args()
    from vidxai.data.demo_model import DemoNet
    from vidxai.models.zoo import load_model

    r3d = load_model("r3d_18", weights=None).module
    rows = [
        measure("r3d_18", r3d, (3, 8, 56, 56), args.steps, args.batch, args.repeats),
        measure("demo net", DemoNet(), (3, 16, 64, 64), args.steps, args.batch, args.repeats),
    ]
    print(
        "| model | input | clips (2 games) | batch | game s | forward-only s | ratio | "
        "game ms/clip | forward ms/clip |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mean, half = r["ratio"]
        ci = f" ± {half:.3f}" if half is not None else ""
        print(
            f"| {r['model']} | {r['input']} | {r['clips']} | {r['batch']} | {r['game_s']:.2f} | "
            f"{r['forward_s']:.2f} | {mean:.3f}{ci} | {r['game_ms_per_step']:.2f} | "
            f"{r['forward_ms_per_step']:.2f} |"
        )
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
