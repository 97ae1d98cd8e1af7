"""What a method receives: the model (counted and timed), the clip, the target, the scorer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from vidxai.core.engine import CountingModel, Engine
from vidxai.core.scorer import Scorer
from vidxai.core.target import Target, clip_scores
from vidxai.core.timing import Stopwatch

__all__ = ["CountingModel", "ExplainContext", "pixel_to_input", "pixel_video"]

if TYPE_CHECKING:
    from vidxai.models.adapter import VideoClassifier


def pixel_to_input(value: float | Sequence[float] | Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """A pixel-space colour in [0, 1] (scalar or per channel) → ``C`` tensor in input space."""
    v = torch.as_tensor(value, dtype=mean.dtype, device=mean.device)
    return (v.expand_as(mean) - mean) / std


def pixel_video(x: Tensor, mean: Tensor, std: Tensor, has_preprocessing: bool) -> Tensor:
    """The clip as pixel-like values in [0, 1] for colour-based segmenters.

    Args:
        x: ``C×T×H×W`` clip in model-input space.
        mean, std: ``C`` normalisation of the model input.
        has_preprocessing: True when the model has a real input contract (then the
            normalisation is undone: ``x·std + mean`` clamped to [0, 1]). Otherwise the value
            range is unknown and each channel is min-max scaled to [0, 1].

    Returns:
        ``C×T×H×W`` float32 in [0, 1].
    """
    x = x.detach().float()
    if has_preprocessing:
        view = (-1, 1, 1, 1)
        return (x * std.view(view) + mean.view(view)).clamp(0.0, 1.0)
    flat = x.flatten(1)
    lo = flat.min(1).values.view(-1, 1, 1, 1)
    hi = flat.max(1).values.view(-1, 1, 1, 1)
    return (x - lo) / (hi - lo).clamp_min(1e-12)


@dataclass
class ExplainContext:
    """Everything a method needs; built once per :func:`vidxai.explain` call.

    Attributes:
        model: the engine's counting wrapper; ``ctx.model(x)`` with ``x`` N×C×T×H×W → outputs
            N×K is a counted, timed forward pass (for custom passes under hooks; prefer the
            engine's batched calls).
        module: the user's underlying ``nn.Module`` (for hooks and layer look-up).
        classifier: the :class:`~vidxai.models.adapter.VideoClassifier`, or None.
        x: the clips, ``N×C×T×H×W`` float32 on ``device`` in model-input space (``N = 1``
            unless the method is registered ``batched=True``). Never modify it.
        target: the resolved target of the first clip; ``target.score(outputs) → N``.
        scorer: the engine's no-grad loop bound to ``target`` (the first clip's).
        generator: seeded ``torch.Generator`` on ``device`` (the first clip's).
        engine: the :class:`~vidxai.core.engine.Engine` every pass goes through.
        targets: one resolved target per clip.
        generators: one generator per clip, each seeded with ``seed`` (so a clip explained in a
            batch draws the same numbers as alone).
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
    engine: Engine = field(default=None)  # type: ignore[assignment]
    targets: list[Target] = field(default_factory=list)
    generators: list[torch.Generator] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = self.scorer.engine
        if not self.targets:
            self.targets = [self.target]
        if not self.generators:
            self.generators = [self.generator]

    @property
    def n_clips(self) -> int:
        """N, the number of clips explained at once."""
        return int(self.x.shape[0])

    def clip(self, i: int) -> ExplainContext:
        """The one-clip view of clip ``i``: ``x = self.x[i:i+1]`` (``1×C×T×H×W``), its target,
        its generator and a scorer bound to its target, on the same engine, stopwatch and
        device. A batched method that prepares each clip on its own (removal, extremal) uses
        it, so a clip's random draws are exactly those of explaining it alone."""
        if not 0 <= i < self.n_clips:
            raise IndexError(f"clip {i} of a batch of {self.n_clips}")
        target, generator = self.targets[i], self.generators[i]
        return replace(
            self,
            x=self.x[i : i + 1],
            target=target,
            scorer=Scorer(self.engine, target),
            generator=generator,
            targets=[target],
            generators=[generator],
        )

    def clip_score(self, outputs: Tensor, clip_of_row: Tensor) -> Tensor:
        """Values of rows built from different clips, each against its own clip's target.

        Args:
            outputs: ``R×K`` model outputs.
            clip_of_row: ``R`` long, the clip index of each row.
        """
        return clip_scores(self.targets, clip_of_row, outputs)

    @contextmanager
    def timer(self, section: str) -> Iterator[None]:
        """Attribute the block's time to ``"segmentation"`` or ``"inference"``."""
        with self.stopwatch.section(section):
            yield

    def pixels(self, clip: int = 0) -> Tensor:
        """Clip ``clip`` as pixel-like values in [0, 1], ``C×T×H×W`` (see :func:`pixel_video`)."""
        has_pre = bool(getattr(self.classifier, "has_preprocessing", False))
        return pixel_video(self.x[clip], self.mean, self.std, has_pre)

    def pixel_value(self, value: float | Sequence[float] | Tensor) -> Tensor:
        """A pixel-space colour in [0, 1] (scalar or per channel) → ``C`` tensor in input space."""
        return pixel_to_input(value, self.mean, self.std)

    def score_and_grad(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Target values and their gradient w.r.t. the input.

        Args:
            x: ``N×C×T×H×W`` clips (not modified).

        Returns:
            ``(scores N, grads N×C×T×H×W)``; each clip's gradient is that of its own score
            against ``ctx.target``. Batched by the engine (out-of-memory back-off included).
        """
        target = self.target
        return self.engine.value_and_grad(x, lambda out, a, b: target.score(out))

    @property
    def n_frames(self) -> int:
        """T of the clip."""
        return int(self.x.shape[2])
