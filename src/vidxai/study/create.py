"""``create_study``: import a run's explanations into a new study database, with invites.

Example::

    from vidxai.study import create_study
    invites = create_study("results/", "sqlite:///study.db", raters=3, names=["ana", "ben", "cy"])
    invites.admin_token, invites.raters[0].url
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from tqdm.auto import tqdm

from vidxai.errors import InvalidInputError, VidxaiError
from vidxai.study import db
from vidxai.study.render import Media, colorbar_png, encode, render_overlay
from vidxai.study.source import SourceItem, load_clip, read_source
from vidxai.study.tokens import hash_token, new_id, new_token

QUESTION = "Do the highlighted regions used in the classification seem reasonable?"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
COLORBAR_ID = "colorbar"


@dataclass(frozen=True)
class Invite:
    """One rater's invitation: ``url`` is ``{base_url}/r/{token}``."""

    name: str
    token: str
    url: str


@dataclass(frozen=True)
class StudyInvites:
    """What ``create_study`` returns: shown once, never stored in clear."""

    admin_token: str
    raters: tuple[Invite, ...]
    n_items: int

    def to_dict(self) -> dict[str, Any]:
        """``{"admin_token", "raters": [{"name", "token", "url"}]}`` (the ``--json`` output)."""
        return {
            "admin_token": self.admin_token,
            "raters": [{"name": r.name, "token": r.token, "url": r.url} for r in self.raters],
        }


def rater_names(raters: int, names: Sequence[str] | None) -> list[str]:
    """Validated rater names (``rater1 … raterN`` when none are given)."""
    if isinstance(raters, bool) or not isinstance(raters, int) or raters < 1:
        raise InvalidInputError(f"--raters must be a positive integer, got {raters!r}")
    if not names:
        return [f"rater{i + 1}" for i in range(raters)]
    cleaned = [str(n).strip() for n in names]
    if len(cleaned) != raters:
        raise InvalidInputError(
            f"--names gives {len(cleaned)} name(s) but --raters is {raters}: give one per rater"
        )
    if any(not n for n in cleaned):
        raise InvalidInputError("--names has an empty name")
    if len(set(cleaned)) != len(cleaned):
        raise InvalidInputError(f"--names repeats a name: {', '.join(cleaned)}")
    return cleaned


def rater_seed(study_seed: int, index: int) -> int:
    """The seed of rater ``index``'s order (a function of the study seed and the index)."""
    return int(np.random.SeedSequence([int(study_seed), int(index)]).generate_state(1)[0])


def rater_order(study_seed: int, index: int, n_items: int) -> list[int]:
    """Rater ``index``'s permutation of ``range(n_items)``."""
    rng = np.random.default_rng(rater_seed(study_seed, index))
    return [int(i) for i in rng.permutation(n_items)]


def choose_items(items: list[SourceItem], k: int | None, seed: int) -> list[SourceItem]:
    """All items, or ``k`` of them drawn without replacement (seeded)."""
    if k is None:
        return items
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"--items must be a positive integer, got {k!r}")
    if k > len(items):
        raise InvalidInputError(
            f"--items {k} asks for more items than the source has ({len(items)})"
        )
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x17E45]))
    chosen = sorted(int(i) for i in rng.choice(len(items), size=k, replace=False))
    return [items[i] for i in chosen]


def _existing_tables(engine: sa.engine.Engine) -> list[str]:
    names = set(sa.inspect(engine).get_table_names())
    return sorted(names & set(db.metadata.tables))


def _insert_media(conn: sa.Connection, media_id: str, media: Media) -> None:
    conn.execute(
        sa.insert(db.media),
        [
            {"id": media_id, "fmt": "mp4", "mime": "video/mp4", "data": media.mp4},
            {"id": media_id, "fmt": "gif", "mime": "image/gif", "data": media.gif},
        ],
    )


def _import_items(engine: sa.engine.Engine, items: list[SourceItem], progress: bool) -> list[str]:
    """Render and insert every item; returns the item ids in source order."""
    from vidxai.core.explanation import load_explanation

    clips: dict[tuple[Any, ...], str] = {}
    ids = []
    for item in tqdm(items, desc="rendering study items", disable=not progress, unit="item"):
        try:
            explanation = load_explanation(item.explanation)
            geometry = explanation.geometry
            num_frames = int(geometry.num_frames) if geometry is not None else None
            frames, fps = load_clip(item, num_frames)
            clip_key = (item.video, item.window, num_frames, item.sampling)
            overlay = encode(render_overlay(frames, explanation), fps)
            clip = encode(frames, fps) if clip_key not in clips else None
        except VidxaiError as exc:
            raise type(exc)(f"Cannot render the item {item.key} ({item.video}): {exc}") from exc
        item_id, overlay_id = new_id(), new_id()
        with engine.begin() as conn:
            if clip is not None:
                clips[clip_key] = new_id()
                _insert_media(conn, clips[clip_key], clip)
            _insert_media(conn, overlay_id, overlay)
            conn.execute(
                sa.insert(db.items).values(
                    id=item_id,
                    class_name=item.class_name,
                    method=item.method,
                    model=item.model,
                    dataset=item.dataset,
                    video=item.video,
                    source_key=item.key,
                    video_media=clips[clip_key],
                    explanation_media=overlay_id,
                )
            )
        ids.append(item_id)
    return ids


def create_study(
    source: str | Path,
    db_url: str,
    *,
    raters: int,
    names: Sequence[str] | None = None,
    items: int | None = None,
    seed: int = 0,
    base_url: str = DEFAULT_BASE_URL,
    progress: bool = True,
) -> StudyInvites:
    """Create a study from a run folder (or a folder of saved explanations).

    Every ``ok`` item is rendered once with :data:`vidxai.study.render.STUDY_VIZ` (clip and
    overlay as MP4 + GIF, stored in the database under opaque ids); every rater gets every item
    in their own random order (a permutation seeded per rater, stored).

    Args:
        source: a ``vidxai run`` output folder, or a folder of ``*.pt`` explanations.
        db_url: ``sqlite:///study.db`` (default kind) or ``postgresql+psycopg://…``; must not
            hold a study yet.
        raters: number of raters (≥ 1).
        names: one name per rater (default ``rater1 … raterN``).
        items: use ``items`` items drawn at random (seeded) instead of all of them.
        seed: seeds the item draw and every rater's order.
        base_url: where ``vidxai study serve`` will be reached (for the invite links).
        progress: show a progress bar while rendering.

    Returns:
        :class:`StudyInvites` — the admin token and one invite per rater (shown only now: the
        database keeps only SHA-256 hashes of the tokens).

    Raises:
        InvalidInputError: bad arguments, an unreachable database or one that holds a study.
        VideoReadError: the source holds no items, or a clip cannot be read.
    """
    who = rater_names(raters, names)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"--seed must be a non-negative integer, got {seed!r}")
    base = str(base_url).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInputError(f"--base-url must start with http:// or https://, got {base_url!r}")
    found = read_source(source)
    if not found:
        raise InvalidInputError(f"{source} holds no item with status ok: nothing to rate")
    chosen = choose_items(found, items, seed)
    engine = db.make_engine(db_url)
    db.check_reachable(engine)
    present = _existing_tables(engine)
    if present:
        raise InvalidInputError(
            f"{db.describe(engine)} already has the table(s) {', '.join(present)}: "
            "create a study in a new database"
        )
    db.metadata.create_all(engine)
    try:
        ids = _import_items(engine, chosen, progress)
        admin = new_token()
        invites = []
        with engine.begin() as conn:
            conn.execute(
                sa.insert(db.media).values(
                    id=COLORBAR_ID, fmt="png", mime="image/png", data=colorbar_png()
                )
            )
            created = db.now()
            for index, name in enumerate(who):
                token = new_token()
                conn.execute(
                    sa.insert(db.raters).values(
                        id=index + 1,
                        name=name,
                        token_hash=hash_token(token),
                        seed=rater_seed(seed, index),
                        created_at=created,
                    )
                )
                order = rater_order(seed, index, len(ids))
                conn.execute(
                    sa.insert(db.assignments),
                    [
                        {"rater_id": index + 1, "position": pos, "item_id": ids[i]}
                        for pos, i in enumerate(order)
                    ],
                )
                invites.append(Invite(name, token, f"{base}/r/{token}"))
            facts = {
                "admin_token_hash": hash_token(admin),
                "question": QUESTION,
                "seed": str(seed),
                "created_at": created.isoformat(),
                "source": str(Path(source).expanduser().resolve()),
                "items": str(len(ids)),
                "raters": json.dumps(who),
                "format": db.SCHEMA_VERSION,  # last: a study is complete only with it
            }
            conn.execute(sa.insert(db.meta), [{"key": k, "value": v} for k, v in facts.items()])
    except BaseException:
        db.metadata.drop_all(engine)  # leave no half-made study behind
        raise
    finally:
        engine.dispose()
    return StudyInvites(admin, tuple(invites), len(ids))
