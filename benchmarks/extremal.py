"""Time 2D-EP, 3D-EP and STEP per iteration against the model passes they need.

Two regimes, both on the CPU with random weights:

* ``fast``: one strided Conv3d and a linear head on 16×112×112 clips (a few ms per forward +
  backward), where the method's own work decides the speed;
* ``r3d``: torchvision ``r3d_18`` on 8×56×56 clips, where the model decides.

Each variant runs ``--iters`` iterations through ``vidxai.explain`` (after one warm-up run, so
PyTorch's one-off compilation of the mask kernels is not timed; it is reported once). Columns
(medians over ``--repeats`` runs, the machine being shared):

* ``s/it``: wall time per iteration: (time of an ``--iters`` run − time of a 1-iteration run) /
  (``--iters`` − 1), so that the one-off setup (blur pyramid, final map) is not counted;
* ``fwd+bwd``: one forward + backward pass to the input of the same batch of masked clips,
  timed right after with nothing around it (the floor of any implementation);
* ``ratio``: ``s/it`` / ``fwd+bwd``;
* ``own ms/it``: ``s/it`` − ``fwd+bwd``: the method's own work per iteration;
* ``model share``: the explanation's ``inference`` timing / its wall time.

The next table compares ``A`` areas optimised jointly in one batch with the same areas run one
after another (whole runs, setup included, divided by the iterations), for each backend.

``--localisation N`` adds the ground-truth table: the bundled demo model on ``N`` held-out
synthetic clips (seeds from 20,000,000; the model was trained on seeds 0–9600), each method with
its default parameters and with its ``vidxai demo`` settings: mean AUROC of the attribution
against the actor's mask (the evidence), and seconds per clip.

Run:  OMP_NUM_THREADS=2 python benchmarks/extremal.py [--iters 20] [--regimes fast r3d]
      OMP_NUM_THREADS=2 python benchmarks/extremal.py --regimes --localisation 8
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor, nn
from torchvision.models.video import r3d_18

import vidxai.api as api
from vidxai.extremal.mask import compile_available


class FastNet(nn.Module):
    """One strided Conv3d + ReLU + global average pooling + a linear head (400 classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 16, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3))
        self.fc = nn.Linear(16, 400)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(torch.relu(self.conv(x)).mean((2, 3, 4)))


REGIMES = {
    "fast": (FastNet, 16, 112),
    "r3d": (r3d_18, 8, 56),
}
HELD_OUT_SEED = 20_000_000
STAT = statistics.median  # of the repeats; ``--quietest`` takes the minimum (a loaded machine)
CLOCK = time.perf_counter  # ``--cpu-time``: the process's CPU time (robust to other users' jobs)
VARIANTS = [
    ("ep2d", {}),
    ("ep3d", {}),
    ("step", {}),
]


def fwd_bwd(model: nn.Module, clip: Tensor, batch: int, repeats: int = 5) -> float:
    """Median seconds of one forward + backward (to the input) of ``batch`` clips."""
    x = clip.expand(batch, -1, -1, -1, -1).contiguous()
    times = []
    for _ in range(repeats + 1):
        xg = x.detach().requires_grad_(True)
        t0 = CLOCK()
        (-torch.log_softmax(model(xg), 1)[:, 0]).sum().backward()
        times.append(CLOCK() - t0)
    return statistics.median(times[1:])


def run(model, clip, method, params, iters, backend):
    t0 = CLOCK()
    exp = api.explain(
        model,
        clip[0],
        method=method,
        num_iter=iters,
        progress=False,
        backend=backend,
        **params,
    )
    return CLOCK() - t0, exp


def evidence_auroc(attribution: Tensor, mask: np.ndarray) -> float:
    """Probability that a random evidence voxel scores above a random other voxel (ties ½)."""
    scores = attribution.reshape(-1).double().numpy()
    truth = np.asarray(mask, dtype=bool).reshape(-1)
    ranks = rankdata(scores)
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    return float((ranks[truth].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def localisation(
    n_clips: int,
    backend: str,
    seed: int = HELD_OUT_SEED,
    settings: tuple[str, ...] = ("defaults", "demo"),
) -> None:
    """Mean evidence AUROC and seconds per clip on the demo model: defaults and demo settings."""
    from vidxai.core.registry import get_method
    from vidxai.data.synthetic import make_clip
    from vidxai.models.zoo import load_model

    model = load_model("vidxai-demo")
    clips = [make_clip(seed + i) for i in range(n_clips)]
    print(f"### localisation: demo model, {n_clips} held-out clips from seed {seed}, {backend}\n")
    print("| variant | settings | mean AUROC | min AUROC | s/clip |")
    print("|---|---|---|---|---|")
    for method, _ in VARIANTS:
        spec = get_method(method)
        for label in settings:
            params = spec.demo_params if label == "demo" else {}
            aurocs, seconds = [], []
            for c in clips:
                t0 = time.perf_counter()
                exp = api.explain(
                    model,
                    c.frames,
                    method=method,
                    target=c.label,
                    progress=False,
                    backend=backend,
                    **params,
                )
                seconds.append(time.perf_counter() - t0)
                aurocs.append(evidence_auroc(exp.attribution, c.mask))
            print(
                f"| {method} | {label} | {statistics.mean(aurocs):.3f} | {min(aurocs):.3f} "
                f"| {statistics.median(seconds):.1f} |",
                flush=True,
            )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=20, help="iterations per timed run (fast)")
    parser.add_argument("--r3d-iters", type=int, default=8, help="iterations per timed run (r3d)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row")
    parser.add_argument("--regimes", nargs="*", default=list(REGIMES))
    parser.add_argument("--backends", nargs="*", default=None)
    parser.add_argument("--areas", type=int, default=3, help="areas of the joint-batch table")
    parser.add_argument(
        "--localisation",
        type=int,
        default=0,
        metavar="N",
        help="also measure the evidence AUROC on N held-out clips with the demo model",
    )
    parser.add_argument("--seed", type=int, default=HELD_OUT_SEED, help="first localisation clip")
    parser.add_argument(
        "--settings", nargs="*", default=["defaults", "demo"], choices=["defaults", "demo"]
    )
    parser.add_argument(
        "--cpu-time",
        action="store_true",
        help="time with the process's CPU time (all its threads) instead of the wall clock: "
        "on a machine shared with other jobs it measures the work, not the queueing; use with "
        "OMP_NUM_THREADS=1 (model share is then not comparable and not shown)",
    )
    parser.add_argument(
        "--quietest",
        action="store_true",
        help="report the minimum over the repeats instead of the median (a shared, loaded machine)",
    )
    args = parser.parse_args()
    global STAT, CLOCK
    STAT = min if args.quietest else statistics.median
    CLOCK = time.process_time if args.cpu_time else time.perf_counter
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    backends = args.backends or (["compiled", "eager"] if compile_available() else ["eager"])
    print(
        f"{torch.get_num_threads()} threads, {args.iters} (fast) / {args.r3d_iters} (r3d) "
        f"iterations per run, {'minima' if args.quietest else 'medians'} of {args.repeats} runs"
        f"{', CPU time' if args.cpu_time else ''}\n"
    )
    joint_rows = []
    for regime in args.regimes:
        make, frames, size = REGIMES[regime]
        iters = args.r3d_iters if regime == "r3d" else args.iters
        torch.manual_seed(0)
        model = make().eval().requires_grad_(False)  # gradients to the input only, as explain
        clip = torch.rand(1, 3, frames, size, size, generator=torch.Generator().manual_seed(0))
        floor1 = fwd_bwd(model, clip, 1)
        print(
            f"### {regime}: {make.__name__}, clip {frames}×{size}×{size}, one fwd+bwd "
            f"{floor1 * 1e3:.1f} ms\n"
        )
        print(
            "| variant | backend | areas | s/it | fwd+bwd (s) | ratio | own ms/it | model share |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for backend in backends:
            for method, params in VARIANTS:
                t0 = time.perf_counter()
                run(model, clip, method, params, 2, backend)  # warm-up (compiles once)
                warm = time.perf_counter() - t0
                rows = []
                for _ in range(args.repeats):
                    seconds, exp = run(model, clip, method, params, iters, backend)
                    setup, _ = run(model, clip, method, params, 1, backend)
                    floor = fwd_bwd(model, clip, 1)
                    per_it = (seconds - setup) / (iters - 1)
                    rows.append((per_it, floor, exp.timings["inference"] / seconds))
                per_it = STAT(r[0] for r in rows)
                floor = STAT(r[1] for r in rows)
                ratio = STAT(r[0] / r[1] for r in rows)  # paired: same moment
                own = STAT(r[0] - r[1] for r in rows)
                share = STAT(r[2] for r in rows) if CLOCK is time.perf_counter else float("nan")
                note = f" (first run {warm:.0f} s)" if backend == "compiled" else ""
                print(
                    f"| {method} | {backend}{note} | 1 | {per_it:.4f} | {floor:.4f} "
                    f"| {ratio:.2f} | {own * 1e3:.1f} | {share:.2f} |",
                    flush=True,
                )
        # several areas jointly vs one after another, each backend
        areas = tuple(round(0.05 * (i + 1), 2) for i in range(args.areas))
        for backend, (method, params) in itertools.product(backends, VARIANTS):
            run(model, clip, method, {**params, "perturb_area": areas}, 2, backend)
            joint = STAT(
                run(model, clip, method, {**params, "perturb_area": areas}, iters, backend)[0]
                for _ in range(args.repeats)
            )
            alone = sum(
                STAT(
                    run(model, clip, method, {**params, "perturb_area": a}, iters, backend)[0]
                    for _ in range(args.repeats)
                )
                for a in areas
            )
            floor = fwd_bwd(model, clip, len(areas))
            joint_rows.append((regime, method, backend, areas, joint / iters, alone / iters, floor))
        print()
    if joint_rows:
        print_joint(joint_rows)
    if args.localisation:
        backend = "eager" if "eager" in backends else backends[0]
        localisation(args.localisation, backend, args.seed, tuple(args.settings))


def print_joint(joint_rows: list) -> None:
    print("### several areas: one batch vs one after another\n")
    print(
        "| regime | variant | backend | areas | joint s/it | one after another s/it | speed-up "
        "| joint fwd+bwd (s) | joint own ms/it |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for regime, method, backend, areas, joint, alone, floor in joint_rows:
        print(
            f"| {regime} | {method} | {backend} | {', '.join(map(str, areas))} | {joint:.4f} "
            f"| {alone:.4f} | {alone / joint:.2f}× | {floor:.4f} | {(joint - floor) * 1e3:.1f} |"
        )


if __name__ == "__main__":
    main()
