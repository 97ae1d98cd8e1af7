"""What the admin sees: progress, mean scores with 95 % CIs, inter-rater agreement, export.

* Mean scores: per method, per model, per dataset and per method × model × dataset (the REVEX
  paper's Figs. 14–15), each with a Student-t 95 % interval clipped to the −2…2 scale and
  marked when clipped (:func:`vidxai.stats.mean_ci`) and its number of ratings ``n``.
* Agreement: Krippendorff's alpha with the ordinal metric (the ``krippendorff`` package) over
  the raters × items table (missing ratings allowed), and, when at least 2 raters have rated at
  least 3 items in common, the intraclass correlations of ``pingouin`` on those items.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from vidxai.stats import mean_ci
from vidxai.study import db

SCALE = (-2, -1, 0, 1, 2)
BOUNDS = (-2.0, 2.0)
GROUPINGS: dict[str, tuple[str, ...]] = {
    "method": ("method",),
    "model": ("model",),
    "dataset": ("dataset",),
    "method_model_dataset": ("method", "model", "dataset"),
}
EXPORT_COLUMNS = ("rater", "item", "method", "model", "dataset", "video", "score", "rated_at")
MIN_ICC_ITEMS = 3
_ICC_MEANING = {  # pingouin >= 0.6 names (McGraw & Wong); older versions say ICC1 … ICC3k
    "ICC(1,1)": "one-way random, single rater",
    "ICC(A,1)": "two-way random, absolute agreement, single rater",
    "ICC(C,1)": "two-way mixed, consistency, single rater",
    "ICC(1,k)": "one-way random, mean of k raters",
    "ICC(A,k)": "two-way random, absolute agreement, mean of k raters",
    "ICC(C,k)": "two-way mixed, consistency, mean of k raters",
}


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 text in UTC (SQLite hands back naive datetimes: they are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat()


def rating_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every rating joined with its item and rater, in :data:`EXPORT_COLUMNS` (long format)."""
    query = (
        sa.select(
            db.raters.c.name.label("rater"),
            db.items.c.id.label("item"),
            db.items.c.method,
            db.items.c.model,
            db.items.c.dataset,
            db.items.c.video,
            db.ratings.c.score,
            db.ratings.c.rated_at,
        )
        .select_from(
            db.ratings.join(db.items, db.ratings.c.item_id == db.items.c.id).join(
                db.raters, db.ratings.c.rater_id == db.raters.c.id
            )
        )
        .order_by(db.raters.c.id, db.ratings.c.rated_at, db.items.c.id)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        row["score"] = int(row["score"])
        row["rated_at"] = iso(row["rated_at"])
    return rows


def progress(engine: Engine) -> list[dict[str, Any]]:
    """Per rater: name, done, total, finished, finished_at."""
    done = (
        sa.select(db.ratings.c.rater_id, sa.func.count().label("done"))
        .group_by(db.ratings.c.rater_id)
        .subquery()
    )
    total = (
        sa.select(db.assignments.c.rater_id, sa.func.count().label("total"))
        .group_by(db.assignments.c.rater_id)
        .subquery()
    )
    query = (
        sa.select(
            db.raters.c.name,
            db.raters.c.finished_at,
            sa.func.coalesce(done.c.done, 0),
            sa.func.coalesce(total.c.total, 0),
        )
        .select_from(
            db.raters.outerjoin(done, done.c.rater_id == db.raters.c.id).outerjoin(
                total, total.c.rater_id == db.raters.c.id
            )
        )
        .order_by(db.raters.c.id)
    )
    with engine.connect() as conn:
        return [
            {
                "rater": name,
                "done": int(n_done),
                "total": int(n_total),
                "finished": finished is not None,
                "finished_at": iso(finished),
            }
            for name, finished, n_done, n_total in conn.execute(query)
        ]


def group_means(rows: Iterable[dict[str, Any]], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Mean score with its 95 % CI (t, clipped to −2…2 and marked) per group of ``by`` columns.

    Returns:
        One dict per group (sorted): the ``by`` columns, ``mean``, ``low``, ``high``, ``n``,
        ``clipped`` (an end was moved onto −2 or 2), ``method`` of the interval.
    """
    groups: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for row in rows:
        groups[tuple(str(row[c]) for c in by)].append(float(row["score"]))
    out = []
    for key in sorted(groups):
        ci = mean_ci(groups[key], bounds=BOUNDS)
        entry: dict[str, Any] = dict(zip(by, key))
        entry.update(
            {
                "mean": _num(ci.mean),
                "low": _num(ci.low),
                "high": _num(ci.high),
                "n": ci.n,
                "clipped": ci.clipped,
                "interval": "t, 95 %, clipped to [-2, 2]",
            }
        )
        out.append(entry)
    return out


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def summary(engine: Engine) -> dict[str, Any]:
    """The admin summary: progress per rater and the mean scores of every grouping."""
    rows = rating_rows(engine)
    return {
        "progress": progress(engine),
        "n_ratings": len(rows),
        **{name: group_means(rows, by) for name, by in GROUPINGS.items()},
    }


def reliability_table(rows: Iterable[dict[str, Any]]) -> tuple[list[str], list[str], np.ndarray]:
    """``(raters, items, table)``: table is raters × items float, NaN where unrated."""
    rows = list(rows)
    raters = sorted({str(r["rater"]) for r in rows})
    items = sorted({str(r["item"]) for r in rows})
    table = np.full((len(raters), len(items)), np.nan)
    ri = {n: i for i, n in enumerate(raters)}
    ii = {n: i for i, n in enumerate(items)}
    for r in rows:
        table[ri[str(r["rater"])], ii[str(r["item"])]] = float(r["score"])
    return raters, items, table


def krippendorff_ordinal(table: np.ndarray) -> float | None:
    """Krippendorff's ordinal alpha of a raters × items table (NaN = missing) on the −2…2 scale.

    Items with fewer than two ratings carry no information and are left out; None when fewer
    than two ratings are pairable or every rating is the same value.
    """
    import krippendorff

    pairable = np.sum(~np.isnan(table), axis=0) >= 2
    kept = table[:, pairable]
    if kept.size == 0 or np.unique(kept[~np.isnan(kept)]).size < 2:
        return None
    value = krippendorff.alpha(
        reliability_data=kept, value_domain=list(SCALE), level_of_measurement="ordinal"
    )
    return _num(float(value))


def icc(raters: list[str], items: list[str], table: np.ndarray) -> dict[str, Any]:
    """Intraclass correlations (pingouin) on the items every rater has rated.

    Returns:
        ``{"n_items", "n_raters", "rows": [{"type", "description", "icc", "low", "high"}]}``,
        or ``{"reason": ...}`` when there are not enough raters or common items.
    """
    complete = ~np.isnan(table).any(axis=0)
    n_common = int(complete.sum())
    if len(raters) < 2:
        return {"reason": "ICC needs at least 2 raters"}
    if n_common < MIN_ICC_ITEMS:
        return {
            "reason": f"ICC needs at least {MIN_ICC_ITEMS} items rated by every rater "
            f"({n_common} so far)"
        }
    sub = table[:, complete]
    if np.all(sub == sub[0, 0]):
        return {"reason": "every rating is the same value: ICC is undefined"}
    import pandas as pd
    import pingouin

    kept = [it for it, ok in zip(items, complete) if ok]
    long = pd.DataFrame(
        [
            {"item": kept[j], "rater": raters[i], "score": float(sub[i, j])}
            for i in range(len(raters))
            for j in range(len(kept))
        ]
    )
    with warnings.catch_warnings():  # pingouin's own pandas deprecations are not the user's
        warnings.simplefilter("ignore")
        result = pingouin.intraclass_corr(
            data=long, targets="item", raters="rater", ratings="score"
        )
    out = []
    for rec in result.to_dict("records"):
        low, high = rec.get("CI95%", rec.get("CI95", (np.nan, np.nan)))
        out.append(
            {
                "type": str(rec["Type"]),
                "description": _ICC_MEANING.get(str(rec["Type"]), str(rec.get("Description", ""))),
                "icc": _num(float(rec["ICC"])),
                "low": _num(float(low)),
                "high": _num(float(high)),
            }
        )
    return {"n_items": n_common, "n_raters": len(raters), "rows": out}


def agreement(engine: Engine) -> dict[str, Any]:
    """Inter-rater agreement: Krippendorff's ordinal alpha and pingouin's ICCs."""
    raters, items, table = reliability_table(rating_rows(engine))
    alpha = krippendorff_ordinal(table) if table.size else None
    pairable = int(np.sum(np.sum(~np.isnan(table), axis=0) >= 2)) if table.size else 0
    return {
        "krippendorff_alpha": {
            "level": "ordinal",
            "value": alpha,
            "n_raters": len(raters),
            "n_items": pairable,
        },
        "icc": icc(raters, items, table) if table.size else {"reason": "no ratings yet"},
    }


def export_csv_text(engine: Engine) -> str:
    """The ratings in long format as CSV text (header :data:`EXPORT_COLUMNS`)."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in rating_rows(engine):
        writer.writerow(row)
    return buffer.getvalue()
