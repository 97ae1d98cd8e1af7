"""Display values on the user's original frames, one frame at a time.

An attribution comes either on the original frames already (``T0×H0×W0``, e.g. from
``Explanation.to_original()``), or in model-input space (``T×H×W``) with the ``Geometry`` that
maps it back.  In the second case the map is prepared (selection, stretching…) in model space,
where regions and the model's frames live, and each original frame is mapped on demand, so a
long high-resolution video never needs a ``T0×H0×W0`` float volume.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from vidxai.errors import InvalidInputError
from vidxai.viz.options import VizOptions
from vidxai.viz.prepare import as_volume, prepare_map
from vidxai.viz.temporal import temporal_importance


def unpack(attribution: Any, geometry: Any = None, segments: Any = None) -> tuple[Any, Any, Any]:
    """Accept an ``Explanation`` (anything with ``.attribution``) as well as a plain map.

    Returns ``(map, geometry, segments)``; an explanation's own geometry, and its
    ``extras["segments"]`` label volume when it has one of the map's shape, fill in what the
    caller did not give.
    """
    if hasattr(attribution, "attribution") and not hasattr(attribution, "shape"):
        explanation = attribution
        attribution = explanation.attribution
        if geometry is None:
            geometry = getattr(explanation, "geometry", None)
        extras = getattr(explanation, "extras", None) or {}
        labels = extras.get("segments") if isinstance(extras, dict) else None
        if (
            segments is None
            and labels is not None
            and tuple(labels.shape) == tuple(attribution.shape)
        ):
            segments = labels
    return attribution, geometry, segments


class FrameMaps:
    """Prepared display values (and the temporal curve) on the original frames.

    ``curve`` (T0 values) is what the temporal strip draws, chosen so that strip and overlay
    agree: with ``normalise="video"`` (one colour scale for the video) it is each frame's
    strongest displayed value, on the colour scale itself (0..1, ``curve_scale = 1``) — a frame
    without visible heat has no bar, a frame at the top of the scale a full one, after the same
    selection and normalisation as the overlay.  With ``normalise="frame"`` every frame has its
    own colour scale, so the strip shows each frame's share of the raw attribution (summing
    to 1, drawn relative to its peak, ``curve_scale = None``).

    Args:
        shape: (T0, H0, W0) of the original frames.
        attribution: T0×H0×W0 map, or a model-space T×H×W map with ``geometry``, or an
            ``Explanation``.
        options: :class:`VizOptions`.
        geometry: ``vidxai.models.adapter.Geometry`` when the map is in model space.
        segments: label volume of the map's shape (region selection).
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        attribution: Any,
        options: VizOptions,
        geometry: Any = None,
        segments: Any = None,
    ) -> None:
        attribution, geometry, segments = unpack(attribution, geometry, segments)
        raw = as_volume(attribution)
        self.shape = tuple(int(s) for s in shape)
        self.options = options
        self.prepared = prepare_map(raw, options, segments)
        # The curve is what the picture shows (after selection): each frame's strongest colour;
        # with per-frame normalisation every frame would peak at 1, so the raw map's share is used.
        self.curve_scale: float | None
        if options.normalise == "video":
            model_curve = np.abs(self.prepared).max(axis=(1, 2)).astype(np.float64)
            self.curve_scale = 1.0
        else:
            model_curve = temporal_importance(raw, options.polarity)
            self.curve_scale = None
        if raw.shape == self.shape:
            self._geometry = None
            self._nearest = np.arange(self.shape[0])
            self.curve = model_curve
        elif geometry is None:
            raise InvalidInputError(
                f"The map has shape {raw.shape} but the frames are {self.shape}: pass the "
                "explanation's geometry (or explanation.to_original()) to draw on the "
                "original video"
            )
        else:
            self._check_geometry(geometry, raw.shape)
            self._geometry = geometry
            self._nearest = np.asarray(geometry.nearest_model_frames().cpu().numpy())
            curve = model_curve[self._nearest]
            if self.curve_scale is None:  # a share: renormalise over the original frames
                curve = curve / curve.sum() if curve.sum() > 0 else curve
            self.curve = curve
        self._cached: tuple[int, np.ndarray] | None = None

    def _check_geometry(self, geometry: Any, model_shape: tuple[int, ...]) -> None:
        try:
            t0 = int(geometry.num_frames)
            h0, w0 = (int(v) for v in geometry.original_size)
            n = len(geometry.frame_indices)
            geometry.nearest_model_frames  # noqa: B018 - the method must exist
        except (AttributeError, TypeError, ValueError) as exc:
            raise InvalidInputError("geometry must be a vidxai Geometry") from exc
        if (t0, h0, w0) != self.shape:
            raise InvalidInputError(
                f"The geometry describes a {t0}×{h0}×{w0} video but the frames are "
                f"{self.shape[0]}×{self.shape[1]}×{self.shape[2]}"
            )
        if n != model_shape[0]:
            raise InvalidInputError(
                f"The geometry has {n} model frames but the map has {model_shape[0]}"
            )

    def model_frame(self, t: int) -> int:
        """Index (in the map's own frames) shown on original frame ``t``."""
        return int(self._nearest[t])

    def frame(self, t: int) -> np.ndarray:
        """H0×W0 float32 display values on original frame ``t``."""
        if self._geometry is None:
            return self.prepared[t]
        k = self.model_frame(t)
        if self._cached is None or self._cached[0] != k:
            one = dataclasses.replace(self._geometry, frame_indices=(0,), num_frames=1)
            mapped = one.to_original(torch.from_numpy(self.prepared[k : k + 1].copy()))
            self._cached = (k, np.asarray(mapped.detach().cpu().float().numpy()[0]))
        return self._cached[1]
