"""The HTML report: only existing, local files are referenced; it renders offline in Chromium."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from vidxai.errors import InvalidInputError, ParameterError
from vidxai.viz import ReportSection, save_overlay, write_html_report

ORANGE = (230, 159, 0)


class _Refs(HTMLParser):
    """Collects every URL-valued attribute and every tag name."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "poster", "srcset", "data") and value is not None:
                self.urls.append(value)


def _parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _solid_png(path: Path, rgb=ORANGE, size=(200, 120)) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), rgb, dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def run_dir(tmp_path) -> tuple[Path, Path]:
    """A report folder holding a PNG and a GIF, and a PNG outside it."""
    out = tmp_path / "run"
    (out / "figs").mkdir(parents=True)
    _solid_png(out / "figs" / "solid orange.png")
    frames = np.random.default_rng(0).integers(0, 256, size=(4, 24, 32, 3), dtype=np.uint8)
    attribution = np.random.default_rng(1).random((4, 24, 32)).astype(np.float32)
    save_overlay(out / "overlay.gif", frames, attribution, fps=4)
    outside = _solid_png(tmp_path / "elsewhere.png", rgb=(0, 114, 178))
    (out / "explanation.json").write_text("{}")
    return out, outside


def _sections(out: Path, outside: Path) -> list:
    return [
        {
            "title": "Overlay <on> the video",
            "text": "First paragraph.\n\nSecond & last.",
            "images": [{"path": "overlay.gif", "caption": "saliency, top 30 %"}],
        },
        ReportSection(
            title="Figures",
            images=[out / "figs" / "solid orange.png", outside],
            table=[
                {"method": "saliency", "deletion AUC": 0.123456, "ok": True},
                {"method": "<lime>", "time (s)": 3.5},
            ],
            code="vidxai explain clip.mp4 --model vidxai-demo",
            files=["explanation.json"],
        ),
    ]


def test_report_references_only_existing_local_files(run_dir):
    out, outside = run_dir
    page = write_html_report(out, "vidxai explain", _sections(out, outside), subtitle="clip.mp4")
    assert page == out / "report.html"
    refs = _parse(page)
    assert len(refs.urls) == 4  # the gif, the png, the outside png, the json link
    for url in refs.urls:
        assert "://" not in url and not url.startswith("//")
        target = (out / unquote(url)).resolve()
        assert target.is_file(), url
        assert out.resolve() in target.parents  # everything lies inside the report folder
    # the picture from outside the folder was copied into assets/
    assert (out / "assets" / "elsewhere.png").read_bytes() == outside.read_bytes()
    html = page.read_text(encoding="utf-8")
    assert "script" not in refs.tags and "link" not in refs.tags
    assert "@import" not in html and "url(" not in html
    assert "Overlay &lt;on&gt; the video" in html and "&lt;lime&gt;" in html
    assert "<td>0.1235</td>" in html and "<td>yes</td>" in html
    assert "Second &amp; last." in html
    # small pictures are enlarged by a whole factor: 200×120 px → ×2; the overlay GIF of the
    # 32×24 clip was already written enlarged (×11: 352 px wide), so the page shows it as is
    assert html.count('style="width:400px;image-rendering:pixelated"') == 2
    assert html.count("image-rendering") == 2


def test_embed_puts_pictures_in_the_page(run_dir):
    out, outside = run_dir
    page = write_html_report(out, "t", _sections(out, outside), filename="one.html", embed=True)
    refs = _parse(page)
    data = [u for u in refs.urls if u.startswith("data:")]
    assert len(data) == 3  # the gif and the two pngs; the json stays a link
    png = next(u for u in data if u.startswith("data:image/png;base64,"))
    decoded = base64.b64decode(png.split(",", 1)[1])
    assert decoded == (out / "figs" / "solid orange.png").read_bytes()


def test_missing_file_unknown_key_and_wrong_type(run_dir):
    out, _ = run_dir
    with pytest.raises(InvalidInputError, match="does not exist"):
        write_html_report(out, "t", [{"title": "x", "images": ["nope.png"]}])
    with pytest.raises(ParameterError, match="valid keys"):
        write_html_report(out, "t", [{"title": "x", "picture": "a.png"}])
    with pytest.raises(ParameterError, match="title"):
        write_html_report(out, "t", [{"text": "no title"}])
    with pytest.raises(InvalidInputError, match="files"):
        write_html_report(out, "t", [{"title": "x", "images": ["explanation.json"]}])


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="the 'chromium' executable is not installed (Debian: apt-get install chromium)",
)
def test_report_renders_non_blank_in_headless_chromium(run_dir, tmp_path):
    out, outside = run_dir
    figures_first = list(reversed(_sections(out, outside)))  # the PNGs within 1200×900
    page = write_html_report(out, "vidxai report", figures_first)
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}",
        "--window-size=1200,900",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert shot.exists(), result.stderr[-2000:]
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(np.int16)
    assert pixels.shape[:2] == (900, 1200)
    assert pixels.std() > 10  # non-blank
    # the local pictures were loaded: the solid orange and blue PNGs are on screen
    for rgb in (ORANGE, (0, 114, 178)):
        hits = np.all(np.abs(pixels - np.array(rgb)) <= 3, axis=-1).sum()
        assert hits > 1000, f"{rgb} not rendered ({hits} pixels)"


def test_notes_are_escaped_visible_boxes_on_the_page_and_in_sections(tmp_path):
    page = write_html_report(
        tmp_path,
        "notes",
        [{"title": "Scores", "notes": ["Section <note> & more"], "text": "body"}],
        notes=["Random <b>weights</b>", ""],
    )
    text = page.read_text(encoding="utf-8")
    assert text.count('class="notice"') == 2  # the empty page note is skipped
    assert "Random &lt;b&gt;weights&lt;/b&gt;" in text and "<b>weights" not in text
    assert "Section &lt;note&gt; &amp; more" in text
    assert text.index("Random") < text.index("<section>")  # page notes come first
    bare = write_html_report(tmp_path, "none", [{"title": "x"}], filename="bare.html")
    assert 'class="notice"' not in bare.read_text(encoding="utf-8")


def test_markdown_tables_render_as_html_tables_not_pre(tmp_path):
    from vidxai.viz.markdown import markdown_to_html

    summary = (
        "## Summary\n\n"
        "Scores on **3** clips.\n\n"
        "| method | deletion AUC | n |\n"
        "|:-------|-------------:|:-:|\n"
        "| <lime> | 0.123 | 3 |\n"
        "| a \\| b | 0.5 |\n\n"
        "- first\n- `code` item\n"
    )
    page = write_html_report(tmp_path, "md", [{"title": "Benchmark", "markdown": summary}])
    text = page.read_text(encoding="utf-8")
    assert "<pre>" not in text
    fragment = markdown_to_html(summary)
    assert fragment.count("<tr>") == 3  # header + 2 rows
    assert '<th style="text-align:right">deletion AUC</th>' in fragment
    assert '<td style="text-align:left">&lt;lime&gt;</td>' in fragment
    assert '<td style="text-align:left">a | b</td>' in fragment  # escaped pipe kept
    assert fragment.count("<td") == 6  # the short row is padded to 3 cells
    assert "<h4>Summary</h4>" in fragment and "<strong>3</strong>" in fragment
    assert "<ul><li>first</li><li><code>code</code> item</li></ul>" in fragment
    assert "<pre>x &lt; 1</pre>" in markdown_to_html("```\nx < 1\n```")
