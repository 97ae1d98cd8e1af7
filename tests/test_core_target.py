"""Targets and model behaviour."""

from __future__ import annotations

import pytest
import torch

from vidxai.core.target import resolve_target
from vidxai.errors import TargetError

LOGITS = torch.tensor([[0.5, 2.0, -1.0]])
NAMES = ["ironing", "taking medicine", "juggling"]


def test_default_is_top1_probability() -> None:
    t = resolve_target(LOGITS, class_names=NAMES)
    assert t.index == 1 and t.name == "taking medicine" and t.behaviour == "probability"
    assert torch.allclose(t.score(LOGITS), torch.softmax(LOGITS, 1)[:, 1])


def test_behaviours() -> None:
    assert torch.allclose(resolve_target(LOGITS, 2, "logit").score(LOGITS), torch.tensor([-1.0]))
    lp = resolve_target(LOGITS, 0, "log_probability").score(LOGITS)
    assert torch.allclose(lp, torch.log_softmax(LOGITS, 1)[:, 0])


def test_class_name_and_numeric_string() -> None:
    assert resolve_target(LOGITS, "juggling", class_names=NAMES).index == 2
    assert resolve_target(LOGITS, "0", class_names=NAMES).index == 0


def test_regression_output_used_as_is() -> None:
    out = torch.tensor([[3.5]])
    t = resolve_target(out, behaviour="probability")
    assert t.index is None and t.behaviour == "identity" and not t.requires_class
    assert torch.equal(t.score(torch.tensor([[1.0], [2.0]])), torch.tensor([1.0, 2.0]))
    assert resolve_target(torch.tensor([2.0])).score(torch.tensor([4.0])).item() == 4.0


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (3, "out of range"),
        (-1, "out of range"),
        ("jugling", "juggling"),
        (1.5, "int"),
        (True, "int"),
    ],
)
def test_bad_targets(target: object, match: str) -> None:
    with pytest.raises(TargetError, match=match):
        resolve_target(LOGITS, target, class_names=NAMES)  # type: ignore[arg-type]


def test_class_target_on_regression_and_bad_behaviour() -> None:
    with pytest.raises(TargetError, match="regression"):
        resolve_target(torch.tensor([[1.0]]), 3)
    with pytest.raises(TargetError, match="behaviour"):
        resolve_target(LOGITS, behaviour="softmax")


def test_name_without_class_names() -> None:
    with pytest.raises(TargetError, match="no class names"):
        resolve_target(LOGITS, "ironing")
