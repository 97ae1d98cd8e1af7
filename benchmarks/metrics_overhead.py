"""Does a deletion/insertion game cost more than its forward passes?

Two regimes, as in the removal benchmark:

* an expensive model (torchvision r3d_18, random weights, 8×56×56 clips): the evaluation's wall
  time divided by the time spent inside the model's forward during that same evaluation, and by
  the time of the same number of plain forward passes on one ready-made batch (ratios ≈ 1 mean
  building the perturbed clips is free);
* a fast model (the demo network, 16×64×64), where the model is cheap enough for any
  per-step overhead to show: milliseconds per clip outside the model.

The evaluation includes the intact pass and the two games (``n_steps + 1`` clips each).

Run:  OMP_NUM_THREADS=2 python benchmarks/metrics_overhead.py [--steps 100] [--repeats 3]
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import vidxai
from vidxai.stats import mean_ci


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
    game, inside, plain = [], [], []
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
        game.append(res.timings["total"])
        inside.append(res.timings["inference"])  # model time within the same run
        plain.append(forward_only(model, x, n_forward, batch))
    game, inside, plain = game[1:], inside[1:], plain[1:]
    return {
        "model": name,
        "input": "×".join(map(str, shape[1:])),
        "clips": n_forward,
        "batch": batch,
        "game_s": statistics.median(game),
        "model_s": statistics.median(inside),
        "forward_s": statistics.median(plain),
        "ratio_inside": mean_ci([a / b for a, b in zip(game, inside)]),
        "ratio_plain": mean_ci([a / b for a, b in zip(game, plain)]),
        "overhead_ms": 1000 * statistics.median([a - b for a, b in zip(game, inside)]) / n_forward,
        "forward_ms": 1000 * statistics.median(plain) / n_forward,
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
        "| model | input | clips | batch | evaluation s | of which model s | game / model time | "
        "plain forward s | game / plain forward | overhead ms per clip | forward ms per clip |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for key in ("ratio_inside", "ratio_plain"):
            cells.append(r[key].format())
        print(
            f"| {r['model']} | {r['input']} | {r['clips']} | {r['batch']} | {r['game_s']:.2f} | "
            f"{r['model_s']:.2f} | {cells[0]} | {r['forward_s']:.2f} | {cells[1]} | "
            f"{r['overhead_ms']:.2f} | {r['forward_ms']:.2f} |"
        )
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
