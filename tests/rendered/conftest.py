"""Fixtures of the rendered-site tests: the built book served on localhost, and headless Chromium.

These tests read ``_build/html`` (``make test-book`` builds it first) and are run by ``make test-site``,
not by ``make test-lib``.  The browser tests need Debian's ``chromium`` (``.ci/run`` installs it); without
it they are skipped with a message that says so, and ``make test-site`` prints that loudly.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from typing import Iterator

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
