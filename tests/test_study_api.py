"""The study's JSON API and pages, in process (FastAPI TestClient): rater routes, errors,
upserts, admin authorisation, the summary's CIs, agreement, export, escaping and blinding."""

from __future__ import annotations

import csv
import io
import math
import re

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from study_support import cheap_rendering, many_items_source, shared_run, study_names
from vidxai.study import create_study, db
from vidxai.study.analysis import krippendorff_ordinal
from vidxai.study.app import make_app


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return shared_run(tmp_path_factory)


@pytest.fixture
def study(tmp_path, run_dir, monkeypatch):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    with cheap_rendering(monkeypatch):
        invites = create_study(
            run_dir, url, raters=3, names=["ana", "<b>ben</b>", "cy"], progress=False
        )
    engine = db.open_study(url)
    yield TestClient(make_app(engine)), invites, engine
    engine.dispose()


def _items_by_method(engine):
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.items.c.id, db.items.c.method)).all()
    out: dict[str, list[str]] = {}
    for item_id, method in rows:
        out.setdefault(method, []).append(item_id)
    return out


def _count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(db.ratings)).scalar_one())


def test_next_walks_the_raters_own_order_and_ratings_upsert(study):
    client, invites, engine = study
    token = invites.raters[0].token
    first = client.get(f"/api/r/{token}/next").json()
    assert set(first["item"]) == {"id", "class_name", "video_url", "explanation_url"}
    assert first["progress"] == {"done": 0, "total": 6}
    order = [it["id"] for it in client.get(f"/api/r/{token}/items").json()["items"]]
    assert first["item"]["id"] == order[0]
    assert (
        client.post(f"/api/r/{token}/ratings", json={"item": order[0], "score": 1}).status_code
        == 200
    )
    assert client.get(f"/api/r/{token}/next").json()["item"]["id"] == order[1]
    # the same item again: the score is updated, not counted twice
    r = client.post(f"/api/r/{token}/ratings", json={"item": order[0], "score": -2})
    assert r.status_code == 200 and r.json()["progress"] == {"done": 1, "total": 6}
    own = client.get(f"/api/r/{token}/ratings").json()["ratings"]
    assert [(x["item"], x["score"]) for x in own] == [(order[0], -2)]
    assert _count(engine) == 1
    for item in order[1:]:
        client.post(f"/api/r/{token}/ratings", json={"item": item, "score": 0})
    done = client.get(f"/api/r/{token}/next").json()
    assert done == {"item": None, "progress": {"done": 6, "total": 6}}


def test_every_rater_sees_every_item_once_in_an_own_order(study):
    client, invites, _ = study
    orders = [
        [it["id"] for it in client.get(f"/api/r/{r.token}/items").json()["items"]]
        for r in invites.raters
    ]
    assert all(sorted(o) == sorted(orders[0]) and len(set(o)) == 6 for o in orders)
    assert len({tuple(o) for o in orders}) > 1  # 3 permutations of 6 items: not all equal


def test_raters_see_only_their_own_ratings(study):
    client, invites, _ = study
    a, b = invites.raters[0].token, invites.raters[1].token
    item = client.get(f"/api/r/{a}/next").json()["item"]["id"]
    client.post(f"/api/r/{a}/ratings", json={"item": item, "score": 2})
    assert client.get(f"/api/r/{b}/ratings").json() == {"ratings": []}
    assert client.get(f"/api/r/{b}/next").json()["progress"]["done"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"score": 3},
        {"score": -3},
        {"score": 1.5},
        {"score": 1.0},
        {"score": "1"},
        {"score": True},
        {"score": None},
        {"item": "0123456789abcdef01234567", "score": 1},
        {"item": 5, "score": 1},
        [1, 2],
    ],
)
def test_bad_ratings_are_422_with_a_message_and_store_nothing(study, body):
    client, invites, engine = study
    token = invites.raters[0].token
    item = client.get(f"/api/r/{token}/next").json()["item"]["id"]
    if isinstance(body, dict) and "item" not in body:
        body = {"item": item, **body}
    r = client.post(f"/api/r/{token}/ratings", json=body)
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]
    assert _count(engine) == 0


def test_an_item_of_the_study_is_unknown_to_no_rater_but_a_foreign_id_is(study):
    client, invites, _ = study
    token = invites.raters[0].token
    r = client.post(f"/api/r/{token}/ratings", json={"item": "../etc/passwd", "score": 0})
    assert r.status_code == 422 and "Unknown item" in r.json()["detail"]


def test_unknown_tokens_are_404(study):
    client, _, _ = study
    for path in ("/r/nope", "/api/r/nope/next", "/api/r/nope/ratings", "/api/r/nope/items"):
        assert client.get(path).status_code == 404
    assert client.post("/api/r/nope/ratings", json={"item": "x", "score": 0}).status_code == 404


def test_finish_locks_answers_and_needs_every_item(study):
    client, invites, _ = study
    token = invites.raters[2].token
    assert client.post(f"/api/r/{token}/finish").status_code == 409
    items = [it["id"] for it in client.get(f"/api/r/{token}/items").json()["items"]]
    for item in items:
        client.post(f"/api/r/{token}/ratings", json={"item": item, "score": 1})
    assert client.post(f"/api/r/{token}/finish").status_code == 200
    assert client.get(f"/api/r/{token}/items").json()["finished"] is True
    assert (
        client.post(f"/api/r/{token}/ratings", json={"item": items[0], "score": 2}).status_code
        == 409
    )


ADMIN_ROUTES = ("/admin", "/api/admin/summary", "/api/admin/agreement", "/api/admin/export.csv")


@pytest.mark.parametrize("path", ADMIN_ROUTES)
def test_admin_routes_401_without_403_with_a_rater_token(study, path):
    client, invites, _ = study
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(path, headers={"Authorization": "Basic abc"}).status_code == 401
    rater = {"Authorization": f"Bearer {invites.raters[0].token}"}
    assert client.get(path, headers=rater).status_code == 403
    admin = {"Authorization": f"Bearer {invites.admin_token}"}
    assert client.get(path, headers=admin).status_code == 200


def test_summary_means_and_cis_on_known_scores(study):
    """Scores −2,−1,0,1,2 on one method: mean 0, t-interval ±t(.975,4)·s/√5 = ±1.9632;
    2,2,2,1 … on another: an end clipped to 2 and marked."""
    client, invites, engine = study
    by_method = _items_by_method(engine)
    tokens = [r.token for r in invites.raters]
    sal = by_method["saliency"]  # 2 items (2 clips)
    plan = [(tokens[0], sal[0], -2), (tokens[1], sal[0], -1), (tokens[2], sal[0], 0)]
    plan += [(tokens[0], sal[1], 1), (tokens[1], sal[1], 2)]
    gc = by_method["gradcam"]
    plan += [
        (tokens[0], gc[0], 2),
        (tokens[1], gc[0], 2),
        (tokens[2], gc[0], 2),
        (tokens[0], gc[1], 1),
    ]
    for token, item, score in plan:
        assert (
            client.post(f"/api/r/{token}/ratings", json={"item": item, "score": score}).status_code
            == 200
        )
    admin = {"Authorization": f"Bearer {invites.admin_token}"}
    summary = client.get("/api/admin/summary", headers=admin).json()
    rows = {r["method"]: r for r in summary["method"]}
    assert rows["saliency"]["n"] == 5 and rows["saliency"]["mean"] == pytest.approx(0.0)
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # scipy-free: t(.975, 4)
    assert rows["saliency"]["low"] == pytest.approx(-half, abs=1e-9)
    assert rows["saliency"]["high"] == pytest.approx(half, abs=1e-9)
    assert rows["saliency"]["clipped"] is False
    g = rows["gradcam"]
    assert g["n"] == 4 and g["mean"] == pytest.approx(1.75)
    assert g["low"] == pytest.approx(1.75 - 3.182446305284263 * 0.5 / 2.0)
    assert g["high"] == 2.0 and g["clipped"] is True
    assert [r["dataset"] for r in summary["dataset"]] == ["synthbench"]
    assert summary["dataset"][0]["n"] == 9
    combos = {
        (r["method"], r["model"], r["dataset"]): r["n"] for r in summary["method_model_dataset"]
    }
    assert combos == {
        ("gradcam", "vidxai-demo", "synthbench"): 4,
        ("saliency", "vidxai-demo", "synthbench"): 5,
    }
    progress = {p["rater"]: p["done"] for p in summary["progress"]}
    assert progress == {"ana": 4, "<b>ben</b>": 3, "cy": 2}
    page = client.get("/admin", headers=admin).text
    assert (
        page.count('<img src="data:image/png;base64,') == 4
        and "&lt;b&gt;ben&lt;/b&gt;" in page
        and "<b>ben</b>" not in page
    )


def _alpha_ordinal_plain(table: np.ndarray, domain: list[float]) -> float:
    """Krippendorff's ordinal alpha written out from the coincidence matrix (2011 paper)."""
    index = {v: i for i, v in enumerate(domain)}
    k = len(domain)
    o = np.zeros((k, k))
    for u in range(table.shape[1]):
        vals = [v for v in table[:, u] if not np.isnan(v)]
        m = len(vals)
        if m < 2:
            continue
        for i in range(m):
            for j in range(m):
                if i != j:
                    o[index[vals[i]], index[vals[j]]] += 1.0 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = np.zeros((k, k))
    for c in range(k):
        for e in range(k):
            lo, hi = min(c, e), max(c, e)
            delta[c, e] = (n_c[lo : hi + 1].sum() - (n_c[c] + n_c[e]) / 2.0) ** 2
    observed = (o * delta).sum()
    expected = (np.outer(n_c, n_c) * delta).sum() / (n - 1)
    return 1.0 - observed / expected


def test_krippendorff_ordinal_matches_the_published_example_and_a_plain_computation():
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability', 4 coders × 12 units,
    values 1…5 (here shifted to −2…2): ordinal alpha = 0.815."""
    nan = np.nan
    table = (
        np.array(
            [
                [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
            ]
        )
        - 3.0
    )
    alpha = krippendorff_ordinal(table)
    assert alpha == pytest.approx(0.815, abs=5e-4)
    assert alpha == pytest.approx(_alpha_ordinal_plain(table, [-2, -1, 0, 1, 2]), abs=1e-9)
    # perfect agreement
    assert krippendorff_ordinal(np.array([[-2, 0, 2, 1], [-2, 0, 2, 1]], float)) == pytest.approx(
        1.0
    )


def test_agreement_endpoint_alpha_and_icc(study):
    client, invites, engine = study
    tokens = [r.token for r in invites.raters]
    items = sorted(i for ids in _items_by_method(engine).values() for i in ids)
    table = np.array([[-2, -1, 0, 1, 2, 2], [-2, -1, 1, 1, 2, 1], [-1, -1, 0, 2, 2, 2]])
    for r, token in enumerate(tokens):
        for j, item in enumerate(items):
            client.post(f"/api/r/{token}/ratings", json={"item": item, "score": int(table[r, j])})
    admin = {"Authorization": f"Bearer {invites.admin_token}"}
    agreement = client.get("/api/admin/agreement", headers=admin).json()
    alpha = agreement["krippendorff_alpha"]
    assert alpha["level"] == "ordinal" and alpha["n_raters"] == 3 and alpha["n_items"] == 6
    assert alpha["value"] == pytest.approx(
        _alpha_ordinal_plain(table.astype(float), [-2, -1, 0, 1, 2])
    )
    icc = {row["type"]: row for row in agreement["icc"]["rows"]}
    # ICC(A,1) by hand from the two-way ANOVA mean squares (McGraw & Wong 1996)
    n, k = table.shape[1], table.shape[0]
    x = table.T.astype(float)
    grand = x.mean()
    ms_rows = k * ((x.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    ms_cols = n * ((x.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    ms_err = (resid**2).sum() / ((n - 1) * (k - 1))
    icc_a1 = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n)
    assert icc["ICC(A,1)"]["icc"] == pytest.approx(icc_a1)


def test_agreement_says_why_icc_is_missing(study):
    client, invites, _ = study
    token = invites.raters[0].token
    item = client.get(f"/api/r/{token}/next").json()["item"]["id"]
    client.post(f"/api/r/{token}/ratings", json={"item": item, "score": 1})
    admin = {"Authorization": f"Bearer {invites.admin_token}"}
    agreement = client.get("/api/admin/agreement", headers=admin).json()
    assert agreement["krippendorff_alpha"]["value"] is None
    assert "reason" in agreement["icc"]


def test_export_csv_is_long_format(study):
    client, invites, engine = study
    token = invites.raters[1].token
    item = client.get(f"/api/r/{token}/next").json()["item"]["id"]
    client.post(f"/api/r/{token}/ratings", json={"item": item, "score": -1})
    admin = {"Authorization": f"Bearer {invites.admin_token}"}
    r = client.get("/api/admin/export.csv", headers=admin)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert list(rows[0]) == [
        "rater",
        "item",
        "method",
        "model",
        "dataset",
        "video",
        "score",
        "rated_at",
    ]
    with engine.connect() as conn:
        method = conn.execute(sa.select(db.items.c.method).where(db.items.c.id == item)).scalar()
    assert rows == [
        {
            "rater": "<b>ben</b>",
            "item": item,
            "method": method,
            "model": "vidxai-demo",
            "dataset": "synthbench",
            "video": rows[0]["video"],
            "score": "-1",
            "rated_at": rows[0]["rated_at"],
        }
    ]
    assert rows[0]["video"].startswith("synthetic:") and "T" in rows[0]["rated_at"]


def test_rater_name_is_escaped_in_the_page(study):
    client, invites, _ = study
    page = client.get(f"/r/{invites.raters[1].token}").text
    assert "&lt;b&gt;ben&lt;/b&gt;" in page and "<b>ben</b>" not in page
    assert "Do the highlighted regions used in the classification seem reasonable?" in page


def test_a_whole_rater_session_reveals_no_method_model_or_dataset(tmp_path, run_dir):
    """Every response a rater can get (pages, scripts, JSON, media, headers) is scanned."""
    url = f"sqlite:///{tmp_path / 'blind.db'}"
    invites = create_study(run_dir, url, raters=1, progress=False)
    engine = db.open_study(url)
    client = TestClient(make_app(engine))
    token = invites.raters[0].token
    seen: list[str] = []

    def fetch(method: str, path: str, **kw):
        r = client.request(method, path, **kw)
        seen.append(path)
        seen.append(" ".join(f"{k}: {v}" for k, v in r.headers.items()))
        body = r.content
        seen.append(body.decode("latin-1"))
        return r

    page = fetch("GET", f"/r/{token}").text
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page):
        fetch("GET", ref)
    listing = fetch("GET", f"/api/r/{token}/items").json()
    while True:
        nxt = fetch("GET", f"/api/r/{token}/next").json()
        if nxt["item"] is None:
            break
        item = nxt["item"]
        for key in ("video_url", "explanation_url"):
            fetch("GET", item[key])
            fetch("GET", item[key].replace(".mp4", ".gif"))
        fetch("POST", f"/api/r/{token}/ratings", json={"item": item["id"], "score": 1})
        fetch("GET", f"/api/r/{token}/ratings")
    fetch("POST", f"/api/r/{token}/finish")
    fetch("GET", "/")
    assert len(listing["items"]) == 6
    text = "\n".join(seen).lower()
    for name in study_names():
        assert name.lower() not in text, name
    # the media ids say nothing either: random hex, distinct
    ids = [it[k] for it in listing["items"] for k in ("video_url", "explanation_url")]
    assert all(re.fullmatch(r"/media/[0-9a-f]{24}\.mp4", u) for u in ids)
    engine.dispose()


def test_many_items_from_a_folder_of_explanations(tmp_path, run_dir, monkeypatch):
    source = many_items_source(tmp_path / "saved", run_dir, 8)
    url = f"sqlite:///{tmp_path / 'folder.db'}"
    with cheap_rendering(monkeypatch):
        invites = create_study(source, url, raters=2, items=5, seed=3, progress=False)
    client = TestClient(make_app(db.open_study(url)))
    listing = client.get(f"/api/r/{invites.raters[0].token}/items").json()
    assert listing["progress"] == {"done": 0, "total": 5}
    assert {it["class_name"] for it in listing["items"]} <= {"left", "right", "up", "down"}


def test_media_and_internals_are_not_exposed(study):
    client, invites, _ = study
    item = client.get(f"/api/r/{invites.raters[0].token}/next").json()["item"]
    assert client.get(item["video_url"]).headers["content-type"] == "video/mp4"
    gif = client.get(item["video_url"].replace(".mp4", ".gif"))
    assert gif.headers["content-type"] == "image/gif"
    for path in ("/media/ffffffffffffffffffffffff.mp4", "/media/colorbar.png", "/media/../x"):
        assert client.get(path).status_code == 404
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404
    page = client.get(f"/r/{invites.raters[0].token}")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
