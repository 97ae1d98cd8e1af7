"""The no-grad scorer: the engine's forward-only pass bound to one target.

Kept as the small interface removal, CAM and metric code uses (``scorer.run(n, make_batch)``);
batching, out-of-memory back-off and counting are the :class:`~vidxai.core.engine.Engine`'s.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from vidxai.core.engine import Engine, MakeBatch, is_out_of_memory
from vidxai.core.target import Target

__all__ = ["MakeBatch", "Scorer", "is_out_of_memory"]


class Scorer:
    """Scores batches of perturbed clips of one clip against its target, without gradients.

    Args:
        model: an :class:`Engine` (inside explain / evaluate calls), or a callable model
            ``N×C×T×H×W → N×K`` (then a private engine is built around it).
        target: turns outputs into target values.
        batch_size, device, progress, sample_shape: for a private engine (ignored when
            ``model`` is an engine).
    """

    def __init__(
        self,
        model: Engine | nn.Module | Callable[[Tensor], Tensor],
        target: Target,
        batch_size: int | str = "auto",
        device: torch.device | str = "cpu",
        progress: bool = False,
        sample_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.engine = (
            model
            if isinstance(model, Engine)
            else Engine(model, batch_size, device, progress, sample_shape)
        )
        self.target = target

    @property
    def batch_size(self) -> int:
        """The engine's current forward batch size."""
        return self.engine.batch_size

    @property
    def device(self) -> torch.device:
        return self.engine.device

    def run(self, n: int, make_batch: MakeBatch, desc: str = "scoring") -> Tensor:
        """Score ``n`` perturbed clips; ``make_batch(start, stop)`` builds clips [start, stop).

        Returns:
            ``n`` target values (float32, on the scorer's device).
        """
        target = self.target
        return self.engine.scores(n, make_batch, lambda out, a, b: target.score(out), desc)

    def outputs(self, n: int, make_batch: MakeBatch, desc: str = "scoring") -> Tensor:
        """Like :meth:`run` but returns the raw model outputs ``n×K``."""
        return self.engine.outputs(n, make_batch, desc)
