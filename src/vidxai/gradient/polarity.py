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


def reduce_attribution(attr: Tensor, polarity: str = "both") -> Tensor:
    """Collapse the channel axis of an additive attribution (gradient × input, integrated
    gradients) by summing it — so completeness (Σ attribution = f(x) − f(baseline)) carries over
    to the ``T×H×W`` map — then apply the polarity.

    Args:
        attr: ``N×C×T×H×W`` signed per-channel attributions.
        polarity: ``"both"`` — the signed channel sum; ``"positive"`` — the sum clipped at 0;
            ``"negative"`` — minus the sum clipped at 0 (evidence against, as positive values);
            ``"absolute"`` — |sum|.

    Returns:
        ``N×T×H×W``.
    """
    total = attr.sum(dim=1)
    if polarity == "both":
        return total
    if polarity == "positive":
        return total.clamp(min=0)
    if polarity == "negative":
        return (-total).clamp(min=0)
    if polarity == "absolute":
        return total.abs()
    raise ValueError(f"polarity must be one of {POLARITIES}, got {polarity!r}")


def check_polarity(polarity: str | None) -> None:
    """ParameterError for an unknown polarity (``None`` is allowed: the method's default)."""
    from vidxai.errors import ParameterError

    if polarity is not None and polarity not in POLARITIES:
        raise ParameterError(f"polarity must be one of {', '.join(POLARITIES)}, got {polarity!r}")
