"""What do the relevance methods cost over the model's own passes?

For each configuration (tiny and full-size; random weights) this times, on one clip:

* ``forward``: one no-grad forward pass;
* ``fwd+bwd``: one forward pass and the backward pass to the input;
* ``explain`` with a method that does nothing (``bench_noop``: zero map): ``explain``'s own
  fixed work (session, eval mode, input checks) and its no-grad forward on the intact clip;
* each method through ``vidxai.explain`` with the target given, minus the ``bench_noop`` call:
  the method's own cost.

Overhead = method ÷ fwd+bwd for ``transformer_relevance`` and ``lrp`` (target ≤ 1.5×), method ÷
forward for ``attention_rollout`` (target ≤ 1.2×). A model whose attention runs fused (VideoMAE's
``sdpa``) never forms the probabilities the attention methods read; for it the same passes are
also timed with ``eager`` attention (what the methods run), and the overhead over those is
printed too (``=`` where the two are the same). Times are this process's CPU time
(``time.process_time``; run with one thread), the variants of a configuration interleaved within
each repeat, each figure the minimum of ``--repeats`` runs (at least 5 for the tiny ones).
``--compare`` adds the zennit methods run through zennit's own hooks (the first implementation,
whose layers' ordinary backward passes run and are discarded). The peak resident memory of the
process after each configuration is printed too (it only grows: configurations run smallest
first).

Tiny configurations get one untimed warm-up call per method; full-size ones do not (the tiny ones
have warmed the process up, and each full-size call takes many seconds).

Run:  OMP_NUM_THREADS=1 python benchmarks/relevance.py [--only tiny|full] [--repeats R]
      [--models r3d_18 timesformer …] [--compare]
      python benchmarks/relevance.py --figure docs/figures/relevance/demo.png
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

import vidxai
from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput, register_method
from vidxai.models.zoo import load_model


@dataclass(frozen=True)
class _NoParams:
    """``bench_noop`` takes no parameters."""


@register_method("bench_noop", params=_NoParams, family="relevance", description="benchmark only")
def _noop(ctx: ExplainContext, params: _NoParams) -> MethodOutput:
    """A zero map: what ``explain`` costs around a method (session, intact forward pass)."""
    return MethodOutput(torch.zeros(ctx.x.shape[2:]))


TINY_TF = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, intermediate_size=128,
               image_size=64, patch_size=16)  # fmt: skip

ZENNIT = ("lrp", "guided_backprop", "excitation_backprop")

CONFIGS: list[tuple[str, str, str, dict, tuple[str, ...]]] = [
    # (regime, label, model, options, methods)
    ("tiny", "TimeSformer tiny 8×64²", "timesformer", {**TINY_TF, "num_frames": 8},
     ("transformer_relevance", "attention_rollout")),
    ("tiny", "VideoMAE tiny 16×64²", "videomae", {**TINY_TF, "num_frames": 16},
     ("transformer_relevance", "attention_rollout")),
    ("tiny", "r3d_18 8×56²", "r3d_18", {"num_frames": 8, "size": 56},
     ("lrp", "guided_backprop", "excitation_backprop")),
    ("tiny", "tsm_r18 8×56²", "tsm_r18", {"num_frames": 8, "size": 56}, ("lrp",)),
    ("tiny", "i3d 16×64²", "i3d", {"num_frames": 16, "size": 64}, ("lrp",)),
    ("full", "r3d_18 16×112²", "r3d_18", {}, ("lrp", "guided_backprop", "excitation_backprop")),
    ("full", "r2plus1d_18 16×112²", "r2plus1d_18", {}, ("lrp",)),
    ("full", "tsm_r18 8×224²", "tsm_r18", {}, ("lrp",)),
    ("full", "s3d 16×224²", "s3d", {"num_frames": 16}, ("lrp",)),
    ("full", "i3d 32×224²", "i3d", {"num_frames": 32}, ("lrp",)),
    ("full", "TimeSformer-base 8×224²", "timesformer", {},
     ("transformer_relevance", "attention_rollout")),
    ("full", "VideoMAE-base 16×224²", "videomae", {},
     ("transformer_relevance", "attention_rollout")),
    ("full", "TimeSformer-base 16×224²", "timesformer", {"num_frames": 16},
     ("transformer_relevance", "attention_rollout")),
]  # fmt: skip


def cpu_seconds(fn: Callable[[], object]) -> float:
    """CPU time of this process for one call (one thread: not disturbed by other processes'
    time slices, unlike wall time on a shared machine)."""
    start = time.process_time()
    fn()
    return time.process_time() - start


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _forward(model: torch.nn.Module, x: torch.Tensor) -> None:
    with torch.no_grad():
        model(x)


def _forward_backward(model: torch.nn.Module, x: torch.Tensor) -> None:
    xg = x.clone().requires_grad_(True)
    torch.autograd.grad(model(xg)[0, 0], xg)


@contextmanager
def zennit_hooks() -> Iterator[None]:
    """zennit's own hook mechanism instead of :func:`vidxai.relevance.direct.direct` (the
    layers' ordinary backward passes run and are discarded): the previous implementation."""
    from vidxai.relevance import zennit_run

    original = zennit_run.direct
    zennit_run.direct = lambda composite: composite
    try:
        yield
    finally:
        zennit_run.direct = original


@contextmanager
def eager_attention(model: torch.nn.Module) -> Iterator[None]:
    """The model's Hugging Face attention switched to ``eager`` (explicit probabilities)."""
    config = getattr(getattr(model, "module", model), "config", None)
    before = getattr(config, "_attn_implementation", None)
    try:
        if config is not None:
            config._attn_implementation = "eager"
        yield
    finally:
        if config is not None:
            config._attn_implementation = before


def _eager(fn: Callable[[], object], model: torch.nn.Module) -> None:
    with eager_attention(model):
        fn()


def _fused_attention(model: torch.nn.Module) -> bool:
    """True when the model's attention runs without explicit probabilities (e.g. ``sdpa``)."""
    config = getattr(getattr(model, "module", model), "config", None)
    return getattr(config, "_attn_implementation", "eager") not in ("eager", None)


def _explain(model: torch.nn.Module, x: torch.Tensor, method: str) -> None:
    name, _, variant = method.partition(" ")
    with zennit_hooks() if variant == "(zennit hooks)" else nullcontext():
        vidxai.explain(model, x[0], method=name, target=0, progress=False)


def bench(
    label: str, name: str, options: dict, methods: tuple[str, ...], repeats: int, warm: bool
) -> None:
    """Time one configuration and print its table rows (``warm``: one untimed call first).

    The forward pass, the forward + backward pass and every method run in turn within each
    repeat (interleaved, so a slow spell of the machine hits them alike); each figure is the
    minimum over the repeats.
    """
    torch.manual_seed(0)
    model = load_model(name, weights=None, num_classes=400, **options)
    spec = model.spec
    x = torch.rand(1, 3, spec.num_frames, *spec.size)
    _forward(model, x)  # warm-up (lazy initialisation, allocator)
    runs: dict[str, Callable[[], object]] = {
        "forward": partial(_forward, model, x),
        "fwd+bwd": partial(_forward_backward, model, x),
        "explain": partial(_explain, model, x, "bench_noop"),
        **{m: partial(_explain, model, x, m) for m in methods},
    }
    if _fused_attention(model):  # the attention methods need the probabilities: eager passes
        runs["forward (eager)"] = partial(_eager, runs["forward"], model)
        runs["fwd+bwd (eager)"] = partial(_eager, runs["fwd+bwd"], model)
    if warm:
        for method in methods:
            runs[method]()  # warm-up (first-call imports, allocator)
    times = {key: float("inf") for key in runs}
    for _ in range(repeats):
        for key, fn in runs.items():
            times[key] = min(times[key], cpu_seconds(fn))
    t_fwd, t_fb, t_explain = times["forward"], times["fwd+bwd"], times["explain"]
    for method in methods:
        t_m = times[method] - t_explain  # explain's own work and its pass on the intact clip
        rollout = method == "attention_rollout"
        base = "forward" if rollout else "fwd+bwd"
        ratio = t_m / times[base]
        eager = f"{t_m / times[base + ' (eager)']:.2f}×" if base + " (eager)" in times else "="
        target = "≤ 1.2× fwd" if rollout else "≤ 1.5× fwd+bwd"
        print(f"| {label} | {method} | {t_fwd:.3f} | {t_fb:.3f} | {t_explain:.3f} | {t_m:.3f} | "
              f"{ratio:.2f}× | {eager} | {target} | {peak_mib():.0f} |", flush=True)  # fmt: skip


def run(regime: str, repeats: int, models: tuple[str, ...] = (), compare: bool = False) -> None:
    print("| configuration | method | forward s | fwd+bwd s | explain (no-op) s | method s | "
          "overhead | vs eager attention | target | peak RSS MiB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for reg, label, name, options, methods in CONFIGS:
        if (regime == "both" or reg == regime) and (not models or name in models):
            if compare:
                methods = tuple(v for m in methods for v in (m, f"{m} (zennit hooks)")
                                if m in ZENNIT or v == m)  # fmt: skip
            tiny = reg == "tiny"  # cheap: more repeats against the noise of a shared machine
            bench(label, name, options, methods, max(repeats, 5) if tiny else repeats, warm=tiny)


# ------------------------------------------------------------------ model-randomisation sanity

SANITY_TF = dict(num_frames=4, image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=4,
                 num_attention_heads=2, intermediate_size=32, num_classes=3)  # fmt: skip


def _one(model: Any, x: Any, **kw: Any) -> Any:
    """``vidxai.explain`` of one clip: its one Explanation."""
    e = vidxai.explain(model, x, **kw)
    assert not isinstance(e, list)
    return e


def _rho(model: torch.nn.Module, broken: torch.nn.Module, x: object, target: int, method: str,
         tokens: bool, **params: object) -> float:  # fmt: skip
    """Spearman ρ of the absolute maps of ``model`` and ``broken`` (the tests' measure)."""
    from vidxai.metrics.sanity import spearman

    kw: dict[str, Any] = dict(method=method, target=target, progress=False, **params)
    a, b = (_one(m, x, **kw) for m in (model, broken))
    if tokens:
        return spearman(a.extras["tokens"].abs(), b.extras["tokens"].abs())
    return spearman(a.attribution.abs(), b.attribution.abs())


def _cascade(model: Any, groups: list[str]) -> list[Any]:
    """Copies of ``model`` with the first 1, 2, … of ``groups`` (top first) re-initialised
    cumulatively (Adebayo et al.'s cascade; the last copy is the tests' top half)."""
    from vidxai.metrics.sanity import randomise_

    broken, out = copy.deepcopy(model), []
    gen = torch.Generator().manual_seed(0)
    modules = dict(broken.module.named_modules())
    for name in groups:
        randomise_(modules[name], gen)
        out.append(copy.deepcopy(broken))
    return out


def _peaked(model: Any, scale: float) -> Any:
    """``model`` with every query and key projection scaled by ``scale``: attention logits ×
    scale², so the softmax is far from uniform (a random-init model's is nearly uniform)."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        for name, m in model.module.named_modules():
            if name.endswith(("query", "key")):
                m.weight.mul_(scale)
            elif name.endswith("qkv"):
                d = m.weight.shape[0] // 3
                m.weight[: 2 * d].mul_(scale)
    return model


def sanity() -> None:
    """ρ of each relevance method under model randomisation, cascade step by step."""
    from vidxai.data.synthetic import make_clip

    print("| model | method | ρ after each cascade step (top first) | clips |")
    print("|---|---|---|---|")
    demo = load_model("vidxai-demo")
    steps = _cascade(demo, ["head", "features.3", "features.2"])
    cnn_runs = [("lrp", {"composite": c}) for c in ("epsilon_plus_flat", "epsilon_plus", "epsilon",
                "epsilon_gamma_box", "epsilon_alpha2_beta1_flat")]  # fmt: skip
    cnn_runs += [("excitation_backprop", {}), ("guided_backprop", {})]
    for method, params in cnn_runs:
        rows = []
        for seed in range(3):
            clip = make_clip(seed)
            rows.append([_rho(demo, b, clip.frames, clip.label, method, False, **params)
                         for b in steps])  # fmt: skip
        label = f"{method} {params.get('composite', '')}".strip()
        cells = " / ".join(f"{min(r[i] for r in rows):.2f}–{max(r[i] for r in rows):.2f}"
                           for i in range(len(steps)))  # fmt: skip
        print(f"| vidxai-demo | {label} | {cells} | 0, 1, 2 |", flush=True)
    for name in ("timesformer", "videomae"):
        torch.manual_seed(0)
        base = load_model(name, weights=None, **SANITY_TF)
        root = "timesformer" if name == "timesformer" else "videomae"
        groups = ["classifier", f"{root}.encoder.layer.3", f"{root}.encoder.layer.2"]
        x = torch.rand(3, 4, 32, 32, generator=torch.Generator().manual_seed(0))
        for variant, model in (
            ("random init", base),
            ("q, k ×16", _peaked(base, 16.0)),
            ("q, k ×64", _peaked(base, 64.0)),
        ):
            steps = _cascade(model, groups)
            for method in ("attention_rollout", "transformer_relevance"):
                cells = " / ".join(f"{_rho(model, b, x, 0, method, True):.2f}" for b in steps)
                print(f"| {name} tiny, {variant} | {method} | {cells} | 1 |", flush=True)


def figure(path: str) -> None:
    """The README figure: the demo model's signed LRP / guided / excitation maps, with Grad-CAM."""
    from vidxai import viz
    from vidxai.data.synthetic import make_clip

    model = load_model("vidxai-demo")
    clip = make_clip(0)
    runs: dict[str, tuple[str, dict[str, Any]]] = {
        "LRP ε-z⁺-flat": ("lrp", {}),
        "LRP ε-γ-box": ("lrp", {"composite": "epsilon_gamma_box"}),
        "LRP ε": ("lrp", {"composite": "epsilon"}),
        "guided backprop": ("guided_backprop", {}),
        "excitation backprop": ("excitation_backprop", {}),
        "Grad-CAM": ("gradcam", {}),
    }
    maps = {
        label: vidxai.explain(model, clip.frames, method=m, target=clip.label, progress=False, **p)
        for label, (m, p) in runs.items()
    }
    options = viz.VizOptions(polarity="signed", selection=None, clip=99.0)
    title = f"demo model, synthetic clip 0 ({clip.class_name}); signed, 99th-percentile scale"
    out = viz.frame_grid(path, clip.frames, maps, n_frames=6, options=options, title=title)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("tiny", "full", "both"), default="both")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", nargs="*", default=(), help="only these zoo models")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also time the zennit methods with zennit's own hooks (previous)",
    )
    parser.add_argument("--figure", help="write the README figure to this PNG and stop")
    parser.add_argument(
        "--sanity",
        action="store_true",
        help="print the model-randomisation table (Spearman ρ per cascade step)",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.figure:
        figure(args.figure)
        return
    if args.sanity:
        sanity()
        return
    print(f"torch threads: {torch.get_num_threads()}; load average {os.getloadavg()}")
    run(args.only, args.repeats, tuple(args.models), args.compare)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
