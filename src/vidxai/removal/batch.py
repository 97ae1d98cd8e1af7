"""Removal methods on a batch of clips: every clip's rows scored in shared engine batches.

Each clip is prepared (segment → sample → render) with its own one-clip view of the context —
its clip, target and generator — so its random draws are exactly those of explaining it
alone. Then the rows of all clips go through ONE ``ctx.engine.scores`` call whose batches mix
rows of different clips (each row scored against its own clip's target with
``ctx.clip_score``), and each clip is summarised on its own rows. Rows are rendered batch by
batch into one shared scratch buffer: the perturbed clips in memory are one engine batch,
whatever the number of clips; per clip only its labels, design and fill (at most one
clip-sized tensor) are kept until its summary.

With ``n_samples="auto"`` each clip keeps its own rounds (its stopping rule sees only its own
standard errors), so that path runs clip by clip on the same engine.
"""

from __future__ import annotations

import bisect
import itertools

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.removal.pipeline import Pipeline, PreparedRun, finish_run, prepare_run, run_pipeline
from vidxai.removal.remove import ScratchBuffers


class PooledRows:
    """``make_batch(start, stop)`` over the rows of several prepared runs laid end to end.

    Args:
        runs: one prepared run per clip (rows of run ``i`` are ``[offsets[i], offsets[i+1])``).
        buffers: the scratch buffers the runs' renderers share; the pooled batch is one more.

    Attributes:
        offsets: ``N + 1`` row offsets; clip_of_row: ``R`` long on the device, each row's clip.
    """

    def __init__(self, runs: list[PreparedRun], buffers: ScratchBuffers) -> None:
        self.runs = runs
        self.buffers = buffers
        counts = [run.samples.n for run in runs]
        self.offsets = [0, *itertools.accumulate(counts)]
        self.clip_of_row = torch.repeat_interleave(
            torch.arange(len(runs), device=buffers.device),
            torch.tensor(counts, device=buffers.device),
        )

    @property
    def n(self) -> int:
        """Total rows ``R`` of all clips."""
        return self.offsets[-1]

    def __call__(self, start: int, stop: int) -> Tensor:
        """``(stop − start)×C×T×H×W`` perturbed clips: rows ``[start, stop)`` of the pool."""
        x = self.runs[0].render.x
        shape = (stop - start, *x.shape[1:])
        out = self.buffers.get("rows", shape)
        if out is None:
            out = torch.empty(shape, dtype=x.dtype, device=x.device)
        clip = bisect.bisect_right(self.offsets, start) - 1
        while clip < len(self.runs) and self.offsets[clip] < stop:
            first, last = self.offsets[clip], self.offsets[clip + 1]
            a, b = max(start, first), min(stop, last)
            if b > a:
                self.runs[clip].render(a - first, b - first, out=out[a - start : b - start])
            clip += 1
        return out


def run_pipeline_batch(ctx: ExplainContext, pipeline: Pipeline) -> list[MethodOutput]:
    """Explain every clip of ``ctx.x`` (``N×C×T×H×W``) with ``pipeline``; one output per clip,
    each equal (to float tolerance) to :func:`~vidxai.removal.pipeline.run_pipeline` on that
    clip alone with the same seed.

    A fixed budget scores the rows of all clips in one engine call (batches mixing clips);
    ``pipeline.budget`` (``n_samples="auto"``) runs each clip's rounds on its own.
    """
    n = ctx.n_clips
    if n == 1 or pipeline.budget is not None:
        return [run_pipeline(ctx.clip(i), pipeline) for i in range(n)]
    x = ctx.x
    buffers = ScratchBuffers(x.dtype, x.device, enabled=x.device.type == "cpu")
    runs = [prepare_run(ctx.clip(i), pipeline, buffers) for i in range(n)]
    pool = PooledRows(runs, buffers)
    clip_of_row = pool.clip_of_row
    scores = ctx.engine.scores(
        pool.n,
        pool,
        lambda outputs, a, b: ctx.clip_score(outputs, clip_of_row[a:b]),
        desc=pipeline.name,
    )
    parts = scores.split([run.samples.n for run in runs])
    return [finish_run(run, part) for run, part in zip(runs, parts)]
