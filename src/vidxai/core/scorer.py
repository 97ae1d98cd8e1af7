"""The one batched, no-grad forward loop that every perturbation method goes through."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from vidxai.core.target import Target

MakeBatch = Callable[[int, int], Tensor]

_CPU_AUTO_BATCH = 16
_MAX_AUTO_BATCH = 256


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA/MPS/CPU allocation failures that a smaller batch may avoid."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    msg = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg or "can't allocate memory" in msg or "failed to allocate" in msg
    )


class Scorer:
    """Scores batches of perturbed clips with the model, in batches, without gradients.

    Args:
        model: callable ``N×C×T×H×W → N×K`` (the counting wrapper in an explain call).
        target: turns outputs into target values.
        batch_size: an int, or ``"auto"`` (largest batch that fits; halves on out-of-memory).
        device: where clips are built and scored.
        progress: show a progress bar.
        sample_shape: ``C×T×H×W`` of one clip, used to size the automatic batch.
    """

    def __init__(
        self,
        model: nn.Module | Callable[[Tensor], Tensor],
        target: Target,
        batch_size: int | str = "auto",
        device: torch.device | str = "cpu",
        progress: bool = False,
        sample_shape: tuple[int, ...] | None = None,
    ) -> None:
        self.model = model
        self.target = target
        self.device = torch.device(device)
        self.progress = progress
        self.auto = batch_size == "auto"
        self.batch_size = (
            self._auto_batch_size(sample_shape) if self.auto else int(batch_size)  # type: ignore[arg-type]
        )

    def _auto_batch_size(self, sample_shape: tuple[int, ...] | None) -> int:
        if self.device.type != "cuda" or sample_shape is None:
            return _CPU_AUTO_BATCH
        free, _ = torch.cuda.mem_get_info(self.device)
        numel = 1
        for s in sample_shape:
            numel *= s
        # A generous guess of activations per input voxel; out-of-memory back-off corrects it.
        per_sample = numel * 4 * 64
        return int(max(1, min(_MAX_AUTO_BATCH, free * 0.5 // per_sample)))

    def run(self, n: int, make_batch: MakeBatch, desc: str = "scoring") -> Tensor:
        """Score ``n`` perturbed clips; ``make_batch(start, stop)`` builds clips [start, stop).

        Returns:
            ``n`` target values (float32, on the scorer's device).
        """
        return self._loop(n, make_batch, desc, self.target.score)

    def outputs(self, n: int, make_batch: MakeBatch, desc: str = "scoring") -> Tensor:
        """Like :meth:`run` but returns the raw model outputs ``n×K``."""
        return self._loop(n, make_batch, desc, lambda out: out)

    def _loop(
        self, n: int, make_batch: MakeBatch, desc: str, reduce: Callable[[Tensor], Tensor]
    ) -> Tensor:
        chunks: list[Tensor] = []
        start = 0
        with (
            torch.no_grad(),
            tqdm(total=n, desc=desc, unit="clip", disable=not self.progress, leave=False) as bar,
        ):
            while start < n:
                stop = min(n, start + self.batch_size)
                try:
                    out = reduce(self.model(make_batch(start, stop)))
                except Exception as exc:
                    if not (self.auto and self.batch_size > 1 and is_out_of_memory(exc)):
                        raise
                    self.batch_size = max(1, self.batch_size // 2)
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    continue
                chunks.append(out.float())
                bar.update(stop - start)
                start = stop
        if not chunks:
            return torch.zeros(0, device=self.device)
        return torch.cat(chunks)
