"""Named colour maps (vidxai's own and matplotlib's), below both options and colorize.

The signed default, ``vidxai-signed``, runs from the Okabe–Ito blue (negative) through a light
grey (zero) to the Okabe–Ito orange (positive). Nothing is registered in matplotlib's global
colormap registry.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from vidxai.errors import unknown_name

if TYPE_CHECKING:
    from matplotlib.colors import Colormap

#: Okabe–Ito blue, a light neutral grey and Okabe–Ito orange (RGB, 0-255).
NEGATIVE_RGB = (0, 114, 178)
NEUTRAL_RGB = (240, 240, 240)
POSITIVE_RGB = (230, 159, 0)

_OWN = {
    "vidxai-signed": (NEGATIVE_RGB, NEUTRAL_RGB, POSITIVE_RGB),
    "vidxai-negative": (NEUTRAL_RGB, NEGATIVE_RGB),
    "vidxai-positive": (NEUTRAL_RGB, POSITIVE_RGB),
}


@lru_cache(maxsize=32)
def get_colormap(name: str) -> Colormap:
    """A colormap by name: vidxai's own (``vidxai-signed``, ``vidxai-negative``,
    ``vidxai-positive``) or any matplotlib name (``inferno``, ``viridis``, ``PuOr``…).

    Raises :class:`~vidxai.errors.UnknownNameError` listing close names.
    """
    from matplotlib import colormaps  # here, so parsing options does not load matplotlib
    from matplotlib.colors import LinearSegmentedColormap

    if name in _OWN:
        stops = [tuple(c / 255.0 for c in rgb) for rgb in _OWN[name]]
        return LinearSegmentedColormap.from_list(name, stops, N=256)
    try:
        return colormaps[name]
    except KeyError:
        raise unknown_name("colormap", name, [*_OWN, *colormaps]) from None
