"""The bundled example clip is real footage that vidxai reads, with its licence beside it."""

from __future__ import annotations

import numpy as np

import vidxai
from vidxai.data import EXAMPLE_LICENCE, example_video


def test_example_video_is_a_readable_real_clip() -> None:
    path = example_video()
    assert path.is_file() and path.stat().st_size < 500_000
    video = vidxai.read_video(path)
    assert video.frames.shape == (132, 180, 320, 3)
    # real footage: frames differ and are not flat
    assert (
        video.frames.std() > 20
        and np.abs(np.diff(video.frames[:20].astype(int), axis=0)).mean() > 0.5
    )


def test_the_licence_ships_with_the_clip() -> None:
    text = example_video().with_name("EXAMPLE_LICENCE.txt").read_text()
    assert "Creative Commons Attribution 3.0" in text and text.strip() == EXAMPLE_LICENCE
