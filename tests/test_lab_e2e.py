"""End to end: a lesson in a real JupyterLab, driven in headless Chromium.

Starts JupyterLab on a free local port with a copy of lesson 05 (k-means), opens it in Chromium (Debian's
``chromium`` through Playwright), runs every cell, moves the k-means explorer's slider and checks
that the figure and the numbers change. Then opens a student edition of lesson 00, answered with
one wrong and one right answer, and checks that each ``grader.check`` cell shows one line (the
exercise, its points, the check's sentence) in JupyterLab's rich output. Screenshots go to
``artifacts/lab/``.
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
from urllib.parse import quote

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


def _wait_for_run_all(page, workdir, timeout=240.0, name=LESSON):
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
    cells = json.loads((workdir / name).read_text())["cells"]
    report = [
        (i, cell.get("execution_count"), [o.get("ename") for o in cell.get("outputs", [])])
        for i, cell in enumerate(cells)
        if cell["cell_type"] == "code"
    ]
    pytest.fail(f"Run All did not finish in {timeout:.0f} s; (cell, count, errors): {report}")


def _open_and_run_all(page, base, token, workdir, name):
    """Open a notebook in JupyterLab, Run All Cells, and wait until every cell has run."""
    page.set_default_timeout(120_000)
    # a workspace of its own, reset: only this notebook open (the Run All checks read every
    # prompt on the page, and another notebook's stored counts would pass them)
    workspace = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{quote(name)}?reset&token={token}")
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
    _wait_for_run_all(page, workdir, name=name)


def test_lesson_runs_and_the_slider_redraws_the_figure(lab, browser):
    base, token, workdir = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        # Run All must have finished: the kernel answers the slider only when it is idle,
        # and under load the cells after the explorer can take several seconds.
        _open_and_run_all(page, base, token, workdir, LESSON)

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


def test_a_failed_and_a_passed_check_each_read_as_one_line(lab, browser, tmp_path):
    """A student edition in JupyterLab: a check's rich (HTML) output is the one sentence."""
    from emlab import instructor

    base, token, workdir = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lesson = ROOT / "notebooks" / "00-exercises.ipynb"
    instructor.make_student_editions(
        [lesson], tmp_path / "student", tmp_path / "autograder", run_tests=False
    )
    notebook = json.loads((tmp_path / "student" / lesson.name).read_text())
    answers = {  # q1 underflows (no shift by the row maximum), q2 is right
        "def resp_from_log_joint": "def resp_from_log_joint(log_joint):\n"
        "    return np.exp(log_joint) / np.exp(log_joint).sum(axis=1, keepdims=True)\n",
        "sigma_hat = ...": "sigma_hat = np.std(heights)\n",
    }
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        for stub, answer in answers.items():
            if cell["cell_type"] == "code" and stub in source:
                cell["source"] = answer
    name = "00-exercises (1).ipynb"  # as a browser saves a second download
    (workdir / name).write_text(json.dumps(notebook))

    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        _open_and_run_all(page, base, token, workdir, name)
        shown = {}
        for question in ("q1", "q2"):
            cell = page.locator(".jp-CodeCell").filter(has_text=f'grader.check("{question}")')
            cell.first.scroll_into_view_if_needed()
            output = cell.first.locator(".jp-OutputArea-output").first
            output.wait_for(state="visible")
            shown[question] = output.inner_text().strip()
            cell.first.screenshot(path=str(ARTIFACTS / f"check-{question}.png"))
        page.screenshot(path=str(ARTIFACTS / "checks.png"))
    finally:
        context.close()
    assert re.match(r"q1 \(2 points\): \S", shown["q1"]), shown["q1"]
    assert "underflowed to 0. Work in log space" in shown["q1"], shown["q1"]
    assert shown["q2"] == "q2 (1 point): passed.", shown["q2"]
    for text in shown.values():
        assert len(text.splitlines()) <= 3, text  # one sentence, maybe wrapped
        for internal in ("Traceback", "doctest", "Trying:", "/emlab/", ".py"):
            assert internal not in text, text
