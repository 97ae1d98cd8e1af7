"""A blind user study of explanations (REVEX paper §4.6.2): rate, agree, export.

``create_study`` imports a run (or a folder of saved explanations) into a database, renders
every item once with the study's fixed visualisation and makes one invite per rater;
``make_app`` / ``serve`` run the rating server; ``export_ratings`` writes the ratings as CSV.

Needs the ``study`` extra: ``pip install "vidxai[study]"``.
"""

from __future__ import annotations

from pathlib import Path

from vidxai.study.create import QUESTION, Invite, StudyInvites, create_study
from vidxai.study.render import STUDY_VIZ

__all__ = [
    "QUESTION",
    "STUDY_VIZ",
    "Invite",
    "StudyInvites",
    "create_study",
    "export_ratings",
    "make_app",
    "serve",
]

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def make_app(db_url: str):  # type: ignore[no-untyped-def]
    """The FastAPI application serving the study in ``db_url`` (see :mod:`vidxai.study.app`)."""
    from vidxai.study.app import make_app as _make_app
    from vidxai.study.db import open_study

    return _make_app(open_study(db_url))


def serve(db_url: str, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the study server with uvicorn (blocks). Binds to loopback unless told otherwise."""
    import uvicorn

    uvicorn.run(make_app(db_url), host=host, port=port, log_level="warning", access_log=False)


def export_ratings(db_url: str, out: str | Path) -> Path:
    """Write every rating in long format (rater, item, method, model, dataset, video, score,
    rated_at) to a CSV file; returns its path."""
    from vidxai.errors import InvalidInputError
    from vidxai.study.analysis import export_csv_text
    from vidxai.study.db import open_study

    engine = open_study(db_url)
    try:
        text = export_csv_text(engine)
    finally:
        engine.dispose()
    path = Path(out).expanduser()
    if path.is_dir():
        raise InvalidInputError(f"Cannot write the ratings to {path}: it is a folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
