"""InputSpec: what a video model expects as input (layout, frames, size, resize/crop, mean/std)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vidxai.errors import InvalidInputError

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"InputSpec.{name} must be a positive int, got {value!r}")
    return value


def _pair(value: object, name: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise InvalidInputError(f"InputSpec.{name} must be an int or a pair (H, W), got {value!r}")
    return (_positive_int(value[0], name), _positive_int(value[1], name))


def _triple(value: object, name: str, positive: bool) -> tuple[float, float, float]:
    try:
        out = tuple(float(v) for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"InputSpec.{name} must be 3 numbers, got {value!r}") from exc
    if len(out) != 3 or (positive and min(out) <= 0):
        need = "3 positive numbers" if positive else "3 numbers"
        raise InvalidInputError(f"InputSpec.{name} must be {need} (R, G, B), got {value!r}")
    return out  # type: ignore[return-value]


@dataclass(frozen=True)
class InputSpec:
    """The input contract of a video model.

    Attributes:
        layout: ``"NCTHW"`` (torchvision, 3D CNNs) or ``"NTCHW"`` (Hugging Face video models);
            vidxai always holds clips as N×C×T×H×W and permutes in ``VideoClassifier.forward``.
        num_frames: ``T``, frames sampled uniformly from the video.
        size: ``(H, W)`` of the model input.
        resize: short side (int) or exact ``(H, W)`` before the crop; ``None`` resizes the
            frames directly to ``size``.
        crop: ``"center"`` crop of ``size`` from the resized frames, or ``"none"`` (then
            ``resize`` must be ``None`` or equal to ``size``).
        mean, std: per-channel (R, G, B) normalisation of pixel values in [0, 1].
        antialias: low-pass filter when the resize step shrinks frames (as PIL and Hugging
            Face processors do). torchvision's video presets resize *without* it
            (``antialias=False``), and their pretrained weights expect that; the zoo's
            torchvision models set it so.
        crop_rounding: where a centre crop goes when the margin is odd: ``"round"`` (half the
            margin rounded half to even, torchvision's ``center_crop``) or ``"floor"`` (Hugging
            Face image processors).
    """

    layout: Literal["NCTHW", "NTCHW"] = "NCTHW"
    num_frames: int = 16
    size: tuple[int, int] = (112, 112)
    resize: int | tuple[int, int] | None = 128
    crop: Literal["center", "none"] = "center"
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD
    antialias: bool = True
    crop_rounding: Literal["round", "floor"] = "round"

    def __post_init__(self) -> None:
        if self.layout not in ("NCTHW", "NTCHW"):
            raise InvalidInputError(
                f"InputSpec.layout must be 'NCTHW' or 'NTCHW', got {self.layout!r}"
            )
        if self.crop not in ("center", "none"):
            raise InvalidInputError(f"InputSpec.crop must be 'center' or 'none', got {self.crop!r}")
        _positive_int(self.num_frames, "num_frames")
        if self.crop_rounding not in ("round", "floor"):
            raise InvalidInputError(
                f"InputSpec.crop_rounding must be 'round' or 'floor', got {self.crop_rounding!r}"
            )
        if not isinstance(self.antialias, bool):
            raise InvalidInputError(f"InputSpec.antialias must be a bool, got {self.antialias!r}")
        size = _pair(self.size, "size")
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "mean", _triple(self.mean, "mean", positive=False))
        object.__setattr__(self, "std", _triple(self.std, "std", positive=True))
        resize = self.resize
        if isinstance(resize, (tuple, list)):
            resize = _pair(resize, "resize")
            object.__setattr__(self, "resize", resize)
            if resize[0] < size[0] or resize[1] < size[1]:
                raise InvalidInputError(
                    f"InputSpec.resize {resize} is smaller than the crop size {size}"
                )
        elif resize is not None:
            _positive_int(resize, "resize")
            if resize < max(size):
                raise InvalidInputError(
                    f"InputSpec.resize (short side) {resize} is smaller than the crop size {size}"
                )
        if self.crop == "none" and resize is not None and resize != size:
            raise InvalidInputError(
                "InputSpec.crop='none' needs resize=None (frames are resized straight to size)"
            )

    def resized_size(self, height: int, width: int) -> tuple[int, int]:
        """Frame size ``(H', W')`` after the resize step, for an original ``height×width``."""
        if self.resize is None:
            return self.size
        if isinstance(self.resize, tuple):
            return self.resize
        short, long = (height, width) if height <= width else (width, height)
        new_long = max(int(self.resize * long / short), self.resize)
        return (self.resize, new_long) if height <= width else (new_long, self.resize)

    def crop_box(self, resized: tuple[int, int]) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the model input inside the resized frame."""
        h, w = self.size
        if self.crop == "none":
            return (0, 0, h, w)
        if self.crop_rounding == "floor":
            return ((resized[0] - h) // 2, (resized[1] - w) // 2, h, w)
        top = round((resized[0] - h) / 2.0)
        left = round((resized[1] - w) / 2.0)
        return (top, left, h, w)
