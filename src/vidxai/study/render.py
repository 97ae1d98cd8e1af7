"""The one fixed picture every item gets, whatever its method (REVEX paper §4.5).

The study shows every explanation the same way, so that raters judge the regions and not the
drawing: positive relevance only, the top 30 % of regions (the method's own regions when it
has a label volume in ``extras["segments"]``, else voxels), histogram stretching, one colour
map (``inferno``) over the clip in grey. The clip and the overlay are encoded as web video
(MP4, H.264) with an animated GIF fallback; the colour bar is one PNG shared by all items.
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidxai.viz.options import VizOptions

#: The study's visualisation (the paper's settings; the same for every method).
STUDY_VIZ = VizOptions(
    polarity="positive",
    selection="topk",
    topk=0.3,
    stretch=True,
    normalise="video",
    colormap="inferno",
    background="gray",
)
#: Clips smaller than this (short side, pixels) are enlarged (nearest neighbour) for display.
MIN_SIDE = 192
COLORBAR_WIDTH = 480


@dataclass(frozen=True)
class Media:
    """One rendered video in both web formats."""

    mp4: bytes
    gif: bytes


def _enlarge(frames: np.ndarray) -> np.ndarray:
    """Nearest-neighbour enlargement by a whole factor so the short side reaches MIN_SIDE."""
    from vidxai.viz.overlay import upscale_factor

    factor = upscale_factor(int(frames.shape[1]), int(frames.shape[2]), MIN_SIDE)
    if factor == 1:
        return frames
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def encode(frames: np.ndarray, fps: float) -> Media:
    """Encode ``T×H×W×3`` uint8 frames as MP4 (H.264) and GIF bytes."""
    from vidxai.video.write import write_video

    big = _enlarge(frames)
    with tempfile.TemporaryDirectory(prefix="vidxai-study-") as tmp:
        mp4 = write_video(Path(tmp) / "clip.mp4", big, fps, crf=20).read_bytes()
        gif = write_video(Path(tmp) / "clip.gif", big, fps).read_bytes()
    return Media(mp4=mp4, gif=gif)


def render_overlay(frames: np.ndarray, explanation: Any) -> np.ndarray:
    """The study's overlay of an explanation on its clip: ``T0×H0×W0×3`` uint8.

    Args:
        frames: ``T0×H0×W0×3`` uint8 frames the explanation was computed on.
        explanation: a :class:`~vidxai.Explanation` (model-space map with its geometry, and
            its regions when it has them).
    """
    from vidxai.viz.overlay import overlay_frames

    return overlay_frames(frames, explanation, STUDY_VIZ, colorbar=False, temporal=False)


def colorbar_png() -> bytes:
    """The colour bar of :data:`STUDY_VIZ` as PNG bytes (shown under every item)."""
    from PIL import Image

    from vidxai.viz.strips import colorbar_strip

    strip = colorbar_strip(COLORBAR_WIDTH, STUDY_VIZ, height=48)
    buffer = io.BytesIO()
    Image.fromarray(strip).save(buffer, format="PNG")
    return buffer.getvalue()
