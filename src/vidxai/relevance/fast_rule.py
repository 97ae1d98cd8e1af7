"""What the fast LRP rules (:mod:`~vidxai.relevance.rules`, :mod:`~vidxai.relevance.fast_flat`,
:mod:`~vidxai.relevance.fast_norm`) share: a numeric stabiliser kept across zennit's ``copy()``,
and the relevance handed back as the hook's ``grad_input``."""

from __future__ import annotations

from typing import Any

from torch import Tensor


class NumericEpsilon:
    """Mixin for a zennit rule with a fast path: ``epsilon`` is the stabiliser when it is a number
    (the fast path adds it), None for a callable one (zennit's own computation then). Put it
    before the zennit rule in the bases, and call :meth:`keep_epsilon` in ``__init__``."""

    epsilon: float | None

    def keep_epsilon(self, stabilizer: Any) -> None:
        self.epsilon = float(stabilizer) if isinstance(stabilizer, (int, float)) else None

    def copy(self) -> Any:
        new = super().copy()  # type: ignore[misc]
        new.epsilon = self.epsilon
        return new


def as_grad_input(relevance: Tensor, grad_input: Any) -> tuple[Tensor | None, ...]:
    """The hook's ``grad_input``: ``relevance`` where the shapes match, None elsewhere."""
    return tuple(relevance if g.shape == relevance.shape else None for g in grad_input)
