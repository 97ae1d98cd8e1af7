"""The study server (FastAPI): rater pages, admin pages, the JSON API and the media.

Rater side (the token in the path is the rater's invite token; unknown → 404)::

    GET  /r/{token}                     the rating page
    GET  /api/r/{token}/next            {"item": {id, class_name, video_url, explanation_url}
                                         | null, "progress": {"done", "total"}}
    GET  /api/r/{token}/items           the rater's items in their order, with their own scores
    POST /api/r/{token}/ratings         {"item": id, "score": -2..2} → 200 (again: updates it)
    GET  /api/r/{token}/ratings         that rater's own ratings
    POST /api/r/{token}/finish          lock the answers (409 while items are unrated)

Admin side (``Authorization: Bearer <admin token>``; 401 without or with a wrong token, 403 with
a rater's token)::

    GET /admin  GET /api/admin/summary  GET /api/admin/agreement  GET /api/admin/export.csv

Blind: items and media are addressed by random ids; nothing a rater can fetch names a method,
model or dataset. Every rating is one transaction: an upsert on the unique (rater, item) pair.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from fastapi import Body, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy.engine import Engine

from vidxai.study import analysis, db, pages
from vidxai.study.create import COLORBAR_ID, QUESTION
from vidxai.study.tokens import hash_token, matches

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
}
_MEDIA_NAME = re.compile(r"^([0-9a-f]{8,64})\.(mp4|gif)$")


class StudyHTTPError(Exception):
    """An error answered as ``{"detail": message}`` with ``status``."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _item_view(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "class_name": row.class_name,
        "video_url": f"/media/{row.video_media}.mp4",
        "explanation_url": f"/media/{row.explanation_media}.mp4",
    }


class StudyServer:
    """The queries behind the routes (one engine, shared by the server's threads)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        with engine.connect() as conn:
            facts = dict(conn.execute(sa.select(db.meta.c.key, db.meta.c.value)).all())
        self.admin_hash = facts["admin_token_hash"]
        self.question = facts.get("question", QUESTION)

    # ---------------------------------------------------------------------------- raters

    def rater(self, token: str) -> Any:
        """The rater row of an invite token, or a 404."""
        digest = hash_token(token)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(db.raters).where(db.raters.c.token_hash == digest)).first()
        if row is None or not matches(token, row.token_hash):
            raise StudyHTTPError(404, "Unknown invite link")
        return row

    def progress(self, conn: sa.Connection, rater_id: int) -> dict[str, int]:
        done = conn.execute(
            sa.select(sa.func.count()).where(db.ratings.c.rater_id == rater_id)
        ).scalar_one()
        total = conn.execute(
            sa.select(sa.func.count()).where(db.assignments.c.rater_id == rater_id)
        ).scalar_one()
        return {"done": int(done), "total": int(total)}

    def _ordered(self, rater_id: int) -> sa.Select[Any]:
        return (
            sa.select(
                db.items.c.id,
                db.items.c.class_name,
                db.items.c.video_media,
                db.items.c.explanation_media,
                db.assignments.c.position,
                db.ratings.c.score,
            )
            .select_from(
                db.assignments.join(db.items, db.assignments.c.item_id == db.items.c.id).outerjoin(
                    db.ratings,
                    sa.and_(
                        db.ratings.c.item_id == db.items.c.id,
                        db.ratings.c.rater_id == rater_id,
                    ),
                )
            )
            .where(db.assignments.c.rater_id == rater_id)
            .order_by(db.assignments.c.position)
        )

    def next_item(self, token: str) -> dict[str, Any]:
        rater = self.rater(token)
        query = self._ordered(rater.id).where(db.ratings.c.score.is_(None)).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            progress = self.progress(conn, rater.id)
        return {"item": _item_view(row) if row is not None else None, "progress": progress}

    def items(self, token: str) -> dict[str, Any]:
        rater = self.rater(token)
        with self.engine.connect() as conn:
            rows = conn.execute(self._ordered(rater.id)).all()
        listed = [
            {**_item_view(r), "score": None if r.score is None else int(r.score)} for r in rows
        ]
        done = sum(r["score"] is not None for r in listed)
        return {
            "items": listed,
            "progress": {"done": done, "total": len(listed)},
            "finished": rater.finished_at is not None,
        }

    def rate(self, token: str, payload: Any) -> dict[str, Any]:
        rater = self.rater(token)
        item_id, score = _parse_rating(payload)
        with self.engine.connect() as conn:
            assigned = conn.execute(
                sa.select(db.assignments.c.item_id).where(
                    db.assignments.c.rater_id == rater.id, db.assignments.c.item_id == item_id
                )
            ).first()
        if assigned is None:
            raise StudyHTTPError(422, f"Unknown item {item_id!r}")
        if rater.finished_at is not None:
            raise StudyHTTPError(409, "You have finished: answers can no longer be changed")
        db.with_retry(self.engine, lambda conn: db.upsert_rating(conn, rater.id, item_id, score))
        with self.engine.connect() as conn:
            progress = self.progress(conn, rater.id)
        return {"item": item_id, "score": score, "progress": progress}

    def own_ratings(self, token: str) -> dict[str, Any]:
        rater = self.rater(token)
        query = (
            sa.select(db.ratings.c.item_id, db.ratings.c.score, db.ratings.c.rated_at)
            .where(db.ratings.c.rater_id == rater.id)
            .order_by(db.ratings.c.rated_at, db.ratings.c.item_id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {
            "ratings": [
                {"item": r.item_id, "score": int(r.score), "rated_at": analysis.iso(r.rated_at)}
                for r in rows
            ]
        }

    def finish(self, token: str) -> dict[str, Any]:
        rater = self.rater(token)
        with self.engine.connect() as conn:
            progress = self.progress(conn, rater.id)
        if progress["done"] < progress["total"]:
            left = progress["total"] - progress["done"]
            raise StudyHTTPError(409, f"{left} item(s) are not rated yet")

        def mark(conn: sa.Connection) -> None:
            conn.execute(
                sa.update(db.raters)
                .where(db.raters.c.id == rater.id, db.raters.c.finished_at.is_(None))
                .values(finished_at=db.now())
            )

        db.with_retry(self.engine, mark)
        return {"finished": True, "progress": progress}

    # ----------------------------------------------------------------------------- admin

    def require_admin(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="vidxai-study"'}
        if scheme.lower() != "bearer" or not token.strip():
            raise StudyHTTPError(401, "Admin token required (Authorization: Bearer …)", challenge)
        token = token.strip()
        if matches(token, self.admin_hash):
            return
        with self.engine.connect() as conn:
            is_rater = conn.execute(
                sa.select(db.raters.c.id).where(db.raters.c.token_hash == hash_token(token))
            ).first()
        if is_rater is not None:
            raise StudyHTTPError(403, "A rater's token cannot open the admin pages")
        raise StudyHTTPError(401, "Wrong admin token", challenge)

    def media(self, media_id: str, fmt: str) -> tuple[bytes, str]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(db.media.c.data, db.media.c.mime).where(
                    db.media.c.id == media_id, db.media.c.fmt == fmt
                )
            ).first()
        if row is None:
            raise StudyHTTPError(404, "No such media")
        return bytes(row.data), str(row.mime)


def _parse_rating(payload: Any) -> tuple[str, int]:
    if not isinstance(payload, dict):
        raise StudyHTTPError(422, 'The body must be a JSON object {"item": id, "score": -2..2}')
    item, score = payload.get("item"), payload.get("score")
    if not isinstance(item, str) or not item:
        raise StudyHTTPError(422, f"item must be an item id (a string), got {item!r}")
    if isinstance(score, bool) or not isinstance(score, int):
        raise StudyHTTPError(422, f"score must be an integer from -2 to 2, got {score!r}")
    if not -2 <= score <= 2:
        raise StudyHTTPError(422, f"score must be between -2 and 2, got {score}")
    return item, score


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=_SECURITY_HEADERS)


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})


def make_app(engine: Engine) -> FastAPI:
    """The FastAPI application of a study database (see the module docstring for the routes)."""
    server = StudyServer(engine)
    app = FastAPI(title="study", docs_url=None, redoc_url=None, openapi_url=None)
    colorbar = server.media(COLORBAR_ID, "png")[0]

    @app.exception_handler(StudyHTTPError)
    async def _study_error(request: Request, exc: StudyHTTPError) -> Response:
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)
        if request.url.path == "/admin" and exc.status == 401:
            return HTMLResponse(
                pages.login_page(), status_code=401, headers={**_SECURITY_HEADERS, **exc.headers}
            )
        return HTMLResponse(
            pages.message_page("Not available", exc.detail),
            status_code=exc.status,
            headers={**_SECURITY_HEADERS, **exc.headers},
        )

    @app.get("/", response_class=HTMLResponse)
    def home() -> Response:
        return _html(pages.message_page("Rating study", "Open the invite link you were sent."))

    @app.get("/r/{token}", response_class=HTMLResponse)
    def rater_page(token: str) -> Response:
        rater = server.rater(token)
        return _html(pages.rater_page(rater.name, token, server.question))

    @app.get("/api/r/{token}/next")
    def next_item(token: str) -> Response:
        return _json(server.next_item(token))

    @app.get("/api/r/{token}/items")
    def rater_items(token: str) -> Response:
        return _json(server.items(token))

    @app.post("/api/r/{token}/ratings")
    def post_rating(token: str, payload: Any = Body(None)) -> Response:  # noqa: B008
        return _json(server.rate(token, payload))

    @app.get("/api/r/{token}/ratings")
    def get_ratings(token: str) -> Response:
        return _json(server.own_ratings(token))

    @app.post("/api/r/{token}/finish")
    def finish(token: str) -> Response:
        return _json(server.finish(token))

    @app.get("/media/{name}")
    def media(name: str) -> Response:
        match = _MEDIA_NAME.match(name)
        if match is None:
            raise StudyHTTPError(404, "No such media")
        data, mime = server.media(match.group(1), match.group(2))
        return Response(data, media_type=mime, headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/static/colorbar.png")
    def colorbar_png() -> Response:
        return Response(colorbar, media_type="image/png")

    @app.get("/static/study.css")
    def css() -> Response:
        return Response(pages.CSS, media_type="text/css")

    @app.get("/static/rate.js")
    def rate_js() -> Response:
        return Response(pages.RATER_JS, media_type="text/javascript")

    @app.get("/static/admin.js")
    def admin_js() -> Response:
        return Response(pages.ADMIN_JS, media_type="text/javascript")

    @app.get("/admin", response_class=HTMLResponse)
    def admin(request: Request) -> Response:
        server.require_admin(request)
        from vidxai.study.plots import score_plots

        summary = analysis.summary(engine)
        return _html(pages.admin_page(summary, analysis.agreement(engine), score_plots(summary)))

    @app.get("/api/admin/summary")
    def admin_summary(request: Request) -> Response:
        server.require_admin(request)
        return _json(analysis.summary(engine))

    @app.get("/api/admin/agreement")
    def admin_agreement(request: Request) -> Response:
        server.require_admin(request)
        return _json(analysis.agreement(engine))

    @app.get("/api/admin/export.csv")
    def admin_export(request: Request) -> Response:
        server.require_admin(request)
        return PlainTextResponse(
            analysis.export_csv_text(engine),
            media_type="text/csv",
            headers={
                "Content-Disposition": 'attachment; filename="ratings.csv"',
                "Cache-Control": "no-store",
            },
        )

    return app
