"""The HTML, CSS and JavaScript of the rater and admin pages (no external resources).

Every piece of user-provided text (rater names, class names, method/model/dataset names on the
admin page) is escaped with :func:`html.escape` on the server, or set with ``textContent`` in
the browser. The rater page carries no item data in its markup: the script asks the JSON API,
whose answers hold only opaque ids, the class name and media URLs.
"""

from __future__ import annotations

from html import escape
from typing import Any

CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; }
body { margin: 0; background: #f4f4f6; }
header { background: #2d3142; color: #fff; padding: 10px 20px; display: flex;
  justify-content: space-between; align-items: center; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 20px 40px; }
.bar { height: 8px; background: #d9d9e0; border-radius: 4px; overflow: hidden; margin: 8px 0 16px; }
.bar > div { height: 100%; background: #4f7cac; width: 0; transition: width .2s; }
.class { font-size: 1.3em; margin: 4px 0 12px; }
.pair { display: flex; gap: 16px; flex-wrap: wrap; justify-content: center; }
figure { margin: 0; background: #fff; padding: 8px; border-radius: 6px;
  box-shadow: 0 1px 3px rgba(0,0,0,.15); }
figure video, figure img.clip { width: 420px; max-width: 44vw; display: block;
  image-rendering: pixelated; background: #000; }
figcaption { text-align: center; font-size: .9em; color: #555; margin-top: 4px; }
.colorbar { display: block; margin: 12px auto 0; max-width: 480px; width: 100%; }
.question { font-size: 1.15em; font-weight: 600; text-align: center; margin: 20px 0 10px; }
.scale { display: flex; justify-content: center; gap: 8px; flex-wrap: wrap; }
.scale button { min-width: 120px; padding: 10px 8px; font-size: 1em; border: 2px solid #4f7cac;
  background: #fff; border-radius: 6px; cursor: pointer; }
.scale button .key { display: block; font-size: .75em; color: #777; }
.scale button.chosen { background: #4f7cac; color: #fff; }
.scale button.chosen .key { color: #dde; }
.nav { display: flex; justify-content: space-between; margin-top: 18px; }
.nav button, .finish button, form button { padding: 8px 18px; font-size: 1em; border-radius: 6px;
  border: 1px solid #888; background: #fff; cursor: pointer; }
.nav button:disabled { opacity: .4; cursor: default; }
.finish { text-align: center; margin-top: 24px; }
.finish button.primary { background: #2e8b57; color: #fff; border-color: #2e8b57; }
.hidden { display: none !important; }
.message { text-align: center; color: #a33; min-height: 1.2em; }
table { border-collapse: collapse; margin: 8px 0 20px; background: #fff; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
h2 { margin-top: 28px; }
.plot img { max-width: 100%; height: auto; background: #fff; }
.note { color: #555; font-size: .9em; }
"""

SCALE_LABELS = (
    (-2, "Strongly disagree"),
    (-1, "Disagree"),
    (0, "Neutral"),
    (1, "Agree"),
    (2, "Strongly agree"),
)

RATER_JS = r"""
(function () {
  "use strict";
  const token = document.body.dataset.token;
  const api = "/api/r/" + encodeURIComponent(token);
  let items = [], pos = 0, finished = false;
  const $ = (id) => document.getElementById(id);
  const mp4 = document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"') !== "";

  function say(text) { $("message").textContent = text || ""; }

  async function call(path, options) {
    const response = await fetch(api + path, Object.assign({ cache: "no-store" }, options || {}));
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { throw new Error(body.detail || ("error " + response.status)); }
    return body;
  }

  function setMedia(holder, url) {
    holder.replaceChildren();
    if (mp4) {
      const v = document.createElement("video");
      v.muted = true; v.loop = true; v.autoplay = true; v.playsInline = true;
      v.src = url;
      v.addEventListener("error", () => setGif(holder, url), { once: true });
      holder.appendChild(v);
    } else { setGif(holder, url); }
  }
  function setGif(holder, url) {
    const img = document.createElement("img");
    img.className = "clip"; img.alt = ""; img.src = url.replace(/\.mp4$/, ".gif");
    holder.replaceChildren(img);
  }
  function restart() {
    document.querySelectorAll("figure video").forEach((v) => {
      v.currentTime = 0;
      v.play().catch(() => {});
    });
  }

  function done() { return items.filter((it) => it.score !== null).length; }
  function firstUnrated(from) {
    for (let k = 0; k < items.length; k++) {
      const i = (from + k) % items.length;
      if (items[i].score === null) { return i; }
    }
    return -1;
  }

  function showProgress() {
    const d = done(), total = items.length;
    $("progress-text").textContent = d + " of " + total + " rated";
    $("progress-bar").style.width = (total ? 100 * d / total : 0) + "%";
  }

  function show(i) {
    pos = i;
    const it = items[i];
    $("rating").classList.remove("hidden");
    $("done").classList.add("hidden");
    $("position").textContent = "Item " + (i + 1) + " of " + items.length;
    $("class-name").textContent = it.class_name;
    setMedia($("clip"), it.video_url);
    setMedia($("explanation"), it.explanation_url);
    document.querySelectorAll(".scale button").forEach((b) => {
      const chosen = it.score !== null && Number(b.dataset.score) === it.score;
      b.classList.toggle("chosen", chosen);
      b.setAttribute("aria-pressed", String(chosen));
    });
    $("back").disabled = i === 0;
    $("forward").disabled = it.score === null || i === items.length - 1;
    $("finish-panel").classList.toggle("hidden", done() < items.length);
    showProgress();
    setTimeout(restart, 50);
  }

  function showFinished() {
    $("rating").classList.add("hidden");
    $("done").classList.remove("hidden");
    showProgress();
  }

  async function rate(score) {
    if (finished || !items.length) { return; }
    const it = items[pos];
    try {
      await call("/ratings", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ item: it.id, score: score }),
      });
    } catch (e) { say("Not saved: " + e.message); return; }
    say("");
    it.score = score;
    const next = firstUnrated(pos + 1);
    if (next === -1) { show(pos); $("finish").focus(); } else { show(next); }
  }

  async function finish() {
    try { await call("/finish", { method: "POST" }); } catch (e) { say(e.message); return; }
    finished = true; showFinished();
  }

  document.querySelectorAll(".scale button").forEach((b) =>
    b.addEventListener("click", () => rate(Number(b.dataset.score))));
  $("back").addEventListener("click", () => { if (pos > 0) { show(pos - 1); } });
  $("forward").addEventListener("click", () => { if (pos < items.length - 1) { show(pos + 1); } });
  $("replay").addEventListener("click", restart);
  $("finish").addEventListener("click", finish);
  document.addEventListener("keydown", (e) => {
    if (finished || e.altKey || e.ctrlKey || e.metaKey) { return; }
    const keys = { "1": -2, "2": -1, "3": 0, "4": 1, "5": 2 };
    if (e.key in keys) { rate(keys[e.key]); e.preventDefault(); }
    else if (e.key === "ArrowLeft" && pos > 0) { show(pos - 1); }
    else if (e.key === "ArrowRight" && !$("forward").disabled) { show(pos + 1); }
  });

  (async function start() {
    try {
      const data = await call("/items");
      items = data.items; finished = data.finished;
      if (finished) { showFinished(); return; }
      const next = await call("/next");
      const at = next.item ? items.findIndex((it) => it.id === next.item.id) : items.length - 1;
      show(Math.max(0, at));
    } catch (e) { say(e.message); }
  })();
})();
"""

ADMIN_JS = r"""
(function () {
  "use strict";
  const form = document.getElementById("login");
  async function load(token) {
    const headers = { Authorization: "Bearer " + token };
    const response = await fetch("/admin", { headers: headers, cache: "no-store" });
    if (!response.ok) { return false; }
    sessionStorage.setItem("vidxai-study-admin", token);
    const html = await response.text();
    document.open(); document.write(html); document.close();
    return true;
  }
  if (form) {
    const saved = sessionStorage.getItem("vidxai-study-admin");
    if (saved) { load(saved); }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const ok = await load(document.getElementById("token").value.trim());
      if (!ok) { document.getElementById("message").textContent = "That is not the admin token."; }
    });
  }
  const download = document.getElementById("download");
  if (download) {
    download.addEventListener("click", async () => {
      const token = sessionStorage.getItem("vidxai-study-admin");
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const response = await fetch("/api/admin/export.csv", { headers: headers });
      if (!response.ok) { return; }
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement("a"); a.href = url; a.download = "ratings.csv";
      document.body.appendChild(a); a.click(); a.remove(); URL.revokeObjectURL(url);
    });
  }
})();
"""


def _page(title: str, body: str, *, script: str | None = None, data: str = "") -> str:
    tag = f'<script src="{script}" defer></script>' if script else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/static/study.css">'
        f"{tag}</head><body{data}>{body}</body></html>"
    )


def rater_page(name: str, token: str, question: str) -> str:
    """The rating page of one rater (the items come from the JSON API)."""
    buttons = "".join(
        f'<button type="button" data-score="{score}" aria-pressed="false">'
        f'{score:+d} · {label}<span class="key">key {k}</span></button>'
        for k, (score, label) in enumerate(SCALE_LABELS, start=1)
    )
    body = f"""
<header><strong>Rating explanations</strong><span>Rater: {escape(name)}</span></header>
<main>
  <div id="progress-text" aria-live="polite"></div>
  <div class="bar"><div id="progress-bar"></div></div>
  <section id="rating">
    <div id="position" class="note"></div>
    <div class="class">Class: <strong id="class-name"></strong></div>
    <div class="pair">
      <figure><div id="clip"></div><figcaption>Video</figcaption></figure>
      <figure><div id="explanation"></div><figcaption>Explanation</figcaption></figure>
    </div>
    <img class="colorbar" src="/static/colorbar.png"
      alt="Colour map: dark = low, bright = high relevance">
    <p class="question">{escape(question)}</p>
    <div class="scale">{buttons}</div>
    <div class="nav">
      <button type="button" id="back">&larr; Back</button>
      <button type="button" id="replay">Replay</button>
      <button type="button" id="forward">Forward &rarr;</button>
    </div>
    <div id="finish-panel" class="finish hidden">
      <p>You have rated every item. You can still go back and change an answer.</p>
      <button type="button" class="primary" id="finish">Finish</button>
    </div>
    <p id="message" class="message" role="alert"></p>
  </section>
  <section id="done" class="finish hidden">
    <h2>Thank you!</h2><p>Your ratings are saved. You can close this page.</p>
  </section>
</main>"""
    return _page(
        "Rating explanations", body, script="/static/rate.js", data=f' data-token="{escape(token)}"'
    )


def message_page(title: str, text: str) -> str:
    """A plain page with one message (unknown invite, home page)."""
    return _page(title, f"<main><h1>{escape(title)}</h1><p>{escape(text)}</p></main>")


def login_page() -> str:
    """The admin login form (served with status 401)."""
    body = """
<main><h1>Study administration</h1>
<form id="login"><label>Admin token
<input id="token" type="password" autocomplete="off" size="48"></label>
<button type="submit">Open</button></form><p id="message" class="message"></p>
<p class="note">The API takes the token as
<code>Authorization: Bearer &lt;admin token&gt;</code>.</p>
</main>"""
    return _page("Study administration", body, script="/static/admin.js")


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return escape(str(value))


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """An HTML table of ``rows`` with ``(key, heading)`` columns (values escaped)."""
    if not rows:
        return '<p class="note">No ratings yet.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for _, h in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"text" if isinstance(r.get(k), str) else ""}">{_cell(r.get(k))}</td>'
            for k, _ in columns
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def admin_page(summary: dict[str, Any], agreement: dict[str, Any], plots: dict[str, str]) -> str:
    """The admin page: progress, mean scores (tables and plots), agreement."""
    score_cols = [
        ("mean", "mean"),
        ("low", "95 % CI low"),
        ("high", "95 % CI high"),
        ("clipped", "clipped to a bound"),
        ("n", "n"),
    ]
    parts = [
        "<header><strong>Study administration</strong>"
        f"<span>{summary['n_ratings']} ratings</span></header><main>",
        '<p><button type="button" id="download">Download ratings (CSV)</button></p>',
        "<h2>Progress per rater</h2>",
        table(
            summary["progress"],
            [("rater", "rater"), ("done", "done"), ("total", "total"), ("finished", "finished")],
        ),
    ]
    titles = {
        "method": "Mean score per method",
        "model": "Mean score per model",
        "dataset": "Mean score per dataset",
        "method_model_dataset": "Mean score per method × model × dataset",
    }
    for key, title in titles.items():
        keys = [(c, c) for c in ("method", "model", "dataset") if c in key.split("_")]
        parts.append(f"<h2>{escape(title)}</h2>")
        parts.append(table(summary[key], keys + score_cols))
        if key in plots:
            parts.append(f'<div class="plot">{plots[key]}</div>')
    parts.append(
        '<p class="note">Scores: −2 strongly disagree … +2 strongly agree. Intervals: Student t, '
        "95 %, clipped to [−2, 2] where they would pass a bound.</p>"
    )
    alpha = agreement["krippendorff_alpha"]
    parts.append("<h2>Inter-rater agreement</h2>")
    parts.append(
        table(
            [{"measure": "Krippendorff's alpha (ordinal)", **alpha}],
            [
                ("measure", "measure"),
                ("value", "alpha"),
                ("n_raters", "raters"),
                ("n_items", "items"),
            ],
        )
    )
    icc = agreement["icc"]
    if "rows" in icc:
        parts.append(
            table(
                icc["rows"],
                [
                    ("type", "ICC"),
                    ("description", "model"),
                    ("icc", "value"),
                    ("low", "95 % CI low"),
                    ("high", "95 % CI high"),
                ],
            )
        )
        parts.append(f'<p class="note">ICC on the {icc["n_items"]} items every rater rated.</p>')
    else:
        parts.append(f'<p class="note">{escape(icc["reason"])}</p>')
    parts.append("</main>")
    return _page("Study administration", "".join(parts), script="/static/admin.js")
