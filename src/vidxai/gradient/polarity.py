"""Turning signed per-channel maps into ``T×H×W`` attributions: polarity and channel reduction.

Two separate choices, each with one meaning everywhere in vidxai:

* ``polarity`` — which values are kept, element by element: ``"absolute"`` is the absolute
  value ``|v|``; ``"positive"`` is ``max(v, 0)`` (evidence for the target); ``"negative"`` is
  ``max(−v, 0)`` (evidence against it, shown as positive values); ``"both"`` keeps the sign.
* ``channel_reduction`` — how the ``C`` colour channels collapse into one value per voxel:
  ``"sum"`` and ``"mean"`` are linear, so they are taken on the signed values and the polarity
  is applied to the result (the map of an additive attribution then still sums to
  ``f(x) − f(baseline)`` with ``"both"``); ``"max"`` (Simonyan et al.'s saliency) and ``"l2"``
  (the Euclidean norm over channels) are magnitudes, taken over the values after the polarity.

So saliency's classic ``max_c |∂f/∂x_c|`` is ``polarity="absolute", channel_reduction="max"``,
and integrated gradients' signed map ``Σ_c IG_c`` is ``polarity="both", channel_reduction="sum"``.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor

from vidxai.errors import ParameterError

Polarity = Literal["absolute", "positive", "negative", "both"]
POLARITIES: tuple[str, ...] = ("absolute", "positive", "negative", "both")
ChannelReduction = Literal["sum", "mean", "max", "l2"]
CHANNEL_REDUCTIONS: tuple[str, ...] = ("sum", "mean", "max", "l2")


def apply_polarity(values: Tensor, polarity: str) -> Tensor:
    """Element-wise polarity (see the module docstring); returns a new tensor or ``values``."""
    if polarity == "both":
        return values
    if polarity == "absolute":
        return values.abs()
    if polarity == "positive":
        return values.clamp(min=0)
    if polarity == "negative":
        return (-values).clamp(min=0)
    raise ParameterError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")


def reduce_channels(attr: Tensor, polarity: str, channel_reduction: str) -> Tensor:
    """Collapse the channel axis of signed per-channel maps and apply the polarity.

    Args:
        attr: ``N×C×T×H×W`` signed maps (gradients, gradient × input, integrated gradients…).
        polarity: ``absolute`` / ``positive`` / ``negative`` / ``both``.
        channel_reduction: ``sum`` / ``mean`` (reduce, then polarity) or ``max`` / ``l2``
            (polarity, then reduce).

    Returns:
        ``N×T×H×W``.
    """
    check_polarity(polarity)
    if channel_reduction == "sum":
        return apply_polarity(attr.sum(dim=1), polarity)
    if channel_reduction == "mean":
        return apply_polarity(attr.mean(dim=1), polarity)
    if channel_reduction == "max":
        return apply_polarity(attr, polarity).amax(dim=1)
    if channel_reduction == "l2":
        return apply_polarity(attr, polarity).pow(2).sum(dim=1).sqrt()
    raise ParameterError(
        f"channel_reduction must be one of {', '.join(CHANNEL_REDUCTIONS)}, "
        f"got {channel_reduction!r}"
    )


def reduce_attribution(attr: Tensor, polarity: str = "both") -> Tensor:
    """An additive attribution's map: the channel sum, then the polarity (``N×C×…`` → ``N×…``)."""
    return reduce_channels(attr, polarity, "sum")


def check_polarity(polarity: str | None) -> None:
    """ParameterError for an unknown polarity (``None`` is allowed: the method's default)."""
    if polarity is not None and polarity not in POLARITIES:
        raise ParameterError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")


def check_channel_reduction(channel_reduction: str | None) -> None:
    """ParameterError for an unknown channel reduction (``None``: the method's default)."""
    if channel_reduction is not None and channel_reduction not in CHANNEL_REDUCTIONS:
        raise ParameterError(
            f"channel_reduction must be one of {', '.join(CHANNEL_REDUCTIONS)}, "
            f"got {channel_reduction!r}"
        )
