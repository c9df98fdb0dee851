"""End to end: a lesson in a real JupyterLab, driven in headless Chromium.

Starts JupyterLab on a free local port with a copy of lesson 03, opens it in Chromium (Debian's
``chromium`` through Playwright), runs every cell, moves the k-means explorer's slider and checks
that the figure and the numbers change. Screenshots go to ``artifacts/lab/``.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "lab"
LESSON = "03-kmeans.ipynb"

sync_api = pytest.importorskip("playwright.sync_api", reason="install the test extra (playwright)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lab")
    shutil.copy(ROOT / "notebooks" / LESSON, workdir / LESSON)
    port, token = _free_port(), "emlab-e2e-token"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={workdir}",
        "--ServerApp.open_browser=False",
        "--LabApp.news_url=",
        "--ServerApp.allow_root=True",
    ]
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(workdir / ".config"),
        "JUPYTER_RUNTIME_DIR": str(workdir / ".runtime"),
    }
    log = (workdir / "lab.log").open("w")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"JupyterLab exited: {(workdir / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start within 60 s")
        yield base, token, workdir
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_lesson_runs_and_the_slider_redraws_the_figure(lab, browser):
    base, token, _ = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", state="attached"
        )

        no_news = page.get_by_role("button", name="No", exact=True)
        if no_news.count():
            no_news.first.click()  # JupyterLab's "notify me of news?" toast
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        # Wait until Run All has finished: the kernel answers the slider only when it is
        # idle, and under load the cells after the explorer can take several seconds.
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
                return prompts.length > 0
                    && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=180_000,
        )

        explorer = (
            page.locator(".jp-OutputArea-output .widget-vbox")
            .filter(has=page.locator(".widget-slider"))
            .first
        )
        explorer.wait_for(state="attached")  # JupyterLab renders cells lazily: scroll to it first
        explorer.scroll_into_view_if_needed()
        explorer.wait_for(state="visible")
        image = explorer.locator("img").first
        label = explorer.locator(".widget-label").filter(has_text="log-likelihood").first
        sync_api.expect(label).to_contain_text("half-step 0 of", timeout=60_000)
        page.wait_for_timeout(500)
        before = image.screenshot()
        page.screenshot(path=str(ARTIFACTS / "explorer-start.png"))

        handle = explorer.locator(".widget-slider .noUi-handle").first
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        sync_api.expect(label).to_contain_text("half-step 3 of", timeout=60_000)
        sync_api.expect(label).to_contain_text("M-step")  # half-step 3 is iteration 2's M-step
        page.wait_for_timeout(500)
        after = image.screenshot()
        page.screenshot(path=str(ARTIFACTS / "explorer-half-step-3.png"))
        assert after != before, "moving the slider did not change the figure"

        # every cell ran without an error
        assert (
            page.locator(
                ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] .ansi-red-fg"
            ).count()
            == 0
        )
    finally:
        context.close()
