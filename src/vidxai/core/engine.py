"""The engine: the one place where clips pass through the model.

Every method reaches the model through one :class:`Engine` per explain / evaluate call, for both
kinds of pass:

* forward only, no gradients: :meth:`Engine.scores` and :meth:`Engine.outputs` (perturbed
  clips built batch by batch by a ``make_batch(start, stop)`` callback);
* forward + backward to the input: :meth:`Engine.input_grads` (a ``consume`` callback takes
  each batch's gradients) and :meth:`Engine.value_and_grad` (all gradients at once);
* forward + backward to the input of the model's autograd graph wherever the caller needs it
  (a layer's activations captured by a hook, mask parameters upstream of the clip):
  :meth:`Engine.backward_batches` runs a caller's step per batch under the same rules.

One set of rules for all of them: ``batch_size="auto"`` picks a batch that fits and halves it on
out-of-memory (clearing the allocator cache); a batch size the user fixed that does not fit
raises :class:`~vidxai.errors.BatchSizeError` naming a smaller size. Counting (``n_forward``,
``n_backward``) and the timing of model passes (the REVEX breakdown's ``inference``) happen
here, in :class:`CountingModel`, and nowhere else.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vidxai.core.timing import Stopwatch
from vidxai.errors import BatchSizeError, InvalidInputError

MakeBatch = Callable[[int, int], Tensor]
"""``make_batch(start, stop) -> (stop − start)×C×T×H×W`` clips for samples ``[start, stop)``."""

ScoreFn = Callable[[Tensor, int, int], Tensor]
"""``score(outputs, start, stop) -> stop − start`` values of the rows ``[start, stop)``."""

_CPU_AUTO_BATCH = 16
_MAX_AUTO_BATCH = 256
_ACTIVATION_FACTOR = 64  # a generous guess of activation bytes per input byte (forward only)
_GRAD_FACTOR = 3  # a backward pass keeps the forward's activations and their gradients


def check_batch_size(batch_size: Any) -> int | str:
    """Validate a user's ``batch_size``: an int ≥ 1 or ``"auto"`` (every entry point calls this).

    Raises:
        InvalidInputError: anything else (0, negative, a float, a bool, another string).
    """
    if isinstance(batch_size, str) and batch_size.strip().lower() == "auto":
        return "auto"
    if isinstance(batch_size, str) and batch_size.strip().isdigit():
        batch_size = int(batch_size)
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or int(batch_size) < 1
    ):
        raise InvalidInputError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
    return int(batch_size)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU allocation failures that a smaller batch may avoid."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "can't allocate memory" in msg or "failed to allocate" in msg
    )


class CountingModel(nn.Module):
    """Wraps a model: counts clips through forward and backward, and times forward passes.

    ``n_forward`` grows by the batch size of every call that returns (an out-of-memory
    attempt that the engine retries with a smaller batch is not counted); ``n_backward`` grows
    by the batch size whenever a gradient flows back through that call's output.
    """

    def __init__(self, model: nn.Module, stopwatch: Stopwatch) -> None:
        super().__init__()
        self.inner = model
        self.stopwatch = stopwatch
        self.n_forward = 0
        self.n_backward = 0

    def forward(self, x: Tensor) -> Tensor:
        n = int(x.shape[0])
        with self.stopwatch.section("inference"):
            out = self.inner(x)
        self.n_forward += n
        if isinstance(out, Tensor) and out.requires_grad:
            out.register_hook(self._backward_hook(n))
        return out

    def _backward_hook(self, n: int) -> Any:
        def hook(grad: Tensor) -> None:
            self.n_backward += n

        return hook


class Engine:
    """Runs every pass through the model for one explain / evaluate call.

    Args:
        model: the model, ``N×C×T×H×W → N×K`` (or ``N`` for a regression).
        batch_size: clips per pass, an int ≥ 1, or ``"auto"``.
        device: where clips are built and scored.
        progress: show progress bars on long loops.
        sample_shape: ``C×T×H×W`` of one clip, used to size the automatic batch on CUDA.
        stopwatch: the call's timing breakdown (a new one when None).

    Attributes:
        model: the counting wrapper; ``engine.model(x)`` is a counted, timed forward pass.
        batch_size: the current batch size (``"auto"`` shrinks it on out-of-memory).
    """

    def __init__(
        self,
        model: nn.Module | Callable[[Tensor], Tensor],
        batch_size: int | str = "auto",
        device: torch.device | str = "cpu",
        progress: bool = False,
        sample_shape: tuple[int, ...] | None = None,
        stopwatch: Stopwatch | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.stopwatch = stopwatch if stopwatch is not None else Stopwatch(self.device)
        if isinstance(model, CountingModel):
            self.model = model
        else:
            inner = model if isinstance(model, nn.Module) else _CallableModule(model)
            self.model = CountingModel(inner, self.stopwatch)
        self.progress = progress
        size = check_batch_size(batch_size)
        self.auto = size == "auto"
        self._sample_shape = sample_shape
        self.batch_size: int = self._auto_batch_size(1) if self.auto else int(size)
        self._grad_batch: int | None = None

    def set_stopwatch(self, stopwatch: Stopwatch) -> None:
        """Time the following passes on ``stopwatch`` (one per explanation in a batch call)."""
        self.stopwatch = stopwatch
        self.model.stopwatch = stopwatch

    @contextmanager
    def quiet(self) -> Iterator[Engine]:
        """No progress bar from the engine's own loops inside the block (restored after it).

        For a caller that shows its own bar over many short engine calls (an optimisation's
        iterations)::

            with engine.quiet():
                for it in tqdm(range(iters)):
                    engine.backward_batches(n, step)
        """
        before = self.progress
        self.progress = False
        try:
            yield self
        finally:
            self.progress = before

    # -- counts ------------------------------------------------------------------------------
    @property
    def n_forward(self) -> int:
        """Clips passed forward through the model so far."""
        return self.model.n_forward

    @property
    def n_backward(self) -> int:
        """Clips whose output was back-propagated so far."""
        return self.model.n_backward

    # -- batch sizes -------------------------------------------------------------------------
    def _auto_batch_size(self, factor: int) -> int:
        if self.device.type != "cuda" or self._sample_shape is None:
            return _CPU_AUTO_BATCH
        free, _ = torch.cuda.mem_get_info(self.device)
        numel = 1
        for s in self._sample_shape:
            numel *= s
        per_sample = numel * 4 * _ACTIVATION_FACTOR * factor
        return int(max(1, min(_MAX_AUTO_BATCH, free * 0.5 // per_sample)))

    @property
    def grad_batch_size(self) -> int:
        """Clips per forward + backward pass (``"auto"``: a smaller first guess than forward)."""
        if not self.auto:
            return self.batch_size
        if self._grad_batch is None:
            self._grad_batch = min(self.batch_size, self._auto_batch_size(_GRAD_FACTOR))
        return self._grad_batch

    def _shrink(self, exc: BaseException, size: int, grad: bool) -> int:
        """The next batch size after an out-of-memory at ``size`` (or the clear error)."""
        if not self.auto:
            smaller = max(1, size // 2)
            hint = (
                f"batch_size={smaller} or batch_size='auto'"
                if size > 1
                else "a smaller input, another device or a smaller model"
            )
            raise BatchSizeError(
                f"batch_size={size} does not fit in memory on {self.device} "
                f"({'forward + backward' if grad else 'forward'} pass); use {hint}."
            ) from exc
        if size <= 1:
            raise BatchSizeError(
                f"Even one clip does not fit in memory on {self.device}; use a smaller input, "
                "another device or a smaller model."
            ) from exc
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        new = max(1, size // 2)
        if grad:
            self._grad_batch = new
        else:
            self.batch_size = new
        return new

    # -- the one loop ------------------------------------------------------------------------
    def run_batches(
        self,
        n: int,
        step: Callable[[int, int], None],
        *,
        grad: bool = False,
        desc: str = "",
        unit: str = "clip",
    ) -> None:
        """Call ``step(start, stop)`` over ``[0, n)`` in batches, with the engine's rules.

        ``step`` must have no lasting effect when it raises (it is retried with a smaller batch
        after an out-of-memory under ``"auto"``). ``grad`` picks the forward + backward batch
        size. Every other method of the engine is built on this loop.
        """
        start = 0
        with tqdm(
            total=n, desc=desc or None, unit=unit, disable=not self.progress, leave=False
        ) as bar:
            while start < n:
                size = self.grad_batch_size if grad else self.batch_size
                stop = min(n, start + size)
                try:
                    step(start, stop)
                except Exception as exc:
                    if not is_out_of_memory(exc):
                        raise
                    self._shrink(exc, stop - start, grad)
                    continue
                bar.update(stop - start)
                start = stop

    # -- forward only ------------------------------------------------------------------------
    def outputs(self, n: int, make_batch: MakeBatch, desc: str = "scoring") -> Tensor:
        """Raw model outputs of ``n`` clips built by ``make_batch``: ``n×K`` float32 (no grad)."""
        return self.scores(n, make_batch, None, desc)

    def scores(
        self, n: int, make_batch: MakeBatch, score: ScoreFn | None, desc: str = "scoring"
    ) -> Tensor:
        """Values of ``n`` perturbed clips, no gradients.

        Args:
            n: number of clips.
            make_batch: builds clips ``[start, stop)`` (on the device, vectorised).
            score: ``(outputs, start, stop) → values``; None returns the raw outputs.

        Returns:
            ``n`` values (or ``n×K`` outputs), float32 on the device.
        """
        chunks: list[Tensor] = []

        def step(start: int, stop: int) -> None:
            out = self.model(make_batch(start, stop))
            chunks.append((out if score is None else score(out, start, stop)).float())

        with torch.no_grad():
            self.run_batches(n, step, desc=desc)
        if not chunks:
            return torch.zeros(0, device=self.device)
        return torch.cat(chunks)

    # -- forward + backward ------------------------------------------------------------------
    def input_grads(
        self,
        n: int,
        make_batch: MakeBatch,
        score: ScoreFn,
        consume: Callable[[int, int, Tensor, Tensor], None],
        desc: str = "gradients",
    ) -> None:
        """Gradients of each clip's value w.r.t. that clip, batch by batch.

        Args:
            n: number of clips.
            make_batch: builds clips ``[start, stop)``; they are detached and made leaves.
            score: ``(outputs, start, stop) → values``; the backward pass differentiates their
                sum, so each clip's gradient is that of its own value.
            consume: ``consume(start, stop, values, grads)`` with values ``stop − start`` and
                grads ``(stop − start)×C×T×H×W`` (detached); called once per batch, in order.
        """

        def step(start: int, stop: int) -> None:
            with torch.enable_grad():
                xg = make_batch(start, stop).detach().requires_grad_(True)
                values = score(self.model(xg), start, stop)
                with self.stopwatch.section("inference"):
                    (grad,) = torch.autograd.grad(values.sum(), xg)
            consume(start, stop, values.detach(), grad)

        self.run_batches(n, step, grad=True, desc=desc)

    def value_and_grad(
        self, x: Tensor, score: ScoreFn, desc: str = "gradients"
    ) -> tuple[Tensor, Tensor]:
        """Values of the clips ``x`` (``N×C×T×H×W``, not modified) and their input gradients.

        Returns:
            ``(values N, grads N×C×T×H×W)``; each clip's gradient is that of its own value.
        """
        n = int(x.shape[0])
        values = x.new_empty(n)
        grads = torch.empty_like(x)

        def consume(start: int, stop: int, v: Tensor, g: Tensor) -> None:
            values[start:stop] = v
            grads[start:stop] = g

        self.input_grads(n, lambda a, b: x[a:b], score, consume, desc)
        return values, grads

    def backward_batches(
        self,
        n: int,
        step: Callable[[int, int], None],
        desc: str = "",
    ) -> None:
        """Run a caller's forward + backward ``step(start, stop)`` over ``[0, n)`` in batches.

        For passes whose gradient goes somewhere other than the clip (a layer's activations
        under a hook, mask parameters upstream of the clip). ``step`` calls ``engine.model``
        and its own ``autograd`` call; wrap the backward in ``engine.stopwatch.section
        ("inference")``. The batch follows the forward + backward rules.
        """
        self.run_batches(n, step, grad=True, desc=desc)


class _CallableModule(nn.Module):
    """An ``nn.Module`` around a plain callable model (for tests and lambdas)."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)
