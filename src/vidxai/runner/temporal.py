"""Whole-video temporal importance from sliding windows: *when* in a long video the evidence lies.

Each ok window row carries ``frame_mass``: for every original frame ``f`` of its window
``[window_start, window_end)``, the positive attribution mass (sum over H×W of ``max(a, 0)``) of
the model frame that shows ``f`` (the nearest sampled frame, as ``Geometry.to_original`` maps
it), divided by the window's total positive mass — so every window contributes a distribution
over its frames and windows whose maps have different scales weigh the same. The whole-video
importance of frame ``f`` is the mean of ``frame_mass`` over the windows covering ``f``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
from torch import Tensor

if TYPE_CHECKING:
    import pyarrow as pa


def frame_mass(attribution: Tensor, frame_indices: tuple[int, ...], n_frames: int) -> list[float]:
    """Normalised positive mass of each of the window's ``n_frames`` original frames.

    Args:
        attribution: ``T×H×W`` map in model-input space.
        frame_indices: for each of the ``T`` model frames, its index within the window.
        n_frames: number of original frames in the window.

    Returns:
        ``n_frames`` non-negative floats summing to 1 over the model frames' own frames
        (all zeros when the map has no positive mass).
    """
    per_model = attribution.detach().clamp(min=0).flatten(1).sum(1).double().cpu().numpy()
    total = per_model.sum()
    if total > 0:
        per_model = per_model / total
    sampled = np.asarray(frame_indices, dtype=np.float64)
    frames = np.arange(n_frames, dtype=np.float64)
    nearest = np.abs(frames[:, None] - sampled[None, :]).argmin(axis=1)
    return [float(v) for v in per_model[nearest]]


def temporal_table(rows: list[dict[str, Any]]) -> pa.Table | None:
    """One row per (dataset, video, model, method, params, frame): ``importance`` (mean of the
    covering windows' ``frame_mass``) and ``n_windows``; None when no row has a frame mass."""
    groups: dict[tuple[str, ...], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        mass = r.get("frame_mass")
        if r.get("status") != "ok" or not mass or r.get("window_start") is None:
            continue
        if isinstance(mass, str):
            mass = json.loads(mass)
        params = r["params"] if isinstance(r["params"], str) else json.dumps(r["params"])
        group = groups[(r["dataset"], r["video"], r["model"], r["method"], params)]
        for offset, value in enumerate(mass):
            group[int(r["window_start"]) + offset].append(float(value))
    if not groups:
        return None
    import pyarrow as pa

    names = ("dataset", "video", "model", "method", "params", "frame", "importance", "n_windows")
    out: dict[str, list[Any]] = {c: [] for c in names}
    for (dataset, video, model, method, params), frames in sorted(groups.items()):
        for frame in sorted(frames):
            values = frames[frame]
            for c, v in zip(
                out,
                (dataset, video, model, method, params, frame, float(np.mean(values)), len(values)),
            ):
                out[c].append(v)
    return pa.table(out)
