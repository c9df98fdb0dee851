"""Shared test set-up: a headless matplotlib and hypothesis settings for a 2-core CI machine."""

import shutil
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
