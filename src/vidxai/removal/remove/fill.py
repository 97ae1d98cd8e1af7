"""What removed voxels are replaced with: constant colours, segment means, blurs, a reference.

The fills themselves live in :mod:`vidxai.ops.fill` (shared with the metrics).
"""

from __future__ import annotations

from vidxai.errors import ParameterError
from vidxai.ops.fill import FILL_NAMES, Fill, check_fill, make_fill, segment_means

__all__ = ["FILL_NAMES", "RemovalSpec", "check_removal_spec", "make_fill", "segment_means"]

#: A removal choice: ``"black"``, ``"gray"``, ``"mean"``, ``"blur"`` (3D), ``"blur2d"``, a pixel
#: value in [0, 1] (float, or one per channel), a tensor of 1 or C values (a constant in
#: model-input space), or a reference video tensor ``C×T×H×W`` in model-input space.
RemovalSpec = Fill


def check_removal_spec(spec: object) -> None:
    """Validate a removal choice without the clip (``ParameterError`` on a bad one)."""
    try:
        check_fill(spec)
    except ParameterError as exc:
        raise ParameterError(f"Bad removal: {exc}") from None
