"""The front door: :func:`explain`. Inputs are validated and normalised once, in the session."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from vidxai.core.context import ExplainContext
from vidxai.core.explanation import Explanation
from vidxai.core.registry import LOGIT_FAMILIES, MethodOutput, MethodSpec, get_method
from vidxai.core.scorer import Scorer
from vidxai.core.timing import Stopwatch
from vidxai.errors import ParameterError, VidxaiError
from vidxai.session import (
    Session,
    check_seed,
    first_forward,
    open_session,
    resolve_device,
    resolve_model,
    resolve_video,
    split_videos,
)

__all__ = [
    "explain",
    "first_forward",
    "resolve_device",
    "resolve_model",
    "resolve_video",
]


def explain(
    model: Any,
    video: Any,
    method: str = "saliency",
    target: Any = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    batch_size: int | str = "auto",
    progress: bool = True,
    behaviour: str | None = None,
    **params: Any,
) -> Explanation | list[Explanation]:
    """Explain a video model's prediction on one clip, or on a batch of clips.

    Args:
        model: a :class:`vidxai.VideoClassifier`, a zoo name (``"r3d_18"``), or a plain
            ``nn.Module`` taking ``N×C×T×H×W`` float input (then no preprocessing is applied).
        video: a path (video file or frame folder), a frames array ``T×H×W×3`` uint8, or a float
            tensor ``C×T×H×W`` already in the model's input space. A batch — a list of such
            videos, or a float tensor ``N×C×T×H×W`` — returns a list of N Explanations, each
            equal (same seed ⇒ same numbers, to float tolerance) to explaining that clip alone.
        method: a registered method name (see ``vidxai methods``).
        target: class index, class name, or ``None`` for the top-1 prediction; for a batch, one
            value for every clip or a list with one per clip. Regression models (one output)
            are explained as they are.
        seed: seed of the random generator given to the method.
        device: ``"cpu"``, ``"cuda"``…; default: the model's device.
        batch_size: clips per pass through the model (int ≥ 1), or ``"auto"`` (a batch that
            fits, halved on out-of-memory). A fixed size that does not fit raises
            :class:`~vidxai.errors.BatchSizeError` naming a smaller one.
        progress: show progress bars on long work.
        behaviour: ``"probability"``, ``"logit"`` or ``"log_probability"``; default: the
            target's logit for gradient, CAM and relevance methods (as in their papers, Captum
            and pytorch-grad-cam), the probability for removal and extremal methods (REVEX,
            STEP). The Explanation records the behaviour used.
        **params: the method's parameters (see ``vidxai methods``). ``layer=`` may be a dotted
            name or an ``nn.Module`` of the model. Gradient, CAM and relevance methods also take
            ``selective=True`` (or a dict of :class:`~vidxai.postprocess.SelectiveParams`
            fields): selective relevance, keeping the map where the clip changes in time.

    Returns:
        An :class:`Explanation` whose ``attribution`` is ``T×H×W`` in model-input space (a list
        of them for a batch). In a batch explained by a batched method, ``n_forward``,
        ``n_backward`` and ``timings`` are the batch's totals shared equally between its clips
        (``extras["batch"]`` holds the totals).

    Example:
        >>> import vidxai
        >>> model = vidxai.load_model("vidxai-demo")
        >>> clip = vidxai.data.synthetic.make_clip(0)
        >>> exp = vidxai.explain(model, clip.frames, method="saliency")
        >>> exp.attribution.shape
        torch.Size([16, 64, 64])
    """
    spec = get_method(method)
    classifier = resolve_model(model)
    params = _resolve_layer(params, classifier)
    selective, params = _selective_option(spec, params)
    method_params = spec.parse_params(params)
    seed = check_seed(seed)
    videos, is_batch = split_videos(video)
    with open_session(
        classifier,
        videos,
        target=target,
        behaviour=behaviour if behaviour is not None else spec.behaviour,
        device=device,
        batch_size=batch_size,
        progress=progress,
    ) as session:
        if spec.batched and session.n_clips > 1:
            explanations = _run_batched(spec, method_params, session, seed, progress)
        else:
            explanations = [
                _run_one(spec, method_params, session, i, seed, progress)
                for i in range(session.n_clips)
            ]
        if selective is not None:
            _apply_selective(explanations, session, selective)
    return explanations if is_batch else explanations[0]


def _selective_option(spec: MethodSpec, params: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Pop ``selective=`` (gradient, CAM and relevance methods): None, or SelectiveParams.

    Accepts ``True`` / ``False``, a mapping of :class:`~vidxai.postprocess.SelectiveParams`
    fields, or (from the CLI) ``"true"``, ``"false"``, ``"threshold"``, ``"weight"``.
    """
    if "selective" not in params:
        return None, params
    rest = {k: v for k, v in params.items() if k != "selective"}
    value = params["selective"]
    if spec.family not in LOGIT_FAMILIES:
        raise ParameterError(
            f"selective= post-processes gradient, CAM and relevance maps; {spec.name!r} is a "
            f"{spec.family} method"
        )
    from vidxai.postprocess.selective import SelectiveParams

    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("false", "0", "no", "none", ""):
            return None, rest
        value = {} if word in ("true", "1", "yes") else {"mode": word}
    if value is False or value is None:
        return None, rest
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise ParameterError(f"selective must be True, False or a dict of options, got {value!r}")
    try:
        return SelectiveParams(**value), rest
    except TypeError as exc:
        raise ParameterError(f"selective: {exc}") from exc


def _apply_selective(explanations: list[Explanation], session: Session, options: Any) -> None:
    """Keep each map's relevance where its clip changes in time (Hiley et al.)."""
    from vidxai.postprocess.selective import apply_selective

    for i, exp in enumerate(explanations):
        x = session.x[i : i + 1].detach()
        exp.attribution = apply_selective(x, exp.attribution[None].to(x.device), options)[0]
        exp.params["selective"] = dataclasses.asdict(options)


def _resolve_layer(params: dict[str, Any], classifier: Any) -> dict[str, Any]:
    """``layer=`` given as an ``nn.Module`` of the model → its dotted name."""
    layer = params.get("layer")
    if not isinstance(layer, nn.Module):
        return params
    for name, module in classifier.module.named_modules():
        if module is layer and name:
            return {**params, "layer": name}
    raise ParameterError(
        f"layer={type(layer).__name__}(...) is not a sub-module of this model; pass a module "
        "taken from the model itself (e.g. model.module.layer4) or its dotted name."
    )


def _context(
    session: Session, clips: slice, seed: int, progress: bool, stopwatch: Stopwatch
) -> ExplainContext:
    engine = session.engine
    engine.set_stopwatch(stopwatch)
    targets = session.targets[clips]
    x = session.x[clips]
    generators = [torch.Generator(device=session.device).manual_seed(seed) for _ in targets]
    return ExplainContext(
        model=engine.model,
        module=session.classifier.module,
        classifier=session.classifier,
        x=x,
        target=targets[0],
        scorer=Scorer(engine, targets[0]),
        generator=generators[0],
        device=session.device,
        batch_size=engine.batch_size,
        progress=progress,
        stopwatch=stopwatch,
        mean=session.classifier.mean.to(session.device),
        std=session.classifier.std.to(session.device),
        seed=seed,
        engine=engine,
        targets=targets,
        generators=generators,
    )


def _run_one(
    spec: MethodSpec, params: Any, session: Session, i: int, seed: int, progress: bool
) -> Explanation:
    """Explain clip ``i`` of the session alone (its counts include its share of the first pass)."""
    engine = session.engine
    before = (engine.n_forward, engine.n_backward)
    stopwatch = Stopwatch(session.device)
    ctx = _context(session, slice(i, i + 1), seed, progress, stopwatch)
    output = spec.fn(ctx, params)
    if isinstance(output, list):  # a batched method explaining one clip
        if len(output) != 1:
            raise VidxaiError(f"Method {spec.name!r} returned {len(output)} outputs for 1 clip.")
        output = output[0]
    counts = (engine.n_forward - before[0] + 1, engine.n_backward - before[1])
    return _explanation(spec, params, session, i, seed, output, counts, stopwatch.breakdown())


def _run_batched(
    spec: MethodSpec, params: Any, session: Session, seed: int, progress: bool
) -> list[Explanation]:
    """Explain every clip of the session in one call of a batched method."""
    engine = session.engine
    n = session.n_clips
    before = (engine.n_forward, engine.n_backward)
    stopwatch = Stopwatch(session.device)
    ctx = _context(session, slice(0, n), seed, progress, stopwatch)
    outputs = spec.fn(ctx, params)
    if not isinstance(outputs, list) or len(outputs) != n:
        raise VidxaiError(
            f"Method {spec.name!r} is registered batched but returned "
            f"{type(outputs).__name__} for {n} clips. This is a bug in the method."
        )
    total_f = engine.n_forward - before[0] + n
    total_b = engine.n_backward - before[1]
    timings = stopwatch.breakdown()
    share = {k: v / n for k, v in timings.items()}
    batch = {"clips": n, "n_forward": total_f, "n_backward": total_b, "timings": timings}
    out = []
    for i, output in enumerate(outputs):
        output.extras.setdefault("batch", batch)
        counts = (total_f // n, total_b // n)
        out.append(_explanation(spec, params, session, i, seed, output, counts, share))
    return out


def _explanation(
    spec: MethodSpec,
    params: Any,
    session: Session,
    i: int,
    seed: int,
    output: MethodOutput,
    counts: tuple[int, int],
    timings: dict[str, float],
) -> Explanation:
    attribution = output.attribution.detach()
    if attribution.ndim == 4 and attribution.shape[0] == 1:
        attribution = attribution[0]
    shape = tuple(session.x.shape[2:])
    if tuple(attribution.shape) != shape:
        raise VidxaiError(
            f"Method {spec.name!r} returned an attribution of shape {tuple(attribution.shape)}, "
            f"expected {shape} (T×H×W). This is a bug in the method."
        )
    resolved_params = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    resolved_params["batch_size"] = session.engine.batch_size
    target = session.targets[i]
    return Explanation(
        attribution=attribution.float(),
        method=spec.name,
        params=resolved_params,
        target=target.index,
        score=session.scores[i],
        seed=seed,
        n_forward=counts[0],
        n_backward=counts[1],
        timings=timings,
        target_name=target.name,
        behaviour=target.behaviour,
        model_name=getattr(session.classifier, "name", None),
        extras=output.extras,
        geometry=session.geometries[i],
        random_weights=bool(getattr(session.classifier, "random_weights", False)),
    )
