"""The experiment file (YAML): parsed into frozen dataclasses, validated with line numbers.

Schema (keys exactly so; relative paths are relative to the experiment file's folder)::

    name: revex-repro
    out: results/                     # overridable with --out
    seed: 0
    datasets:                         # one or more
      - name: synthetic
        synthetic: {clips: 30, seed: 20000000}
      - name: mine
        folder: videos/               # every video file / frame folder inside
        labels: labels.csv            # optional: path,label (class index or name)
      - name: listed
        csv: list.csv                 # path,label
    clips: {frames: 16, sampling: uniform}   # or {window: [s, e]}, {sliding: {length, stride}}
    models:
      - name: vidxai-demo             # zoo name (+ optional weights: PATH, options: {...})
      - name: mymodel
        module: "mypkg.models:build"  # a callable returning an nn.Module or a VideoClassifier
        input: {num_frames: 16, size: [112, 112]}   # for a plain nn.Module: its InputSpec
    methods:                          # a method name, or a mapping name -> parameters
      - saliency
      - rise3d: {n_samples: 500}
    metrics: [deletion, insertion, minimal_mask, minimal_mask_insertion, pointing_game]

Optional keys beyond the issue's schema: ``metric_params`` (parameters given to
:func:`vidxai.evaluate`, e.g. ``{n_steps: 8}``), ``batch_size`` (int or ``auto``), ``device``
(``cpu``, ``cuda``…; default: CUDA when available) and, per model, ``options`` (keyword options of
:func:`vidxai.load_model`, or of the ``module`` callable), ``num_classes`` and, with ``module``,
``input`` (the :class:`~vidxai.models.spec.InputSpec` of a returned plain ``nn.Module``).

Every mistake is reported as one line ``FILE:LINE: key: problem``; all mistakes of a file are
raised together in one :class:`ExperimentError`.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vidxai.errors import ParameterError, VidxaiError

DEFAULT_SYNTHETIC_SEED = 20_000_000


class ExperimentError(ParameterError):
    """The experiment file has mistakes; the message has one line per mistake."""


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of the experiment.

    Attributes:
        name: the dataset's name (the ``dataset`` column).
        kind: ``"synthetic"``, ``"folder"`` or ``"csv"``.
        path: the folder or the CSV file (absolute), None for synthetic.
        labels: the labels CSV of a folder dataset (absolute), or None.
        clips, seed: number of clips and first seed of a synthetic dataset.
    """

    name: str
    kind: Literal["synthetic", "folder", "csv"]
    path: Path | None = None
    labels: Path | None = None
    clips: int = 0
    seed: int = DEFAULT_SYNTHETIC_SEED


@dataclass(frozen=True)
class ClipSpec:
    """Which frames of each video are explained.

    ``mode="frames"``: ``frames`` frames picked over the whole video (``sampling="uniform"``:
    evenly spaced, first and last included; ``"first"``: the first ``frames`` frames); ``frames``
    None = every frame (the model then samples its own number). ``mode="window"``: the frames
    ``[start, end)``. ``mode="sliding"``: every window ``[s, s + length)`` for
    ``s = 0, stride, 2·stride, …`` plus one last window ending at the last frame when the stride
    does not reach it.
    """

    mode: Literal["frames", "window", "sliding"] = "frames"
    frames: int | None = None
    sampling: Literal["uniform", "first"] = "uniform"
    start: int = 0
    end: int = 0
    length: int = 0
    stride: int = 0


@dataclass(frozen=True)
class ModelSpec:
    """One model: a zoo name (+ weights / options) or ``module: "pkg.mod:callable"``."""

    name: str
    weights: str | None = None
    module: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    num_classes: int | None = None
    input: dict[str, Any] = field(default_factory=dict)

    def input_spec(self) -> Any:
        """The :class:`~vidxai.models.spec.InputSpec` wrapping a plain ``nn.Module`` returned by
        ``module`` (``input:`` fields; the defaults are torchvision's video convention)."""
        from vidxai.models.spec import InputSpec

        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in self.input.items()
        }
        return InputSpec(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class MethodEntry:
    """One method and its raw parameters (validated against the method's dataclass)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """A validated experiment (see the module docstring for the file format)."""

    name: str
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    methods: tuple[MethodEntry, ...]
    metrics: tuple[str, ...] | None = None
    metric_params: dict[str, Any] = field(default_factory=dict)
    clips: ClipSpec = ClipSpec()
    seed: int = 0
    out: Path | None = None
    batch_size: int | str = "auto"
    device: str | None = None
    source: Path | None = None


_TOP_KEYS = (
    "name",
    "out",
    "seed",
    "datasets",
    "clips",
    "models",
    "methods",
    "metrics",
    "metric_params",
    "batch_size",
    "device",
)
_DATASET_KEYS = ("name", "synthetic", "folder", "labels", "csv")
_MODEL_KEYS = ("name", "weights", "module", "options", "num_classes", "input")


class _Checker:
    """Collects ``FILE:LINE: key: problem`` lines while the file is converted."""

    def __init__(self, source: str, lines: dict[tuple[Any, ...], int]):
        self.source = source
        self.lines = lines
        self.problems: list[str] = []

    def line(self, path: tuple[Any, ...]) -> int:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def fail(self, path: tuple[Any, ...], message: str) -> None:
        key = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path)
        key = key.replace(".[", "[") or "(top level)"
        self.problems.append(f"{self.source}:{self.line(path)}: {key}: {message}")

    def mapping(self, value: Any, path: tuple[Any, ...], keys: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(path, f"must be a mapping with keys {list(keys)}, got {_kind(value)}")
            return {}
        for k in value:
            if k not in keys:
                self.fail((*path, k), f"unknown key {k!r}; valid keys: {', '.join(keys)}")
        return {k: v for k, v in value.items() if k in keys}

    def integer(self, value: Any, path: tuple[Any, ...], minimum: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            self.fail(path, f"must be an integer >= {minimum}, got {value!r}")
            return None
        return int(value)

    def text(self, value: Any, path: tuple[Any, ...]) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"must be a non-empty string, got {value!r}")
            return None
        return value.strip()

    def guard(self, path: tuple[Any, ...], fn: Callable[[], Any]) -> Any:
        """Run ``fn``; a VidxaiError it raises becomes one problem at ``path``."""
        try:
            return fn()
        except VidxaiError as exc:
            self.fail(path, str(exc))
            return None


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file.

    Raises:
        ExperimentError: the file is missing, is not YAML, or has mistakes (one line each,
            ``FILE:LINE: key: problem``).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ExperimentError(f"No experiment file at {path}")
    return parse_experiment(path.read_text(), source=path)


def parse_experiment(text: str, source: str | Path = "<experiment>") -> Experiment:
    """Validate the YAML ``text`` of an experiment (relative paths from ``source``'s folder)."""
    data, lines = _load_yaml(text, str(source))
    base = Path(source).resolve().parent if isinstance(source, Path) else Path.cwd()
    check = _Checker(str(source), lines)
    top = check.mapping(data, (), _TOP_KEYS)
    if not isinstance(data, dict):
        raise ExperimentError("\n".join(check.problems))
    for key in ("name", "datasets", "models", "methods"):
        if key not in top:
            check.fail((), f"the key {key!r} is missing")
    name = check.text(top["name"], ("name",)) if "name" in top else None
    seed = check.integer(top.get("seed", 0), ("seed",), 0)
    datasets = _datasets(check, top.get("datasets"), base) if "datasets" in top else ()
    models = _models(check, top.get("models"), base) if "models" in top else ()
    methods = _methods(check, top.get("methods")) if "methods" in top else ()
    metrics, metric_params = _metrics(check, top)
    clips = _clips(check, top["clips"]) if top.get("clips") is not None else ClipSpec()
    out = None
    if top.get("out") is not None:
        text_out = check.text(top["out"], ("out",))
        out = (base / text_out).resolve() if text_out else None
    batch_size: int | str = "auto"
    if top.get("batch_size", "auto") != "auto":
        batch_size = check.integer(top["batch_size"], ("batch_size",), 1) or "auto"
    device = check.text(top["device"], ("device",)) if top.get("device") is not None else None
    if check.problems:
        raise ExperimentError(
            f"{len(check.problems)} mistake(s) in the experiment file:\n"
            + "\n".join(check.problems)
        )
    return Experiment(
        name=str(name),
        datasets=datasets,
        models=models,
        methods=methods,
        metrics=metrics,
        metric_params=metric_params,
        clips=clips,
        seed=int(seed or 0),
        out=out,
        batch_size=batch_size,
        device=device,
        source=Path(source) if isinstance(source, Path) else None,
    )


def _load_yaml(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse YAML keeping the line (1-based) of every key and list item."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ExperimentError(f"{where}: not valid YAML: {problem}") from None
    if node is None:
        raise ExperimentError(f"{source}:1: the experiment file is empty")
    lines: dict[tuple[Any, ...], int] = {}
    constructor = yaml.SafeLoader("")

    def convert(n: Any, path: tuple[Any, ...]) -> Any:
        lines.setdefault(path, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            out = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                where = (*path, key)
                lines[where] = key_node.start_mark.line + 1
                out[key] = convert(value_node, where)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [convert(v, (*path, i)) for i, v in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    return convert(node, ()), lines


def _items(check: _Checker, value: Any, key: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        check.fail((key,), f"must be a non-empty list, got {_kind(value)}")
        return []
    return value


def _datasets(check: _Checker, value: Any, base: Path) -> tuple[DatasetSpec, ...]:
    out: list[DatasetSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(_items(check, value, "datasets")):
        path = ("datasets", i)
        item = check.mapping(raw, path, _DATASET_KEYS)
        if not item:
            continue
        name = check.text(item.get("name"), (*path, "name")) if "name" in item else None
        if "name" not in item:
            check.fail(path, "the key 'name' is missing")
        elif name in seen:
            check.fail((*path, "name"), f"the dataset name {name!r} is used twice")
        seen.add(name or "")
        kinds = [k for k in ("synthetic", "folder", "csv") if k in item]
        if len(kinds) != 1:
            check.fail(path, f"give exactly one of 'synthetic', 'folder' or 'csv' (got {kinds})")
            continue
        kind = kinds[0]
        if "labels" in item and kind != "folder":
            check.fail((*path, "labels"), f"'labels' goes with 'folder', not with {kind!r}")
        if kind == "synthetic":
            syn = check.mapping(item["synthetic"] or {}, (*path, "synthetic"), ("clips", "seed"))
            clips = check.integer(syn.get("clips", 0), (*path, "synthetic", "clips"), 1)
            seed = check.integer(
                syn.get("seed", DEFAULT_SYNTHETIC_SEED), (*path, "synthetic", "seed"), 0
            )
            if name and clips and seed is not None:
                out.append(DatasetSpec(name, "synthetic", clips=clips, seed=seed))
            continue
        where = _existing(check, item[kind], (*path, kind), base, folder=kind == "folder")
        labels = None
        if item.get("labels") is not None and kind == "folder":
            labels = _existing(check, item["labels"], (*path, "labels"), base, folder=False)
        if name and where is not None:
            out.append(DatasetSpec(name, kind, path=where, labels=labels))  # type: ignore[arg-type]
    return tuple(out)


def _existing(
    check: _Checker, value: Any, path: tuple[Any, ...], base: Path, *, folder: bool
) -> Path | None:
    text = check.text(value, path)
    if text is None:
        return None
    where = (base / Path(text).expanduser()).resolve()
    if folder and not where.is_dir():
        check.fail(path, f"no such folder: {where}")
        return None
    if not folder and not where.is_file():
        check.fail(path, f"no such file: {where}")
        return None
    return where


def _models(check: _Checker, value: Any, base: Path) -> tuple[ModelSpec, ...]:
    out: list[ModelSpec] = []
    seen: set[str] = set()
    for i, raw in enumerate(_items(check, value, "models")):
        path = ("models", i)
        if isinstance(raw, str):
            raw = {"name": raw}
        item = check.mapping(raw, path, _MODEL_KEYS)
        if not item:
            continue
        if "name" not in item:
            check.fail(path, "the key 'name' is missing")
            continue
        name = check.text(item["name"], (*path, "name"))
        if name in seen:
            check.fail((*path, "name"), f"the model name {name!r} is used twice")
        seen.add(name or "")
        module = None
        if item.get("module") is not None:
            module = check.text(item["module"], (*path, "module"))
            if module and ":" not in module:
                check.fail((*path, "module"), f"must be 'package.module:callable', got {module!r}")
        elif name:
            from vidxai.models.zoo import list_models

            names = [m.name for m in list_models()]
            if name not in names:
                from vidxai.errors import unknown_name

                check.fail((*path, "name"), str(unknown_name("model", name, names)))
        weights = None
        if item.get("weights") is not None:
            text = check.text(str(item["weights"]), (*path, "weights"))
            if text and text != "DEFAULT":
                found = _existing(check, text, (*path, "weights"), base, folder=False)
                weights = str(found) if found else None
            else:
                weights = text
        options = item.get("options") or {}
        if not isinstance(options, dict):
            check.fail((*path, "options"), f"must be a mapping, got {_kind(options)}")
            options = {}
        num_classes = None
        if item.get("num_classes") is not None:
            num_classes = check.integer(item["num_classes"], (*path, "num_classes"), 1)
        spec = ModelSpec(name or "", weights, module, dict(options), num_classes)
        if item.get("input") is not None:
            if not isinstance(item["input"], dict) or module is None:
                check.fail(
                    (*path, "input"),
                    "must be a mapping of InputSpec fields (num_frames, size, resize, crop, "
                    "mean, std, …), given with 'module:'",
                )
            else:
                spec = dataclasses.replace(spec, input=dict(item["input"]))
                check.guard((*path, "input"), functools.partial(_input_spec, spec))
        if name:
            out.append(spec)
    return tuple(out)


def _input_spec(spec: ModelSpec) -> Any:
    try:
        return spec.input_spec()
    except TypeError as exc:  # an unknown field
        raise ParameterError(f"not an InputSpec field: {exc}") from None


def _methods(check: _Checker, value: Any) -> tuple[MethodEntry, ...]:
    from vidxai.core.registry import get_method

    out: list[MethodEntry] = []
    for i, raw in enumerate(_items(check, value, "methods")):
        path: tuple[Any, ...] = ("methods", i)
        params: Any
        if isinstance(raw, str):
            name, params = raw.strip(), {}
        elif isinstance(raw, dict) and len(raw) == 1:
            name, params = next(iter(raw.items()))
            path = (*path, name)
            if params is None:
                params = {}
            if not isinstance(params, dict):
                check.fail(path, f"parameters must be a mapping, got {_kind(params)}")
                continue
        else:
            check.fail(path, f"must be a method name or 'name: {{parameters}}', got {_kind(raw)}")
            continue
        spec = check.guard(path, functools.partial(get_method, str(name)))
        if spec is None:
            continue
        if check.guard(path, functools.partial(spec.parse_params, dict(params))) is None:
            continue
        if any(m.name == spec.name and m.params == params for m in out):
            check.fail(path, f"method {spec.name!r} with these parameters is listed twice")
            continue
        out.append(MethodEntry(spec.name, dict(params)))
    return tuple(out)


def _metrics(check: _Checker, top: dict[str, Any]) -> tuple[tuple[str, ...] | None, dict[str, Any]]:
    from vidxai.metrics.evaluate import split_params
    from vidxai.metrics.registry import get_metric, list_metrics

    params = top.get("metric_params") or {}
    if not isinstance(params, dict):
        check.fail(("metric_params",), f"must be a mapping, got {_kind(params)}")
        params = {}
    raw = top.get("metrics")
    if raw is None:
        names = None
        specs = [s for s in list_metrics() if s.default]
    else:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            check.fail(("metrics",), f"must be a list of metric names, got {_kind(raw)}")
            return None, params
        specs = []
        for i, n in enumerate(raw):
            spec = check.guard(("metrics", i), functools.partial(get_metric, str(n)))
            if spec is not None:
                specs.append(spec)
        names = tuple(dict.fromkeys(s.name for s in specs))
    check.guard(("metric_params",), lambda: split_params(specs, dict(params)))
    return names, dict(params)


def _clips(check: _Checker, value: Any) -> ClipSpec:
    path = ("clips",)
    item = check.mapping(value, path, ("frames", "sampling", "window", "sliding"))
    modes = [k for k in ("window", "sliding") if k in item]
    if len(modes) > 1 or (modes and ("frames" in item or "sampling" in item)):
        check.fail(path, "give one of {frames, sampling}, {window: [start, end]} or {sliding: …}")
        return ClipSpec()
    if "window" in item:
        w = item["window"]
        ok = isinstance(w, list) and len(w) == 2
        start = check.integer(w[0], (*path, "window"), 0) if ok else None
        end = check.integer(w[1], (*path, "window"), 1) if ok else None
        if not ok:
            check.fail((*path, "window"), f"must be [start, end] (frames), got {w!r}")
        elif start is not None and end is not None and end <= start:
            check.fail((*path, "window"), f"end {end} must be greater than start {start}")
        return ClipSpec("window", start=start or 0, end=end or 1)
    if "sliding" in item:
        s = check.mapping(item["sliding"], (*path, "sliding"), ("length", "stride"))
        length = check.integer(s.get("length"), (*path, "sliding", "length"), 2)
        stride = check.integer(s.get("stride", length), (*path, "sliding", "stride"), 1)
        return ClipSpec("sliding", length=length or 2, stride=stride or 1)
    frames = None
    if item.get("frames") is not None:
        frames = check.integer(item["frames"], (*path, "frames"), 2)
    sampling = item.get("sampling", "uniform")
    if sampling not in ("uniform", "first"):
        check.fail((*path, "sampling"), f"must be 'uniform' or 'first', got {sampling!r}")
        sampling = "uniform"
    return ClipSpec("frames", frames=frames, sampling=sampling)
