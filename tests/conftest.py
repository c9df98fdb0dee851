"""Shared test set-up: a headless matplotlib, hypothesis settings for a 2-core CI machine, the
browser, and the book built once per session (tests/test_book.py, tests/test_accessibility.py)."""

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from hypothesis import HealthCheck, settings

settings.register_profile(
    "emlab",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.load_profile("emlab")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for every browser test (Playwright's sync API allows one at a time).

    Debian's ``chromium`` (``make test`` installs it as root), driven by Playwright: its own
    browser download needs the internet. The flags keep Chromium off the network.
    """
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="install the test extra (playwright)"
    )
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is needed: apt-get install chromium (make test installs it as root)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


ROOT = Path(__file__).resolve().parents[1]


def _jupyter_book() -> str:
    exe = Path(sys.executable).with_name("jupyter-book")
    return str(exe) if exe.exists() else (shutil.which("jupyter-book") or "jupyter-book")


def build_book(source: Path, out: Path, edition: str = "instructor") -> Path:
    """Build the book at ``source`` into ``out`` as `make book` does; return the HTML folder."""
    command = [_jupyter_book(), "build", str(source), "--config", str(source / "book.yml")]
    command += ["--toc", str(source / "book" / "_toc.yml"), "--path-output", str(out)]
    command += ["-W", "-n", "--keep-going", "--all"]
    env = {**os.environ, "EMLAB_BOOK_EDITION": edition}
    result = subprocess.run(command, cwd=source, capture_output=True, text=True, env=env)
    log = result.stdout + result.stderr
    assert result.returncode == 0, f"the book build failed (warnings are errors):\n{log[-8000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def book(tmp_path_factory) -> Path:
    return build_book(ROOT, tmp_path_factory.mktemp("book"))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(book):
    """The built book over HTTP on the loopback interface, as a host would serve it."""
    handler = functools.partial(_QuietHandler, directory=str(book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()
