"""Do the REVEX presets cost more than their forward passes?

For every removal preset this runs ``vidxai.explain`` and, in the same run, the same number of
plain forward passes of the same model at the same batch size on a ready-made batch. Two regimes:

* heavy: torchvision r3d_18 (random weights) on 8×56×56 clips; the interesting figure is the
  overhead ratio = wall time of the explanation ÷ time of its forward passes alone;
* fast: one strided Conv3d + a linear head on 16×112×112 clips (~1–2 ms per clip), where the
  explainer's own work decides; the interesting figure is its own time per sample =
  (wall − model time) ÷ forward passes, segmentation included.

Three views of the same overhead, because a shared machine makes the difference of two large
timings noisy: (1) as the issue defines it, against a separate run of the same forward passes;
(2) in-run, from the explanation's own timing breakdown (total ÷ time inside the model);
(3) the explainer alone, with the model replaced by a stub that returns zeros instantly.

It also times SLIC supervoxels (REVEX settings) on 16×112×112 and 32×224×224 clips.

``--regime batch``: N clips explained in one call (their rows pooled into shared engine
batches) against N one-clip calls, per-process CPU time (``time.process_time``; run it with
``OMP_NUM_THREADS=1``) and the number of model calls.

Run:  OMP_NUM_THREADS=2 python benchmarks/removal_overhead.py [--regime heavy|fast|both|batch]
      [--quick] [--device cuda] [--batch-size N] [--repeats R]
Each preset and its plain forward passes run R times interleaved; the table reports the minimum
of each (the least disturbed time on a shared machine).
``--quick`` uses fewer samples / segments (listed in the table's settings column).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

import vidxai
from vidxai.core.registry import list_methods
from vidxai.removal.segment import SupervoxelSegmenter

PRESETS = ("lime3d", "kernel_shap3d", "rise3d", "loco", "univariate", "occlusion3d")

QUICK = {
    "lime3d": {"n_samples": 60, "n_segments": 40},
    "kernel_shap3d": {"n_samples": 60, "n_segments": 40},
    "rise3d": {"n_samples": 60},
    "loco": {"n_segments": 40},
    "univariate": {"n_segments": 40},
    "occlusion3d": {"kernel": (2, 4, 4), "stride": (1, 1, 1)},
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def smooth_clip(shape: tuple[int, int, int], device: torch.device, seed: int = 0) -> torch.Tensor:
    """A ``3×T×H×W`` clip in [0, 1] with blob structure and a moving bright square."""
    g = torch.Generator().manual_seed(seed)
    t, h, w = shape
    coarse = torch.rand(1, 3, max(2, t // 4), max(2, h // 8), max(2, w // 8), generator=g)
    clip = F.interpolate(coarse, size=shape, mode="trilinear", align_corners=False)[0]
    side = h // 4
    for i in range(t):
        left = (i * (w - side)) // max(1, t - 1)
        clip[:, i, h // 3 : h // 3 + side, left : left + side] = 0.95
    return clip.to(device)


class FastNet(nn.Module):
    """One strided Conv3d + ReLU + global pooling + linear head (≈1–2 ms per 16×112×112 clip)."""

    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, width, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3))
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean((2, 3, 4)))


def heavy_model() -> nn.Module:
    from torchvision.models.video import r3d_18

    torch.manual_seed(0)
    return r3d_18(weights=None)


def model_only(
    model: nn.Module, x: torch.Tensor, batches: list[int], device: torch.device
) -> float:
    """Seconds for the given batch sizes through ``model`` on a ready-made batch."""
    ready = x.unsqueeze(0).expand(max(batches), *x.shape).contiguous()
    sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        for b in batches:
            model(ready[:b])
    sync(device)
    return time.perf_counter() - start


def batch_plan(n_forward: int, batch: int) -> list[int]:
    """The batches ``explain`` ran: the intact clip alone, then the samples in batches."""
    rest = n_forward - 1
    return [1] + [batch] * (rest // batch) + ([rest % batch] if rest % batch else [])


def run_regime(
    name: str,
    make_model: Callable[[], nn.Module],
    shape: tuple[int, int, int],
    batch: int,
    device: torch.device,
    quick: bool,
    repeats: int,
) -> list[dict]:
    model = make_model().eval().to(device)
    x = smooth_clip(shape, device)
    with torch.no_grad():  # warm up kernels and allocator
        model(x.unsqueeze(0).expand(batch, *x.shape).contiguous())
    list_methods()  # import every method package once, outside the timings
    vidxai.explain(
        model,
        x,
        "loco",
        segmentation="grid",
        grid=(1, 1, 2),
        batch_size=batch,
        progress=False,
        device=device,
    )
    stub = Stub(int(model(x.unsqueeze(0)).shape[1])).to(device)
    rows = []
    for method in PRESETS:
        params = QUICK[method] if quick else {}
        runs, plains, alone = [], [], []
        for _ in range(repeats):  # interleaved; the minimum is the least disturbed time
            sync(device)
            start = time.perf_counter()
            exp = vidxai.explain(
                model, x, method, batch_size=batch, progress=False, device=device, **params
            )
            sync(device)
            runs.append((time.perf_counter() - start, exp))
            plains.append(model_only(model, x, batch_plan(exp.n_forward, batch), device))
            start = time.perf_counter()
            vidxai.explain(
                stub, x, method, batch_size=batch, progress=False, device=device, **params
            )
            sync(device)
            alone.append(time.perf_counter() - start)
        wall, exp = min(runs, key=lambda r: r[0])
        plain = min(plains)
        n = exp.n_forward
        t = exp.timings
        row = {
            "regime": name,
            "preset": method,
            "settings": ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults",
            "passes": n,
            "wall": wall,
            "model": plain,
            "ratio": wall / plain,
            "own_ms": 1e3 * (wall - plain) / n,
            "inrun_ratio": t["total"] / t["inference"],
            "inrun_own_ms": 1e3 * (t["total"] - t["inference"]) / n,
            "alone_ms": 1e3 * min(alone) / n,
            "seg": t["segmentation"],
        }
        rows.append(row)
        print(
            f"  {name:5s} {method:13s} passes={n:5d} wall={wall:7.2f}s model={plain:7.2f}s "
            f"ratio={row['ratio']:5.3f} in-run={row['inrun_ratio']:5.3f} "
            f"own={row['own_ms']:6.3f} in-run own={row['inrun_own_ms']:6.3f} "
            f"alone={row['alone_ms']:6.3f} ms/sample",
            flush=True,
        )
    return rows


#: Presets of the batch regime: few rows per clip, where a clip alone leaves batches part-empty.
BATCH_CASES = {
    "loco": {"segmentation": "grid", "grid": (2, 2, 2)},
    "occlusion3d": {"kernel": (2, 4, 4), "stride": (1, 1, 1)},
    "rise3d": {"n_samples": 24},
}


class CallCount(nn.Module):
    """Counts forward calls of the wrapped model."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x)


def batch_regime(n_clips: int, batch: int, repeats: int, device: torch.device) -> list[dict]:
    """CPU seconds of one call on ``n_clips`` clips vs ``n_clips`` one-clip calls (min of
    ``repeats`` interleaved runs), FastNet on 8×56×56 clips."""
    model = CallCount(FastNet().eval().to(device))
    x = torch.stack([smooth_clip((8, 56, 56), device, seed=i) for i in range(n_clips)])
    list_methods()
    rows = []
    for method, params in BATCH_CASES.items():
        opts = {"batch_size": batch, "progress": False, "device": device, **params}
        times: dict[str, list[float]] = {"pooled": [], "alone": []}
        calls = {}
        for _ in range(repeats):
            for mode in ("pooled", "alone"):  # interleaved
                model.calls = 0
                start = time.process_time()
                if mode == "pooled":
                    vidxai.explain(model, x, method, **opts)
                else:
                    for clip in x:
                        vidxai.explain(model, clip, method, **opts)
                times[mode].append(time.process_time() - start)
                calls[mode] = model.calls
        pooled, alone = min(times["pooled"]), min(times["alone"])
        rows.append(
            {
                "preset": method,
                "settings": ", ".join(f"{k}={v}" for k, v in params.items()),
                "calls": (calls["pooled"], calls["alone"]),
                "cpu": (pooled, alone),
            }
        )
        print(f"  batch {method:12s} pooled={pooled:.3f}s alone={alone:.3f}s {calls}", flush=True)
    return rows


def print_batch_table(rows: list[dict], n_clips: int, batch: int) -> None:
    print(f"\n{n_clips} clips 3×8×56×56, FastNet, batch_size={batch}; CPU s = min of repeats\n")
    print("| preset | settings | model calls pooled / alone | CPU s pooled | CPU s alone | ratio |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        (cp, ca), (tp, ta) = r["calls"], r["cpu"]
        print(
            f"| {r['preset']} | {r['settings']} | {cp} / {ca} | {tp:.3f} | {ta:.3f} "
            f"| {tp / ta:.2f} |"
        )


class Stub(nn.Module):
    """A model that costs nothing: zeros ``N×K``. With it, explain's time is its own work."""

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.classes = classes
        self.anchor = nn.Parameter(torch.zeros(()))  # gives the stub a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.classes)


def slic_times(device: torch.device) -> list[tuple[str, float, int]]:
    out = []
    seg = SupervoxelSegmenter()
    for shape in ((16, 112, 112), (32, 224, 224)):
        clip = smooth_clip(shape, device)
        start = time.perf_counter()
        labels = seg(clip)
        out.append(("×".join(map(str, shape)), time.perf_counter() - start, int(labels.max()) + 1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regime", choices=["heavy", "fast", "both", "batch"], default="both")
    parser.add_argument("--clips", type=int, default=4, help="clips of the batch regime")
    parser.add_argument("--quick", action="store_true", help="fewer samples / segments")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=None, help="heavy 10, fast 32")
    parser.add_argument(
        "--repeats", type=int, default=3, help="R interleaved runs; minimum times are reported"
    )
    args = parser.parse_args()
    device = torch.device(args.device)
    threads = torch.get_num_threads()
    omp = os.environ.get("OMP_NUM_THREADS")
    print(f"device={device} torch threads={threads} OMP_NUM_THREADS={omp}")
    if args.regime == "batch":
        batch = args.batch_size or 32
        rows = batch_regime(args.clips, batch, args.repeats, device)
        print_batch_table(rows, args.clips, batch)
        return
    rows: list[dict] = []
    if args.regime in ("heavy", "both"):
        rows += run_regime(
            "heavy",
            heavy_model,
            (8, 56, 56),
            args.batch_size or 10,
            device,
            args.quick,
            args.repeats,
        )
    if args.regime in ("fast", "both"):
        rows += run_regime(
            "fast",
            FastNet,
            (16, 112, 112),
            args.batch_size or 32,
            device,
            args.quick,
            args.repeats,
        )
    print()
    print(
        "| regime | preset | settings | forward passes | wall s | model-only s | overhead ratio "
        "| own ms/sample | in-run ratio | in-run own ms/sample | explainer alone ms/sample "
        "| segmentation s |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['regime']} | {r['preset']} | {r['settings']} | {r['passes']} | {r['wall']:.2f} "
            f"| {r['model']:.2f} | {r['ratio']:.3f} | {r['own_ms']:.3f} | {r['inrun_ratio']:.3f} "
            f"| {r['inrun_own_ms']:.3f} | {r['alone_ms']:.3f} | {r['seg']:.3f} |"
        )
    print()
    print("| SLIC (n_segments=200, compactness=20, spacing=(0.2,1,1)) | seconds | segments |")
    print("|---|---:|---:|")
    for shape, sec, m in slic_times(device):
        print(f"| {shape} | {sec:.2f} | {m} |")


if __name__ == "__main__":
    main()
