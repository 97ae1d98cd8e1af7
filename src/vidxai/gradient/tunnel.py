"""The noise-tunnel protocol: methods that expose their raw per-channel attribution.

A method registered with :func:`vidxai.core.registry.register_method` can also register a
*raw* function with :func:`register_raw`::

    @register_raw("my_method")
    def my_method_raw(ctx: ExplainContext, params: MyParams, inputs: Tensor) -> Tensor:
        ...  # K×C×T×H×W inputs -> their K×C×T×H×W signed attributions (batched)

Its parameter dataclass must have ``polarity`` and ``channel_reduction`` fields (see
:mod:`vidxai.gradient.polarity`): the method's map is then
``reduce_channels(raw(ctx, params, ctx.x), params.polarity, params.channel_reduction)``.
SmoothGrad (:mod:`vidxai.gradient.smoothgrad`) wraps any such method, as Captum's
``NoiseTunnel`` wraps any attribution method: it calls the raw function once on all the noisy
copies and combines their raw attributions before the channel reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.errors import ParameterError

RawFunction = Callable[[ExplainContext, Any, Tensor], Tensor]

_RAW: dict[str, RawFunction] = {}


def register_raw(method: str) -> Callable[[RawFunction], RawFunction]:
    """Decorator: ``fn(ctx, params, inputs K×C×T×H×W) -> K×C×T×H×W`` is ``method``'s raw
    attribution (``params`` is an instance of the method's own parameter dataclass)."""

    def deco(fn: RawFunction) -> RawFunction:
        if _RAW.get(method, fn) is not fn:
            raise ValueError(f"a raw attribution for {method!r} is registered twice")
        _RAW[method] = fn
        return fn

    return deco


def tunnel_methods() -> tuple[str, ...]:
    """Names of the methods SmoothGrad can wrap (sorted)."""
    return tuple(sorted(_RAW))


def get_raw(method: str) -> RawFunction:
    """The raw function of ``method``; ParameterError listing the valid names otherwise."""
    if method not in _RAW:
        raise ParameterError(
            f"base must be a method exposing its raw attribution, one of "
            f"{', '.join(tunnel_methods())}; got {method!r}"
        )
    return _RAW[method]
