"""The method registry: every explanation method is registered here with typed parameters.

A method is a function ``fn(ctx: ExplainContext, params: P) -> MethodOutput`` where ``P`` is a
frozen dataclass of typed parameters with defaults. The CLI, ``vidxai methods`` and the contract
tests iterate over this registry, so a newly registered method appears everywhere at once.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import math
import numbers
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from torch import Tensor

from vidxai.errors import ParameterError, UnknownNameError, unknown_name

_BUILTIN_PACKAGES = (
    "vidxai.gradient",
    "vidxai.cam",
    "vidxai.removal",
    "vidxai.extremal",
    "vidxai.relevance",
    "vidxai.postprocess",
)
# Families whose methods differentiate the pre-softmax score by default (the papers, Captum and
# pytorch-grad-cam do); removal and extremal methods keep the probability (REVEX, STEP).
LOGIT_FAMILIES = frozenset({"gradient", "cam", "relevance"})


@dataclass
class MethodOutput:
    """What a method returns.

    Attributes:
        attribution: ``T×H×W`` float tensor in model-input space (higher = more evidence).
        extras: method-specific outputs (tensors or JSON-able values), saved with the explanation.
    """

    attribution: Tensor
    extras: dict[str, Any] = field(default_factory=dict)


MethodFn = Callable[..., "MethodOutput | list[MethodOutput]"]
"""A method: ``fn(ctx, params)`` → one output, or one per clip for a batched method."""


@dataclass(frozen=True)
class ParamInfo:
    """One parameter of a method, for listings and the CLI."""

    name: str
    type: str
    default: Any
    help: str = ""


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its name, family, parameters and implementation."""

    name: str
    fn: MethodFn
    params: type
    family: str
    description: str
    quick_params: dict[str, Any] = field(default_factory=dict)
    demo_params: dict[str, Any] = field(default_factory=dict)
    batched: bool = False
    default_behaviour: str | None = None

    @property
    def behaviour(self) -> str:
        """The behaviour used when the caller gives none (``logit`` for gradient/CAM/relevance)."""
        if self.default_behaviour is not None:
            return self.default_behaviour
        return "logit" if self.family in LOGIT_FAMILIES else "probability"

    def param_info(self) -> list[ParamInfo]:
        """The method's parameters with their types and defaults."""
        hints = typing.get_type_hints(self.params)
        out = []
        for f in dataclasses.fields(self.params):
            default = f.default if f.default is not dataclasses.MISSING else None
            if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = f.default_factory()  # type: ignore[misc]
            out.append(
                ParamInfo(f.name, _type_name(hints[f.name]), default, f.metadata.get("help", ""))
            )
        return out

    def parse_params(self, raw: dict[str, Any] | None = None) -> Any:
        """Validate user parameters and build the method's parameter dataclass.

        Strings (from the CLI) are converted to each field's annotated type.

        Raises:
            ParameterError: an unknown parameter name or a value that does not fit its type.
        """
        raw = dict(raw or {})
        hints = typing.get_type_hints(self.params)
        names = [f.name for f in dataclasses.fields(self.params)]
        unknown = [k for k in raw if k not in names]
        if unknown:
            valid = ", ".join(names) if names else "(none)"
            raise ParameterError(
                f"Method {self.name!r} has no parameter {', '.join(map(repr, unknown))}. "
                f"Its parameters: {valid}."
            )
        values = {}
        for key, value in raw.items():
            try:
                values[key] = convert_value(value, hints[key])
            except (TypeError, ValueError) as exc:
                raise ParameterError(
                    f"Parameter {key!r} of method {self.name!r}: cannot use {value!r} as "
                    f"{_type_name(hints[key])} ({exc})."
                ) from None
        try:
            return self.params(**values)
        except ParameterError:
            raise
        except (TypeError, ValueError) as exc:
            raise ParameterError(f"Method {self.name!r}: {exc}") from None


_REGISTRY: dict[str, MethodSpec] = {}
_loaded = False


def register_method(
    name: str,
    *,
    params: type,
    family: str,
    description: str,
    quick_params: dict[str, Any] | None = None,
    demo_params: dict[str, Any] | None = None,
    batched: bool = False,
    default_behaviour: str | None = None,
) -> Callable[[MethodFn], MethodFn]:
    """Decorator registering ``fn(ctx, params) -> MethodOutput`` under ``name``.

    Args:
        name: the method's public name.
        params: frozen dataclass of typed parameters with defaults.
        family: ``gradient``, ``cam``, ``removal``, ``extremal``…
        description: one line for listings.
        quick_params: parameter overrides for a fast run (``vidxai demo``, contract tests), e.g.
            fewer samples or iterations.
        demo_params: overrides for ``vidxai demo`` where the defaults would take minutes on the
            demo model (e.g. fewer optimisation iterations); the demo says when it uses them.
    """
    if not dataclasses.is_dataclass(params):
        raise TypeError(f"params of method {name!r} must be a dataclass")

    def decorate(fn: MethodFn) -> MethodFn:
        if name in _REGISTRY and _REGISTRY[name].fn is not fn:
            raise ValueError(f"Method {name!r} is already registered")
        _REGISTRY[name] = MethodSpec(
            name,
            fn,
            params,
            family,
            description,
            dict(quick_params or {}),
            dict(demo_params or {}),
            batched,
            default_behaviour,
        )
        return fn

    return decorate


def _load_builtin_methods() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for pkg in _BUILTIN_PACKAGES:
        if importlib.util.find_spec(pkg) is not None:
            importlib.import_module(pkg)


def get_method(name: str) -> MethodSpec:
    """Look a method up by name (UnknownNameError with close matches otherwise)."""
    _load_builtin_methods()
    if name not in _REGISTRY:
        raise unknown_name("method", name, _REGISTRY)
    return _REGISTRY[name]


def list_methods(family: str | None = None) -> list[MethodSpec]:
    """All registered methods (optionally one family), sorted by family then name.

    Raises:
        UnknownNameError: ``family`` is not the family of any registered method.
    """
    _load_builtin_methods()
    families = {s.family for s in _REGISTRY.values()}
    if family is not None and family not in families:
        raise UnknownNameError(
            f"Unknown method family {family!r}. Families: {', '.join(sorted(families))}"
        )
    specs = [s for s in _REGISTRY.values() if family is None or s.family == family]
    return sorted(specs, key=lambda s: (s.family, s.name))


# ---------------------------------------------------------------- string → typed value conversion

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def _is_union(tp: Any) -> bool:
    return get_origin(tp) is Union or isinstance(tp, types.UnionType)


def _type_name(tp: Any) -> str:
    if _is_union(tp):
        return " | ".join(_type_name(a) for a in get_args(tp))
    if get_origin(tp) is Literal:
        return "{" + ", ".join(map(str, get_args(tp))) + "}"
    if get_origin(tp) is tuple:
        args = get_args(tp)
        inner = _type_name(args[0]) if args else "Any"
        return f"tuple[{inner}, ...]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def convert_value(value: Any, tp: Any) -> Any:
    """Convert ``value`` (often a CLI string) to the annotated type ``tp``.

    Non-string values are checked, not converted (except int → float).
    """
    if tp is Any:
        return value
    if _is_union(tp):
        args = get_args(tp)
        is_none = value is None or (isinstance(value, str) and value.lower() == "none")
        if is_none and type(None) in args:
            return None
        errors = []
        # Try non-str alternatives first so "3" becomes 3 for `int | str`.
        for arg in sorted(args, key=lambda a: a is str):
            if arg is type(None):
                continue
            try:
                return convert_value(value, arg)
            except (TypeError, ValueError) as exc:
                errors.append(str(exc))
        raise ValueError("; ".join(errors) or "no matching type")
    origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        for choice in choices:
            if value == choice or (isinstance(value, str) and str(choice) == value):
                return choice
        raise ValueError(f"expected one of {', '.join(map(repr, choices))}")
    if origin is tuple:
        args = get_args(tp)
        items = value
        if isinstance(value, str):
            items = [v for v in value.replace("x", ",").replace("×", ",").split(",") if v.strip()]
        if not isinstance(items, (list, tuple)):
            items = [items]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(convert_value(v, args[0]) for v in items)
        if len(items) != len(args):
            raise ValueError(f"expected {len(args)} values")
        return tuple(convert_value(v, a) for v, a in zip(items, args))
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ValueError("expected true/false")
    if tp is int:
        if isinstance(value, bool):
            raise ValueError("expected an integer")
        if isinstance(value, numbers.Integral):  # also NumPy integers
            return int(value)
        if isinstance(value, str):
            return int(value.strip())
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValueError("expected an integer")
    if tp is float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        if isinstance(value, numbers.Real):  # also NumPy floats
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            raise ValueError("expected a number")
        if not math.isfinite(number):  # no method parameter means anything at nan/inf
            raise ValueError("expected a finite number")
        return number
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError("expected a string")
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise ValueError(f"expected {tp.__name__}")
    return value
