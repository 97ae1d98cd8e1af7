"""VizOptions: the REVEX-study defaults, CLI string parsing, and bad values."""

from __future__ import annotations

import dataclasses

import pytest

from vidxai.errors import ParameterError, UnknownNameError
from vidxai.viz import VizOptions


def test_defaults_match_the_revex_user_study():
    options = VizOptions()
    assert options.polarity == "positive"
    assert options.selection == "topk"
    assert options.topk == pytest.approx(0.3)
    assert options.stretch is True
    assert options.signed is False


def test_from_strings_converts_each_type():
    options = VizOptions.from_strings(
        [
            "polarity=signed",
            "selection=mass",
            "mass=0.4",
            "stretch=false",
            "normalise=frame",
            "smooth-sigma=2.5",
            "colormap=viridis",
            "alpha=0.8",
            "background=gray",
        ]
    )
    assert options.polarity == "signed" and options.signed
    assert options.selection == "mass" and options.mass == pytest.approx(0.4)
    assert options.stretch is False
    assert options.normalise == "frame"
    assert options.smooth_sigma == pytest.approx(2.5)
    assert options.colormap == "viridis"
    assert options.alpha == pytest.approx(0.8)
    assert options.background == "gray"


def test_selection_none_and_colormap_default_give_none():
    options = VizOptions.from_strings(["selection=none", "colormap=default"])
    assert options.selection is None
    assert options.colormap is None
    assert VizOptions(selection="none").selection is None  # type: ignore[arg-type]


def test_from_strings_keeps_a_base():
    base = VizOptions(alpha=0.9)
    assert VizOptions.from_strings(["topk=0.1"], base=base).alpha == pytest.approx(0.9)


@pytest.mark.parametrize(
    "item",
    [
        "topk",  # no '='
        "=3",  # no key
        "colour=red",  # unknown key
        "topk=lots",  # not a number
        "topk=0",  # out of (0, 1]
        "topk=1.5",
        "mass=-0.1",
        "threshold=2",
        "alpha=1.2",
        "clip=0",
        "smooth_sigma=-1",
        "stretch=maybe",
        "polarity=both",
        "selection=best",
        "normalise=clip",
        "alpha_mode=loud",
        "background=blue",
        "topk=nan",
    ],
)
def test_bad_strings_raise_parameter_error(item):
    with pytest.raises(ParameterError):
        VizOptions.from_strings([item])


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ParameterError, match="topk"):
        VizOptions.from_strings(["top=0.2"])


def test_unknown_colormap_is_an_unknown_name_with_suggestions():
    with pytest.raises(UnknownNameError, match="viridis"):
        VizOptions(colormap="viridiss")


def test_options_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        VizOptions().topk = 0.5  # type: ignore[misc]


def test_describe_lists_every_option_with_its_default():
    text = VizOptions.describe()
    for f in dataclasses.fields(VizOptions):
        assert text.count(f"\n{f.name} (") + text.startswith(f"{f.name} (") == 1
    assert "topk (0.3)" in text
    assert "stretch (true)" in text
