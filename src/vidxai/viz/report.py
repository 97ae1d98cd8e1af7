""":func:`write_html_report`: one self-contained HTML page per run that opens offline.

The page has inline CSS, no scripts, no web fonts and no external URLs.  Pictures and videos
are referenced by relative paths inside the report folder (files elsewhere are copied into
``assets/``), or embedded as base64 data with ``embed=True``.  Every page vidxai writes
(``vidxai explain``, ``vidxai demo``, the runner's report) is built here, so they share one
look: notices (``notes``), HTML tables (from rows or from Markdown text), figures and videos.
"""

from __future__ import annotations

import base64
import html
import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.viz.markdown import markdown_to_html

IMAGE_TYPES = {
    ".png": "image/png",
    ".gif": "image/gif",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}
VIDEO_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;
background:#fafafa;color:#1b1b1b;line-height:1.45}
header{background:#0b3d5c;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.85;font-size:13px}
main{max-width:1150px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;margin:18px 0;padding:14px 20px}
h2{font-size:18px;margin:4px 0 10px;color:#0b3d5c}
figure{display:inline-block;margin:8px 14px 8px 0;vertical-align:top;max-width:100%}
figure img,figure video{max-width:100%;height:auto;border:1px solid #ddd;display:block}
figcaption{font-size:12px;color:#555;margin-top:4px;max-width:520px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #ddd;padding:4px 9px;text-align:right}
th{background:#eef3f7}
td:first-child,th:first-child{text-align:left}
pre{background:#f3f3f3;padding:8px 12px;overflow-x:auto;font-size:12px}
.notice{background:#fff4ce;border:1px solid #e0b400;border-left:6px solid #e0b400;
border-radius:4px;padding:8px 14px;margin:12px 0;font-size:14px}
.notice p{margin:2px 0}
.table-wrap{overflow-x:auto}
ul.files{font-size:13px}
footer{color:#777;font-size:12px;text-align:center;padding:12px}
"""


@dataclass(frozen=True)
class ReportSection:
    """One section of a report (plain dicts with the same keys work too).

    Attributes:
        title: heading.
        text: paragraphs (blank-line separated; shown as plain text, HTML-escaped).
        images: pictures or videos (.png .gif .jpg .svg .mp4 …): a path, or a dict
            ``{"path": ..., "caption": ...}``.
        table: rows as dicts; columns are the keys in first-seen order.
        code: preformatted text (a command line, parameters…).
        files: paths offered as download links (.pt, .json, .pdf …).
        notes: notices shown in a highlighted box at the top of the section (plain text,
            HTML-escaped), e.g. ``["The model has random weights."]``.
        markdown: Markdown text (pipe tables, ``#`` headings, ``-`` lists, paragraphs,
            ```` ``` ```` code blocks, ``**bold**``, ```code```) rendered as HTML — e.g. a
            summary table printed for the terminal. Raw HTML in it is escaped.
    """

    title: str
    text: str = ""
    images: Sequence[Any] = field(default_factory=tuple)
    table: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    code: str = ""
    files: Sequence[Any] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)
    markdown: str = ""


def _as_section(item: Any) -> ReportSection:
    if isinstance(item, ReportSection):
        return item
    if not isinstance(item, Mapping):
        raise ParameterError(
            f"a report section must be a dict or ReportSection, got {type(item).__name__}"
        )
    valid = {"title", "text", "images", "table", "code", "files", "notes", "markdown"}
    unknown = set(item) - valid
    if unknown:
        raise ParameterError(
            f"unknown report section keys {sorted(unknown)}; valid keys: {', '.join(sorted(valid))}"
        )
    if "title" not in item:
        raise ParameterError("a report section needs a 'title'")
    return ReportSection(**dict(item))


class _Assets:
    """Turns user paths into URLs that work from the report's folder."""

    def __init__(self, out_dir: Path, embed: bool) -> None:
        self.out_dir = out_dir.resolve()
        self.embed = embed

    def url(self, path: Any) -> tuple[str, Path]:
        source = Path(path)
        if not source.is_absolute() and (self.out_dir / source).is_file():
            source = self.out_dir / source  # relative to the report folder first, then the cwd
        if not source.is_file():
            raise InvalidInputError(f"report: the file {path} does not exist")
        source = source.resolve()
        suffix = source.suffix.lower()
        if self.embed and suffix in IMAGE_TYPES:
            data = base64.b64encode(source.read_bytes()).decode("ascii")
            return f"data:{IMAGE_TYPES[suffix]};base64,{data}", source
        try:
            relative = source.relative_to(self.out_dir)
        except ValueError:
            assets = self.out_dir / "assets"
            assets.mkdir(parents=True, exist_ok=True)
            target = assets / source.name
            n = 1
            while target.exists() and not _same_file(target, source):
                target = assets / f"{source.stem}_{n}{source.suffix}"
                n += 1
            if not target.exists():
                shutil.copy2(source, target)
            relative = target.relative_to(self.out_dir)
        return quote(relative.as_posix()), source


def _same_file(a: Path, b: Path) -> bool:
    return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _format(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _table(rows: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise ParameterError("report table rows must be dicts")
        columns.extend(str(k) for k in row if str(k) not in columns)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(_format(_lookup(row, c)))}</td>" for c in columns)
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def notice_box(notes: Sequence[str] | str) -> str:
    """HTML for a highlighted notice box: one escaped paragraph per note ('' for none)."""
    if isinstance(notes, str):
        notes = [notes]
    items = [str(n).strip() for n in notes if str(n).strip()]
    if not items:
        return ""
    body = "".join(f"<p>{html.escape(n)}</p>" for n in items)
    return f'<div class="notice" role="note">{body}</div>'


def _lookup(row: Mapping[str, Any], column: str) -> Any:
    for key, value in row.items():
        if str(key) == column:
            return value
    return None


#: Pictures and videos narrower than this are shown enlarged by a whole factor (pixelated),
#: as long as they stay below ``MAX_ENLARGED_HEIGHT`` pixels.
SMALL_WIDTH = 320
MAX_ENLARGED_HEIGHT = 560


def _pixel_size(source: Path) -> tuple[int, int] | None:
    """(width, height) in pixels of a picture or video file (None when it cannot be read)."""
    try:
        if source.suffix.lower() in VIDEO_TYPES:
            import av

            with av.open(str(source)) as container:
                context = container.streams.video[0].codec_context
                return int(context.width), int(context.height)
        if source.suffix.lower() == ".svg":
            return None
        from PIL import Image

        with Image.open(source) as image:
            return int(image.width), int(image.height)
    except Exception:  # an unreadable file is still linked; the browser decides
        return None


def _enlarge(source: Path) -> str:
    """A style attribute that scales a small picture up by a whole factor, else ''."""
    size = _pixel_size(source)
    if size is None or not 0 < size[0] < SMALL_WIDTH or size[1] <= 0:
        return ""
    factor = min(-(-SMALL_WIDTH // size[0]), MAX_ENLARGED_HEIGHT // size[1])
    if factor < 2:
        return ""
    return f' style="width:{size[0] * factor}px;image-rendering:pixelated"'


def _media(item: Any, assets: _Assets) -> str:
    caption = ""
    if isinstance(item, Mapping):
        if "path" not in item:
            raise ParameterError("a report image dict needs a 'path'")
        caption, item = str(item.get("caption", "")), item["path"]
    url, source = assets.url(item)
    suffix = source.suffix.lower()
    alt = html.escape(caption or source.name, quote=True)
    style = _enlarge(source)
    if suffix in VIDEO_TYPES:
        inner = (
            f'<video controls loop muted preload="metadata" src="{url}"{style} '
            f'title="{alt}">{html.escape(source.name)}</video>'
        )
    elif suffix in IMAGE_TYPES:
        inner = f'<img src="{url}" alt="{alt}"{style}>'
    else:
        raise InvalidInputError(
            f"report: {source.name} is not a picture or video "
            f"({', '.join(sorted({*IMAGE_TYPES, *VIDEO_TYPES}))}); list it under 'files'"
        )
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{inner}{text}</figure>"


def write_html_report(
    out_dir: str | Path,
    title: str,
    sections: Sequence[Any],
    *,
    filename: str = "report.html",
    subtitle: str = "",
    embed: bool = False,
    notes: Sequence[str] = (),
) -> Path:
    """Write ``out_dir/filename``: a page with one block per section.

    Args:
        out_dir: report folder (created); relative picture paths are resolved against it.
        title: page title.
        sections: :class:`ReportSection` objects or dicts with the same keys (``title``,
            ``text``, ``images``, ``table``, ``markdown``, ``code``, ``files``, ``notes``).
        filename: the HTML file's name.
        subtitle: a line under the title (e.g. the command that made the run).
        embed: embed pictures as base64 (one file to share); videos stay referenced.
        notes: page-wide notices shown in a highlighted box above the first section (plain
            text, HTML-escaped; empty strings are skipped), e.g. ``["The model has random
            weights: the explanation shows what an untrained network responds to."]``.

    Example:
        >>> write_html_report(  # doctest: +SKIP
        ...     "out",
        ...     "my run",
        ...     [{"title": "Scores", "markdown": "| a | b |\n|---|---|\n| 1 | 2 |"}],
        ...     notes=["The demo model only knows the synthetic benchmark."],
        ... )

    Returns:
        the path of the HTML file.

    Raises:
        InvalidInputError: a referenced file does not exist or has an unknown type.
        ParameterError: a section has unknown keys or no title.
    """
    from vidxai import __version__

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    assets = _Assets(out, embed)
    blocks = []
    for raw in sections:
        section = _as_section(raw)
        parts = [f"<h2>{html.escape(section.title)}</h2>"]
        if section.notes:
            parts.append(notice_box(list(section.notes)))
        for paragraph in (p.strip() for p in section.text.split("\n\n")):
            if paragraph:
                parts.append(f"<p>{html.escape(paragraph)}</p>")
        if section.code:
            parts.append(f"<pre>{html.escape(section.code)}</pre>")
        parts.extend(_media(item, assets) for item in section.images)
        if section.markdown:
            parts.append(markdown_to_html(section.markdown))
        if section.table:
            parts.append(_table(section.table))
        if section.files:
            links = []
            for item in section.files:
                url, source = assets.url(item)
                links.append(f'<li><a href="{url}">{html.escape(source.name)}</a></li>')
            parts.append(f'<ul class="files">{"".join(links)}</ul>')
        blocks.append("<section>" + "\n".join(parts) + "</section>")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        + (f"<p>{html.escape(subtitle)}</p>" if subtitle else "")
        + "</header><main>\n"
        + notice_box(list(notes))
        + "\n".join(blocks)
        + f"\n</main><footer>made with vidxai {html.escape(__version__)}</footer></body></html>\n"
    )
    path = out / filename
    path.write_text(page, encoding="utf-8")
    return path
