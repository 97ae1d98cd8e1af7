"""The set-up every front door shares: model, device, clips, the engine, the first pass, targets.

:func:`open_session` is used by :func:`vidxai.explain` and :func:`vidxai.evaluate` (and through
them by the CLI and the experiment runner), so every entry point validates its inputs the same
way, once: the model (zoo name, VideoClassifier or plain module), the device, the clips, the
batch size, the seed, the first forward pass and the targets.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from vidxai.core.engine import Engine, check_batch_size
from vidxai.core.hooks import eval_mode, preserved_device, preserved_requires_grad
from vidxai.core.target import Target, resolve_target
from vidxai.core.timing import Stopwatch
from vidxai.errors import InvalidInputError, VidxaiError

if TYPE_CHECKING:
    from vidxai.core.geometry import Geometry
    from vidxai.models.adapter import VideoClassifier

__all__ = [
    "Session",
    "check_batch_size",
    "check_seed",
    "first_forward",
    "open_session",
    "resolve_device",
    "resolve_model",
    "resolve_video",
    "split_videos",
]


def resolve_model(model: Any) -> VideoClassifier:
    """A zoo name, a :class:`VideoClassifier` or a plain ``nn.Module`` → a VideoClassifier."""
    from vidxai.models.adapter import VideoClassifier, as_classifier

    if isinstance(model, VideoClassifier):
        return model
    if isinstance(model, str):
        from vidxai.models.zoo import load_model

        return load_model(model)
    if isinstance(model, nn.Module):
        return as_classifier(model)
    raise InvalidInputError(
        f"model must be a vidxai.VideoClassifier, a torch.nn.Module or a zoo model name, "
        f"got {type(model).__name__}"
    )


def resolve_device(device: str | torch.device | None, model: nn.Module) -> torch.device:
    """The device to run on: the one asked for, else the model's, else CPU."""
    if device is None:
        param = next(model.parameters(), None)
        return param.device if param is not None else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidInputError(f"Unknown device {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidInputError(f"Device {device!r} was asked for but CUDA is not available here")
    return dev


def resolve_video(
    video: Any, classifier: VideoClassifier, device: torch.device
) -> tuple[Tensor, Geometry | None]:
    """Turn a path, a frames array or a model-space tensor into a ``1×C×T×H×W`` input.

    Returns a new tensor (the user's object is never modified) and the geometry mapping the
    input back to the original video (``None`` for tensor inputs).
    """
    from vidxai.video import read_video, validate_frames

    name = "frames"
    if isinstance(video, (str, Path)):
        name = f"The video {video}"
        video = read_video(video).frames
    elif hasattr(video, "frames") and isinstance(video.frames, np.ndarray):  # a Video
        source = getattr(video, "metadata", {}).get("source")
        name = f"The video {source}" if source else name
        video = video.frames
    if isinstance(video, Tensor) and video.dtype == torch.uint8 and video.shape[-1:] == (3,):
        video = video.detach().cpu().numpy()
    if isinstance(video, np.ndarray):
        _reject_non_rgb(video)
        if not classifier.has_preprocessing:
            raise InvalidInputError(
                "This model is a plain nn.Module without an input contract, so a video file "
                "or frames array cannot be preprocessed for it. Pass a float tensor C×T×H×W in "
                "the model's input space, or wrap the module in vidxai.VideoClassifier with an "
                "InputSpec."
            )
        # prepare() only reads the frames (it samples, resizes and normalises into new tensors),
        # so a valid array is not copied first
        frames = validate_frames(video, min_frames=2, name=name, copy=False)
        x, geometry = classifier.prepare(frames)
        return x.unsqueeze(0).to(device), geometry
    if isinstance(video, Tensor):
        if not video.is_floating_point():
            raise InvalidInputError(
                f"A tensor video must be float C×T×H×W in the model's input space (or uint8 "
                f"frames T×H×W×3), got dtype {video.dtype} and shape {tuple(video.shape)}"
            )
        x = video.detach()
        if x.ndim == 5 and x.shape[0] == 1:
            x = x[0]
        if x.ndim != 4:
            raise InvalidInputError(
                f"A tensor video must be C×T×H×W (or 1×C×T×H×W), got shape {tuple(video.shape)}"
            )
        if 0 in x.shape:
            raise InvalidInputError(
                f"The video tensor is empty: shape {tuple(video.shape)} (C×T×H×W) has a zero size"
            )
        if not torch.isfinite(x).all():
            raise InvalidInputError("The video tensor contains NaN or infinite values")
        classifier.check_input(x.unsqueeze(0))
        return x.to(device=device, dtype=torch.float32).clone().unsqueeze(0), None
    raise InvalidInputError(
        f"video must be a path, a frames array T×H×W×3 uint8 or a float tensor C×T×H×W, got "
        f"{type(video).__name__}"
    )


def _reject_non_rgb(frames: np.ndarray) -> None:
    """Grayscale ``T×H×W(×1)`` and RGBA ``T×H×W×4`` arrays are refused, not guessed at."""
    if frames.dtype != np.uint8 or frames.ndim not in (3, 4):
        return  # validate_frames names these problems
    if frames.ndim == 3 and frames.shape[-1] not in (3, 4):
        kind = "grayscale frames T×H×W"
    elif frames.ndim == 4 and frames.shape[-1] == 1:
        kind = "grayscale frames T×H×W×1"
    elif frames.ndim == 4 and frames.shape[-1] == 4:
        kind = "RGBA frames T×H×W×4"
    else:
        return
    raise InvalidInputError(
        f"frames of shape {tuple(frames.shape)} look like {kind}, but explain needs RGB frames "
        "T×H×W×3 uint8. Convert them first, e.g. with vidxai.video.validate_frames(frames) "
        "(repeats the gray value into R, G, B; drops the alpha channel)."
    )


def check_seed(seed: Any) -> int:
    """Validate a user's seed (an int in [-2**63, 2**64))."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInputError(f"seed must be an int, got {seed!r}")
    if not -(2**63) <= int(seed) < 2**64:
        raise InvalidInputError(f"seed must lie in [-2**63, 2**64), got {seed}")
    return int(seed)


def first_forward(model: nn.Module, x: Tensor) -> Tensor:
    """The model's output on the intact clip, with one clear error for every way it can fail."""
    try:
        with torch.no_grad():
            out = model(x)
    except VidxaiError:
        raise
    except Exception as exc:  # the user's model refusing our input (shape asserts, TypeError…)
        dtypes = {p.dtype for p in model.parameters() if p.is_floating_point()}
        if dtypes and x.dtype not in dtypes:
            names = ", ".join(sorted(str(d) for d in dtypes))
            raise InvalidInputError(
                f"The model's parameters are {names} but vidxai feeds it {x.dtype} input; "
                f"convert the model with model.float() before explaining ({exc})"
            ) from exc
        raise InvalidInputError(
            f"The model cannot run on an input of shape {tuple(x.shape)} (N×C×T×H×W): {exc}"
        ) from exc
    if not isinstance(out, Tensor):
        raise InvalidInputError(f"The model returned {type(out).__name__}, not a tensor")
    if out.ndim == 0 or out.shape[0] != x.shape[0]:
        raise InvalidInputError(
            f"The model returned shape {tuple(out.shape)} for a batch of {x.shape[0]} clip(s); "
            "vidxai needs N×K logits (or N values for a regression) with the batch dimension "
            "first. Does the model squeeze its output?"
        )
    if not torch.isfinite(out).all():
        raise InvalidInputError(
            "The model's output on this clip contains NaN or infinite values; there is nothing "
            "to explain. Check the model and the input's normalisation."
        )
    return out


def split_videos(video: Any) -> tuple[list[Any], bool]:
    """One video or a batch → ``(videos, is_batch)``.

    A batch is a list / tuple of videos (paths, frame arrays, tensors) or a float tensor
    ``N×C×T×H×W``; anything else is one video.
    """
    if isinstance(video, (list, tuple)):
        if not video:
            raise InvalidInputError("The list of videos is empty")
        return list(video), True
    if isinstance(video, Tensor) and video.is_floating_point() and video.ndim == 5:
        if video.shape[0] == 0:
            raise InvalidInputError("The batch of clips is empty (N = 0 in N×C×T×H×W)")
        return list(video.unbind(0)), True
    return [video], False


def per_clip(value: Any, n: int, name: str) -> list[Any]:
    """A value for every clip, or a list / tuple / 1-D tensor with one value per clip."""
    if isinstance(value, Tensor) and value.ndim == 1:
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise InvalidInputError(f"{name} has {len(value)} entries for {n} clip(s)")
        return list(value)
    return [value] * n


@dataclass
class Session:
    """What an explain / evaluate call works with after its set-up.

    Attributes:
        classifier: the resolved :class:`VideoClassifier`.
        device: where everything runs.
        x: ``N×C×T×H×W`` clips in model-input space.
        geometries: per clip, how it maps back to its original video (None for tensors).
        engine: the one engine all passes go through.
        outputs: the model's outputs on the intact clips, ``N×K``.
        targets: one resolved target per clip.
        scores: the target's value on each intact clip.
    """

    classifier: VideoClassifier
    device: torch.device
    x: Tensor
    geometries: list[Geometry | None]
    engine: Engine
    outputs: Tensor
    targets: list[Target] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    @property
    def n_clips(self) -> int:
        return int(self.x.shape[0])


def load_clips(
    videos: Sequence[Any], classifier: VideoClassifier, device: torch.device
) -> tuple[Tensor, list[Geometry | None]]:
    """Resolve every video and stack them into ``N×C×T×H×W`` (one clear error if they differ)."""
    xs, geometries = [], []
    for i, video in enumerate(videos):
        try:
            x, geometry = resolve_video(video, classifier, device)
        except VidxaiError as exc:
            if len(videos) == 1:
                raise
            raise type(exc)(f"clip {i}: {exc}") from exc
        xs.append(x)
        geometries.append(geometry)
    shapes = {tuple(x.shape[1:]) for x in xs}
    if len(shapes) > 1:
        raise InvalidInputError(
            f"The clips of a batch must have one shape in model-input space; got {sorted(shapes)}"
            " (C×T×H×W). Explain them separately, or give the model an InputSpec that resizes."
        )
    return torch.cat(xs), geometries


@contextmanager
def open_session(
    model: Any,
    videos: Sequence[Any],
    *,
    target: Any = None,
    behaviour: str | None = None,
    device: str | torch.device | None = None,
    batch_size: Any = "auto",
    progress: bool = False,
) -> Iterator[Session]:
    """Validate everything once, then run the block with the model prepared and restored.

    Inside the block the model is in eval mode on ``device`` with its ``requires_grad`` flags
    kept; on exit its device, ``training`` flags and ``requires_grad`` flags are restored.

    Args:
        model: a VideoClassifier, a zoo name or a plain ``nn.Module``.
        videos: one or more videos (paths, frames arrays ``T×H×W×3`` uint8, tensors ``C×T×H×W``).
        target: one target for every clip, or one per clip (index, name or None = top-1).
        behaviour: ``probability``, ``logit``, ``log_probability`` (None: ``probability``).
        device, batch_size, progress: as for :func:`vidxai.explain`.
    """
    size = check_batch_size(batch_size)
    classifier = resolve_model(model)
    dev = resolve_device(device, classifier)
    targets = per_clip(target, len(videos), "target")
    with torch.inference_mode(False):  # gradient methods also work inside inference_mode()
        x, geometries = load_clips(videos, classifier, dev)
    with (
        torch.inference_mode(False),
        preserved_device(classifier, dev),
        eval_mode(classifier),
        preserved_requires_grad(classifier),
    ):
        engine = Engine(classifier, size, dev, progress, tuple(x.shape[1:]), Stopwatch(dev))
        outputs = first_forward(engine.model, x)
        resolved = [
            resolve_target(outputs[i : i + 1], targets[i], behaviour, classifier.class_names)
            for i in range(x.shape[0])
        ]
        scores = [float(t.score(outputs[i : i + 1])[0]) for i, t in enumerate(resolved)]
        yield Session(classifier, dev, x, geometries, engine, outputs, resolved, scores)
