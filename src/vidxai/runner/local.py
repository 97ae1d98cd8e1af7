"""The local backend: one process, each model loaded once, items grouped by (model, method).

While an item is explained, the next item's clip is read in a reader thread and the previous
item's explanation is compressed and committed in a writer thread (video decoding, zlib and file
writes release the GIL), so the runner's own work overlaps the model's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from vidxai.runner.execute import Outcome, Worker
from vidxai.runner.plan import WorkItem
from vidxai.runner.schema import Experiment


def run_local(
    experiment: Experiment, items: Sequence[WorkItem], commit: Callable[[Outcome], None]
) -> None:
    """Run ``items`` in this process, calling ``commit`` (in a writer thread, one at a time, in
    order) after each one.

    Items arrive ordered by model then method (:func:`~vidxai.runner.plan.plan_items`); each
    (model, method) group is handed to :func:`run_group`, the one place that would pass a batch
    of clips to the engine.
    """
    worker = Worker(experiment)
    with (
        ThreadPoolExecutor(1, thread_name_prefix="vidxai-read") as reader,
        ThreadPoolExecutor(1, thread_name_prefix="vidxai-write") as writer,
    ):
        last: list[Future[None]] = []
        for _, group in itertools.groupby(items, key=lambda i: (i.model_index, i.method)):
            run_group(worker, list(group), commit, reader, writer, last)
        for f in last:
            f.result()


def run_group(
    worker: Worker,
    items: list[WorkItem],
    commit: Callable[[Outcome], None],
    reader: ThreadPoolExecutor,
    writer: ThreadPoolExecutor,
    last: list[Future[None]],
) -> None:
    """Items sharing a model and a method: prefetch each next clip, commit behind."""
    upcoming = reader.submit(worker.read, items[0])
    for i, item in enumerate(items):
        clip = upcoming
        if i + 1 < len(items):
            upcoming = reader.submit(worker.read, items[i + 1])
        outcome = worker.run(item, clip, serialise=False)
        while last:  # at most one outcome waits to be written (and errors surface here)
            last.pop().result()
        last.append(writer.submit(_write, commit, outcome))


def _write(commit: Callable[[Outcome], None], outcome: Outcome) -> None:
    outcome.payload()
    commit(outcome)
