"""Time 2D-EP, 3D-EP and STEP per iteration against the model passes they need.

Two regimes, both on the CPU with random weights:

* ``fast``: one strided Conv3d and a linear head on 16×112×112 clips (a few ms per forward +
  backward), where the method's own work decides the speed;
* ``r3d``: torchvision ``r3d_18`` on 8×56×56 clips, where the model decides.

Clock. By default the process's **CPU time** with **one thread** (``time.process_time``,
``torch.set_num_threads(1)``): on a machine shared with other jobs it measures this process's
work rather than the queueing (other jobs still inflate it through cache and memory-bandwidth
contention, so compare within one run). ``--wall --threads 2`` times the wall clock instead.
Every row is the **minimum** over ``--repeats`` runs, the variants and backends **interleaved**
(each repeat runs every row once), after one warm-up run per row (which compiles the kernels of
the ``compiled`` backend once; its duration is reported). The load average is printed before
and after. Columns:

* ``s/it``: time per iteration: (time of an ``--iters`` run − time of a 1-iteration run) /
  (``--iters`` − 1), so that the one-off setup (blur pyramid, final map) is not counted. With
  ``--skip S`` one run of ``S + iters`` iterations is stamped at the start of every iteration
  (the mask generator is wrapped) and ``s/it`` is the mean over iterations ``S + 1 … S +
  iters``: late in the optimisation instead of right after the initialisation (where the mask
  is flat and its many tied values send the area term down its slower tie-breaking path);
* ``fwd+bwd``: one forward + backward pass to the input of the same batch of masked clips,
  timed right after with nothing around it (the floor of any implementation);
* ``ratio``: ``s/it`` / ``fwd+bwd``;
* ``own ms/it``: ``s/it`` − ``fwd+bwd`` (paired, same repeat): the method's own work per
  iteration.

``--clips N`` (default 3) adds the batch table: ``N`` clips explained in one call (one engine
forward + backward of all clips per iteration) against the same clips one call after another.
``--areas A`` adds the table of ``A`` areas in one call against one area at a time.

``--localisation N`` adds the ground-truth table: the bundled demo model on ``N`` held-out
synthetic clips (seeds from 20,000,000; the model was trained on seeds 0–9600), each method with
its default parameters and with its ``vidxai demo`` settings: mean AUROC of the attribution
against the actor's mask (the evidence), and seconds per clip.

Run:  python benchmarks/extremal.py [--iters 20] [--regimes fast r3d] [--backends eager]
      python benchmarks/extremal.py --regimes --localisation 8
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from scipy.stats import rankdata
from torch import Tensor, nn
from torchvision.models.video import r3d_18

import vidxai.api as api
from vidxai.extremal.mask import SmoothMaskGenerator, compile_available


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
CLOCK = time.process_time  # ``--wall``: time.perf_counter
VARIANTS = [
    ("ep2d", {}),
    ("ep3d", {}),
    ("step", {}),
]


def fwd_bwd(model: nn.Module, clip: Tensor, batch: int, repeats: int = 5) -> float:
    """Fastest of ``repeats`` forward + backward passes (to the input) of ``batch`` clips."""
    x = clip.expand(batch, -1, -1, -1, -1).contiguous()
    times = []
    for _ in range(repeats + 1):
        xg = x.detach().requires_grad_(True)
        t0 = CLOCK()
        (-torch.log_softmax(model(xg), 1)[:, 0]).sum().backward()
        times.append(CLOCK() - t0)
    return min(times[1:])


def run(model, clips, method, params, iters, backend):
    """Seconds of one ``explain`` call on ``clips`` (N×C×T×H×W; one clip: a single call)."""
    video = clips[0] if len(clips) == 1 else list(clips)
    t0 = CLOCK()
    exp = api.explain(
        model, video, method=method, num_iter=iters, progress=False, backend=backend, **params
    )
    return CLOCK() - t0, exp


def load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


@contextmanager
def stamped() -> Iterator[list[float]]:
    """Clock stamps at every call of the mask generator (once per iteration, once at the end)."""
    original = SmoothMaskGenerator.generate
    stamps: list[float] = []

    def generate(self, params):
        stamps.append(CLOCK())
        return original(self, params)

    SmoothMaskGenerator.generate = generate
    try:
        yield stamps
    finally:
        SmoothMaskGenerator.generate = original


def late_seconds(model, clip, method, params, iters, backend, skip) -> float:
    """Mean seconds of iterations ``skip + 1 … skip + iters`` of one run."""
    with stamped() as stamps:
        run(model, clip, method, params, skip + iters, backend)
    return (stamps[skip + iters] - stamps[skip]) / iters


def table_rows(backends) -> tuple[list, dict, dict]:
    """``(keys, params, rows)`` of a table: every (backend, variant) in interleaving order, the
    variants' parameters, and an empty list of measurements per key."""
    keys = list(itertools.product(backends, [m for m, _ in VARIANTS]))
    return keys, dict(VARIANTS), {k: [] for k in keys}


def per_iteration(model, clip, backends, iters, repeats, skip=0) -> None:
    """The main table: s/it, fwd+bwd, ratio, own ms/it per backend and variant, interleaved
    (``skip`` > 0: iterations ``skip + 1 … skip + iters`` of a run)."""
    print("| variant | backend | s/it | fwd+bwd (s) | ratio | own ms/it |")
    print("|---|---|---|---|---|---|")
    keys, params, rows = table_rows(backends)
    warm = {}
    for backend, method in keys:
        t0 = time.perf_counter()
        run(model, clip, method, params[method], 2, backend)  # warm-up (compiles once)
        warm[backend, method] = time.perf_counter() - t0
    for _ in range(repeats):
        for backend, method in keys:
            if skip:
                per_it = late_seconds(model, clip, method, params[method], iters, backend, skip)
            else:
                seconds, _ = run(model, clip, method, params[method], iters, backend)
                setup, _ = run(model, clip, method, params[method], 1, backend)
                per_it = (seconds - setup) / (iters - 1)
            rows[backend, method].append((per_it, fwd_bwd(model, clip, 1)))
    for (backend, method), r in rows.items():
        per_it, floor = min(x[0] for x in r), min(x[1] for x in r)
        ratio = min(x[0] / x[1] for x in r)  # paired: same repeat
        own = min(x[0] - x[1] for x in r)
        note = f" (warm-up {warm[backend, method]:.0f} s)" if backend == "compiled" else ""
        print(
            f"| {method} | {backend}{note} | {per_it:.4f} | {floor:.4f} | {ratio:.2f} "
            f"| {own * 1e3:.1f} |",
            flush=True,
        )
    print()


def batch_of_clips(model, clip, backends, iters, repeats, n_clips) -> None:
    """N clips in one call against the same clips one call after another (whole runs, setup
    included, per iteration)."""
    gen = torch.Generator().manual_seed(1)
    clips = torch.rand(n_clips, *clip.shape[1:], generator=gen)
    print(f"N = {n_clips} clips: one call against one call per clip (s/it, setup included)\n")
    print("| variant | backend | one call s/it | one by one s/it | speed-up | fwd+bwd N, 1 (s) |")
    print("|---|---|---|---|---|---|")
    keys, params, rows = table_rows(backends)
    for backend, method in keys:
        run(model, clips, method, params[method], 2, backend)
    for _ in range(repeats):
        for backend, method in keys:
            joint, _ = run(model, clips, method, params[method], iters, backend)
            alone = sum(
                run(model, c[None], method, params[method], iters, backend)[0] for c in clips
            )
            rows[backend, method].append((joint / iters, alone / iters))
    floors = (fwd_bwd(model, clip, n_clips), fwd_bwd(model, clip, 1))
    for (backend, method), r in rows.items():
        joint, alone = min(x[0] for x in r), min(x[1] for x in r)
        print(
            f"| {method} | {backend} | {joint:.4f} | {alone:.4f} | {alone / joint:.2f}× "
            f"| {floors[0]:.4f}, {floors[1]:.4f} |",
            flush=True,
        )
    print()


def joint_areas(model, clip, backends, iters, repeats, n_areas) -> None:
    """A areas in one call against one area at a time (whole runs, per iteration)."""
    areas = tuple(round(0.05 * (i + 1), 2) for i in range(n_areas))
    print(f"areas {', '.join(map(str, areas))}: one call against one area at a time\n")
    print("| variant | backend | joint s/it | one after another s/it | speed-up |")
    print("|---|---|---|---|---|")
    keys, params, rows = table_rows(backends)
    for _ in range(repeats):
        for backend, method in keys:
            joint, _ = run(
                model, clip, method, {**params[method], "perturb_area": areas}, iters, backend
            )
            alone = sum(
                run(model, clip, method, {**params[method], "perturb_area": a}, iters, backend)[0]
                for a in areas
            )
            rows[backend, method].append((joint / iters, alone / iters))
    for (backend, method), r in rows.items():
        joint, alone = min(x[0] for x in r), min(x[1] for x in r)
        print(f"| {method} | {backend} | {joint:.4f} | {alone:.4f} | {alone / joint:.2f}× |")
    print()


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
    parser.add_argument("--r3d-iters", type=int, default=6, help="iterations per timed run (r3d)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per row (minimum)")
    parser.add_argument(
        "--skip", type=int, default=0, help="time iterations after the first SKIP of a run"
    )
    parser.add_argument("--regimes", nargs="*", default=list(REGIMES))
    parser.add_argument("--backends", nargs="*", default=None)
    parser.add_argument("--clips", type=int, default=3, help="clips of the batch table (0: none)")
    parser.add_argument("--areas", type=int, default=0, help="areas of the joint table (0: none)")
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
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument(
        "--wall",
        action="store_true",
        help="time the wall clock instead of the process's CPU time (a quiet machine only)",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.wall else time.process_time
    torch.set_num_threads(args.threads)
    backends = args.backends or (["eager", "compiled"] if compile_available() else ["eager"])
    print(
        f"{torch.get_num_threads()} thread(s), {'wall clock' if args.wall else 'CPU time'}, "
        f"{args.iters} (fast) / {args.r3d_iters} (r3d) iterations per run, minima of "
        f"{args.repeats} interleaved runs, after {args.skip} iterations; load average {load()}\n"
    )
    for regime in args.regimes:
        make, frames, size = REGIMES[regime]
        iters = args.r3d_iters if regime == "r3d" else args.iters
        torch.manual_seed(0)
        model = make().eval().requires_grad_(False)  # gradients to the input only, as explain
        clip = torch.rand(1, 3, frames, size, size, generator=torch.Generator().manual_seed(0))
        print(
            f"### {regime}: {make.__name__}, clip {frames}×{size}×{size}, one fwd+bwd "
            f"{fwd_bwd(model, clip, 1) * 1e3:.1f} ms\n"
        )
        per_iteration(model, clip, backends, iters, args.repeats, args.skip)
        if args.clips > 1:
            batch_of_clips(model, clip, backends, iters, args.repeats, args.clips)
        if args.areas > 1:
            joint_areas(model, clip, backends, iters, args.repeats, args.areas)
        print(f"load average after {regime}: {load()}\n", flush=True)
    if args.localisation:
        backend = "eager" if "eager" in backends else backends[0]
        localisation(args.localisation, backend, args.seed, tuple(args.settings))


if __name__ == "__main__":
    main()
