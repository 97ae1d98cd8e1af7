"""``run_experiment``: plan the items, skip the finished ones, run the rest, commit each."""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vidxai.errors import InvalidInputError, VidxaiError
from vidxai.runner.execute import Outcome
from vidxai.runner.plan import WorkItem, plan_items
from vidxai.runner.schema import Experiment
from vidxai.runner.store import ResultsStore

Backend = Literal["local", "ray"]


@dataclass(frozen=True)
class RunSummary:
    """What a call to :func:`run_experiment` did.

    Attributes:
        out: the run folder.
        planned: items of the experiment.
        skipped: items already finished before this call (not repeated).
        ok, failed: items this call finished with status ``ok`` / ``error``.
        wall: seconds this call took.
        item_seconds: sum of the ``time_total`` of the items this call ran.
    """

    out: Path
    planned: int
    skipped: int
    ok: int
    failed: int
    wall: float
    item_seconds: float


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
    """Only one run writes a run folder at a time (released by the OS even on ``kill -9``)."""
    with open(out / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise VidxaiError(f"Another vidxai run is writing {out}; wait for it to end") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_experiment(
    experiment: Experiment,
    *,
    backend: Backend = "local",
    out: str | Path | None = None,
    workers: int = 1,
    address: str | None = None,
    progress: bool = True,
    retry_errors: bool = False,
) -> RunSummary:
    """Run every unfinished item of ``experiment`` and store the results in ``out``.

    Args:
        experiment: from :func:`~vidxai.runner.schema.load_experiment`.
        backend: ``"local"`` (this process) or ``"ray"`` (Ray core actors).
        out: run folder (default: the file's ``out``).
        workers: Ray actors per model (the local backend uses one process).
        address: Ray cluster address (``"auto"``, ``"ray://host:10001"``…); None starts a local
            Ray instance.
        progress: show a progress bar over items with an ETA.
        retry_errors: run again the items recorded with status ``error``.

    Returns:
        :class:`RunSummary`.
    """
    if backend not in ("local", "ray"):
        raise InvalidInputError(f"backend must be 'local' or 'ray', got {backend!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"workers must be a positive integer, got {workers!r}")
    folder = Path(out) if out is not None else experiment.out
    if folder is None:
        raise InvalidInputError("No output folder: give 'out:' in the experiment file or --out")
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"The output folder {folder} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with _locked(folder):
        store = ResultsStore(folder)
        store.clean()
        if experiment.source is not None and experiment.source.is_file():
            shutil.copyfile(experiment.source, folder / "experiment.yaml")
        items = list({i.key: i for i in plan_items(experiment)}.values())
        store.write_plan((i.key for i in items), experiment.name)
        done = store.committed_keys()
        if retry_errors:
            failed = {r["key"] for r in store.rows() if r.get("status") == "error"}
            store.forget(failed & {i.key for i in items})
            done -= failed
        todo = [i for i in items if i.key not in done]
        counts = {"ok": 0, "error": 0, "seconds": 0.0}
        bar = _progress(len(todo), progress, backend)

        def commit(outcome: Outcome) -> None:
            store.commit(outcome.row, outcome.payload())
            counts[outcome.row["status"]] += 1
            counts["seconds"] += float(outcome.row.get("time_total") or 0.0)
            store.compact(every=10.0)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(ok=counts["ok"], failed=counts["error"], refresh=False)

        try:
            _dispatch(experiment, todo, commit, backend, workers, address)
        finally:
            if bar is not None:
                bar.close()
            store.compact()
    return RunSummary(
        out=folder,
        planned=len(items),
        skipped=len(items) - len(todo),
        ok=int(counts["ok"]),
        failed=int(counts["error"]),
        wall=time.perf_counter() - start,
        item_seconds=float(counts["seconds"]),
    )


def _dispatch(
    experiment: Experiment,
    todo: list[WorkItem],
    commit: Callable[[Outcome], None],
    backend: Backend,
    workers: int,
    address: str | None,
) -> None:
    if not todo:
        return
    if backend == "local":
        from vidxai.runner.local import run_local

        run_local(experiment, todo, commit)
    else:
        from vidxai.runner.ray_backend import run_ray

        run_ray(experiment, todo, commit, workers=workers, address=address)


def _progress(total: int, enabled: bool, backend: str) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    unit = "item" if backend == "local" else "completed item"
    return tqdm(total=total, desc=f"vidxai run ({backend})", unit=unit, dynamic_ncols=True)
