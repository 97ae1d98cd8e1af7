"""3D SOS's summary: the model's value with each cuboid occluded, mapped back onto voxels."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidxai.core.registry import MethodOutput
from vidxai.removal.sample.cuboid import box_indicators
from vidxai.removal.summarize.base import SummaryInput


@dataclass(frozen=True)
class OccludedValue:
    """Per position ``j`` the drop ``d_j = f(x) − f(x with cuboid j occluded)`` (REVEX shows
    ``1 − f(occluded)``, the same map up to a constant for probabilities); each voxel gets the
    mean drop of the cuboids covering it (0 where none does).

    Extras: ``occluded_scores`` (the model's values on the position grid ``pt×ph×pw``),
    ``intact_score``, ``positions``.
    """

    def __call__(self, inp: SummaryInput) -> MethodOutput:
        s = inp.samples
        assert s.boxes is not None and s.positions is not None
        pt, ph, pw = s.positions
        y = inp.scores.double()
        base = float(y[0])
        occluded = y[1:].view(pt, ph, pw)
        drop = base - occluded
        grid_boxes = s.boxes[1:].view(pt, ph, pw, 6)
        axis_boxes = [grid_boxes[:, 0, 0], grid_boxes[0, :, 0], grid_boxes[0, 0, :]]
        ind = [
            box_indicators(b, inp.shape)[axis].double() for axis, b in enumerate(axis_boxes)
        ]  # pt×T, ph×H, pw×W
        total = torch.einsum("abc,at,bh,cw->thw", drop, ind[0], ind[1], ind[2])
        count = torch.einsum("t,h,w->thw", ind[0].sum(0), ind[1].sum(0), ind[2].sum(0))
        attribution = torch.where(count > 0, total / count.clamp_min(1), torch.zeros_like(total))
        return MethodOutput(
            attribution=attribution.float(),
            extras={
                "occluded_scores": occluded.float(),
                "intact_score": base,
                "positions": [pt, ph, pw],
            },
        )
