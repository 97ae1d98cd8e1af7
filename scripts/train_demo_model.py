"""Train the bundled demo model (``DemoNet``) on the synthetic benchmark, deterministically.

Usage (from the repository root; a few minutes on two CPU threads)::

    python scripts/train_demo_model.py                  # writes src/vidxai/data/demo_model.pt/.json
    python scripts/train_demo_model.py --out /tmp/demo  # writes /tmp/demo.pt and /tmp/demo.json

Training clips are drawn on the fly from the seeds ``0, 1, 2, …`` (each clip is seen once);
held-out clips come from a disjoint seed range starting at ``--eval-seed``. The script also
reports the held-out accuracy on the same clips with their frames shuffled in time (a model that
uses the motion falls towards 50 %: shuffling destroys the direction but not the axis, since the
actor's positions still lie on one row or column) and how often a clip played backwards is given
the opposite class (it should be: a reversed clip is a clip of the opposite class). Weights are
written only when the held-out accuracy reaches ``--min-accuracy``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from vidxai.data.demo_model import DEMO_WEIGHTS_PATH, DemoNet, frames_to_input
from vidxai.data.synthetic import SyntheticConfig, make_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="optimiser steps")
    p.add_argument("--batch-size", type=int, default=32, help="clips per step (multiple of 4)")
    p.add_argument("--lr", type=float, default=4e-3, help="peak learning rate (AdamW, one cycle)")
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0, help="weight-initialisation seed")
    p.add_argument("--eval-seed", type=int, default=10_000_000, help="first held-out clip seed")
    p.add_argument("--eval-clips", type=int, default=1000, help="held-out clips")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (fixed)")
    p.add_argument("--min-accuracy", type=float, default=0.95, help="write weights only above")
    p.add_argument(
        "--out", type=Path, default=DEMO_WEIGHTS_PATH.with_suffix(""), help="output path stem"
    )
    return p.parse_args(argv)


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 100) -> float:
    """Top-1 accuracy of ``model`` on x N×3×T×H×W with labels y N."""
    model.eval()
    hits = 0
    for i in range(0, len(x), batch_size):
        hits += int((model(x[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
    return hits / len(x)


def shuffle_time(x: Tensor, generator: torch.Generator) -> Tensor:
    """x N×C×T×H×W -> the same clips with each clip's frames in a random order."""
    n, _, t = x.shape[:3]
    order = torch.argsort(torch.rand(n, t, generator=generator), dim=1)  # N×T
    index = order[:, None, :, None, None].expand_as(x)
    return torch.gather(x, 2, index)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.batch_size % 4:
        sys.exit("--batch-size must be a multiple of 4 (balanced batches)")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(args.seed)
    config = SyntheticConfig()

    model = DemoNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.15
    )
    loss_fn = nn.CrossEntropyLoss()
    if args.eval_seed < args.steps * args.batch_size:
        sys.exit("--eval-seed overlaps the training seeds")

    start = time.perf_counter()
    gen_seconds = 0.0
    running = []
    for step in range(args.steps):
        t_gen = time.perf_counter()
        data = make_dataset(args.batch_size, step * args.batch_size, config)
        x, y = frames_to_input(data.frames), torch.from_numpy(data.labels)
        gen_seconds += time.perf_counter() - t_gen
        model.train()
        logits = model(x)
        loss = loss_fn(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running.append((loss.item(), (logits.detach().argmax(1) == y).float().mean().item()))
        if (step + 1) % 50 == 0 or step + 1 == args.steps:
            mean_loss = sum(r[0] for r in running) / len(running)
            mean_acc = sum(r[1] for r in running) / len(running)
            running.clear()
            elapsed = time.perf_counter() - start
            print(
                f"step {step + 1:5d}  loss {mean_loss:.4f}  train acc {mean_acc:.3f}  "
                f"{elapsed:6.1f} s",
                flush=True,
            )
    train_seconds = time.perf_counter() - start

    held = make_dataset(args.eval_clips, args.eval_seed, config)
    x_eval, y_eval = frames_to_input(held.frames), torch.from_numpy(held.labels)
    acc = accuracy(model, x_eval, y_eval)
    shuffled = shuffle_time(x_eval, torch.Generator().manual_seed(args.seed))
    acc_shuffled = accuracy(model, shuffled, y_eval)
    # A clip played backwards is a clip of the opposite direction: left<->right, up<->down.
    acc_reversed = accuracy(model, x_eval.flip(2), y_eval ^ 1)
    print(
        f"held-out accuracy {acc:.4f}  time-shuffled {acc_shuffled:.4f}  "
        f"time-reversed (opposite label) {acc_reversed:.4f}  ({train_seconds:.0f} s)"
    )

    record = {
        "held_out_accuracy": acc,
        "time_shuffled_accuracy": acc_shuffled,
        "time_reversed_opposite_accuracy": acc_reversed,
        "held_out_seeds": [args.eval_seed, args.eval_seed + args.eval_clips],
        "train_seeds": [0, args.steps * args.batch_size],
        "train_seconds": round(train_seconds, 1),
        "data_seconds": round(gen_seconds, 1),
        "init_seed": args.seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "weight_decay": args.weight_decay,
        "threads": args.threads,
        "torch": torch.__version__,
        "synthetic_config": dataclasses.asdict(config),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    if not math.isfinite(acc) or acc < args.min_accuracy:
        print(f"held-out accuracy {acc:.4f} < {args.min_accuracy}: weights not written")
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out.with_suffix(".pt"))
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out.with_suffix('.pt')} and {args.out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
