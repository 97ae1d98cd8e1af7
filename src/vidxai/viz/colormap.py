"""Colour maps and :func:`colorize`: prepared maps → RGBA colours.

The signed default, ``vidxai-signed``, runs from the Okabe–Ito blue (negative) through a light
grey (zero) to the Okabe–Ito orange (positive): a pair that stays distinguishable under the
common colour-vision deficiencies (unlike LIME's green/red).  Positive-only maps use
``inferno`` (perceptually uniform, colour-blind safe).  Nothing is registered in matplotlib's
global colormap registry.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from vidxai.errors import InvalidInputError
from vidxai.viz.options import VizOptions
from vidxai.viz.palette import NEGATIVE_RGB, NEUTRAL_RGB, POSITIVE_RGB, get_colormap

__all__ = [
    "NEGATIVE_RGB",
    "NEUTRAL_RGB",
    "POSITIVE_RGB",
    "colorize",
    "composite",
    "default_colormap",
    "get_colormap",
    "gray",
    "shade",
]


def default_colormap(options: VizOptions) -> str:
    """The colormap name used when ``options.colormap`` is None."""
    if options.colormap is not None:
        return options.colormap
    return {"signed": "vidxai-signed", "negative": "vidxai-negative"}.get(
        options.polarity, "inferno"
    )


#: Entries in the colour lookup table; odd, so that 0 of a signed map is an exact entry.
LUT_SIZE = 1023


@lru_cache(maxsize=32)
def _lut(name: str, signed: bool, alpha: float, magnitude: bool) -> np.ndarray:
    """LUT_SIZE×4 uint8: colour and opacity of each quantised display value."""
    cmap = get_colormap(name)
    position = np.linspace(0.0, 1.0, LUT_SIZE)
    lut = np.empty((LUT_SIZE, 4), dtype=np.uint8)
    lut[:, :3] = np.round(cmap(position)[:, :3] * 255.0)
    value = 2.0 * position - 1.0 if signed else position
    opacity = alpha * np.abs(value) if magnitude else np.full(LUT_SIZE, alpha)
    lut[:, 3] = np.rint(opacity * 255.0)
    return lut


def _index(values: np.ndarray, options: VizOptions) -> np.ndarray:
    """LUT entry of each display value (uint16; values outside the range are clipped)."""
    half = (LUT_SIZE - 1) / 2.0
    if options.signed:  # index = (v + 1)·half
        position = np.clip(values, -1.0, 1.0) * np.float32(half) + np.float32(half)
    else:
        position = np.clip(values, 0.0, 1.0) * np.float32(LUT_SIZE - 1)
    return np.rint(position, out=position).astype(np.uint16)  # LUT_SIZE < 2**16


def gray(frames: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of ...×3 uint8 frames, rounded to uint8 (the grey background)."""
    luma = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return np.rint(luma, out=luma).astype(np.uint8)


def _blend(under: np.ndarray, colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``rint(under + (colour − under)·alpha/255)`` in float32 (the one blending formula)."""
    a = alpha.astype(np.float32)
    a *= np.float32(1.0 / 255.0)
    blended = colour.astype(np.float32)
    blended -= under
    blended *= a
    blended += under  # (1 − a)·base + a·colour, a convex combination: stays within 0..255
    return np.rint(blended, out=blended).astype(np.uint8)


def _gray_table(name: str, signed: bool, alpha: float) -> np.ndarray:
    """LUT_SIZE×256×3 uint8: the blended colour of every (LUT entry, grey level) pair (built
    once per colour scheme by the cached :func:`_packed_gray_table`)."""
    lut = _lut(name, signed, alpha, True)
    levels = np.arange(256, dtype=np.float32)[None, :, None]
    colours = np.broadcast_to(lut[:, None, :3], (LUT_SIZE, 256, 3))
    return _blend(levels, colours, lut[:, None, 3:4])


@lru_cache(maxsize=8)
def _packed_gray_table(name: str, signed: bool, alpha: float) -> np.ndarray:
    """:func:`_gray_table` flattened to LUT_SIZE·256 uint32 words, each an RGB + 0 pixel."""
    rgb = _gray_table(name, signed, alpha).reshape(-1, 3)
    packed = np.zeros((rgb.shape[0], 4), dtype=np.uint8)
    packed[:, :3] = rgb
    return packed.view(np.uint32).reshape(-1)


def shade(frame: np.ndarray, values: np.ndarray, options: VizOptions | None = None) -> np.ndarray:
    """``composite(frame, colorize(values, options), options)`` in one step (same pixels).

    With the default grey background, magnitude opacity and no dimming, every output pixel is
    looked up in a table of (colour entry × grey level) blends — one gather per pixel instead
    of float arithmetic on the whole frame; other options take the two-step path.

    Args:
        frame: H×W×3 uint8 (or a stack ...×H×W×3).
        values: display values of the same leading shape (see :func:`colorize`).
    """
    options = options if options is not None else VizOptions()
    if options.background != "gray" or options.dim > 0 or options.alpha_mode != "magnitude":
        return composite(frame, colorize(values, options), options)
    values = np.asarray(values, dtype=np.float32)
    if frame.shape[:-1] != values.shape or frame.shape[-1] != 3:
        raise InvalidInputError(f"shade: frame {frame.shape} and map {values.shape} do not match")
    if not np.all(np.isfinite(values)):
        raise InvalidInputError("colorize: the map contains NaN or infinite values")
    table = _packed_gray_table(default_colormap(options), options.signed, float(options.alpha))
    flat = _index(values, options).astype(np.uint32)
    flat <<= 8  # row-major index into the LUT_SIZE×256 table: entry·256 + grey level
    flat |= gray(frame)
    # one 4-byte gather per pixel (RGB + padding), viewed back as ...×3 uint8
    return np.take(table, flat).view(np.uint8).reshape(*flat.shape, 4)[..., :3]


def colorize(prepared: np.ndarray, options: VizOptions | None = None) -> np.ndarray:
    """Map a prepared map onto RGBA colours.

    Args:
        prepared: any shape (e.g. T×H×W or H×W) of values in [0, 1], or in [-1, 1] when
            ``options.polarity == "signed"`` (the output of :func:`prepare_map`); values
            outside are clipped.
        options: colormap, alpha and alpha_mode are used.

    Returns:
        uint8 array of shape ``prepared.shape + (4,)``.  RGB comes from the colormap at
        ``v`` (unsigned) or ``(v + 1) / 2`` (signed, so 0 is the neutral centre); A is
        ``255·alpha·|v|`` for ``alpha_mode="magnitude"`` (zero relevance is fully transparent)
        or ``255·alpha`` wherever ``v != 0`` for ``alpha_mode="constant"``.  Values are
        quantised to 1023 levels (±1 in 8-bit opacity).
    """
    options = options if options is not None else VizOptions()
    values = np.asarray(prepared, dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise InvalidInputError("colorize: the map contains NaN or infinite values")
    magnitude = options.alpha_mode == "magnitude"
    lut = _lut(default_colormap(options), options.signed, float(options.alpha), magnitude)
    out = lut[_index(values, options)]
    if not magnitude:
        shown = values != 0 if options.signed else values > 0  # after clipping to [0, 1]
        out[..., 3][~shown] = 0
    return out


def composite(
    frames: np.ndarray, rgba: np.ndarray, options: VizOptions | None = None
) -> np.ndarray:
    """Alpha-composite colours over frames: ``out = (1−a)·background + a·colour``.

    Args:
        frames: ...×H×W×3 uint8 (one frame or a stack).
        rgba: ...×H×W×4 uint8 from :func:`colorize`, same leading shape.
        options: ``background`` ("gray" turns the frames grey first) and ``dim``.

    Returns:
        uint8 array shaped like ``frames``.
    """
    options = options if options is not None else VizOptions()
    if frames.shape[:-1] != rgba.shape[:-1] or frames.shape[-1] != 3 or rgba.shape[-1] != 4:
        raise InvalidInputError(
            f"composite: frames {frames.shape} and colours {rgba.shape} do not match"
        )
    alpha = rgba[..., 3]
    shown = alpha > 0  # only these pixels are blended; the rest is the background itself
    if options.background == "gray":
        base = gray(frames).astype(np.float32)
        if options.dim > 0:
            base *= np.float32(1.0 - options.dim)
        out = np.empty(frames.shape, dtype=np.uint8)
        out[...] = np.rint(base).astype(np.uint8)[..., None]
        under = base[shown][:, None]
    elif options.dim > 0:
        base = frames.astype(np.float32) * np.float32(1.0 - options.dim)
        out = np.rint(base).astype(np.uint8)
        under = base[shown]
    else:
        out = frames.copy()
        under = frames[shown].astype(np.float32)
    out[shown] = _blend(under, rgba[..., :3][shown], alpha[shown][:, None])
    return out
