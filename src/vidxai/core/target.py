"""Targets: which model output an explanation is about, and how it is read (model behaviour)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from vidxai.errors import TargetError, unknown_name

Behaviour = Literal["probability", "logit", "log_probability"]
BEHAVIOURS: tuple[str, ...] = ("probability", "logit", "log_probability")


@dataclass(frozen=True)
class Target:
    """A resolved target.

    Attributes:
        index: class index, or ``None`` for a scalar (regression) output.
        behaviour: ``"probability"`` (softmax), ``"logit"``, ``"log_probability"`` or
            ``"identity"`` (regression outputs are used as they are).
        name: the class name when the model has class names.
    """

    index: int | None
    behaviour: str
    name: str | None = None

    @property
    def requires_class(self) -> bool:
        """False for a regression target (no class index)."""
        return self.index is not None

    def score(self, outputs: Tensor) -> Tensor:
        """Model outputs ``N×K`` (or ``N`` / ``N×1`` for regression) → target values ``N``."""
        return score_rows(outputs, self.index, self.behaviour)


def score_rows(outputs: Tensor, index: int | Tensor | None, behaviour: str) -> Tensor:
    """Target values of model outputs with one class for all rows or one class per row.

    Args:
        outputs: ``N×K`` logits (or ``N`` / ``N×1`` for a regression).
        index: a class index for every row, an ``N`` long tensor (one class per row), or None
            (regression: the output as it is).
        behaviour: ``probability``, ``logit``, ``log_probability`` or ``identity``.

    Returns:
        ``N`` values.
    """
    if index is None:
        return outputs.reshape(outputs.shape[0], -1)[:, 0]
    if behaviour == "log_probability":
        values = torch.log_softmax(outputs, dim=1)
    elif behaviour == "logit":
        values = outputs
    else:
        values = torch.softmax(outputs, dim=1)
    if isinstance(index, Tensor):
        return values.gather(1, index.to(values.device).view(-1, 1))[:, 0]
    return values[:, index]


def clip_scores(targets: Sequence[Target], clip_of_row: Tensor, outputs: Tensor) -> Tensor:
    """Values of rows that belong to different clips, each against its own clip's target.

    Args:
        targets: one resolved target per clip (one behaviour for all).
        clip_of_row: ``N`` long, the clip each row of ``outputs`` was built from.
        outputs: ``N×K`` model outputs.

    Returns:
        ``N`` values.
    """
    first = targets[0]
    if first.index is None:
        return score_rows(outputs, None, first.behaviour)
    table = torch.tensor([int(t.index) for t in targets], device=outputs.device)  # type: ignore[arg-type]
    return score_rows(outputs, table[clip_of_row.to(outputs.device)], first.behaviour)


def is_regression(outputs: Tensor) -> bool:
    """A model output is a regression when it has one value per clip."""
    return outputs.ndim == 1 or (outputs.ndim == 2 and outputs.shape[1] == 1)


def resolve_target(
    outputs: Tensor,
    target: int | str | None = None,
    behaviour: str | None = None,
    class_names: Sequence[str] | None = None,
) -> Target:
    """Resolve a user's target against the model's outputs on the intact clip.

    Args:
        outputs: the model's output on the intact clip, ``1×K`` (classifier) or ``1``/``1×1``
            (regression).
        target: a class index, a class name, or ``None`` for the top-1 prediction.
        behaviour: ``"probability"`` (default for classifiers), ``"logit"`` or
            ``"log_probability"``; ignored (identity) for regression outputs.
        class_names: names of the classes, for name targets and for reporting.

    Raises:
        TargetError: index out of range, unknown class name, or a class asked of a regression.
    """
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise TargetError(f"Unknown behaviour {behaviour!r}; use one of {', '.join(BEHAVIOURS)}.")
    if is_regression(outputs):
        if target not in (None, 0):
            raise TargetError(
                f"The model has a single (regression) output; target={target!r} cannot be "
                "explained. Leave target=None to explain the output itself."
            )
        return Target(index=None, behaviour="identity")
    if outputs.ndim != 2:
        raise TargetError(
            f"Expected model outputs of shape N×K (classes) or N (regression), got "
            f"{tuple(outputs.shape)}."
        )
    n_classes = outputs.shape[1]
    names = list(class_names) if class_names is not None else None
    if target is None:
        index = int(outputs[0].argmax())
    elif isinstance(target, str) and not target.lstrip("-").isdigit():
        if names is None:
            raise TargetError(
                f"Target {target!r} is a class name, but this model has no class names; "
                "pass a class index."
            )
        if target not in names:
            raise TargetError(str(unknown_name("class name", target, names)))
        index = names.index(target)
    else:
        if isinstance(target, bool) or (
            not hasattr(target, "__index__") and not isinstance(target, str)
        ):
            raise TargetError(f"Target must be an int, a class name or None, got {target!r}.")
        index = int(target)  # type: ignore[arg-type]
        if not 0 <= index < n_classes:
            raise TargetError(
                f"Target {index} is out of range: the model has {n_classes} classes "
                f"(0..{n_classes - 1})."
            )
    name = names[index] if names is not None and index < len(names) else None
    return Target(index=index, behaviour=behaviour or "probability", name=name)
