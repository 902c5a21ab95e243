"""The built book reads like a book: per-chapter numbers, captioned figures sharp on high-DPI screens, numbered
exercises with folded solutions, folded setup cells, plain-text titles, and nothing cut off at phone width.

The static checks read ``_build/html``; the browser checks (Chromium, network cut off as in ``test_site``) also
write screenshots to ``_build/screenshots/`` (``typography--*``).
"""

from __future__ import annotations

import re
import struct
from html import unescape
from pathlib import Path

import pytest
import yaml

from .conftest import HTML, ROOT, SHOTS, chapter_pages, open_offline

PAGES = chapter_pages()
IDS = [p.stem for p in PAGES]
TEX = re.compile(r"\\\(|\\\[|\$|\\[a-zA-Z]+")


def chapter_numbers() -> dict[str, int]:
    """Chapter stem -> its number: chapters of the numbered parts of _toc.yml, counted across parts."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    return {Path(f).name: i for i, f in enumerate(files, start=1)}


def _numbers(html: str, pattern: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in re.findall(pattern, html)]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_numbers_restart_in_every_chapter(site, page):
    n = chapter_numbers()[page.stem]
    html = page.read_text(encoding="utf-8")
    kinds = {
        "equation": r'class="eqno">\((\d+)\.(\d+)\)',
        "figure": r'class="caption-number">Figure (\d+)\.(\d+)',
        "theorem": r'class="caption-number">Theorem (\d+)\.(\d+)',
        "exercise": r'class="caption-number">Exercise (\d+)\.(\d+)',
    }
    assert re.search(rf"<title>{n}\. ", html), f"{page.name}: the tab title does not carry chapter number {n}"
    for kind, pattern in kinds.items():
        found = _numbers(html, pattern)
        if kind in ("equation", "figure", "exercise"):
            assert found, f"{page.name}: no numbered {kind}"
        assert [c for c, _ in found] == [n] * len(found), f"{page.name}: {kind} numbers {found} outside chapter {n}"
        assert [k for _, k in found] == list(range(1, len(found) + 1)), f"{page.name}: {kind} numbers {found}"
    assert not re.search(r'class="eqno">\(\d+\)', html), f"{page.name}: an equation numbered across the book"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_every_figure_has_a_caption_and_a_sharp_image(site, page):
    html = page.read_text(encoding="utf-8")
    figures = re.findall(r"<figure[^>]*>(.*?)</figure>", html, re.S)
    images = re.findall(r'<img [^>]*src="\.\./_images/[^"]+\.png"[^>]*>', html)
    assert figures and len(images) == len(figures), f"{page.name}: {len(images)} PNGs but {len(figures)} figures"
    for fig in figures:
        caption = re.search(r'<span class="caption-text">(.*?)</span><a class="headerlink"', fig, re.S)
        assert caption and len(re.sub(r"<[^>]+>", "", caption.group(1)).split()) >= 8, \
            f"{page.name}: a figure without a caption"
        img = re.search(r'<img [^>]*src="\.\./(_images/[^"]+\.png)"[^>]*>', fig)
        width = re.search(r'width="(\d+)', img.group(0)) or re.search(r"width: (\d+)px", img.group(0))
        assert width, f"{page.name}: {img.group(1)} has no display width (not a book_png figure)"
        pixels, _ = _png_size(HTML / img.group(1))
        assert 1.95 <= pixels / int(width.group(1)) <= 2.05, \
            f"{page.name}: {img.group(1)} has {pixels} px for {width.group(1)} CSS px (not 2x)"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_exercises_are_numbered_and_solutions_fold(site, page):
    html = page.read_text(encoding="utf-8")
    exercises = re.findall(r'<div class="exercise admonition" id="(ex\d\d-\d+)"', html)
    solutions = re.findall(r'<div class="solution dropdown admonition"[^>]*>\s*<p class="admonition-title">Solution to'
                           r'<a class="reference internal" href="#(ex\d\d-\d+)"', html)
    assert exercises and solutions == exercises, f"{page.name}: exercises {exercises}, solutions for {solutions}"


@pytest.mark.parametrize("page", PAGES, ids=IDS)
def test_setup_cell_is_folded(site, page):
    html = page.read_text(encoding="utf-8")
    folded = re.search(r'<details class="admonition hide above-input">.*?</details>', html, re.S)
    assert folded and "Ledger" in folded.group(0), f"{page.name}: the imports cell is not folded"


def test_titles_outside_their_page_are_plain_text(site):
    """The browser tab, the sidebar, the claims index and the search index show chapter titles without TeX."""
    titles = {}
    for page in PAGES:
        html = page.read_text(encoding="utf-8")
        titles[page.stem] = unescape(re.search(r"<title>(.*?)</title>", html, re.S).group(1))
        nav = re.findall(r'<a class="reference internal" href="(?:\.\./chapters/)?\d\d_\w+\.html">(.*?)</a>', html)
        assert nav, f"{page.name}: no chapter links in the sidebar"
        for text in nav:
            assert not TEX.search(unescape(re.sub(r"<[^>]+>", "", text))), f"{page.name}: sidebar link {text!r}"
    claims = (HTML / "book" / "claims.html").read_text(encoding="utf-8")
    heads = [unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<h2>(.*?)</h2>", claims, re.S)]
    search = (HTML / "searchindex.js").read_text(encoding="utf-8")
    index_titles = re.search(r"\"titles\":\s*\[(.*?)\]", search).group(1)
    for stem, title in titles.items():
        assert not TEX.search(title), f"{stem}: tab title {title!r}"
    assert len(heads) >= len(PAGES), f"the claims page has {len(heads)} chapter headings"
    for h in heads:
        assert not TEX.search(h), f"claims page heading {h!r}"
    assert not re.search(r"\\\\\(|\$", index_titles), "a title in the search index carries TeX"


# ------------------------------------------------------------------ in a real browser, network cut off


_PHONE = """() => {
  const W = document.documentElement.clientWidth;
  const cut = [];
  for (const e of document.querySelectorAll('article h1, article h2, article h3, .prev-next-title, .bd-header *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > W + 0.5 || r.left < -0.5 || e.scrollWidth > e.clientWidth + 1))
      cut.push(e.tagName + ' ' + e.textContent.trim().slice(0, 40));
  }
  const squashed = [...document.querySelectorAll('figure img')].filter(i => {
    const r = i.getBoundingClientRect();
    return r.width > 0 && Math.abs((i.naturalWidth / i.naturalHeight) / (r.width / r.height) - 1) > 0.02;
  }).map(i => i.getAttribute('src'));
  return {W, scroll: document.documentElement.scrollWidth, cut, squashed};
}"""


@pytest.mark.parametrize("page_path", [HTML / "book" / "intro.html", *PAGES], ids=["intro", *IDS])
def test_nothing_is_cut_off_at_phone_width(browser, server, page_path):
    """At 375 x 800 CSS px (a common phone) every heading and the header fit the screen, and figures shrink
    with their aspect ratio."""
    ctx, page, errors, blocked, _ = open_offline(browser, server, page_path, viewport={"width": 375, "height": 800})
    try:
        r = page.evaluate(_PHONE)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"typography--phone--{page_path.stem}.png"))
        assert r["W"] == 375 and r["scroll"] <= 375, f"{page_path.name}: the page scrolls sideways ({r})"
        assert not r["cut"], f"{page_path.name}: cut off at 375 px: {r['cut'][:5]}"
        assert not r["squashed"], f"{page_path.name}: figures drawn out of proportion: {r['squashed'][:3]}"
        assert not blocked and not errors, (blocked[:3], errors[:3])
    finally:
        ctx.close()


_SHARP = """() => [...document.querySelectorAll('figure img')].map(i => [i.naturalWidth, i.getBoundingClientRect().width])"""


@pytest.mark.parametrize("page_path", PAGES, ids=IDS)
def test_figures_are_sharp_and_solutions_fold_in_the_browser(browser, server, page_path):
    """On a 2x screen each figure has a device pixel per screen pixel; solutions and setup code start folded."""
    ctx, page, errors, blocked, _ = open_offline(browser, server, page_path, device_scale_factor=2)
    try:
        sizes = page.evaluate(_SHARP)
        assert sizes, f"{page_path.name}: no figures"
        for natural, shown in sizes:
            assert shown > 0 and natural / shown >= 1.95, f"{page_path.name}: {natural} px shown at {shown} CSS px"
        solution = page.locator("div.solution.dropdown").first
        assert "toggle-hidden" in (solution.get_attribute("class") or "") or not solution.locator(
            "section").first.is_visible(), f"{page_path.name}: solutions are not folded"
        assert page.locator("details.hide.above-input").first.get_attribute("open") is None, \
            f"{page_path.name}: the setup cell starts unfolded"
        SHOTS.mkdir(parents=True, exist_ok=True)
        fig = page.locator("figure").first
        fig.scroll_into_view_if_needed()
        fig.screenshot(path=str(SHOTS / f"typography--figure--{page_path.stem}.png"))
        eq = page.locator("div.math:has(span.eqno)").first
        eq.scroll_into_view_if_needed()
        eq.screenshot(path=str(SHOTS / f"typography--equation--{page_path.stem}.png"))
        ex = page.locator("div.exercise").first
        ex.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"typography--exercises--{page_path.stem}.png"))
        assert not blocked and not errors, (blocked[:3], errors[:3])
    finally:
        ctx.close()
