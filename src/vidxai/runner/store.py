"""The results store of a run: an open format to query with pandas, DuckDB or Spark.

Layout of a run folder ``OUT/``::

    results.parquet        one row per (dataset, video, window, model, method); see COLUMNS
    rows/<key>.json        the committed row of each finished item (the source of truth)
    attributions/<key>.pt  each ok item's Explanation (zip-deflate compressed torch file,
                           float32 attribution), readable by vidxai.load_explanation
    temporal.parquet       whole-video temporal importance of sliding-window runs
    plan.json              the keys the last `vidxai run` planned (for --status)
    experiment.yaml        a copy of the experiment file

Atomicity: an item is committed by writing its attribution to a temporary file and
``os.replace``-ing it into ``attributions/``, then the same for its row in ``rows/``. The row file
is the commit point: an item is complete (row + attribution) or absent, whatever moment the
process is killed. ``results.parquet`` is compacted from ``rows/`` (temporary file +
``os.replace``) every few seconds and at the end of a run; :func:`read_results` always reads the
committed rows, so it is never behind. Leftover temporary files and attributions without a row
(a kill between the two replaces) are removed when a run opens the store.

Reading a run::

    from vidxai.runner.store import read_results, load_attribution
    table = read_results("results/")            # pyarrow.Table; .to_pandas() for pandas
    ok = table.filter(pyarrow.compute.equal(table["status"], "ok"))
    exp = load_attribution("results/", ok["key"][0].as_py())   # a vidxai.Explanation

or ``duckdb.sql("select method, avg(deletion) from 'results/results.parquet' group by 1")``.

Re-creating the clip of a row: ``video`` is the absolute path of the video file or frame
folder, and ``window_start``/``window_end`` the half-open range of original frames explained
(null: the whole video). For a synthetic dataset ``video`` is ``synthetic:<seed>`` and the
column ``synthetic_seed`` holds the seed: the frames are
``vidxai.data.synthetic.make_clip(synthetic_seed).frames`` (then the same window).
"""

from __future__ import annotations

import io
import json
import math
import os
import time
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vidxai.errors import InvalidInputError, VideoReadError

if TYPE_CHECKING:
    import pyarrow as pa

    from vidxai.core.explanation import Explanation

#: The columns every row has, in this order (metric columns follow; see the module docstring).
COLUMNS: tuple[str, ...] = (
    "key",
    "dataset",
    "video",
    "window",
    "window_start",
    "window_end",
    "synthetic_seed",
    "model",
    "weights",
    "method",
    "params",
    "seed",
    "target",
    "target_name",
    "label",
    "behaviour",
    "metric_behaviour",
    "score",
    "n_forward",
    "n_backward",
    "time_segmentation",
    "time_inference",
    "time_explanation",
    "time_total",
    "time_evaluation",
    "time_read",
    "time_item",
    "attribution_path",
    "status",
    "error",
    "finished_at",
)
#: Columns holding JSON text (curves of the games, per-frame mass of a window, minimal masks).
JSON_COLUMNS = ("params", "curves", "frame_mass", "minimal_mask", "minimal_mask_insertion")

ROWS = "rows"
ATTRIBUTIONS = "attributions"
RESULTS = "results.parquet"
TEMPORAL = "temporal.parquet"
PLAN = "plan.json"


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that the path holds either nothing or all of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def explanation_bytes(explanation: Explanation) -> bytes:
    """The bytes of ``explanation.save(path)``, with the zip entries deflate-compressed.

    ``torch.load`` (hence :func:`vidxai.load_explanation`) reads compressed entries as it reads
    stored ones.
    """
    raw = io.BytesIO()
    torch.save({"format": "vidxai.explanation/1", **explanation.to_dict()}, raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    return out.getvalue()


class ResultsStore:
    """Append-only store of one run folder (see the module docstring for the layout).

    Only one process writes a store (the driver); :meth:`commit` is atomic per item.
    """

    def __init__(self, root: str | Path, *, create: bool = True):
        self.root = Path(root)
        if create:
            (self.root / ROWS).mkdir(parents=True, exist_ok=True)
            (self.root / ATTRIBUTIONS).mkdir(parents=True, exist_ok=True)
        elif not (self.root / ROWS).is_dir():
            raise VideoReadError(f"{self.root} is not a vidxai run folder (no {ROWS}/ inside)")
        self._last_compact = 0.0

    # -------------------------------------------------------------------------------- state

    def clean(self) -> list[Path]:
        """Remove temporary files and attributions whose row was never committed."""
        removed = []
        rows = self.committed_keys()
        for folder in (self.root / ROWS, self.root / ATTRIBUTIONS, self.root):
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
        for attr in (self.root / ATTRIBUTIONS).glob("*.pt"):
            if attr.stem not in rows:
                attr.unlink(missing_ok=True)
                removed.append(attr)
        return removed

    def committed_keys(self) -> set[str]:
        """Keys whose row has been committed (ok or error)."""
        return {p.stem for p in (self.root / ROWS).glob("*.json")}

    def rows(self) -> list[dict[str, Any]]:
        """Every committed row, ordered by ``finished_at`` then key."""
        out = []
        for path in (self.root / ROWS).glob("*.json"):
            try:
                out.append(json.loads(path.read_text()))
            except (OSError, json.JSONDecodeError):  # never half-written (atomic replace)
                continue
        out.sort(key=lambda r: (r.get("finished_at") or "", r["key"]))
        return out

    # ------------------------------------------------------------------------------- writes

    def commit(self, row: Mapping[str, Any], explanation_data: bytes | None) -> None:
        """Commit one item: its attribution file (ok items) first, then its row."""
        key = str(row["key"])
        row = dict(row)
        if explanation_data is not None:
            rel = f"{ATTRIBUTIONS}/{key}.pt"
            _atomic_write(self.root / rel, explanation_data)
            row["attribution_path"] = rel
        else:
            row["attribution_path"] = None
        row.setdefault("finished_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        _atomic_write(self.root / ROWS / f"{key}.json", json.dumps(_clean(row)).encode())

    def forget(self, keys: Iterable[str]) -> None:
        """Remove the rows (and attributions) of ``keys``, e.g. failed items to retry."""
        for key in keys:
            (self.root / ROWS / f"{key}.json").unlink(missing_ok=True)
            (self.root / ATTRIBUTIONS / f"{key}.pt").unlink(missing_ok=True)

    def write_plan(self, keys: Iterable[str], name: str) -> None:
        data = {"name": name, "keys": sorted(set(keys))}
        _atomic_write(self.root / PLAN, json.dumps(data).encode())

    def compact(self, *, every: float = 0.0) -> Path | None:
        """Rewrite ``results.parquet`` (and ``temporal.parquet``) from the committed rows.

        With ``every > 0`` nothing happens unless ``every`` seconds passed since the last one.
        """
        now = time.monotonic()
        if every and now - self._last_compact < every:
            return None
        self._last_compact = now
        rows = self.rows()
        table = rows_to_table(rows)
        import pyarrow.parquet as pq

        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        _atomic_write(self.root / RESULTS, buffer.getvalue())
        from vidxai.runner.temporal import temporal_table

        temporal = temporal_table(rows)
        if temporal is not None:
            buffer = io.BytesIO()
            pq.write_table(temporal, buffer)
            _atomic_write(self.root / TEMPORAL, buffer.getvalue())
        return self.root / RESULTS


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, tuples → lists, numpy scalars → Python."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows (dicts) → a pyarrow table with :data:`COLUMNS` first, then metric columns sorted."""
    import pyarrow as pa

    extra: list[str] = []
    for r in rows:
        extra.extend(k for k in r if k not in COLUMNS and k not in extra)
    columns = [*COLUMNS, *sorted(extra)]
    data = {c: [r.get(c) for r in rows] for c in columns}
    arrays = {}
    for c, values in data.items():
        if c in JSON_COLUMNS:
            values = [None if v is None else json.dumps(v) for v in values]
        try:
            arrays[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed types: keep them as text
            arrays[c] = pa.array([None if v is None else json.dumps(v) for v in values])
    if not rows:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return pa.table(arrays)


# ------------------------------------------------------------------------------ reading


def read_results(run_dir: str | Path) -> pa.Table:
    """The results table of a run folder (every committed row), as a ``pyarrow.Table``.

    Use ``.to_pandas()`` for a DataFrame. JSON columns (``params``, ``curves``, …) hold text.

    Raises:
        VideoReadError: ``run_dir`` is not a run folder.
    """
    root = Path(run_dir)
    if (root / ROWS).is_dir():
        return rows_to_table(ResultsStore(root, create=False).rows())
    if (root / RESULTS).is_file():
        import pyarrow.parquet as pq

        return pq.read_table(root / RESULTS)
    raise VideoReadError(f"{root} is not a vidxai run folder (no {RESULTS} or {ROWS}/ inside)")


def attribution_file(run_dir: str | Path, key: str) -> Path:
    """The path of an item's explanation file (``attributions/<key>.pt``)."""
    return Path(run_dir) / ATTRIBUTIONS / f"{key}.pt"


def load_attribution(run_dir: str | Path, key: str) -> Explanation:
    """The :class:`~vidxai.Explanation` of one item (``vidxai.load_explanation`` on its file)."""
    from vidxai.core.explanation import load_explanation

    path = attribution_file(run_dir, key)
    if not path.is_file():
        raise VideoReadError(
            f"No attribution for key {key!r} in {run_dir} (an error row, or not yet finished)"
        )
    return load_explanation(path)


def run_status(run_dir: str | Path) -> dict[str, int]:
    """``{"done": ok rows, "failed": error rows, "remaining": planned keys not committed,
    "planned": planned keys}`` of a run folder."""
    root = Path(run_dir)
    if not (root / ROWS).is_dir():
        raise InvalidInputError(f"{root} is not a vidxai run folder (no {ROWS}/ inside)")
    store = ResultsStore(root, create=False)
    rows = store.rows()
    done = sum(r.get("status") == "ok" for r in rows)
    failed = sum(r.get("status") == "error" for r in rows)
    planned: set[str] = set()
    if (root / PLAN).is_file():
        planned = set(json.loads((root / PLAN).read_text()).get("keys", []))
    committed = {r["key"] for r in rows}
    return {
        "done": done,
        "failed": failed,
        "remaining": len(planned - committed),
        "planned": len(planned),
    }
