"""The real server on loopback (`vidxai study serve` in a subprocess), on SQLite and on
PostgreSQL: 20 raters × 50 ratings posted concurrently end with exactly 1,000 rows holding the
last score each rater sent; then a SIGKILL while raters are still posting loses no acknowledged
rating, and after a restart every rater resumes at their next unrated item."""

from __future__ import annotations

import random
import socket
import subprocess
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

from study_support import (
    Server,
    cheap_rendering,
    many_items_source,
    postgres_database,
    shared_run,
)
from vidxai.study import create_study, db

N_RATERS, N_RATED, N_ITEMS = 20, 50, 56


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    run_dir = shared_run(tmp_path_factory)
    return many_items_source(tmp_path_factory.mktemp("saved"), run_dir, N_ITEMS)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
    else:
        with postgres_database() as url:
            yield url


def _stored(url: str) -> dict[tuple[str, str], int]:
    """(rater name, item id) → score, read straight from the database."""
    engine = db.open_study(url)
    query = sa.select(db.raters.c.name, db.ratings.c.item_id, db.ratings.c.score).join(
        db.raters, db.raters.c.id == db.ratings.c.rater_id
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    engine.dispose()
    assert len(rows) == len({(r[0], r[1]) for r in rows})  # never two rows for a pair
    return {(r[0], r[1]): int(r[2]) for r in rows}


def _concurrently(invites, work) -> None:
    threads = [threading.Thread(target=work, args=(inv,)) for inv in invites.raters]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "the raters did not finish in time"


def test_load_then_sigkill_mid_study_and_resume(source, db_url, monkeypatch):
    with cheap_rendering(monkeypatch):
        invites = create_study(source, db_url, raters=N_RATERS, progress=False)
    server = Server(db_url).start()
    outside = _outside_address()
    if outside is not None:  # bound to loopback only: the machine's other address refuses
        with socket.socket() as s:
            s.settimeout(2.0)
            assert s.connect_ex((outside, server.port)) != 0
    sent: dict[tuple[str, str], int] = {}
    orders: dict[str, list[str]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(N_RATERS)

    def load(invite) -> None:
        """50 ratings: every one of the first 45 items of the rater's order once, then 5 of
        them answered again (the last answer must be the one stored)."""
        rng = random.Random(invite.name)
        with httpx.Client(base_url=server.base, timeout=60.0) as client:
            items = [it["id"] for it in client.get(f"/api/r/{invite.token}/items").json()["items"]]
            with lock:
                orders[invite.name] = items
            plan = [(i, rng.randint(-2, 2)) for i in items[:45]]
            plan += [(i, rng.randint(-2, 2)) for i in items[45:N_RATED]]
            plan += [(i, rng.randint(-2, 2)) for i in rng.sample(items[:45], 5)]
            barrier.wait()
            for item, score in plan:
                body = {"item": item, "score": score}
                r = client.post(f"/api/r/{invite.token}/ratings", json=body)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text}")
                    continue
                with lock:
                    sent[(invite.name, item)] = score

    began = time.monotonic()
    try:
        _concurrently(invites, load)
        elapsed = time.monotonic() - began
        assert not errors, errors[:3]
        stored = _stored(db_url)
        assert len(stored) == N_RATERS * N_RATED == 1000
        assert stored == sent
        assert elapsed < 120

        # a second wave: each rater goes on with their next items while the server is killed
        acknowledged = dict(sent)
        killer = threading.Timer(0.3, server.kill)

        def more(invite) -> None:
            with httpx.Client(base_url=server.base, timeout=5.0) as client:
                for item in orders[invite.name][N_RATED:]:
                    try:
                        r = client.post(
                            f"/api/r/{invite.token}/ratings", json={"item": item, "score": 2}
                        )
                    except httpx.HTTPError:
                        return  # the server is gone: this rating was never acknowledged
                    if r.status_code == 200:
                        with lock:
                            acknowledged[(invite.name, item)] = 2
                    time.sleep(0.05)

        killer.start()
        _concurrently(invites, more)
        killer.join()
    finally:
        server.stop()
    after_kill = _stored(db_url)
    assert all(after_kill.get(k) == v for k, v in acknowledged.items())  # nothing acknowledged lost
    assert (
        set(after_kill) - set(acknowledged)
        <= {  # at most the requests cut by the kill
            (n, i) for n in orders for i in orders[n][N_RATED:]
        }
    )

    restarted = Server(db_url).start()
    try:
        with httpx.Client(base_url=restarted.base, timeout=10.0) as client:
            for invite in invites.raters:
                order = orders[invite.name]
                done = [i for i in order if (invite.name, i) in after_kill]
                nxt = client.get(f"/api/r/{invite.token}/next").json()
                assert nxt["progress"] == {"done": len(done), "total": N_ITEMS}
                unrated = [i for i in order if (invite.name, i) not in after_kill]
                assert (nxt["item"]["id"] if nxt["item"] else None) == (
                    unrated[0] if unrated else None
                )
                own = client.get(f"/api/r/{invite.token}/ratings").json()["ratings"]
                assert {(invite.name, r["item"]): r["score"] for r in own} == {
                    k: v for k, v in after_kill.items() if k[0] == invite.name
                }
    finally:
        restarted.stop()


def _outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return next((a for a in out.split() if "." in a and not a.startswith("127.")), None)


def test_serve_binds_to_loopback_by_default():
    from vidxai.cli.study import serve

    assert next(p for p in serve.params if p.name == "host").default == "127.0.0.1"
