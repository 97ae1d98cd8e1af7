"""The local backend: one process, each model loaded once, items grouped by (model, method)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from vidxai.runner.execute import Outcome, Worker
from vidxai.runner.plan import WorkItem
from vidxai.runner.schema import Experiment


def run_local(
    experiment: Experiment, items: Sequence[WorkItem], commit: Callable[[Outcome], None]
) -> None:
    """Run ``items`` in this process, calling ``commit`` after each one.

    Items arrive ordered by model then method (:func:`~vidxai.runner.plan.plan_items`); each
    (model, method) group is handed to :func:`run_group`, the one place that would pass a batch
    of clips to the engine.
    """
    worker = Worker(experiment)
    for _, group in itertools.groupby(items, key=lambda i: (i.model_index, i.method)):
        run_group(worker, list(group), commit)


def run_group(worker: Worker, items: list[WorkItem], commit: Callable[[Outcome], None]) -> None:
    """Items sharing a model and a method, committed one by one as they finish."""
    for item in items:
        commit(worker.run(item))
