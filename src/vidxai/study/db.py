"""The study database: SQLAlchemy Core tables, engine set-up and the rating upsert.

Tables (every id a rater can see is opaque: random hex, never derived from a name):

``meta``         key → value (admin token hash, question, seed, created_at, format version)
``media``        (id, fmt) → mime, bytes: the rendered clips (``mp4`` and the ``gif`` fallback)
``items``        id, class_name, method, model, dataset, video, source_key, video_media,
                 explanation_media
``raters``       id, name, token_hash (SHA-256 hex, unique), seed, created_at, finished_at
``assignments``  (rater_id, position) → item_id: each rater's own order (a stored permutation)
``ratings``      (rater_id, item_id) unique → score −2..2, rated_at

SQLite (the default, ``sqlite:///study.db``) runs in WAL mode with a busy timeout and
``synchronous=FULL``, so a rating acknowledged to a rater survives a killed server; PostgreSQL
works through ``postgresql+psycopg://user:password@host/db``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from vidxai.errors import InvalidInputError

SCHEMA_VERSION = "vidxai.study/1"
BUSY_TIMEOUT_MS = 30_000

metadata = sa.MetaData()

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

media = sa.Table(
    "media",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("fmt", sa.String(8), primary_key=True),
    sa.Column("mime", sa.String(32), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("class_name", sa.Text, nullable=False),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("dataset", sa.Text, nullable=False),
    sa.Column("video", sa.Text, nullable=False),
    sa.Column("source_key", sa.Text, nullable=False),
    sa.Column("video_media", sa.String(32), nullable=False),
    sa.Column("explanation_media", sa.String(32), nullable=False),
)

raters = sa.Table(
    "raters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("items.id"), nullable=False),
    sa.UniqueConstraint("rater_id", "item_id", name="uq_assignment_rater_item"),
)

ratings = sa.Table(
    "ratings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("rater_id", sa.Integer, sa.ForeignKey("raters.id"), nullable=False),
    sa.Column("item_id", sa.String(32), sa.ForeignKey("items.id"), nullable=False),
    sa.Column("score", sa.SmallInteger, nullable=False),
    sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("rater_id", "item_id", name="uq_rating_rater_item"),
    sa.CheckConstraint("score >= -2 AND score <= 2", name="ck_rating_score"),
)


def now() -> dt.datetime:
    """The current UTC time (timezone-aware)."""
    return dt.datetime.now(dt.timezone.utc)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for a database URL (``sqlite:///study.db`` or ``postgresql+psycopg://…``).

    A bare file path is taken as a SQLite file. SQLite connections get WAL mode, a busy timeout
    of 30 s, ``synchronous=FULL`` and foreign keys.

    Raises:
        InvalidInputError: the URL is malformed or names a driver that is not installed.
    """
    text = str(url).strip()
    if not text:
        raise InvalidInputError("The database URL is empty (e.g. sqlite:///study.db)")
    if "://" not in text:
        text = f"sqlite:///{text}"
    try:
        parsed = sa.engine.make_url(text)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database in (None, "", ":memory:"):
                raise InvalidInputError(
                    "A study needs a SQLite file (sqlite:///study.db), not an in-memory database"
                )
            engine = sa.create_engine(
                parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
            )
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = sa.create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        if isinstance(exc, InvalidInputError):
            raise
        raise InvalidInputError(f"Cannot use the database URL {_safe(text)}: {exc}") from exc
    return engine


def _safe(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


def describe(engine: Engine) -> str:
    """The engine's URL with the password hidden (for messages)."""
    return engine.url.render_as_string(hide_password=True)


def check_reachable(engine: Engine) -> None:
    """Open one connection, or raise :class:`InvalidInputError` saying why not."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise InvalidInputError(f"Cannot reach the database {describe(engine)}: {reason}") from exc


def is_study(engine: Engine) -> bool:
    """True when the database holds a vidxai study."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("meta"):
                return False
            value = conn.execute(sa.select(meta.c.value).where(meta.c.key == "format")).scalar()
    except SQLAlchemyError:
        return False
    return value == SCHEMA_VERSION


def open_study(url: str) -> Engine:
    """An engine on an existing study database.

    Raises:
        InvalidInputError: unreachable, or no vidxai study in it (``vidxai study create`` first).
    """
    engine = make_engine(url)
    if engine.url.get_backend_name() == "sqlite":
        from pathlib import Path

        path = Path(engine.url.database or "")
        if not path.is_file():
            raise InvalidInputError(f"No study database at {path} (run `vidxai study create`)")
    check_reachable(engine)
    if not is_study(engine):
        raise InvalidInputError(
            f"{describe(engine)} holds no vidxai study (run `vidxai study create` first)"
        )
    return engine


T = TypeVar("T")


def with_retry(engine: Engine, work: Callable[[Connection], T], attempts: int = 5) -> T:
    """Run ``work(conn)`` in one transaction; retry when SQLite reports a lock or PostgreSQL a
    serialisation conflict (the transaction then had no effect)."""
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            message = str(exc.orig).lower()
            transient = "locked" in message or "busy" in message or "serializ" in message
            if not transient or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def upsert_rating(conn: Connection, rater_id: int, item_id: str, score: int) -> None:
    """Insert the rating, or replace the score of this rater's earlier rating of the item."""
    values = {"rater_id": rater_id, "item_id": item_id, "score": score, "rated_at": now()}
    name = conn.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(ratings).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["rater_id", "item_id"],
            set_={"score": stmt.excluded.score, "rated_at": stmt.excluded.rated_at},
        )
        conn.execute(stmt)
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pstmt = pg_insert(ratings).values(**values)
        pstmt = pstmt.on_conflict_do_update(
            constraint="uq_rating_rater_item",
            set_={"score": pstmt.excluded.score, "rated_at": pstmt.excluded.rated_at},
        )
        conn.execute(pstmt)
    else:  # any other backend: update, then insert when nothing was there
        done = conn.execute(
            sa.update(ratings)
            .where(ratings.c.rater_id == rater_id, ratings.c.item_id == item_id)
            .values(score=score, rated_at=values["rated_at"])
        )
        if not done.rowcount:
            conn.execute(sa.insert(ratings).values(**values))
