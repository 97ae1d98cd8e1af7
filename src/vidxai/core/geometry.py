"""Geometry: how the voxels of a model input map back onto the original video."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import InvalidInputError
from vidxai.ops.resize import resize_frames


@dataclass(frozen=True)
class Geometry:
    """Where a ``T×H×W`` model input came from in a ``T0×H0×W0`` video.

    Attributes:
        frame_indices: original frame index of each model frame (length ``T``).
        num_frames: ``T0``, frames in the original video.
        original_size: ``(H0, W0)``.
        resized_size: ``(H', W')`` after the resize step, before the crop.
        crop_box: ``(top, left, height, width)`` of the crop in resized coordinates;
            ``height×width`` is the model input's ``H×W``.
    """

    frame_indices: tuple[int, ...]
    num_frames: int
    original_size: tuple[int, int]
    resized_size: tuple[int, int]
    crop_box: tuple[int, int, int, int]

    def nearest_model_frames(self) -> Tensor:
        """``T0`` long tensor: the model frame nearest to each original frame (ties → earlier)."""
        sampled = torch.tensor(self.frame_indices, dtype=torch.long)
        original = torch.arange(self.num_frames, dtype=torch.long)
        return (original[:, None] - sampled[None, :]).abs().argmin(dim=1)

    def to_original(self, attribution: Tensor) -> Tensor:
        """Map a ``T×H×W`` attribution in model-input space onto the original video.

        The crop is put back into the resized frame with zeros around it (areas cropped away
        carry no attribution), the frame is resized to ``H0×W0`` (bilinear), and each original
        frame takes the map of the nearest sampled model frame.

        Args:
            attribution: ``T×H×W`` tensor (any float dtype, any device).

        Returns:
            ``T0×H0×W0`` float32 tensor on the attribution's device.
        """
        top, left, h, w = self.crop_box
        expected = (len(self.frame_indices), h, w)
        if not isinstance(attribution, Tensor) or tuple(attribution.shape) != expected:
            got = tuple(attribution.shape) if isinstance(attribution, Tensor) else type(attribution)
            raise InvalidInputError(
                f"Geometry.to_original expects a T×H×W attribution of shape {expected}, got {got}"
            )
        att = attribution.detach().float()
        rh, rw = self.resized_size
        canvas = att.new_zeros((att.shape[0], 1, rh, rw))
        canvas[:, 0, top : top + h, left : left + w] = att
        canvas = resize_frames(canvas, self.original_size, antialias=True)
        index = self.nearest_model_frames().to(att.device)
        return canvas[:, 0].index_select(0, index)

    def to_dict(self) -> dict[str, Any]:
        """Plain ints and lists (loadable with ``torch.load(weights_only=True)``)."""
        return {
            "frame_indices": [int(i) for i in self.frame_indices],
            "num_frames": int(self.num_frames),
            "original_size": [int(v) for v in self.original_size],
            "resized_size": [int(v) for v in self.resized_size],
            "crop_box": [int(v) for v in self.crop_box],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Geometry:
        """Inverse of :meth:`to_dict`."""
        try:
            return cls(
                frame_indices=tuple(int(i) for i in data["frame_indices"]),
                num_frames=int(data["num_frames"]),
                original_size=tuple(int(v) for v in data["original_size"]),  # type: ignore[arg-type]
                resized_size=tuple(int(v) for v in data["resized_size"]),  # type: ignore[arg-type]
                crop_box=tuple(int(v) for v in data["crop_box"]),  # type: ignore[arg-type]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"Not a valid Geometry dict: {data!r}") from exc
