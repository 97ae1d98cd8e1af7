"""The method registry: parameter parsing from CLI strings, unknown names, listing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pytest

from vidxai.core.registry import MethodSpec, convert_value, get_method, list_methods
from vidxai.errors import ParameterError, UnknownNameError


@dataclass(frozen=True)
class _P:
    n: int = 3
    rate: float = 0.5
    mode: Literal["a", "b"] = "a"
    grid: tuple[int, ...] = (1, 2, 2)
    flag: bool = False
    layer: str | None = None
    removal: str | float = "black"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ParameterError("n must be >= 1")


SPEC = MethodSpec("toy", lambda ctx, p: None, _P, "test", "toy")


def test_strings_are_converted_to_annotated_types() -> None:
    p = SPEC.parse_params(
        {"n": "7", "rate": "0.25", "mode": "b", "grid": "2x4x4", "flag": "true", "layer": "none"}
    )
    assert p == _P(n=7, rate=0.25, mode="b", grid=(2, 4, 4), flag=True, layer=None)


def test_union_prefers_number_over_string() -> None:
    assert SPEC.parse_params({"removal": "0.3"}).removal == 0.3
    assert SPEC.parse_params({"removal": "gray"}).removal == "gray"


def test_python_values_pass_through() -> None:
    p = SPEC.parse_params({"n": 2, "rate": 1, "grid": [3, 3, 3]})
    assert p.n == 2 and p.rate == 1.0 and isinstance(p.rate, float) and p.grid == (3, 3, 3)


@pytest.mark.parametrize(
    "raw",
    [{"n": "x"}, {"mode": "c"}, {"flag": "maybe"}, {"n": "0"}, {"n": True}, {"nope": 1}],
)
def test_bad_parameters_raise_parameter_error(raw: dict) -> None:
    with pytest.raises(ParameterError):
        SPEC.parse_params(raw)


def test_unknown_parameter_lists_valid_names() -> None:
    with pytest.raises(ParameterError, match="Its parameters: n, rate"):
        SPEC.parse_params({"nn": 1})


def test_unknown_method_suggests_close_name() -> None:
    with pytest.raises(UnknownNameError, match="saliency"):
        get_method("salency")


def test_listing_contains_saliency_with_params() -> None:
    spec = next(s for s in list_methods() if s.name == "saliency")
    assert [i.name for i in spec.param_info()] == ["polarity", "channel_reduction"]
    assert spec.param_info()[0].default == "absolute"


def test_convert_value_rejects_float_for_int() -> None:
    with pytest.raises(ValueError):
        convert_value(2.5, int)


def test_register_method_keeps_quick_and_demo_settings(monkeypatch) -> None:
    from vidxai.core import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_method(
        "toy_settings",
        params=_P,
        family="test",
        description="toy",
        quick_params={"n": 1},
        demo_params={"n": 2},
    )(lambda ctx, p: None)
    spec = registry._REGISTRY["toy_settings"]
    assert spec.quick_params == {"n": 1} and spec.demo_params == {"n": 2}
