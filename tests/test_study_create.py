"""`vidxai study create` / `export`: what is imported, how it is drawn and encoded, tokens,
per-rater orders, the CLI, and clear errors for bad input."""

from __future__ import annotations

import csv
import json

import av
import numpy as np
import pytest
import sqlalchemy as sa
import torch
from click.testing import CliRunner

from study_support import cheap_rendering, shared_run
from vidxai import load_explanation
from vidxai.cli import main
from vidxai.core.explanation import Explanation
from vidxai.errors import InvalidInputError, VideoReadError
from vidxai.study import STUDY_VIZ, create_study, db, export_ratings
from vidxai.study.create import rater_order
from vidxai.study.render import render_overlay
from vidxai.study.source import read_source
from vidxai.study.tokens import hash_token


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return shared_run(tmp_path_factory)


def _rows(url, query):
    engine = db.open_study(url)
    with engine.connect() as conn:
        out = conn.execute(query).all()
    engine.dispose()
    return out


def test_every_ok_item_is_imported_with_clip_and_overlay_as_h264_and_gif(tmp_path, run_dir):
    from vidxai.runner.store import read_results

    ok = [r for r in read_results(run_dir).to_pylist() if r["status"] == "ok"]
    url = f"sqlite:///{tmp_path / 's.db'}"
    invites = create_study(run_dir, url, raters=1, progress=False)
    assert invites.n_items == len(ok) == 6
    items = _rows(url, sa.select(db.items))
    assert sorted(i.source_key for i in items) == sorted(r["key"] for r in ok)
    assert {i.class_name for i in items} == {r["target_name"] for r in ok}
    # one clip per video, shared by its methods; one overlay per item
    assert len({i.video_media for i in items}) == 2
    assert len({i.explanation_media for i in items}) == 6
    media = {(m.id, m.fmt): m for m in _rows(url, sa.select(db.media))}
    item = items[0]
    for media_id in (item.video_media, item.explanation_media):
        mp4, gif = media[(media_id, "mp4")], media[(media_id, "gif")]
        assert mp4.mime == "video/mp4" and gif.mime == "image/gif"
        path = tmp_path / f"{media_id}.mp4"
        path.write_bytes(mp4.data)
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        assert len(frames) == 16 and frames[0].shape == (192, 192, 3)  # 64×64 shown 3× larger
        assert gif.data[:6] in (b"GIF89a", b"GIF87a")


def test_tokens_are_random_long_and_stored_only_hashed(tmp_path, run_dir, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with cheap_rendering(monkeypatch):
        invites = create_study(run_dir, url, raters=3, progress=False)
    tokens = [invites.admin_token, *(r.token for r in invites.raters)]
    assert len(set(tokens)) == 4
    assert all(len(t) >= 43 for t in tokens)  # token_urlsafe(32): 256 bits ≥ 128
    raw = (tmp_path / "s.db").read_bytes()
    for token in tokens:
        assert token.encode() not in raw
    stored = {r.token_hash for r in _rows(url, sa.select(db.raters))}
    assert stored == {hash_token(r.token) for r in invites.raters}
    meta = dict(_rows(url, sa.select(db.meta.c.key, db.meta.c.value)))
    assert meta["admin_token_hash"] == hash_token(invites.admin_token)
    assert all(r.url.endswith(f"/r/{r.token}") for r in invites.raters)


def test_each_rater_order_is_a_seeded_permutation(tmp_path, run_dir, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    with cheap_rendering(monkeypatch):
        create_study(run_dir, url, raters=4, seed=7, progress=False)
    rows = _rows(url, sa.select(db.assignments).order_by("rater_id", "position"))
    orders: dict[int, list[str]] = {}
    for r in rows:
        orders.setdefault(r.rater_id, []).append(r.item_id)
    assert all(sorted(o) == sorted(orders[1]) and len(set(o)) == 6 for o in orders.values())
    assert len({tuple(o) for o in orders.values()}) > 1
    assert rater_order(7, 0, 6) == rater_order(7, 0, 6)  # same seed ⇒ same order
    assert sorted(rater_order(7, 2, 6)) == list(range(6))
    assert [rater_order(7, k, 50) for k in range(3)] != [rater_order(8, k, 50) for k in range(3)]


def test_items_k_draws_a_seeded_subset(tmp_path, run_dir, monkeypatch):
    keys = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / f'{name}.db'}"
        with cheap_rendering(monkeypatch):
            create_study(run_dir, url, raters=1, items=4, seed=5, progress=False)
        keys.append(sorted(r.source_key for r in _rows(url, sa.select(db.items))))
    assert len(keys[0]) == 4 and keys[0] == keys[1]


def test_the_fixed_visualisation_shows_the_top_30_percent_positive_only():
    """On a mid-grey clip, exactly the 30 % largest positive voxels are coloured."""
    assert (STUDY_VIZ.polarity, STUDY_VIZ.selection, STUDY_VIZ.topk) == ("positive", "topk", 0.3)
    assert STUDY_VIZ.stretch and STUDY_VIZ.colormap == "inferno"
    t, h, w = 2, 10, 10
    values = np.arange(t * h * w, dtype=np.float32).reshape(t, h, w) - 100.0  # half negative
    explanation = Explanation(
        attribution=torch.from_numpy(values),
        method="x",
        params={},
        target=0,
        score=1.0,
        seed=0,
        n_forward=0,
        n_backward=0,
        timings={"segmentation": 0.0, "inference": 0.0, "explanation": 0.0},
    )
    frames = np.full((t, h, w, 3), 128, dtype=np.uint8)
    out = render_overlay(frames, explanation)
    coloured = np.any(out != 128, axis=-1)
    assert coloured.sum() == 60  # ceil(0.3 · 200) voxels, all from the positive half
    assert np.array_equal(coloured, values >= 40)  # the 60 largest: 99 … 40


def test_a_folder_of_saved_explanations_with_sibling_videos(tmp_path, run_dir, monkeypatch):
    from vidxai.data.synthetic import make_clip
    from vidxai.runner.store import read_results
    from vidxai.video import write_video

    row = next(r for r in read_results(run_dir).to_pylist() if r["status"] == "ok")
    folder = tmp_path / "mine" / "kinetics-like"
    folder.mkdir(parents=True)
    explanation = load_explanation(run_dir / row["attribution_path"])
    explanation.save(folder / "clip1.pt")
    frames = make_clip(row["synthetic_seed"]).frames
    write_video(folder / "clip1.mp4", frames, 8.0, crf=0)
    items = read_source(tmp_path / "mine")
    assert len(items) == 1
    assert (items[0].dataset, items[0].method, items[0].model) == (
        "kinetics-like",
        row["method"],
        "vidxai-demo",
    )
    assert items[0].video.endswith("clip1.mp4")
    url = f"sqlite:///{tmp_path / 's.db'}"
    with cheap_rendering(monkeypatch):
        assert create_study(tmp_path / "mine", url, raters=1, progress=False).n_items == 1


def test_a_saved_explanation_without_a_video_says_how_to_give_one(tmp_path, run_dir):
    from vidxai.runner.store import read_results

    row = next(r for r in read_results(run_dir).to_pylist() if r["status"] == "ok")
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "lonely.pt").write_bytes((run_dir / row["attribution_path"]).read_bytes())
    with pytest.raises(VideoReadError, match=r"index\.csv"):
        read_source(tmp_path / "x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"raters": 0}, "positive integer"),
        ({"raters": 2, "names": ["a"]}, "one per rater"),
        ({"raters": 2, "names": ["a", "a"]}, "repeats"),
        ({"raters": 1, "names": [" "]}, "empty"),
        ({"raters": 1, "items": 99}, "more items"),
        ({"raters": 1, "seed": -1}, "seed"),
        ({"raters": 1, "base_url": "ftp://x"}, "base-url"),
    ],
)
def test_bad_arguments_raise_invalid_input(tmp_path, run_dir, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        create_study(run_dir, f"sqlite:///{tmp_path / 's.db'}", progress=False, **kwargs)


def test_bad_sources_and_databases(tmp_path, run_dir, monkeypatch):
    with pytest.raises(VideoReadError, match="No folder"):
        create_study(tmp_path / "missing", f"sqlite:///{tmp_path / 'a.db'}", raters=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoReadError, match="neither"):
        create_study(tmp_path / "empty", f"sqlite:///{tmp_path / 'a.db'}", raters=1)
    with pytest.raises(InvalidInputError, match="Cannot use the database URL"):
        create_study(run_dir, "nosuchdb+driver://x/y", raters=1, progress=False)
    with pytest.raises(InvalidInputError, match="Cannot reach the database") as caught:
        create_study(run_dir, "postgresql+psycopg://u:secret@127.0.0.1:1/db", raters=1)
    assert "secret" not in str(caught.value)  # the password is hidden
    with pytest.raises(InvalidInputError, match="in-memory"):
        create_study(run_dir, "sqlite://", raters=1, progress=False)
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    with cheap_rendering(monkeypatch):
        create_study(run_dir, url, raters=1, progress=False)
        with pytest.raises(InvalidInputError, match="already has the table"):
            create_study(run_dir, url, raters=1, progress=False)
    with pytest.raises(InvalidInputError, match="No study database"):
        db.open_study(f"sqlite:///{tmp_path / 'none.db'}")


def test_a_failed_create_leaves_no_half_study(tmp_path, run_dir, monkeypatch):
    from vidxai.study import create

    def broken(frames, explanation):
        raise VideoReadError("boom")

    monkeypatch.setattr(create, "render_overlay", broken)
    url = f"sqlite:///{tmp_path / 's.db'}"
    with pytest.raises(VideoReadError, match="Cannot render the item"):
        create_study(run_dir, url, raters=1, progress=False)
    assert sa.inspect(db.make_engine(url)).get_table_names() == []


def test_cli_create_json_then_export(tmp_path, run_dir, monkeypatch):
    url = f"sqlite:///{tmp_path / 's.db'}"
    runner = CliRunner()
    with cheap_rendering(monkeypatch):
        args = ["study", "create", "--from", str(run_dir), "--db", url, "--raters", "2"]
        result = runner.invoke(main, [*args, "--names", "ann,bo", "--json", "--seed", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"admin_token", "raters"}
    assert [r["name"] for r in data["raters"]] == ["ann", "bo"]
    assert all(set(r) == {"name", "token", "url"} for r in data["raters"])
    assert data["raters"][0]["url"] == f"http://127.0.0.1:8000/r/{data['raters'][0]['token']}"

    from fastapi.testclient import TestClient

    from vidxai.study.app import make_app

    client = TestClient(make_app(db.open_study(url)))
    token = data["raters"][1]["token"]
    item = client.get(f"/api/r/{token}/next").json()["item"]["id"]
    client.post(f"/api/r/{token}/ratings", json={"item": item, "score": 2})
    out = tmp_path / "ratings.csv"
    result = runner.invoke(main, ["study", "export", "--db", url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["rater"], r["item"], r["score"]) for r in rows] == [("bo", item, "2")]
    assert export_ratings(url, tmp_path / "again.csv").read_text() == out.read_text()


def test_cli_errors_are_one_line(tmp_path, run_dir):
    runner = CliRunner()
    result = runner.invoke(
        main, ["study", "export", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--out", "o.csv"]
    )
    assert result.exit_code == 2 and "error: No study database" in result.output
    result = runner.invoke(
        main,
        [
            "study",
            "create",
            "--from",
            str(run_dir),
            "--db",
            f"sqlite:///{tmp_path / 'y.db'}",
            "--raters",
            "2",
            "--names",
            "a,b,c",
        ],
    )
    assert result.exit_code == 2 and "one per rater" in result.output
