"""A small, safe Markdown → HTML renderer for report pages (no dependency, no raw HTML).

It covers what vidxai's own summaries print: pipe tables (with ``:---:`` alignment rows),
``#``–``####`` headings, ``-``/``*``/``1.`` lists, fenced code blocks, paragraphs, and the
inline forms ``**bold**``, ``*italic*`` and ```code```.  Every piece of text is HTML-escaped,
so a method name such as ``<lime>`` shows as written.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,4})\s+(.*)$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)$")
_ORDERED = re.compile(r"^\s*\d+[.)]\s+")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_INLINE = re.compile(r"`([^`]+)`|\*\*(.+?)\*\*|(?<![*\w])\*([^*\s][^*]*?)\*(?![*\w])")


def inline(text: str) -> str:
    """Escape ``text`` and render ```code```, ``**bold**`` and ``*italic*``."""
    out: list[str] = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(html.escape(text[last : match.start()]))
        code, bold, italic = match.groups()
        if code is not None:
            out.append(f"<code>{html.escape(code)}</code>")
        elif bold is not None:
            out.append(f"<strong>{inline(bold)}</strong>")
        else:
            out.append(f"<em>{inline(italic)}</em>")
        last = match.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells = re.split(r"(?<!\\)\|", body)
    return [c.strip().replace("\\|", "|") for c in cells]


def _alignments(separator: str) -> list[str]:
    aligns = []
    for cell in _cells(separator):
        left, right = cell.startswith(":"), cell.endswith(":")
        aligns.append("center" if left and right else "right" if right else "left" if left else "")
    return aligns


def _table(header: str, separator: str, rows: list[str]) -> str:
    aligns = _alignments(separator)
    names = _cells(header)

    def cell(tag: str, text: str, i: int) -> str:
        align = aligns[i] if i < len(aligns) else ""
        style = f' style="text-align:{align}"' if align else ""
        return f"<{tag}{style}>{inline(text)}</{tag}>"

    head = "".join(cell("th", name, i) for i, name in enumerate(names))
    body = []
    for row in rows:
        values = _cells(row)
        values += [""] * (len(names) - len(values))
        body.append("<tr>" + "".join(cell("td", v, i) for i, v in enumerate(values)) + "</tr>")
    return (
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def markdown_to_html(text: str) -> str:
    """Render Markdown ``text`` as an HTML fragment (see the module docstring for the subset).

    Example:
        >>> markdown_to_html("| method | AUC |\\n|---|--:|\\n| saliency | 0.12 |")[:40]
        '<div class="table-wrap"><table><thead><t'
    """
    lines = str(text).replace("\r\n", "\n").split("\n")
    blocks: list[str] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(f"<p>{inline(' '.join(p.strip() for p in paragraph))}</p>")
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            blocks.append(f"<pre>{html.escape(chr(10).join(lines[i + 1 : j]))}</pre>")
            i = j + 1
            continue
        if "|" in stripped and i + 1 < len(lines) and _SEPARATOR.match(lines[i + 1]):
            flush()
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                j += 1
            blocks.append(_table(line, lines[i + 1], lines[i + 2 : j]))
            i = j
            continue
        heading = _HEADING.match(stripped)
        if heading:
            flush()
            level = min(len(heading.group(1)) + 2, 6)  # the section title is the page's h2
            blocks.append(f"<h{level}>{inline(heading.group(2).strip())}</h{level}>")
            i += 1
            continue
        if _BULLET.match(line):
            flush()
            ordered = bool(_ORDERED.match(line))
            items = []
            while i < len(lines) and _BULLET.match(lines[i]):
                match = _BULLET.match(lines[i])
                assert match is not None
                items.append(f"<li>{inline(match.group(1).strip())}</li>")
                i += 1
            tag = "ol" if ordered else "ul"
            blocks.append(f"<{tag}>{''.join(items)}</{tag}>")
            continue
        if not stripped:
            flush()
        else:
            paragraph.append(line)
        i += 1
    flush()
    return "\n".join(blocks)
