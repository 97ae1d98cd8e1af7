"""Time every gradient and CAM method against the model passes it needs.

Model: torchvision ``r3d_18`` with random weights (400 classes), one clip of 8×56×56, on the CPU.
Each method runs through ``vidxai.explain``; a recording wrapper notes every model call (batch
size, and whether a gradient flowed back through it). Clock: per-process CPU time
(``time.process_time``; run with ``OMP_NUM_THREADS=1`` so that it counts the work, not the load of
a shared machine). Each method's explain call, its replayed model calls and one forward +
backward pass run interleaved, ``--repeats`` times; every column is the minimum over the repeats
(the least disturbed run). Columns:

* ``time``: CPU time of the explain call;
* ``model``: the part of it spent in the model's forward/backward passes (the explanation's
  ``inference`` timing, which is wall time); ``overhead`` = the explain call's wall time / model —
  what the method adds around its passes, both measured on the same wall clock in the same run;
* ``replay``: time / the same model calls made again right after (same batch sizes, forward, or
  forward + backward to the input) with nothing around them — the floor of any implementation
  making these calls;
* ``unbatched``: time / the same clips passed one at a time (the issue's reference, where
  Captum's integrated gradients measured 0.98);
* ``to 1 fwd+bwd``: time / one forward + backward pass of one clip, timed right after;
* ``own ms / pass``: (time − replay) / clips through the model — the method's own work per clip
  pass, the figure that matters in the fast regime.

Regimes (``--model``): ``r3d_18`` (heavy: the model decides) or ``fast`` (one strided Conv3d +
a linear head on 16×112×112 clips, ≈ 1–2 ms per clip: the method's own work decides; CAM
methods read its convolution, ``layer="conv"``).

Run:  OMP_NUM_THREADS=1 python benchmarks/gradient_cam.py [--model r3d_18|fast] [--only METHOD ...]
      [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from removal_overhead import FastNet
from torch import Tensor, nn
from torchvision.models.video import r3d_18

import vidxai.api as api
from vidxai.errors import UnsupportedModelError

METHODS = [
    ("saliency", {}),
    ("grad_x_input", {}),
    ("integrated_gradients", {"n_steps": 32}),
    ("smoothgrad", {"n_samples": 25}),
    ("smoothgrad", {"n_samples": 8, "base": "integrated_gradients", "n_steps": 4}),
    ("gradcam", {}),
    ("gradcam", {"per_time_slice": True}),
    ("gradcampp", {}),
    ("layercam", {}),
    ("saliency_tubes", {}),
    ("class_feature_pyramids", {}),
    ("scorecam", {}),
    ("xgradcam", {}),
    ("hirescam", {}),
    ("eigencam", {}),
    ("smooth_gradcampp", {}),
    ("ablationcam", {"max_channels": 64}),
    ("sscam", {"max_channels": 32, "n_samples": 4}),
    ("iscam", {"max_channels": 32, "n_samples": 4}),
    ("selective_relevance", {"base": "gradcam"}),
    ("selective_relevance", {"base": "saliency"}),
]
CAMS = {"gradcam", "gradcampp", "layercam", "scorecam", "saliency_tubes"}
CAMS |= {"xgradcam", "hirescam", "eigencam", "smooth_gradcampp", "ablationcam", "sscam", "iscam"}
CAMS |= {"selective_relevance"}


class Recorder(nn.Module):
    """Calls the model and records ``[batch size, backward happened]`` per call."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.inner = model
        self.calls: list[list] = []

    def forward(self, x: Tensor) -> Tensor:
        out = self.inner(x)
        call = [int(x.shape[0]), False]
        self.calls.append(call)
        if out.requires_grad:
            out.register_hook(lambda g, call=call: call.__setitem__(1, True))
        return out


def replay(model: nn.Module, clip: Tensor, calls: list[list]) -> float:
    """Seconds to make the same model calls again (same batch sizes; backward to the input —
    input gradients only, as every method needs — where the method back-propagated), with
    nothing else around them (CPU seconds)."""
    t0 = time.process_time()
    for batch, backward in calls:
        x = clip.expand(batch, -1, -1, -1, -1)
        if backward:
            xg = x.detach().requires_grad_(True)
            torch.autograd.grad(torch.softmax(model(xg), 1)[:, 0].sum(), xg)
        else:
            with torch.no_grad():
                model(x)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["r3d_18", "fast"], default="r3d_18")
    parser.add_argument("--frames", type=int, default=None, help="r3d_18: 8, fast: 16")
    parser.add_argument("--size", type=int, default=None, help="r3d_18: 56, fast: 112")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per method")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--only", nargs="*", help="method names to run")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    torch.manual_seed(0)
    fast = args.model == "fast"
    args.frames = args.frames or (16 if fast else 8)
    args.size = args.size or (112 if fast else 56)
    model = Recorder((FastNet() if fast else r3d_18()).eval())
    gen = torch.Generator().manual_seed(0)
    clip = torch.rand(1, 3, args.frames, args.size, args.size, generator=gen)
    inner = model.inner
    replay(inner, clip, [[1, True], [args.batch_size, False]])  # warm-up
    fb1 = min(replay(inner, clip, [[1, True]]) for _ in range(3))
    f1 = min(replay(inner, clip, [[1, False]]) for _ in range(3))
    fb_batch = replay(inner, clip, [[args.batch_size, False]]) / args.batch_size
    print(
        f"{args.model} (random weights), clip {args.frames}x{args.size}x{args.size}, "
        f"{torch.get_num_threads()} threads, CPU time, batch size {args.batch_size}; one clip: "
        "forward "
        f"{f1 * 1e3:.0f} ms, forward+backward {fb1 * 1e3:.0f} ms; forward in a batch: "
        f"{fb_batch * 1e3:.0f} ms/clip\n"
    )
    api.explain(model, clip[0], method="saliency", progress=False)  # warm-up: method imports
    print(
        "| method | params | time (s) | clips fwd / bwd | model (s) | overhead | replay "
        "| unbatched | to 1 fwd+bwd | own ms / pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, params in METHODS:
        if args.only and name not in args.only:
            continue
        runs = []
        if fast and name == "selective_relevance" and params.get("base") in CAMS:
            params = {**params, "base_params": {"layer": "inner.conv"}}
        elif fast and name in CAMS and name != "selective_relevance":
            params = {"layer": "inner.conv", **params}
        for _ in range(args.repeats):
            model.calls.clear()
            t0, w0 = time.process_time(), time.perf_counter()
            try:
                exp = api.explain(
                    model, clip[0], method=name, progress=False, batch_size=args.batch_size,
                    **params,
                )  # fmt: skip
            except UnsupportedModelError as exc:  # e.g. saliency tubes without a GAP head
                exp = None
                print(f"| {name} | not applicable: {str(exc)[:60]}… | | | | | | | | |")
                break
            seconds, wall = time.process_time() - t0, time.perf_counter() - w0
            again = replay(inner, clip, list(model.calls))
            one = replay(inner, clip, [[1, True]])
            runs.append((seconds, exp.timings["inference"], again, one, wall))

        if exp is None:
            continue

        def best(fn, runs=runs):  # the least disturbed run: the minimum over the repeats
            return min(fn(*r) for r in runs)

        n_f, n_b = exp.n_forward, exp.n_backward
        unbatched = n_b * fb1 + (n_f - n_b) * f1
        shown = ", ".join(f"{k}={v}" for k, v in params.items())
        cpu = best(lambda t, m, a, o, w: t)
        to_fb = f"{best(lambda t, m, a, o, w: t / o):.2f}" if name in CAMS else ""
        own = best(lambda t, m, a, o, w: t - a) * 1e3 / max(1, n_f)
        print(
            f"| {name} | {shown} | {cpu:.2f} | {n_f} / {n_b} "
            f"| {best(lambda t, m, a, o, w: m):.2f} | {best(lambda t, m, a, o, w: w / m):.3f} "
            f"| {best(lambda t, m, a, o, w: t / a):.2f} | {cpu / unbatched:.2f} | {to_fb} "
            f"| {own:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
