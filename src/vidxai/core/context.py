"""What a method receives: the model (counted and timed), the clip, the target, the scorer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from vidxai.core.scorer import Scorer
from vidxai.core.target import Target
from vidxai.core.timing import Stopwatch

if TYPE_CHECKING:
    from vidxai.models.adapter import VideoClassifier


def pixel_to_input(value: float | Sequence[float] | Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """A pixel-space colour in [0, 1] (scalar or per channel) → ``C`` tensor in input space."""
    v = torch.as_tensor(value, dtype=mean.dtype, device=mean.device)
    return (v.expand_as(mean) - mean) / std


class CountingModel(nn.Module):
    """Wraps a model: counts clips through forward and backward, and times forward passes.

    ``n_forward`` grows by the batch size of every call; ``n_backward`` grows by the batch size
    whenever a gradient flows back through that call's output.
    """

    def __init__(self, model: nn.Module, stopwatch: Stopwatch) -> None:
        super().__init__()
        self.inner = model
        self.stopwatch = stopwatch
        self.n_forward = 0
        self.n_backward = 0

    def forward(self, x: Tensor) -> Tensor:
        n = int(x.shape[0])
        self.n_forward += n
        with self.stopwatch.section("inference"):
            out = self.inner(x)
        if out.requires_grad:
            out.register_hook(self._backward_hook(n))
        return out

    def _backward_hook(self, n: int) -> Any:
        def hook(grad: Tensor) -> None:
            self.n_backward += n

        return hook


@dataclass
class ExplainContext:
    """Everything a method needs; built once per :func:`vidxai.explain` call.

    Attributes:
        model: counting wrapper; call ``ctx.model(x)`` with ``x`` N×C×T×H×W → outputs N×K.
        module: the user's underlying ``nn.Module`` (for hooks and layer look-up).
        classifier: the :class:`~vidxai.models.adapter.VideoClassifier`, or None.
        x: the clip, ``1×C×T×H×W`` float32 on ``device`` in model-input space. Never modify it.
        target: the resolved target; ``target.score(outputs) → N``.
        scorer: the batched no-grad loop bound to ``model`` and ``target``.
        generator: seeded ``torch.Generator`` on ``device``.
        stopwatch: timing breakdown (use :meth:`timer`).
        mean, std: per-channel normalisation of the model input, ``C`` tensors on ``device``.
    """

    model: CountingModel
    module: nn.Module
    classifier: VideoClassifier | None
    x: Tensor
    target: Target
    scorer: Scorer
    generator: torch.Generator
    device: torch.device
    batch_size: int
    progress: bool
    stopwatch: Stopwatch
    mean: Tensor
    std: Tensor
    seed: int = 0

    @contextmanager
    def timer(self, section: str) -> Iterator[None]:
        """Attribute the block's time to ``"segmentation"`` or ``"inference"``."""
        with self.stopwatch.section(section):
            yield

    def pixel_value(self, value: float | Sequence[float] | Tensor) -> Tensor:
        """A pixel-space colour in [0, 1] (scalar or per channel) → ``C`` tensor in input space."""
        return pixel_to_input(value, self.mean, self.std)

    def score_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Target values and their gradient w.r.t. the input.

        Args:
            x: ``N×C×T×H×W`` clips (not modified).

        Returns:
            ``(scores N, grads N×C×T×H×W)``; each clip's gradient is that of its own score.
        """
        with self.timer("inference"), torch.enable_grad():
            xg = x.detach().requires_grad_(True)
            scores = self.target.score(self.model(xg))
            (grad,) = torch.autograd.grad(scores.sum(), xg)
        return scores.detach(), grad

    @property
    def n_frames(self) -> int:
        """T of the clip."""
        return int(self.x.shape[2])
