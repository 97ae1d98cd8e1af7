"""Turn original frames into a model input following an :class:`InputSpec`."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from vidxai.core.geometry import Geometry
from vidxai.errors import InvalidInputError
from vidxai.models.spec import InputSpec
from vidxai.video.sampling import uniform_indices


def _as_frames(frames: Any) -> np.ndarray:
    if isinstance(frames, Tensor):
        frames = frames.detach().cpu().numpy()
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8:
        kind = getattr(frames, "dtype", type(frames).__name__)
        raise InvalidInputError(f"frames must be a uint8 array T×H×W×3, got {kind}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or min(frames.shape[:3]) < 1:
        raise InvalidInputError(f"frames must be T×H×W×3 (RGB), got shape {frames.shape}")
    return frames


def prepare_frames(frames: Any, spec: InputSpec) -> tuple[Tensor, Geometry]:
    """Sample, resize, crop and normalise a video for a model.

    Steps: ``spec.num_frames`` frames are sampled uniformly (first and last included), resized
    (short side or exact size; bilinear, antialiased when ``spec.antialias``), centre-cropped
    to ``spec.size``, scaled to [0, 1] and normalised with ``spec.mean``/``spec.std``.

    Args:
        frames: ``T0×H0×W0×3`` uint8 RGB frames (NumPy array or tensor); never modified.
        spec: the model's input contract.

    Returns:
        ``(x, geometry)``: ``x`` is ``C×T×H×W`` float32; ``geometry`` maps it back to the
        original video.
    """
    frames = _as_frames(frames)
    t0, h0, w0 = (int(v) for v in frames.shape[:3])
    indices = uniform_indices(t0, spec.num_frames)
    clip = torch.from_numpy(np.ascontiguousarray(frames[indices])).permute(0, 3, 1, 2)
    resized = spec.resized_size(h0, w0)
    if resized != (h0, w0):
        # on uint8 channels-last frames, as torchvision's video transforms do: ~40× faster than
        # float32 on HD frames, for at most 0.5/255 of rounding
        clip = F.interpolate(
            clip, size=resized, mode="bilinear", align_corners=False, antialias=spec.antialias
        )
    top, left, h, w = spec.crop_box(resized)
    clip = clip[:, :, top : top + h, left : left + w].float().div_(255.0)  # T×3×H×W
    mean = torch.tensor(spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.std).view(1, 3, 1, 1)
    x = ((clip - mean) / std).permute(1, 0, 2, 3).contiguous()
    geometry = Geometry(
        frame_indices=tuple(int(i) for i in indices),
        num_frames=t0,
        original_size=(h0, w0),
        resized_size=resized,
        crop_box=(top, left, h, w),
    )
    return x, geometry
