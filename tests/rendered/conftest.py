"""Fixtures of the rendered-site tests: the built book served on localhost, and headless Chromium.

These tests read ``_build/html`` (``make test-book`` builds it first) and are run by ``make test-site``,
not by ``make test-lib``.  The browser tests need Debian's ``chromium`` (``.ci/run`` installs it); without
it they are skipped with a message that says so, and ``make test-site`` prints that loudly.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("KEXUE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
#: Flags for a sandboxed CI machine without network: no background fetches, no Google lookups.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def chapter_pages() -> list[Path]:
    """The rendered chapter pages, one per notebook in chapters/."""
    return [HTML / "chapters" / f"{nb.stem}.html" for nb in sorted((ROOT / "chapters").glob("*.ipynb"))]


@pytest.fixture(scope="session")
def site() -> Path:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML} is not built: run `make test-book` (or `make book`) first")
    return HTML


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if CHROMIUM is None:
        pytest.skip("Chromium not found (apt-get install chromium): the browser tests did not run")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


_TEXT = (".html", ".js", ".css", ".json", ".svg", ".txt", ".map")


def wire_bytes(body: bytes, name: str) -> int:
    """Bytes on the wire: gzip (level 6, as nginx and GitHub Pages) for text, the file itself for the rest."""
    return len(gzip.compress(body, 6)) if name.split("?")[0].endswith(_TEXT) else len(body)


def open_offline(browser: Any, server: str, page_path: Path, **context: Any) -> tuple[Any, Any, list[str], list[str], list[int]]:
    """One page in a fresh context (empty cache; ``context``: Playwright's ``new_context`` options), with every
    request that leaves the site aborted.  Returns (context, page, console and page errors, blocked URLs,
    ``[bytes loaded on the wire]``)."""
    ctx = browser.new_context(**{"viewport": {"width": 1200, "height": 900}, **context})
    page = ctx.new_page()
    errors: list[str] = []
    blocked: list[str] = []
    loaded = [0]
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r: Any) -> None:
        if r.request.url.startswith(server):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    def count(resp: Any) -> None:
        try:
            loaded[0] += wire_bytes(resp.body(), urlparse(resp.url).path)
        except Exception:  # redirects and aborted requests have no body
            pass

    page.route("**/*", route)
    page.on("response", count)
    page.goto(f"{server}/{page_path.relative_to(HTML).as_posix()}", wait_until="load")
    return ctx, page, errors, blocked, loaded
