"""What removed voxels are replaced with: the shared fills registry, seen from the removal stage.

The registry (:data:`FILLS`, :class:`FillInput`) lives in :mod:`vidxai.ops.fill_registry` so the
metrics see the same fills; a fill registered there (or here: it is the same object) works as
``removal="<name>"`` in every removal method::

    from vidxai.removal.remove import FILLS, FillInput

    @FILLS.register("white")
    def white(inp: FillInput) -> torch.Tensor:
        return inp.pixel_value(1.0).reshape(1, -1, 1, 1, 1)
"""

from __future__ import annotations

from torch import Tensor

from vidxai.ops.fill import FILL_NAMES, make_fill, segment_means
from vidxai.ops.fill_registry import (
    FILLS,
    FillFactory,
    FillInput,
    FillSpec,
    check_fill_spec,
    make_registered_fill,
)

__all__ = [
    "FILLS",
    "FILL_NAMES",
    "FillFactory",
    "FillInput",
    "RemovalSpec",
    "check_removal_spec",
    "make_fill",
    "make_removal_fill",
    "segment_means",
]

#: A removal choice: see :data:`vidxai.ops.fill_registry.FillSpec`.
RemovalSpec = FillSpec


def check_removal_spec(spec: object) -> None:
    """Validate a removal choice without the clip (``ParameterError`` "Bad removal: …" on a bad
    one, listing the registered fill names for an unknown name)."""
    check_fill_spec(spec, "removal")


def make_removal_fill(spec: RemovalSpec, inp: FillInput) -> Tensor:
    """The values every removed voxel takes (see
    :func:`vidxai.ops.fill_registry.make_registered_fill`): broadcastable to ``1×C×T×H×W``."""
    return make_registered_fill(spec, inp, "removal")
