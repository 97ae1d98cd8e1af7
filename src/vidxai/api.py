"""The front door: :func:`explain`. Inputs are validated and normalised here, once."""

from __future__ import annotations

import dataclasses
import numbers
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from vidxai.core.context import CountingModel, ExplainContext
from vidxai.core.explanation import Explanation
from vidxai.core.hooks import eval_mode, preserved_device, preserved_requires_grad
from vidxai.core.registry import get_method
from vidxai.core.scorer import Scorer
from vidxai.core.target import resolve_target
from vidxai.core.timing import Stopwatch
from vidxai.errors import InvalidInputError, VidxaiError

if TYPE_CHECKING:
    from vidxai.models.adapter import Geometry, VideoClassifier

VideoLike = "str | Path | np.ndarray | Tensor"


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
        frames = validate_frames(video, min_frames=2, name=name)
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


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInputError(f"seed must be an int, got {seed!r}")
    if not -(2**63) <= int(seed) < 2**64:
        raise InvalidInputError(f"seed must lie in [-2**63, 2**64), got {seed}")
    return int(seed)


def _check_batch_size(batch_size: Any) -> int | str:
    if batch_size == "auto":
        return "auto"
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise InvalidInputError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    return int(batch_size)


def first_forward(model: CountingModel, x: Tensor) -> Tensor:
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


def explain(
    model: Any,
    video: Any,
    method: str = "saliency",
    target: int | str | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    batch_size: int | str = "auto",
    progress: bool = True,
    behaviour: str | None = None,
    **params: Any,
) -> Explanation:
    """Explain a video model's prediction on one clip.

    Args:
        model: a :class:`vidxai.VideoClassifier`, a zoo name (``"r3d_18"``), or a plain
            ``nn.Module`` taking ``N×C×T×H×W`` float input (then no preprocessing is applied).
        video: a path (video file or frame folder), a frames array ``T×H×W×3`` uint8, or a float
            tensor ``C×T×H×W`` already in the model's input space.
        method: a registered method name (see ``vidxai methods``).
        target: class index, class name, or ``None`` for the top-1 prediction. Regression
            models (one output) are explained as they are.
        seed: seed of the random generator given to the method.
        device: ``"cpu"``, ``"cuda"``…; default: the model's device.
        batch_size: clips per forward pass for perturbation methods, or ``"auto"``.
        progress: show progress bars on long work.
        behaviour: ``"probability"`` (default), ``"logit"`` or ``"log_probability"``.
        **params: the method's parameters (see ``vidxai methods``).

    Returns:
        An :class:`Explanation` whose ``attribution`` is ``T×H×W`` in model-input space.

    Example:
        >>> import vidxai
        >>> model = vidxai.load_model("vidxai-demo")
        >>> clip = vidxai.data.synthetic.make_clip(0)
        >>> exp = vidxai.explain(model, clip.frames, method="saliency")
        >>> exp.attribution.shape
        torch.Size([16, 64, 64])
    """
    spec = get_method(method)
    method_params = spec.parse_params(params)
    batch_size = _check_batch_size(batch_size)
    seed = _check_seed(seed)
    classifier = resolve_model(model)
    dev = resolve_device(device, classifier)
    with torch.inference_mode(False):  # gradient methods also work inside inference_mode()
        x, geometry = resolve_video(video, classifier, dev)
    with (
        torch.inference_mode(False),
        preserved_device(classifier, dev),
        eval_mode(classifier),
        preserved_requires_grad(classifier),
    ):
        stopwatch = Stopwatch(dev)
        counting = CountingModel(classifier, stopwatch)
        outputs = first_forward(counting, x)
        resolved = resolve_target(outputs, target, behaviour, classifier.class_names)
        score = float(resolved.score(outputs)[0])
        scorer = Scorer(counting, resolved, batch_size, dev, progress, tuple(x.shape[1:]))
        ctx = ExplainContext(
            model=counting,
            module=classifier.module,
            classifier=classifier,
            x=x,
            target=resolved,
            scorer=scorer,
            generator=torch.Generator(device=dev).manual_seed(seed),
            device=dev,
            batch_size=scorer.batch_size,
            progress=progress,
            stopwatch=stopwatch,
            mean=classifier.mean.to(dev),
            std=classifier.std.to(dev),
            seed=seed,
        )
        output = spec.fn(ctx, method_params)
        timings = stopwatch.breakdown()
    attribution = output.attribution.detach()
    if attribution.shape != x.shape[2:]:
        raise VidxaiError(
            f"Method {method!r} returned an attribution of shape {tuple(attribution.shape)}, "
            f"expected {tuple(x.shape[2:])} (T×H×W). This is a bug in the method."
        )
    resolved_params = {
        f.name: getattr(method_params, f.name) for f in dataclasses.fields(method_params)
    }
    resolved_params["batch_size"] = scorer.batch_size
    return Explanation(
        attribution=attribution.float(),
        method=method,
        params=resolved_params,
        target=resolved.index,
        score=score,
        seed=seed,
        n_forward=counting.n_forward,
        n_backward=counting.n_backward,
        timings=timings,
        target_name=resolved.name,
        behaviour=resolved.behaviour,
        model_name=getattr(classifier, "name", None),
        extras=output.extras,
        geometry=geometry,
    )
