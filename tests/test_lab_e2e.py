"""End to end: a lesson in a real JupyterLab, driven in headless Chromium.

Starts JupyterLab on a free local port with a copy of lesson 05 (k-means), opens it in Chromium (Debian's
``chromium`` through Playwright), runs every cell, moves the k-means explorer's slider and checks
that the figure and the numbers change. Screenshots go to ``artifacts/lab/``.
"""

import json
import os
import re
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
LESSON = "05-kmeans.ipynb"

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


# Every rendered code cell has a count (JupyterLab leaves far-away cells unrendered, with an
# empty prompt; Run All ends with the last cells in view) and the kernel is idle.
ALL_RAN = """() => {
    const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')]
        .map(p => p.textContent.trim()).filter(text => text !== '');
    const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
    const idle = indicator !== null && indicator.dataset.status === 'idle';
    return idle && prompts.length > 0 && prompts.every(text => /^\\[\\d+\\]/.test(text));
}"""
STARTED = """() => [...document.querySelectorAll('.jp-InputArea-prompt')].some(
    p => /\\[(\\d+|\\*)\\]/.test(p.textContent)
)"""
ERRORS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def _wait_for_run_all(page, workdir, timeout=240.0):
    """Wait until every code cell has an execution count; fail at once on an error output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(ALL_RAN):
            return
        errors = page.locator(f"{ERRORS} .ansi-red-fg")
        if errors.count():
            page.screenshot(path=str(ARTIFACTS / "run-all-error.png"))
            pytest.fail(f"a cell failed: {page.locator(ERRORS).first.inner_text()[:2000]}")
        page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "run-all-timeout.png"))
    # JupyterLab renders only the cells near the view: save, and read the notebook instead
    page.keyboard.press("Control+s")
    page.wait_for_timeout(3000)
    cells = json.loads((workdir / LESSON).read_text())["cells"]
    report = [
        (i, cell.get("execution_count"), [o.get("ename") for o in cell.get("outputs", [])])
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
    ]
    pytest.fail(f"Run All did not finish in {timeout:.0f} s; (cell, count, errors): {report}")


def test_lesson_runs_and_the_slider_redraws_the_figure(lab, browser):
    base, token, workdir = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
        # the kernel must be connected before Run All, or JupyterLab runs nothing (slow
        # machines): the status bar says "| Idle" once it is
        page.get_by_text(re.compile(r"\| Idle$")).first.wait_for()

        no_news = page.get_by_role("button", name="No", exact=True)
        if no_news.count():
            no_news.first.click()  # JupyterLab's "notify me of news?" toast
        for _attempt in range(3):
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            try:  # the kernel picks the cells up: it turns busy, or a count appears
                page.wait_for_function(STARTED, timeout=30_000)
                break
            except sync_api.TimeoutError:
                continue

        # Wait until Run All has finished: the kernel answers the slider only when it is
        # idle, and under load the cells after the explorer can take several seconds.
        _wait_for_run_all(page, workdir)

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
        assert page.locator(f"{ERRORS} .ansi-red-fg").count() == 0
    finally:
        context.close()
