"""A whole rater session in headless Chromium against the real server on loopback: rate (a
button and a key), go back, change the answer, close the browser, resume, finish; then the
admin page (with the Bearer header, and through the login form). Screenshots of the rating
page and of the admin page are kept as test artefacts (``<pytest basetemp>/study-screenshots``,
or ``$VIDXAI_TEST_ARTIFACTS``) and checked non-blank."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from study_support import Server, non_blank, shared_run, study_names
from vidxai.study import create_study

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no Chromium at {CHROMIUM} (Debian package chromium)"
)


@pytest.fixture
def artefacts(tmp_path_factory) -> Path:
    folder = os.environ.get("VIDXAI_TEST_ARTIFACTS")
    root = Path(folder) if folder else tmp_path_factory.getbasetemp() / "study-screenshots"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _shot(page, path: Path) -> bytes:
    png = page.screenshot(path=str(path), full_page=True)
    assert non_blank(png) > 10.0, f"{path.name} looks blank"
    return png


def _wait_for_videos(page, timeout: float = 30.0) -> None:
    """Both <video> elements have decoded a frame (H.264 plays; no GIF fallback used)."""
    deadline = time.monotonic() + timeout
    script = "() => [...document.querySelectorAll('figure video')].map(v => v.readyState)"
    while time.monotonic() < deadline:
        states = page.evaluate(script)
        if len(states) == 2 and all(s >= 2 for s in states):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the videos did not load: readyState {states}")


def _responses_text(responses: list) -> str:
    """URL, headers and body of every response (bodies of streamed media may be unavailable)."""
    parts = []
    for r in responses:
        try:
            body = r.body().decode("latin-1")
        except Exception:  # a media range request the browser did not keep
            body = ""
        parts.append(f"{r.url} {r.headers} {body}")
    responses.clear()
    return "\n".join(parts)


def test_a_whole_rater_session_and_the_admin_page(tmp_path, tmp_path_factory, artefacts):
    playwright = pytest.importorskip("playwright.sync_api")
    expect = playwright.expect
    run_dir = shared_run(tmp_path_factory)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    invites = create_study(run_dir, url, raters=2, names=["Ann <i>", "Bo"], progress=False)
    rater = invites.raters[0]
    server = Server(url).start()
    link = f"{server.base}/r/{rater.token}"
    api = f"{server.base}/api/r/{rater.token}"
    try:
        order = [it["id"] for it in httpx.get(f"{api}/items").json()["items"]]
        seen: list = []
        texts: list[str] = []
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                # --- first visit: rate two items, go back, change the second answer
                context = browser.new_context(viewport={"width": 1100, "height": 900})
                page = context.new_page()
                page.on("response", lambda r: seen.append(r))
                page.goto(link)
                expect(page.locator("#class-name")).not_to_have_text("")
                assert page.text_content("header").count("Ann <i>") == 1  # shown as text
                # the clip plays as H.264 in a <video> (no GIF fallback needed in Chromium)
                _wait_for_videos(page)
                page.wait_for_timeout(300)
                _shot(page, artefacts / "rating_page.png")
                assert page.text_content("#position") == "Item 1 of 6"
                page.click("button[data-score='1']")
                expect(page.locator("#position")).to_have_text("Item 2 of 6")
                page.keyboard.press("2")  # key 2 = −1
                expect(page.locator("#position")).to_have_text("Item 3 of 6")
                assert page.text_content("#progress-text") == "2 of 6 rated"
                page.click("#back")
                expect(page.locator("#position")).to_have_text("Item 2 of 6")
                assert page.get_attribute("button[data-score='-1']", "aria-pressed") == "true"
                page.click("button[data-score='2']")
                expect(page.locator("#position")).to_have_text("Item 3 of 6")
                texts.append(_responses_text(seen))
                context.close()  # the rater closes the browser

                own = {r["item"]: r["score"] for r in httpx.get(f"{api}/ratings").json()["ratings"]}
                assert own == {order[0]: 1, order[1]: 2}

                # --- second visit: resume at the next unrated item, rate the rest, finish
                context = browser.new_context(viewport={"width": 1100, "height": 900})
                page = context.new_page()
                page.on("response", lambda r: seen.append(r))
                page.goto(link)
                expect(page.locator("#position")).to_have_text("Item 3 of 6")
                assert page.text_content("#progress-text") == "2 of 6 rated"
                for k, key in enumerate(["5", "3", "1", "4"]):
                    page.keyboard.press(key)
                    expect(page.locator("#progress-text")).to_have_text(f"{3 + k} of 6 rated")
                assert page.is_visible("#finish-panel")
                page.click("#finish")
                page.wait_for_selector("#done", state="visible")
                # blind: no response the browser got names a method, model or dataset
                texts.append(_responses_text(seen))
                text = "\n".join(texts).lower()
                assert text.count("/media/") >= 4 and text.count("/api/r/") >= 6
                for name in study_names():
                    assert name.lower() not in text, name
                context.close()

                own = {r["item"]: r["score"] for r in httpx.get(f"{api}/ratings").json()["ratings"]}
                assert own == dict(zip(order, [1, 2, 2, 0, -2, 1]))
                assert httpx.get(f"{api}/items").json()["finished"] is True

                # --- the admin page with the Bearer header
                admin = {"Authorization": f"Bearer {invites.admin_token}"}
                context = browser.new_context(
                    viewport={"width": 1100, "height": 900}, extra_http_headers=admin
                )
                page = context.new_page()
                response = page.goto(f"{server.base}/admin")
                assert response is not None and response.status == 200
                assert page.is_visible("text=Progress per rater")
                assert page.locator(".plot img").count() == 4
                loaded = (
                    "() => [...document.querySelectorAll('.plot img')].map(i => i.naturalWidth)"
                )
                assert all(w > 100 for w in page.evaluate(loaded))
                _shot(page, artefacts / "admin_page.png")
                context.close()

                # --- and through the login form (no header: 401 and a form)
                context = browser.new_context(viewport={"width": 1100, "height": 900})
                page = context.new_page()
                response = page.goto(f"{server.base}/admin")
                assert response is not None and response.status == 401
                page.fill("#token", invites.raters[1].token)  # a rater's token: refused
                page.click("button[type='submit']")
                expect(page.locator("#message")).not_to_have_text("")
                page.fill("#token", invites.admin_token)
                page.click("button[type='submit']")
                page.wait_for_selector("text=Progress per rater")
                context.close()
            finally:
                browser.close()
    finally:
        server.stop()
    for name in ("rating_page.png", "admin_page.png"):
        assert (artefacts / name).stat().st_size > 5000
    if os.environ.get("VIDXAI_TEST_ARTIFACTS") is None:
        shutil.copy(artefacts / "rating_page.png", tmp_path / "rating_page.png")
