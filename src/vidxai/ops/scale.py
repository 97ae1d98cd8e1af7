"""Rescaling of maps."""

from __future__ import annotations

import torch
from torch import Tensor


def minmax(maps: Tensor) -> Tensor:
    """Min-max normalise each of ``K×…`` maps to [0, 1] (constant maps become 0)."""
    flat = maps.reshape(maps.shape[0], -1)
    lo = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - lo
    out = torch.where(span > 0, (flat - lo) / span.clamp(min=torch.finfo(flat.dtype).tiny), 0.0)
    return out.reshape(maps.shape)
