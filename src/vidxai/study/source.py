"""What a study is made of: the explanations of a run folder, or any folder of saved ones.

Two kinds of ``--from`` folder are read:

* **A run folder** of ``vidxai run`` (``results.parquet`` / ``rows/``, see
  :mod:`vidxai.runner.store`): every row with ``status == "ok"`` becomes an item; its
  explanation is ``attribution_path``; the clip is re-created from ``video`` (a file or frame
  folder, or ``synthetic:<seed>`` with ``synthetic_seed``) and ``window_start``/``window_end``.
* **A folder of explanations** (``*.pt`` files written by ``Explanation.save``, searched
  recursively). The method and model come from each file; the dataset is the name of the
  folder holding the file (or the ``dataset`` column of an optional ``index.csv``); the clip is,
  in this order: the ``video`` column of ``index.csv`` (columns ``file,video[,dataset]``, paths
  relative to the folder), ``extras["video"]`` of the explanation, or a video file / frame
  folder next to the ``.pt`` file with the same stem (``clip1.pt`` ↔ ``clip1.mp4``).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidxai.errors import InvalidInputError, VideoReadError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".gif", ".mpg", ".mpeg")
SYNTHETIC_PREFIX = "synthetic:"
SYNTHETIC_FPS = 8.0  # synthetic clips have no frame rate; 16 frames then play for 2 s


@dataclass(frozen=True)
class SourceItem:
    """One explanation to be rated.

    Attributes:
        key: stable identifier in the source (the run's ``key``, or the file's relative path).
        method, model, dataset: what the raters must not see.
        video: the video path, or ``synthetic:<seed>``.
        class_name: the explained class as shown to raters.
        explanation: path of the saved :class:`~vidxai.Explanation`.
        window: half-open ``(start, end)`` range of original frames explained, or None.
        synthetic_seed: seed of a synthetic clip (``vidxai.data.synthetic.make_clip``).
        sampling: how the run picked frames when the clip is shorter than the video
            (``uniform`` or ``first``).
    """

    key: str
    method: str
    model: str
    dataset: str
    video: str
    class_name: str
    explanation: Path
    window: tuple[int, int] | None = None
    synthetic_seed: int | None = None
    sampling: str = "uniform"


def read_source(folder: str | Path) -> list[SourceItem]:
    """Every usable item of a run folder or of a folder of saved explanations.

    Raises:
        VideoReadError: the folder is missing, or holds neither a run nor ``*.pt`` files.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise VideoReadError(f"No folder at {root} (expected a vidxai run folder)")
    if (root / "rows").is_dir() or (root / "results.parquet").is_file():
        return _run_items(root)
    files = sorted(p for p in root.rglob("*.pt") if p.is_file())
    if not files:
        raise VideoReadError(
            f"{root} is neither a vidxai run folder (results.parquet) nor a folder of saved "
            "explanations (*.pt)"
        )
    return _explanation_items(root, files)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text and text.lower() not in ("nan", "none") else None


def _int(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return int(value)


def _sampling(root: Path) -> str:
    """``first`` when the run's experiment file says ``clips: {sampling: first}``."""
    path = root / "experiment.yaml"
    if not path.is_file():
        return "uniform"
    try:
        import yaml

        data = yaml.safe_load(path.read_text()) or {}
        clips = data.get("clips") or {}
        return (
            "first" if isinstance(clips, dict) and clips.get("sampling") == "first" else "uniform"
        )
    except Exception:  # an unreadable copy: the runner's default
        return "uniform"


def _run_items(root: Path) -> list[SourceItem]:
    from vidxai.runner.store import read_results

    rows = read_results(root).to_pylist()
    sampling = _sampling(root)
    out = []
    for row in rows:
        if row.get("status") != "ok" or not row.get("attribution_path"):
            continue
        start, end = _int(row.get("window_start")), _int(row.get("window_end"))
        window = (start, end) if start is not None and end is not None else None
        video = _text(row.get("video")) or ""
        seed = _int(row.get("synthetic_seed"))
        if seed is None and video.startswith(SYNTHETIC_PREFIX):
            seed = int(video[len(SYNTHETIC_PREFIX) :])
        name = _text(row.get("target_name")) or _text(row.get("target")) or "?"
        path = Path(str(row["attribution_path"]))
        out.append(
            SourceItem(
                key=str(row["key"]),
                method=str(row["method"]),
                model=str(row["model"]),
                dataset=str(row["dataset"]),
                video=video,
                class_name=name,
                explanation=path if path.is_absolute() else root / path,
                window=window,
                synthetic_seed=seed,
                sampling=sampling,
            )
        )
    return out


def _index(root: Path) -> dict[str, dict[str, str]]:
    path = root / "index.csv"
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if "file" not in (reader.fieldnames or []):
            raise InvalidInputError(f"{path} needs a 'file' column (and 'video', 'dataset')")
        return {str(Path(r["file"])): r for r in reader}


def _sibling_video(pt: Path) -> Path | None:
    for suffix in VIDEO_SUFFIXES:
        candidate = pt.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    folder = pt.with_suffix("")
    return folder if folder.is_dir() else None


def _explanation_items(root: Path, files: Sequence[Path]) -> list[SourceItem]:
    from vidxai.core.explanation import load_explanation

    index = _index(root)
    out = []
    for pt in files:
        rel = str(pt.relative_to(root))
        explanation = load_explanation(pt)
        entry = index.get(rel, {})
        video: str | None = _text(entry.get("video"))
        if video is not None and not video.startswith(SYNTHETIC_PREFIX):
            video = str((root / video).resolve()) if not Path(video).is_absolute() else video
        if video is None:
            video = _text(explanation.extras.get("video"))
        if video is None:
            sibling = _sibling_video(pt)
            video = str(sibling.resolve()) if sibling is not None else None
        if video is None:
            raise VideoReadError(
                f"No video for {pt}: put the clip next to it with the same name "
                f"({pt.stem}.mp4 or a frame folder {pt.stem}/), or list it in {root}/index.csv "
                "(columns file,video,dataset)"
            )
        seed = int(video[len(SYNTHETIC_PREFIX) :]) if video.startswith(SYNTHETIC_PREFIX) else None
        name = explanation.target_name or (
            str(explanation.target) if explanation.target is not None else "?"
        )
        out.append(
            SourceItem(
                key=rel,
                method=explanation.method,
                model=explanation.model_name or "model",
                dataset=_text(entry.get("dataset")) or pt.parent.name or root.name,
                video=video,
                class_name=name,
                explanation=pt,
                synthetic_seed=seed,
            )
        )
    return out


def load_clip(item: SourceItem, num_frames: int | None) -> tuple[np.ndarray, float]:
    """The frames the item's explanation was computed on and a frame rate to play them at.

    Args:
        item: the source item.
        num_frames: frames the explanation's geometry describes (None: take the clip whole).

    Returns:
        ``(frames T0×H0×W0×3 uint8, fps)``.

    Raises:
        VideoReadError: the video cannot be read or is shorter than the explained window.
    """
    if item.synthetic_seed is not None:
        from vidxai.data.synthetic import make_clip

        frames, fps = make_clip(item.synthetic_seed).frames, SYNTHETIC_FPS
    else:
        from vidxai.video import read_video

        video = read_video(item.video, max_frames=item.window[1] if item.window else None)
        frames, fps = video.frames, float(video.fps)
    total = int(frames.shape[0])
    if item.window is not None:
        start, end = item.window
        if end > total or start >= end:
            raise VideoReadError(
                f"{item.video} has {total} frames, fewer than the window {start}:{end}"
            )
        frames = frames[start:end]
        total = end - start
    if num_frames is not None and num_frames != total:
        if item.sampling == "first":
            if num_frames > total:
                raise VideoReadError(
                    f"{item.video} has {total} frames but its explanation describes {num_frames}"
                )
            frames = frames[:num_frames]
        else:
            from vidxai.video import uniform_indices

            frames = frames[np.asarray(uniform_indices(total, num_frames))]
        fps = max(4.0, min(fps, fps * num_frames / total))
    return np.ascontiguousarray(frames), fps


def source_summary(items: Sequence[SourceItem]) -> dict[str, Any]:
    """Counts per method / model / dataset (for the create command's report)."""

    def count(attr: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for it in items:
            out[getattr(it, attr)] = out.get(getattr(it, attr), 0) + 1
        return out

    return {"items": len(items), **{a: count(a) for a in ("method", "model", "dataset")}}
