"""The Ray backend: Ray core actors, one per (model, worker slot), items handed out one by one.

* Ray is an optional extra (``pip install "vidxai[ray]"``); it is imported here only.
* ``address=None`` starts a local Ray instance sized for the workers (at least 4 logical CPUs,
  so that small machines still fit every actor; workers at normal priority, not Ray's default
  nice 15) and shuts it down at the end; an address
  (``"auto"``, ``"ray://head:10001"``, ``"10.0.0.1:6379"``) joins a running cluster, and an
  already initialised Ray (``ray.init`` by the caller) is used as it is.
* Per model, ``workers`` actors are started; each loads the model once, and reserves one CPU and,
  when the cluster has GPUs, one GPU — or an equal share of them when there are more workers
  than GPUs (Ray sets ``CUDA_VISIBLE_DEVICES``; the actor explains on ``cuda``).
* Each actor holds at most one item at a time, so a slow video never holds back items waiting
  behind it: the next item goes to whichever actor finishes first.
* Only the driver writes the store (``commit`` is called here, in the driver process), so
  atomicity and resume are exactly those of the local backend.
* An actor that dies (out of memory, a crash in native code) records its item as an ``error``
  row and is replaced.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vidxai.errors import VidxaiError
from vidxai.runner.execute import Outcome, Worker, base_row, error_message
from vidxai.runner.plan import WorkItem
from vidxai.runner.schema import Experiment

INSTALL_HINT = 'The ray backend needs Ray: pip install "vidxai[ray]"'
NICENESS_VARIABLE = "RAY_worker_niceness"  # Ray's own name (read by the raylet at start)


class RayWorker:
    """The body of one actor: a :class:`Worker` bound to one model, loaded at start."""

    def __init__(self, experiment: Experiment, model_index: int, device: str, threads: int):
        import torch

        torch.set_num_threads(max(1, threads))
        self.worker = Worker(experiment, device=device)
        self.worker.model(model_index)  # weights load once per actor

    def run(self, item: WorkItem) -> Outcome:
        return self.worker.run(item)


@contextlib.contextmanager
def _normal_priority() -> Iterator[None]:
    """Ray starts its workers at nice 15 by default; on a shared machine that starves the
    actors behind every other process. A local instance started here runs them at the driver's
    priority (``RAY_worker_niceness`` as the user set it wins)."""
    had = os.environ.get(NICENESS_VARIABLE)
    os.environ.setdefault(NICENESS_VARIABLE, "0")
    try:
        yield
    finally:
        if had is None:
            os.environ.pop(NICENESS_VARIABLE, None)


def gpus_per_actor(gpus: float, workers: int) -> float:
    """One GPU per actor, or an equal share when there are more workers than GPUs (Ray packs
    fractional actors onto one GPU), so every actor can be placed; 0 without GPUs."""
    if gpus <= 0:
        return 0.0
    return min(1.0, gpus / workers)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise VidxaiError(INSTALL_HINT) from exc
    return ray


def run_ray(
    experiment: Experiment,
    items: Sequence[WorkItem],
    commit: Callable[[Outcome], None],
    *,
    workers: int = 2,
    address: str | None = None,
) -> None:
    """Run ``items`` on Ray actors, committing each outcome in this (the driver) process."""
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        try:
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                with _normal_priority():
                    ray.init(
                        num_cpus=max(4, workers + 1),
                        include_dashboard=False,
                        log_to_driver=False,
                        configure_logging=False,
                    )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
            raise VidxaiError(f"Cannot start or join {where}: {exc}") from exc
        started = True
    try:
        num_gpus = gpus_per_actor(float(ray.cluster_resources().get("GPU", 0.0)), workers)
        device = experiment.device or ("cuda" if num_gpus else "cpu")
        actor_cls = ray.remote(num_cpus=1, num_gpus=num_gpus)(RayWorker)
        shared = ray.put(experiment)
        for model_index, group in itertools.groupby(items, key=lambda i: i.model_index):

            def spawn(index: int = model_index) -> Any:
                return actor_cls.remote(shared, index, device, 1)

            _run_model(ray, spawn, list(group), experiment, commit, workers)
    finally:
        if started:
            ray.shutdown()


def _run_model(
    ray: Any,
    spawn: Callable[[], Any],
    items: list[WorkItem],
    experiment: Experiment,
    commit: Callable[[Outcome], None],
    workers: int,
) -> None:
    """Hand one model's items to ``workers`` actors, one item per actor at a time."""
    queue = deque(items)
    actors = [spawn() for _ in range(min(workers, len(items)))]
    live = set(actors)
    pending: dict[Any, tuple[Any, WorkItem]] = {}

    def submit(actor: Any) -> None:
        if queue:
            item = queue.popleft()
            pending[actor.run.remote(item)] = (actor, item)

    for actor in actors:
        submit(actor)
    try:
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            actor, item = pending.pop(ref)
            try:
                outcome = ray.get(ref)
            except Exception as exc:  # the actor died: record the item, replace the actor
                row = base_row(item, experiment)
                row.update(status="error", error=f"Ray worker failed: {error_message(exc)}")
                outcome = Outcome(row, None)
                ray.kill(actor, no_restart=True)
                live.discard(actor)
                actor = spawn()
                live.add(actor)
            commit(outcome)
            submit(actor)
    finally:
        for actor in live:
            ray.kill(actor, no_restart=True)
