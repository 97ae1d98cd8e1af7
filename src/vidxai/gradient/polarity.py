"""Turning signed gradient-like maps into attributions (the STEP toolkit's polarity option)."""

from __future__ import annotations

from typing import Literal

from torch import Tensor

Polarity = Literal["absolute", "positive", "negative", "both"]
POLARITIES: tuple[str, ...] = ("absolute", "positive", "negative", "both")


def reduce_channels(grad: Tensor, polarity: str = "absolute") -> Tensor:
    """Collapse the channel axis of a signed map.

    Args:
        grad: ``N×C×T×H×W`` signed map (a gradient, or gradient × input).
        polarity: ``"absolute"`` — max over channels of |g|; ``"positive"`` — max of g clipped at
            0 (evidence for the target); ``"negative"`` — max of −g clipped at 0 (evidence against,
            shown as positive values); ``"both"`` — the signed sum over channels.

    Returns:
        ``N×T×H×W``.
    """
    if polarity == "absolute":
        return grad.abs().amax(dim=1)
    if polarity == "positive":
        return grad.clamp(min=0).amax(dim=1)
    if polarity == "negative":
        return (-grad).clamp(min=0).amax(dim=1)
    if polarity == "both":
        return grad.sum(dim=1)
    raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
