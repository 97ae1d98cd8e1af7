"""Display options shared by every picture vidxai draws (:class:`VizOptions`).

The defaults follow the REVEX user study (paper §4.5): positive relevance only, the top 30 %
of regions kept, histogram stretching on.  ``VizOptions.from_strings`` parses the CLI's
``--viz key=value`` pairs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from vidxai.errors import ParameterError
from vidxai.viz.palette import get_colormap

POLARITIES = ("positive", "signed", "negative", "absolute")
SELECTIONS = ("topk", "threshold", "mass", "none")
NORMALISATIONS = ("video", "frame")
ALPHA_MODES = ("magnitude", "constant")
BACKGROUNDS = ("color", "gray")

_HELP = {
    "polarity": "positive: evidence for the class only (default); negative: evidence against it; "
    "signed: both, in two colours; absolute: |attribution|",
    "selection": "topk: the top share of regions (or voxels); threshold: values >= threshold "
    "(0-1 scale); mass: highest first until a share of the total is reached; none",
    "topk": "share of regions/voxels kept by selection=topk (0-1]",
    "threshold": "minimum displayed relevance on the 0-1 scale for selection=threshold",
    "mass": "share of the total relevance kept by selection=mass (0-1]",
    "stretch": "histogram stretching: map [min, max] of the values onto the full colour range",
    "clip": "percentile of |values| taken as the top of the colour scale (100 = the maximum)",
    "normalise": "video: one colour scale and selection for the whole video; frame: per frame",
    "smooth_sigma": "Gaussian smoothing of each frame of the map, sigma in map pixels (0 = off)",
    "colormap": "matplotlib colormap name, or vidxai-signed / vidxai-negative; "
    "default: inferno (positive/absolute), vidxai-signed (signed), vidxai-negative (negative)",
    "alpha": "opacity of the heat map over the video (0-1)",
    "alpha_mode": "magnitude: opacity = alpha·|value| (zero shows the video); "
    "constant: opacity = alpha wherever a value is shown",
    "background": "gray: the video in grey, so colour only means relevance (scene colours "
    "cannot be mistaken for it, REVEX §3.5); color: the video as it is",
    "dim": "darken the video under the map by this share (0-1)",
}


@dataclass(frozen=True)
class VizOptions:
    """How an attribution map is turned into colours.

    The steps, in order (see :func:`vidxai.viz.prepare_map`): polarity → region scores (when
    a label volume is given) → normalisation/stretching → selection → smoothing; then
    :func:`vidxai.viz.colorize` maps values onto colours and opacities.
    """

    polarity: Literal["positive", "signed", "negative", "absolute"] = "positive"
    selection: Literal["topk", "threshold", "mass"] | None = "topk"
    topk: float = 0.3
    threshold: float = 0.5
    mass: float = 0.3
    stretch: bool = True
    clip: float = 100.0
    normalise: Literal["video", "frame"] = "video"
    smooth_sigma: float = 0.0
    colormap: str | None = None
    alpha: float = 0.6
    alpha_mode: Literal["magnitude", "constant"] = "magnitude"
    background: Literal["color", "gray"] = "gray"
    dim: float = 0.0

    def __post_init__(self) -> None:
        if self.selection == "none":
            object.__setattr__(self, "selection", None)
        _choice("polarity", self.polarity, POLARITIES)
        if self.selection is not None:
            _choice("selection", self.selection, SELECTIONS)
        _choice("normalise", self.normalise, NORMALISATIONS)
        _choice("alpha_mode", self.alpha_mode, ALPHA_MODES)
        _choice("background", self.background, BACKGROUNDS)
        _share("topk", self.topk, zero_ok=False)
        _share("mass", self.mass, zero_ok=False)
        _share("threshold", self.threshold, zero_ok=True)
        _share("alpha", self.alpha, zero_ok=True)
        _share("dim", self.dim, zero_ok=True)
        if not isinstance(self.stretch, bool):
            raise ParameterError(f"viz option stretch must be true or false, got {self.stretch!r}")
        _number("clip", self.clip)
        if not 0.0 < self.clip <= 100.0:
            raise ParameterError(
                f"viz option clip must be a percentile in (0, 100], got {self.clip}"
            )
        _number("smooth_sigma", self.smooth_sigma)
        if self.smooth_sigma < 0:
            raise ParameterError(f"viz option smooth_sigma must be >= 0, got {self.smooth_sigma}")
        if self.colormap is not None:
            get_colormap(self.colormap)  # raises UnknownNameError listing the valid names

    @property
    def signed(self) -> bool:
        """True when maps keep their sign (values in [-1, 1]); else values are in [0, 1]."""
        return self.polarity == "signed"

    def replace(self, **changes: Any) -> VizOptions:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_strings(cls, items: Iterable[str], base: VizOptions | None = None) -> VizOptions:
        """Parse CLI ``key=value`` strings, e.g. ``["polarity=signed", "topk=0.2"]``.

        Unknown keys, malformed items and bad values raise :class:`ParameterError`.
        ``selection=none`` and ``colormap=default`` give ``None``.
        """
        raw: dict[str, str] = {}
        for item in items:
            key, sep, value = str(item).partition("=")
            key = key.strip().replace("-", "_")
            if not sep or not key:
                raise ParameterError(
                    f"--viz expects key=value, got {item!r}. Valid keys: {', '.join(_HELP)}"
                )
            raw[key] = value.strip()
        return cls.from_mapping(raw, base=base)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], base: VizOptions | None = None) -> VizOptions:
        """Build options from a mapping of field names to values (strings are converted)."""
        base = base if base is not None else cls()
        fields = {f.name: f for f in dataclasses.fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in fields:
                raise ParameterError(f"Unknown viz option {key!r}. Valid keys: {', '.join(fields)}")
            changes[key] = _convert(key, value) if isinstance(value, str) else value
        return dataclasses.replace(base, **changes)

    @classmethod
    def describe(cls) -> str:
        """One line per option, ``key (default): meaning`` — for ``--help`` texts."""
        defaults = cls()
        lines = []
        for f in dataclasses.fields(cls):
            value = getattr(defaults, f.name)
            shown = "none" if value is None and f.name == "selection" else value
            shown = "default" if value is None and f.name == "colormap" else shown
            shown = str(shown).lower() if isinstance(shown, bool) else shown
            lines.append(f"{f.name} ({shown}): {_HELP[f.name]}")
        return "\n".join(lines)


_FLOATS = {"topk", "threshold", "mass", "clip", "smooth_sigma", "alpha", "dim"}


def _convert(key: str, text: str) -> Any:
    if key in _FLOATS:
        try:
            return float(text)
        except ValueError:
            raise ParameterError(f"viz option {key} must be a number, got {text!r}") from None
    if key == "stretch":
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ParameterError(f"viz option stretch must be true or false, got {text!r}")
    if key == "selection" and text.lower() in ("none", "off", "all", ""):
        return None
    if key == "colormap" and text.lower() in ("default", "none", ""):
        return None
    return text if key == "colormap" else text.lower()


def _choice(key: str, value: object, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ParameterError(f"viz option {key} must be one of {', '.join(valid)}; got {value!r}")


def _number(key: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ParameterError(f"viz option {key} must be a finite number, got {value!r}")


def _share(key: str, value: object, zero_ok: bool) -> None:
    _number(key, value)
    assert isinstance(value, (int, float))
    low_ok = value >= 0.0 if zero_ok else value > 0.0
    if not (low_ok and value <= 1.0):
        interval = "[0, 1]" if zero_ok else "(0, 1]"
        raise ParameterError(f"viz option {key} must be in {interval}, got {value}")
