"""User-study ratings for ``vidxai report --study``: a database URL or an exported CSV.

The study (``vidxai study``) exports its ratings in long format with
``vidxai study export --db URL --out ratings.csv`` (columns ``rater, item, method, model,
dataset, video, score, rated_at``). ``--study`` takes that CSV file, or the database URL itself
(then :func:`vidxai.study.export_ratings` writes that CSV to a temporary file).
"""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from pathlib import Path

from vidxai.errors import InvalidInputError

REQUIRED = ("method", "model", "dataset", "score")


def read_ratings_csv(path: Path) -> dict[tuple[str, str, str], list[float]]:
    """(dataset, model, method) → the ratings (−2 … 2) of a long-format ratings CSV."""
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInputError(
                    f"The ratings file {path} lacks the column(s) {missing} "
                    "(expected the output of `vidxai study export`)"
                )
            out: dict[tuple[str, str, str], list[float]] = defaultdict(list)
            for row in reader:
                if row["score"] in ("", None):
                    continue
                try:
                    score = float(row["score"])
                except ValueError as exc:
                    raise InvalidInputError(
                        f"{path}: a score is not a number: {row['score']!r}"
                    ) from exc
                if not -2.0 <= score <= 2.0:
                    raise InvalidInputError(f"{path}: score {score} is outside −2 … 2")
                out[(row["dataset"], row["model"], row["method"])].append(score)
    except OSError as exc:
        raise InvalidInputError(f"Cannot read the ratings file {path}: {exc}") from exc
    return dict(out)


def study_scores(source: str) -> dict[tuple[str, str, str], list[float]]:
    """Ratings grouped by (dataset, model, method) from a ratings CSV or a study database URL."""
    path = Path(source).expanduser()
    if path.is_file():
        return read_ratings_csv(path)
    if "://" not in source:
        raise InvalidInputError(
            f"--study {source!r} is neither a ratings CSV nor a database URL "
            "(e.g. sqlite:///study.db)"
        )
    try:
        from vidxai.study import export_ratings
    except ImportError as exc:
        raise InvalidInputError(
            'Reading a study database needs the study extra: pip install "vidxai[study]"'
        ) from exc
    with tempfile.TemporaryDirectory() as tmp:
        out = export_ratings(source, Path(tmp) / "ratings.csv")
        return read_ratings_csv(Path(out))
