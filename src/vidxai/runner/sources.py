"""Datasets of an experiment: which videos they hold, their labels, and reading a clip.

* ``synthetic``: clips ``make_clip(seed)`` for ``seed = seed0 … seed0 + clips − 1`` (true class as
  the label, the actor's mask as ground truth). ``video`` is ``synthetic:<seed>``.
* ``folder``: every video file (by extension) and every frame folder (a folder holding images)
  below the folder, in natural-sorted order; sub-folders holding videos are searched too.
  ``labels`` is an optional CSV ``path,label`` with paths relative to the folder.
* ``csv``: rows ``path,label`` (label optional; paths relative to the CSV's folder).

A label is a class index or a class name of the model; without one the top-1 class is explained.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.runner.schema import ClipSpec, DatasetSpec

VIDEO_EXTENSIONS = frozenset(
    (".mp4", ".m4v", ".avi", ".mkv", ".webm", ".mov", ".gif", ".mpg", ".mpeg", ".ogv", ".wmv")
) | {".flv", ".3gp", ".ts"}
IMAGE_EXTENSIONS = frozenset(
    (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
)


@dataclass(frozen=True)
class VideoRef:
    """One video of a dataset.

    Attributes:
        dataset: the dataset's name.
        video_id: stable identifier inside the dataset (relative path, or ``synthetic:<seed>``).
        path: absolute path (None for synthetic clips).
        label: class index, class name, or None.
        synthetic_seed: the seed of a synthetic clip.
    """

    dataset: str
    video_id: str
    path: str | None
    label: int | str | None
    synthetic_seed: int | None = None

    @property
    def video(self) -> str:
        """What the ``video`` column shows: the absolute path, or ``synthetic:<seed>``."""
        return self.path if self.path is not None else self.video_id


def _natural(text: str) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", text)]


def _parse_label(text: str | None) -> int | str | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    return int(text) if re.fullmatch(r"\d+", text) else text


def read_label_csv(path: Path) -> list[tuple[str, int | str | None]]:
    """Rows ``path,label`` of a CSV (a header line starting with ``path`` is skipped)."""
    try:
        with path.open(newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInputError(f"Cannot read the CSV {path}: {exc}") from exc
    if rows and rows[0][0].strip().lower() in ("path", "video", "file"):
        rows = rows[1:]
    out = []
    for i, r in enumerate(rows):
        if len(r) > 2:
            raise InvalidInputError(
                f"{path}: row {i + 1} has {len(r)} columns; expected path,label"
            )
        out.append((r[0].strip(), _parse_label(r[1] if len(r) > 1 else None)))
    return out


def _folder_videos(root: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(root.iterdir(), key=lambda p: _natural(p.name)):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix.lower() in VIDEO_EXTENSIONS:
            found.append(entry)
        elif entry.is_dir():
            files = [p for p in entry.iterdir() if p.is_file()]
            if any(p.suffix.lower() in IMAGE_EXTENSIONS for p in files):
                found.append(entry)  # a frame folder
            else:
                found.extend(_folder_videos(entry))
    return found


def list_videos(dataset: DatasetSpec) -> list[VideoRef]:
    """The videos of a dataset, in a stable order.

    Raises:
        InvalidInputError: a labels/list CSV cannot be read or names a path twice.
        VideoReadError: a folder dataset holds no video.
    """
    if dataset.kind == "synthetic":
        from vidxai.data.synthetic import default_label

        return [
            VideoRef(dataset.name, f"synthetic:{s}", None, default_label(s), s)
            for s in range(dataset.seed, dataset.seed + dataset.clips)
        ]
    assert dataset.path is not None
    if dataset.kind == "csv":
        base = dataset.path.parent
        return [
            VideoRef(dataset.name, rel, str((base / rel).resolve()), label)
            for rel, label in read_label_csv(dataset.path)
        ]
    labels: dict[str, int | str | None] = {}
    if dataset.labels is not None:
        for rel, label in read_label_csv(dataset.labels):
            labels[Path(rel).as_posix()] = label
    videos = _folder_videos(dataset.path)
    if not videos:
        raise VideoReadError(f"The folder {dataset.path} (dataset {dataset.name!r}) has no video")
    refs = []
    for p in videos:
        rel = p.relative_to(dataset.path).as_posix()
        refs.append(VideoRef(dataset.name, rel, str(p), labels.get(rel)))
    return refs


def count_frames(ref: VideoRef) -> int:
    """Number of frames of a video (for sliding windows), without decoding when possible."""
    if ref.synthetic_seed is not None:
        from vidxai.data.synthetic import SyntheticConfig

        return SyntheticConfig().num_frames
    assert ref.path is not None
    path = Path(ref.path)
    if path.is_dir():
        from vidxai.video._folder_reader import list_frame_files

        return len(list_frame_files(path))
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            if stream.frames:
                return int(stream.frames)
            return sum(1 for _ in container.decode(stream))
    except Exception as exc:  # corrupt or not a video: reported on the item's row
        raise VideoReadError(f"Cannot count the frames of {path}: {exc}") from exc


def windows(clips: ClipSpec, n_frames: int | None) -> list[tuple[int, int] | None]:
    """The frame windows ``[start, end)`` explained for a video (None = the whole video)."""
    if clips.mode == "frames":
        return [None]
    if clips.mode == "window":
        return [(clips.start, clips.end)]
    assert n_frames is not None
    length = clips.length
    if n_frames <= length:
        return [(0, n_frames)]
    starts = list(range(0, n_frames - length + 1, clips.stride))
    if starts[-1] + length < n_frames:
        starts.append(n_frames - length)  # one last window ending at the last frame
    return [(s, s + length) for s in starts]


def read_clip(
    ref: VideoRef, clips: ClipSpec, window: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Frames of one item, with its ground truth when the dataset has one.

    Returns:
        ``(frames T×H×W×3 uint8, mask T×H×W bool or None, indices)`` where ``indices`` are the
        original frame indices of the returned frames.

    Raises:
        VideoReadError / InvalidInputError: unreadable video, window past its end.
    """
    mask = None
    if ref.synthetic_seed is not None:
        from vidxai.data.synthetic import make_clip

        clip = make_clip(ref.synthetic_seed)
        frames, mask = clip.frames, clip.mask
    else:
        from vidxai.video import read_video

        assert ref.path is not None
        if window is not None:  # only the window's frames are decoded
            from vidxai.runner.windows import read_window

            frames = read_window(ref.path, window[0], window[1])
            return frames, None, np.arange(window[0], window[1], dtype=np.int64)
        limit = clips.frames if clips.mode == "frames" and clips.sampling == "first" else None
        frames = read_video(ref.path, max_frames=limit).frames
    return select_frames(frames, mask, clips, window)


def select_frames(
    frames: np.ndarray, mask: np.ndarray | None, clips: ClipSpec, window: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Apply the clip rule to decoded frames (and the same frames of the mask)."""
    from vidxai.video import uniform_indices
    from vidxai.video import window as frame_window

    total = int(frames.shape[0])
    if window is not None:
        indices = frame_window(total, window[0], window[1])
    elif clips.frames is None:
        indices = np.arange(total, dtype=np.int64)
    elif clips.sampling == "first":
        indices = np.arange(min(total, clips.frames), dtype=np.int64)
    else:
        indices = uniform_indices(total, clips.frames)
    return frames[indices], None if mask is None else mask[indices], indices
