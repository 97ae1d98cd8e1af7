"""The experiment runner's own cost: local vs Ray on synthetic clips with the demo model.

An experiment of ``--clips`` synthetic clips × the demo model × six methods (REVEX's five
removal methods at their defaults, plus Grad-CAM) runs with the local backend and with the Ray
backend (``--workers`` actors), each into a fresh folder. Reported per backend:

* items per second (items ÷ wall time of ``run_experiment``);
* the runner's overhead = wall ÷ Σ items' own ``time_total`` (the explanations' timings), i.e.
  everything that is not explaining: planning, reading clips, loading the model, the ``explain``
  front door (input checks, preprocessing), compressing and committing each item;
* with ``--metrics``, the games are run too and the overhead is against Σ (time_total +
  time_evaluation).

Ray's cluster start (tens of seconds on a small machine) is timed separately and not in the
wall time: on a real cluster it is paid once, not per run. Both tables are checked equal.

Run:  OMP_NUM_THREADS=1 python benchmarks/runs.py [--clips 30] [--workers 2] [--metrics]
      [--methods a,b,...] [--quick]
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import torch

METHODS = ("rise3d", "lime3d", "kernel_shap3d", "loco", "univariate", "gradcam")


def experiment_text(clips: int, methods: list[str], metrics: bool, quick: bool) -> str:
    import vidxai

    lines = [
        "name: runs-benchmark",
        "seed: 0",
        "datasets:",
        "  - name: synthetic",
        f"    synthetic: {{clips: {clips}}}",
        "models: [vidxai-demo]",
        "methods:",
    ]
    for m in methods:
        params = vidxai.get_method(m).quick_params if quick else {}
        inner = ", ".join(
            f"{k}: {list(v) if isinstance(v, tuple) else v}" for k, v in params.items()
        )
        lines.append(f"  - {m}: {{{inner}}}" if params else f"  - {m}")
    lines.append("metrics: [deletion, insertion]" if metrics else "metrics: []")
    if metrics:
        lines.append("metric_params: {n_steps: 16}")
    return "\n".join(lines) + "\n"


def measure(text: str, backend: str, workers: int, folder: Path) -> dict[str, float]:
    from vidxai.runner import parse_experiment, read_results, run_experiment

    exp = parse_experiment(text)
    t0 = time.perf_counter()
    summary = run_experiment(exp, backend=backend, workers=workers, out=folder, progress=False)
    wall = time.perf_counter() - t0
    rows = read_results(folder).to_pylist()
    own = sum(float(r["time_total"] or 0) for r in rows)
    evaluation = sum(float(r.get("time_evaluation") or 0) for r in rows)
    return {
        "items": summary.ok + summary.failed,
        "failed": summary.failed,
        "wall": wall,
        "own": own,
        "evaluation": evaluation,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=30)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--metrics", action="store_true", help="also run deletion/insertion")
    p.add_argument("--quick", action="store_true", help="each method's quick settings")
    args = p.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    text = experiment_text(args.clips, methods, args.metrics, args.quick)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["local"] = measure(text, "local", 1, Path(tmp) / "local")
        import ray

        os.environ.setdefault("RAY_worker_niceness", "0")  # as run_ray starts it
        t0 = time.perf_counter()
        ray.init(
            num_cpus=max(4, args.workers + 1),
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
            runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
        )
        start = time.perf_counter() - t0
        results[f"ray ({args.workers} workers)"] = measure(
            text, "ray", args.workers, Path(tmp) / "ray"
        )
        ray.shutdown()
        from vidxai.runner import read_results

        a = {r["key"]: r for r in read_results(Path(tmp) / "local").to_pylist()}
        b = {r["key"]: r for r in read_results(Path(tmp) / "ray").to_pylist()}
        same = sorted(a) == sorted(b) and all(
            math.isclose(a[k]["score"], b[k]["score"], abs_tol=1e-5) for k in a
        )
    what = "time_total + time_evaluation" if args.metrics else "time_total"
    print(
        f"{args.clips} synthetic clips × vidxai-demo × {len(methods)} methods "
        f"({', '.join(methods)}{', quick settings' if args.quick else ''}); "
        f"metrics: {'deletion, insertion (16 steps)' if args.metrics else 'none'}"
    )
    print(f"| backend | items | wall s | items/s | Σ {what} s | overhead (wall ÷ Σ) | vs local |")
    print("|---|---|---|---|---|---|---|")
    local_wall = results["local"]["wall"]
    for name, r in results.items():
        own = r["own"] + (r["evaluation"] if args.metrics else 0.0)
        print(
            f"| {name} | {r['items']:.0f} | {r['wall']:.1f} | {r['items'] / r['wall']:.2f} | "
            f"{own:.1f} | {r['wall'] / own:.3f} | {r['wall'] / local_wall:.2f}× |"
        )
    print(
        f"Ray cluster start (not in wall): {start:.1f} s; tables equal: {same}; "
        f"threads: {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"cores: {os.cpu_count()}, torch {torch.__version__}"
    )


if __name__ == "__main__":
    main()
