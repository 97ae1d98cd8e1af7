"""The registry of named fills, shared by the removal stage and the metrics.

Named fills are entries of :data:`FILLS` (a :class:`~vidxai.ops.registry.StageRegistry`):
``black``, ``gray``, ``mean`` (segment mean colour; the clip's mean colour in the metrics),
``blur`` (3D Gaussian) and ``blur2d`` (per frame) are built in, computed by
:func:`vidxai.ops.fill.make_fill`. A new fill is one ``register`` call::

    from vidxai.ops.fill_registry import FILLS, FillInput   # also vidxai.removal.remove

    @FILLS.register("white")
    def white(inp: FillInput) -> torch.Tensor:
        return inp.pixel_value(1.0).reshape(1, -1, 1, 1, 1)

after which ``removal="white"`` works in every removal method and ``fill="white"`` in the
deletion / insertion games and the average drop. Non-string fills (a pixel value in [0, 1],
one per channel, a tensor constant or reference video) go to :func:`~vidxai.ops.fill.make_fill`
as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from vidxai.errors import ParameterError
from vidxai.ops.fill import FILL_NAMES, Fill, check_fill, make_fill
from vidxai.ops.registry import StageRegistry

__all__ = [
    "FILLS",
    "FillFactory",
    "FillInput",
    "FillSpec",
    "check_fill_spec",
    "make_registered_fill",
]

#: A fill choice: a registered fill name (see :data:`FILLS`), a pixel value in [0, 1] (float,
#: or one per channel), a tensor of 1 or C values (a constant in model-input space), or a
#: reference video tensor ``C×T×H×W`` in model-input space.
FillSpec = Fill


@dataclass(frozen=True)
class FillInput:
    """What a fill factory receives.

    Attributes:
        x: ``1×C×T×H×W`` clip in model-input space (never modify it).
        pixel_value: pixel-space value(s) in [0, 1] → ``C`` tensor in model-input space.
        labels: ``T×H×W`` int64 segmentation, or None (occlusion has none).
        blur_sigma: the method's ``blur_sigma`` (voxels).
        generator: the clip's ``torch.Generator`` (on ``x``'s device), for random fills; a
            clip's draws are the same explained alone or in a batch.
    """

    x: Tensor
    pixel_value: Callable[[Any], Tensor]
    labels: Tensor | None
    blur_sigma: float
    generator: torch.Generator | None = None


#: ``FillInput → Tensor`` broadcastable to ``1×C×T×H×W`` (the values of removed voxels).
FillFactory = Callable[[FillInput], Tensor]

#: Named fills: ``removal="<name>"`` in the removal methods, ``fill="<name>"`` in the metrics.
FILLS: StageRegistry[FillFactory] = StageRegistry("fill")


def _builtin(name: str) -> FillFactory:
    def factory(inp: FillInput) -> Tensor:
        return make_fill(name, inp.x, inp.pixel_value, inp.labels, inp.blur_sigma)

    factory.__name__ = f"{name}_fill"
    factory.__doc__ = f"The {name!r} fill of :func:`vidxai.ops.fill.make_fill`."
    return factory


for _name in FILL_NAMES:
    FILLS.register(_name)(_builtin(_name))


def check_fill_spec(spec: object, what: str = "fill") -> None:
    """Validate a fill choice without the clip: ``ParameterError`` starting ``Bad <what>:`` on
    a bad one, listing the registered fill names for an unknown name."""
    if isinstance(spec, str):
        if spec not in FILLS:
            raise ParameterError(
                f"Bad {what}: unknown fill {spec!r}; a fill is one of "
                f"{', '.join(FILLS.names())}, a pixel value in [0, 1] (one, or one per "
                "channel) or a reference video tensor"
            )
        return
    try:
        check_fill(spec)
    except ParameterError as exc:
        raise ParameterError(f"Bad {what}: {exc}") from None


def _checked(name: str, value: object, x: Tensor) -> Tensor:
    """A fill factory's result, checked: a float tensor broadcastable to ``x``, finite."""
    if not isinstance(value, Tensor) or not value.is_floating_point():
        raise ParameterError(
            f"The fill {name!r} returned {type(value).__name__}"
            f"{'' if not isinstance(value, Tensor) else ' ' + str(value.dtype)}, expected a "
            f"float tensor broadcastable to {tuple(x.shape)} (1×C×T×H×W)"
        )
    try:
        shape = torch.broadcast_shapes(tuple(value.shape), tuple(x.shape))
    except RuntimeError:
        shape = None
    if shape != tuple(x.shape):
        raise ParameterError(
            f"The fill {name!r} returned shape {tuple(value.shape)}, which does not broadcast "
            f"to the clip's {tuple(x.shape)} (1×C×T×H×W)"
        )
    if not bool(torch.isfinite(value).all()):
        raise ParameterError(f"The fill {name!r} returned NaN or infinite values")
    return value.to(device=x.device, dtype=x.dtype)


def make_registered_fill(spec: FillSpec, inp: FillInput, what: str = "fill") -> Tensor:
    """The values every removed voxel takes, in model-input space.

    Args:
        spec: a registered fill name, or a colour / tensor (see :data:`FillSpec`).
        inp: the clip and what fills may use.
        what: the parameter's name in error messages (``removal`` or ``fill``).

    Returns:
        A tensor broadcastable to ``1×C×T×H×W`` on the clip's device (``1×C×1×1×1`` for a
        constant colour).

    Raises:
        ParameterError: an unknown fill name or a bad colour; the ``"mean"`` fill without a
            segmentation.
        InvalidInputError: a reference video whose shape is not the clip's ``C×T×H×W``.
        ParameterError: also for a registered fill returning something that is not a finite
            float tensor broadcastable to the clip.
    """
    check_fill_spec(spec, what)
    if not isinstance(spec, str):
        return make_fill(spec, inp.x, inp.pixel_value, inp.labels, inp.blur_sigma)
    return _checked(spec, FILLS.get(spec)(inp), inp.x)
