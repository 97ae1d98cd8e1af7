"""Baselines of the path methods: black, blur (SciPy reference), a tensor, a video path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

import vidxai
from vidxai.errors import ParameterError
from vidxai.models import InputSpec, VideoClassifier

IDENTITY = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def _ig(model, video, **kw):
    return vidxai.explain(
        model, video, method="integrated_gradients", target=1, n_steps=2, progress=False, **kw
    )


def test_blur_baseline_is_a_per_frame_reflect_gaussian(smooth_model):
    clip = torch.rand(3, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    exp = _ig(smooth_model, clip, baseline="blur", blur_sigma=1.5)
    ref = gaussian_filter(clip.double().numpy(), sigma=(0, 0, 1.5, 1.5), mode="reflect")
    with torch.no_grad():
        expected = float(smooth_model(torch.from_numpy(ref).float()[None])[0, 1])
    assert exp.extras["baseline_score"] == pytest.approx(expected, rel=1e-5)


def test_a_video_path_baseline_is_prepared_like_the_explained_video(tmp_path, smooth_model):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    reference = rng.integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    folder = tmp_path / "reference"
    folder.mkdir()
    for i, frame in enumerate(reference):
        Image.fromarray(frame).save(folder / f"frame_{i:03d}.png")  # lossless
    spec = InputSpec(num_frames=4, size=(8, 8), resize=None, crop="none", **IDENTITY)
    model = VideoClassifier(smooth_model, spec)
    exp = _ig(model, frames, baseline=str(folder))
    expected_clip = torch.from_numpy(reference).permute(3, 0, 1, 2).float() / 255.0
    with torch.no_grad():
        expected = float(smooth_model(expected_clip[None])[0, 1])
    assert exp.extras["baseline_score"] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ParameterError, match="readable video"):
        _ig(model, frames, baseline=str(tmp_path / "missing.mp4"))


def test_a_path_baseline_needs_an_input_contract(smooth_model, tmp_path):
    clip = torch.rand(3, 4, 8, 8)
    with pytest.raises(ParameterError, match="input contract"):
        _ig(smooth_model, clip, baseline=str(tmp_path / "clip.mp4"))
