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

#: Clips per engine call for methods registered ``batched=True`` (CAMs).
CLIPS_PER_BATCH = 8


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
    """Items sharing a model and a method: clips are read ahead, outcomes committed behind.

    A method registered ``batched=True`` gets its clips in batches of :data:`CLIPS_PER_BATCH`
    (one engine call per batch); other methods get one clip per call.
    """
    from vidxai.core.registry import get_method

    size = CLIPS_PER_BATCH if get_method(items[0].method).batched else 1
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    upcoming = [reader.submit(worker.read, item) for item in chunks[0]]
    for k, chunk in enumerate(chunks):
        clips = upcoming
        if k + 1 < len(chunks):
            upcoming = [reader.submit(worker.read, item) for item in chunks[k + 1]]
        if size == 1:
            outcomes = [worker.run(chunk[0], clips[0], serialise=False)]
        else:
            outcomes = worker.run_batch(chunk, clips, serialise=False)
        for outcome in outcomes:
            while last:  # at most one outcome waits to be written (and errors surface here)
                last.pop().result()
            last.append(writer.submit(_write, commit, outcome))


def _write(commit: Callable[[Outcome], None], outcome: Outcome) -> None:
    outcome.payload()
    commit(outcome)
