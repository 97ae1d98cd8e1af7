"""Evaluation plots from plain results (dicts and lists, as the metrics write them to JSON).

* :func:`plot_deletion_insertion` — deletion and insertion curves, AUC in the legend;
* :func:`plot_minimal_mask` — smallest kept fraction reaching each score threshold;
* :func:`plot_timings` — segmentation / inference / explanation seconds per method (stacked
  bars, as in the REVEX paper's Fig. 9);
* :func:`plot_metric_bars` — one number per method with a confidence interval (AUCs, drop…);
* :func:`plot_pointing` — pointing-game accuracy per method.

Every function saves by the path's suffix (.png, .pdf, .svg) and returns the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from vidxai.errors import InvalidInputError
from vidxai.viz._figure import colour, method_style, new_figure, save_figure

TIMING_PARTS = ("segmentation", "inference", "explanation")
_TIMING_COLOURS = {"segmentation": "#009E73", "inference": "#0072B2", "explanation": "#E69F00"}


def curve_auc(
    fractions: Sequence[float] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> float:
    """Trapezoid area under ``scores`` over ``fractions`` (sorted by fraction)."""
    x = np.asarray(fractions, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0)) if x.size > 1 else 0.0


def _curve(
    name: str, kind: str, data: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, float]:
    if not isinstance(data, Mapping) or "fractions" not in data or "scores" not in data:
        raise InvalidInputError(
            f"{name!r} {kind} curve must be a dict with 'fractions' and 'scores' lists"
        )
    x = np.asarray(data["fractions"], dtype=np.float64)
    y = np.asarray(data["scores"], dtype=np.float64)
    band = None
    if y.ndim == 2:  # one row per video: mean and a 95 % band of the mean
        n = y.shape[0]
        band = 1.96 * y.std(axis=0, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(y.shape[1])
        y = y.mean(axis=0)
    if y.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise InvalidInputError(
            f"{name!r} {kind} curve: fractions {x.shape} and scores {y.shape} do not match"
        )
    auc = data.get("auc")
    auc = float(np.mean(auc)) if auc is not None else curve_auc(x, y)
    return x, y, band, auc


def deletion_insertion_figure(curves: Mapping[str, Any], title: str | None = None) -> Figure:
    """The figure of :func:`plot_deletion_insertion` (not saved), for callers that add to it.

    Deletion (left) and insertion (right) share one legend placed outside the axes, on the
    right; each method has its own colour + dash pattern (:func:`method_style`) and its
    legend entry gives both AUCs.
    """
    if "deletion" in curves or "insertion" in curves:
        curves = {"": curves}
    if not curves:
        raise InvalidInputError("plot_deletion_insertion needs at least one method")
    n = len(curves)
    columns = 1 if n <= 22 else 2
    rows = -(-n // columns)
    fig = new_figure(8.4 + 2.6 * columns, max(3.4, 1.1 + 0.2 * rows))
    fig.set_layout_engine("constrained")  # makes room for the legend outside the axes
    axes = fig.subplots(1, 2, sharey=True)
    handles, labels = [], []
    aucs: dict[str, dict[str, float]] = {}
    for ax, kind, better in zip(axes, ("deletion", "insertion"), ("lower", "higher")):
        for i, (method, by_kind) in enumerate(curves.items()):
            if kind not in by_kind:
                continue
            x, y, band, auc = _curve(method, kind, by_kind[kind])
            style = method_style(i)
            (line,) = ax.plot(x, y, linewidth=1.6, markersize=3, markevery=0.1, **style)  # type: ignore[arg-type]
            if band is not None:
                colour_i = str(style["color"])
                ax.fill_between(x, y - band, y + band, color=colour_i, alpha=0.15, linewidth=0)
            aucs.setdefault(method, {})[kind] = auc
            if method not in labels:
                handles.append(line)
                labels.append(method)
        ax.set_title(f"{kind} (AUC: {better} is better)", fontsize=10)
        ax.set_xlabel(f"fraction of the video {'removed' if kind == 'deletion' else 'inserted'}")
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("model score")
    entries = []
    for method in labels:
        parts = [
            f"{k[:3]} {aucs[method][k]:.3f}" for k in ("deletion", "insertion") if k in aucs[method]
        ]
        entries.append(f"{method}  ({', '.join(parts)})".strip() if method else ", ".join(parts))
    if handles:
        fig.legend(
            handles,
            entries,
            loc="outside right upper",
            fontsize=8,
            frameon=False,
            ncols=columns,
            title="method (AUC)",
            title_fontsize=8,
            handlelength=3.0,
        )
    if title:
        fig.suptitle(title)
    return fig


def plot_deletion_insertion(
    path: str | Path, curves: Mapping[str, Any], title: str | None = None
) -> Path:
    """Deletion (left) and insertion (right) curves, one line per method.

    The legend sits outside the axes (right), one entry per method with both AUCs; every
    method has a distinct colour + dash pattern, so 20 methods stay apart.

    Args:
        path: output file.
        curves: ``{method: {"deletion": {"fractions": [...], "scores": [...]},
            "insertion": {...}}}``, or one method's ``{"deletion": ..., "insertion": ...}``.
            ``scores`` may be videos × steps (mean drawn, with a 95 % band); an ``"auc"``
            entry is shown as given, else the trapezoid AUC is computed.  Either curve may
            be missing.
        title: figure title.
    """
    return save_figure(deletion_insertion_figure(curves, title), path, dpi=150)


#: What a minimal-mask value measures, per game (y-axis label and legend suffix).
MINIMAL_MASK_MEASURES = {
    "deletion": ("smallest fraction of the video\ndeleted (score ≤ threshold)", "deleted"),
    "insertion": ("smallest fraction of the video\ninserted (score ≥ threshold)", "inserted"),
    None: ("smallest fraction of the video\nthe game needs (see legend)", ""),
}


def _mask_points(method: str, table: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(table, Mapping) and "thresholds" in table and "fractions" in table:
        table = dict(zip(table["thresholds"], table["fractions"]))  # the curves[...] form
    try:
        points = sorted((float(k), None if v is None else float(v)) for k, v in table.items())
    except (AttributeError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"{method!r}: thresholds and fractions must be numbers") from exc
    xs = np.array([p[0] for p in points])
    ys = np.array([np.nan if p[1] is None else p[1] for p in points])
    return xs, ys


def minimal_mask_figure(
    results: Mapping[str, Any], title: str | None = None, game: str | None = None
) -> Figure:
    """The figure of :func:`plot_minimal_mask` (not saved)."""
    if not results:
        raise InvalidInputError("plot_minimal_mask needs at least one method")
    if game not in MINIMAL_MASK_MEASURES:
        raise InvalidInputError(f"game must be 'deletion', 'insertion' or None, got {game!r}")
    series: list[tuple[str, str | None, Any]] = []
    for method, table in results.items():
        if isinstance(table, Mapping) and ({"deletion", "insertion"} & set(table)):
            for kind in ("deletion", "insertion"):
                if kind in table:
                    series.append((method, kind, table[kind]))
        else:
            series.append((method, game, table))
    games = {kind for _, kind, _ in series}
    shared = next(iter(games)) if len(games) == 1 else None
    fig = new_figure(8.0, max(3.8, 1.2 + 0.2 * len(series)))
    fig.set_layout_engine("constrained")  # makes room for the legend outside the axes
    ax = fig.add_subplot(1, 1, 1)
    any_unreached = False
    methods = list(dict.fromkeys(m for m, _, _ in series))
    for name, measured, table in series:
        xs, ys = _mask_points(name, table)
        style = method_style(methods.index(name))
        if len(games) > 1:  # both games in one plot: the game sets the dash, the method the colour
            style["linestyle"] = "-" if measured == "deletion" else "--"
        suffix = MINIMAL_MASK_MEASURES[measured][1]
        label = f"{name} — {suffix}" if suffix else name
        style["marker"] = "o"
        ax.plot(xs, ys, markersize=4, label=label, **style)  # type: ignore[arg-type]
        missing = np.isnan(ys)
        if missing.any():
            ax.scatter(
                xs[missing],
                np.full(int(missing.sum()), 1.02),
                marker="x",
                color=str(style["color"]),
                clip_on=False,
            )
            any_unreached = True
    if any_unreached:  # one legend entry for every ✕, in neutral black
        ax.scatter([], [], marker="x", color="black", label="threshold not reached")
    ax.set_xlabel("score threshold")
    ax.set_ylabel(
        MINIMAL_MASK_MEASURES[shared][0] if len(games) == 1 else MINIMAL_MASK_MEASURES[None][0],
        fontsize=9,
    )
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize=8, frameon=False)
    ax.set_title(title or "Minimal mask (lower is better)", fontsize=10)
    return fig


def plot_minimal_mask(
    path: str | Path,
    results: Mapping[str, Any],
    title: str | None = None,
    *,
    game: str | None = None,
) -> Path:
    """Minimal-mask curves: for each score threshold, the smallest fraction of the video that
    the game needs — deleted until the score falls to ≤ the threshold (``minimal_mask``,
    the deletion game) or inserted until it rises to ≥ it (``minimal_mask_insertion``).
    The axis and legend say which one each curve measures.

    Args:
        path: output file.
        results: ``{method: {threshold: fraction or None}}`` (thresholds may be strings, as in
            JSON) or ``{method: {"thresholds": [...], "fractions": [...]}}`` (the
            ``EvaluationResult.curves["minimal_mask"]`` form), or both games at once:
            ``{method: {"deletion": table, "insertion": table}}``; None or NaN means never
            reached and is drawn as an ✕ at the top.
        title: figure title.
        game: ``"deletion"`` or ``"insertion"`` — what plain tables measure (labels the axis);
            None when unknown.
    """
    return save_figure(minimal_mask_figure(results, title, game), path, dpi=150)


def plot_timings(
    path: str | Path,
    timings: Mapping[str, Mapping[str, Any]],
    title: str | None = None,
    log: bool = False,
) -> Path:
    """Stacked horizontal bars of seconds per method: segmentation, inference (the model's
    forward and backward passes) and explanation (the rest), as in REVEX's Fig. 9.

    Args:
        path: output file.
        timings: ``{method: {"segmentation": s, "inference": s, "explanation": s}}``; values
            may be lists (one per video; the mean is drawn).  Missing parts count as 0; other
            keys (e.g. ``total``) are ignored.
        title: figure title.
        log: logarithmic time axis.
    """
    if not timings:
        raise InvalidInputError("plot_timings needs at least one method")
    methods = list(timings)
    table = np.zeros((len(methods), len(TIMING_PARTS)))
    for r, method in enumerate(methods):
        for c, part in enumerate(TIMING_PARTS):
            value = timings[method].get(part, 0.0)
            table[r, c] = float(np.mean(value)) if np.size(value) else 0.0
    if not np.all(np.isfinite(table)) or (table < 0).any():
        raise InvalidInputError("timings must be finite, non-negative seconds")
    fig = new_figure(7.0, 1.2 + 0.45 * len(methods))
    ax = fig.add_subplot(1, 1, 1)
    y = np.arange(len(methods))[::-1]
    left = np.zeros(len(methods))
    for c, part in enumerate(TIMING_PARTS):
        ax.barh(y, table[:, c], left=left, color=_TIMING_COLOURS[part], label=part, height=0.6)
        left = left + table[:, c]
    for yi, total in zip(y, left):
        ax.text(total, yi, f" {total:.2f} s", va="center", fontsize=8)
    ax.set_yticks(y, labels=methods)
    ax.set_xlabel("seconds per explanation")
    if log:
        ax.set_xscale("log")
    ax.set_xlim(right=max(float(left.max()), 1e-9) * (3.0 if log else 1.18))
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=8, frameon=False, ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    if title:
        ax.set_title(title, fontsize=10, pad=22)
    fig.set_layout_engine("constrained")
    return save_figure(fig, path, dpi=150)


def summarise(value: Any) -> tuple[float, float | None, float | None]:
    """(mean, low, high) from a number, a list of per-video numbers (mean and a normal 95 %
    interval of the mean) or a dict with ``mean`` and ``low``/``high`` (or ``ci``)."""
    if isinstance(value, Mapping):
        if "mean" not in value:
            raise InvalidInputError(f"a result dict needs a 'mean' entry, got keys {list(value)}")
        low, high = value.get("low"), value.get("high")
        if "ci" in value and value["ci"] is not None:
            low, high = value["ci"]
        return (
            float(value["mean"]),
            None if low is None else float(low),
            None if high is None else float(high),
        )
    array = np.asarray(value, dtype=np.float64).ravel()
    if array.size == 0:
        raise InvalidInputError("an empty list of results")
    mean = float(array.mean())
    if array.size == 1:
        return mean, None, None
    half = 1.96 * float(array.std(ddof=1)) / math.sqrt(array.size)
    return mean, mean - half, mean + half


def plot_metric_bars(
    path: str | Path,
    values: Mapping[str, Any],
    ylabel: str = "value",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """One bar per method with its confidence interval and the value printed on top.

    Args:
        path: output file.
        values: ``{method: number | [per-video numbers] | {"mean", "low", "high"} |
            {"mean", "ci": [low, high]}}``.
        ylabel: axis label (say which direction is better, e.g. "deletion AUC (lower is better)").
        title: figure title.
        ylim: y-axis limits.
    """
    if not values:
        raise InvalidInputError("plot_metric_bars needs at least one method")
    methods = list(values)
    stats = [summarise(values[m]) for m in methods]
    means = np.array([s[0] for s in stats])
    lows = np.array([s[0] - s[1] if s[1] is not None else 0.0 for s in stats])
    highs = np.array([s[2] - s[0] if s[2] is not None else 0.0 for s in stats])
    fig = new_figure(max(4.0, 1.0 + 0.8 * len(methods)), 3.6)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(methods))
    ax.bar(x, means, color=[colour(i) for i in range(len(methods))], width=0.65)
    has_ci = (lows > 0) | (highs > 0)
    if has_ci.any():
        ax.errorbar(
            x[has_ci],
            means[has_ci],
            yerr=[lows[has_ci], highs[has_ci]],
            fmt="none",
            ecolor="black",
            capsize=4,
            linewidth=1,
        )
    for xi, m, hi in zip(x, means, highs):
        ax.text(float(xi), float(m + hi), f"{m:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(
        x,
        labels=methods,
        rotation=30 if len(methods) > 4 else 0,
        ha="right" if len(methods) > 4 else "center",
    )
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    else:
        top = float(np.max(means + highs))
        ax.set_ylim(min(0.0, float(np.min(means - lows)) * 1.1), top * 1.15 if top > 0 else 1.0)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.set_layout_engine("constrained")
    return save_figure(fig, path, dpi=150)


def plot_pointing(
    path: str | Path, accuracies: Mapping[str, Any], title: str | None = None
) -> Path:
    """Pointing-game accuracy per method (bars in [0, 1] with confidence intervals);
    values as :func:`plot_metric_bars` (a list of per-video 0/1 hits works)."""
    return plot_metric_bars(
        path,
        accuracies,
        ylabel="pointing accuracy (higher is better)",
        title=title or "Pointing game",
        ylim=(0.0, 1.1),
    )
