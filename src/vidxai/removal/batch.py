"""Removal methods on a batch of clips: every clip's rows scored in shared engine batches.

Each clip is prepared (segment → sample → render) with its own one-clip view of the context —
its clip, target and generator — so its random draws are exactly those of explaining it
alone. Then the rows of all clips go through ONE ``ctx.engine.scores`` call whose batches mix
rows of different clips (each row scored against its own clip's target with
:func:`~vidxai.core.target.clip_scores`), and each clip is summarised on its own rows.
Rows are rendered batch by batch into one shared scratch buffer: the perturbed clips in
memory are one engine batch, whatever the number of clips; per clip only its labels, design
and fill (at most one clip-sized tensor) are kept until its summary.

With ``n_samples="auto"`` the clips run their rounds in lockstep: each round is one engine call
over the next rows of every clip still sampling; each clip's stopping rule sees only its own
standard errors, so it scores exactly the rows it would score alone.
"""

from __future__ import annotations

import bisect
import itertools

import torch
from torch import Tensor

from vidxai.core.context import ExplainContext
from vidxai.core.registry import MethodOutput
from vidxai.core.target import Target, clip_scores
from vidxai.removal.pipeline import (
    Pipeline,
    PreparedRun,
    feature_extras,
    finish_run,
    prepare_run,
    run_pipeline,
    sampling_rounds,
)
from vidxai.removal.remove import ScratchBuffers


class PooledRows:
    """``make_batch(start, stop)`` over the rows of several prepared runs laid end to end.

    Args:
        runs: one prepared run per clip (rows of run ``i`` are ``[offsets[i], offsets[i+1])``).
        ranges: the rows ``(start, stop)`` of each run's design to lay out (default: all).
        buffers: the scratch buffers the runs' renderers share; the pooled batch is one more.

    Attributes:
        offsets: ``N + 1`` row offsets; clip_of_row: ``R`` long on the device, each row's clip.
    """

    def __init__(
        self,
        runs: list[PreparedRun],
        buffers: ScratchBuffers,
        ranges: list[tuple[int, int]] | None = None,
    ) -> None:
        self.runs = runs
        self.buffers = buffers
        self.ranges = ranges if ranges is not None else [(0, run.samples.n) for run in runs]
        counts = [b - a for a, b in self.ranges]
        self.counts = counts
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
                base = self.ranges[clip][0] - first  # design row = pool row + base
                self.runs[clip].render(a + base, b + base, out=out[a - start : b - start])
            clip += 1
        return out


def run_pipeline_batch(ctx: ExplainContext, pipeline: Pipeline) -> list[MethodOutput]:
    """Explain every clip of ``ctx.x`` (``N×C×T×H×W``) with ``pipeline``; one output per clip,
    each equal (to float tolerance) to :func:`~vidxai.removal.pipeline.run_pipeline` on that
    clip alone with the same seed.

    A fixed budget scores the rows of all clips in one engine call (batches mixing clips): one
    pass of the loop below. With ``pipeline.budget`` (``n_samples="auto"``) the clips run their
    rounds in lockstep: each round is one engine call over the next rows of every clip still
    sampling, and each clip stops on its own standard errors (its rounds are those it would run
    alone).
    """
    n = ctx.n_clips
    if n == 1:
        return [run_pipeline(ctx, pipeline)]
    x = ctx.x
    buffers = ScratchBuffers(x.dtype, x.device, enabled=x.device.type == "cpu")
    runs = [prepare_run(ctx.clip(i), pipeline, buffers) for i in range(n)]
    rounds = [sampling_rounds(run, pipeline) for run in runs]  # None: all rows at once
    outputs: list[MethodOutput | None] = [None] * n
    while active := [i for i in range(n) if outputs[i] is None]:
        ranges = []
        for i in active:
            stepper = rounds[i]
            rows = (0, runs[i].samples.n) if stepper is None else stepper.next_rows()
            assert rows is not None
            ranges.append(rows)
        chosen = [runs[i] for i in active]
        targets = [ctx.targets[i] for i in active]
        parts = _score(ctx, chosen, buffers, pipeline.name, ranges, targets)
        for i, part in zip(active, parts):
            stepper = rounds[i]
            if stepper is None:
                outputs[i] = finish_run(runs[i], part)
                continue
            stepper.add(part)
            if stepper.out is not None:
                outputs[i] = feature_extras(runs[i], stepper.out)
    return [out for out in outputs if out is not None]


def _score(
    ctx: ExplainContext,
    runs: list[PreparedRun],
    buffers: ScratchBuffers,
    desc: str,
    ranges: list[tuple[int, int]],
    targets: list[Target],
) -> list[Tensor]:
    """One engine call scoring rows ``ranges`` of ``runs``, each row against its own clip's
    target (``targets``, one per run); the scores split per run."""
    pool = PooledRows(runs, buffers, ranges)
    clip_of_row = pool.clip_of_row
    scores = ctx.engine.scores(
        pool.n,
        pool,
        lambda outputs, a, b: clip_scores(targets, clip_of_row[a:b], outputs),
        desc=desc,
    )
    return list(scores.split(pool.counts))
