"""The static book: it builds with no warnings, loads nothing from outside, and reads well.

The book is built once per test session into a temporary folder, exactly as ``make book`` builds
it (Jupyter Book 1, warnings are errors). The browser tests open it in headless Chromium (Debian's
``chromium``, driven by Playwright), over a local HTTP server and as plain files, with every
request outside the book refused and recorded. Screenshots go to ``artifacts/book/``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from conftest import build_book

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "book"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
NOTES = sorted((ROOT / "notebooks" / "notes").glob("[0-9][0-9]-*.ipynb"))
EXTERNAL = re.compile(r"^(https?:)?//", re.IGNORECASE)

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("jupyter_book") is None,
        reason="jupyter-book is not installed: pip install -e '.[book]' (make test installs it)",
    ),
]


def _page(lesson: Path) -> str:
    return f"notebooks/{lesson.stem}.html"


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _regions(lesson: Path) -> dict[str, list[dict]]:
    """An otter notebook's cells by role: raw markers, solution cells, test cells."""
    roles: dict[str, list[dict]] = {"raw": [], "solution": [], "tests": []}
    region = None
    for cell in json.loads(lesson.read_text())["cells"]:
        if cell["cell_type"] == "raw":
            roles["raw"].append(cell)
            head = _source(cell).strip().split("\n")[0].upper()
            match = re.match(r"#\s*(BEGIN|END)\s+(SOLUTION|TESTS)", head)
            if match:
                region = match.group(2).lower() if match.group(1) == "BEGIN" else None
        elif region:
            roles["solution" if region == "solution" else "tests"].append(cell)
    return roles


class _Resources(HTMLParser):
    """Every URL an HTML page would load by itself (not the links a reader may follow)."""

    LOADED = frozenset(
        {("script", "src"), ("img", "src"), ("iframe", "src"), ("source", "src")}
        | {("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data")}
    )

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for t, name in self.LOADED:
            if tag == t and attrs.get(name):
                self.urls.append(attrs[name])
        rel = (attrs.get("rel") or "").lower()
        if tag == "link" and attrs.get("href") and rel not in ("canonical", "alternate"):
            self.urls.append(attrs["href"])
        if attrs.get("style") and "url(" in attrs["style"]:
            self.urls += re.findall(r"url\(['\"]?([^'\")]+)", attrs["style"])


class _CodeText(HTMLParser):
    """The text of every code block (<pre>) of a page."""

    def __init__(self):
        super().__init__()
        self.depth, self.blocks = 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self.depth += 1
            self.blocks.append("")

    def handle_endtag(self, tag):
        if tag == "pre":
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.blocks[-1] += data


# --- the build -------------------------------------------------------------------------------


def test_the_book_has_a_landing_page_and_every_lesson(book):
    assert LESSONS, "no lessons in notebooks/"
    assert (book / "index.html").exists()
    assert (book / "book" / "intro.html").exists()
    for lesson in LESSONS:
        assert (book / _page(lesson)).exists(), f"{lesson.name} is not in the book"
    assert (book / "searchindex.js").exists()


def test_no_page_loads_anything_from_outside_the_book(book):
    offenders = []
    for page in book.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        offenders += [f"{page.relative_to(book)}: {u}" for u in parser.urls if EXTERNAL.match(u)]
    for css in book.rglob("*.css"):
        text = re.sub(
            r"/\*.*?\*/", "", css.read_text(encoding="utf-8", errors="replace"), flags=re.S
        )
        urls = re.findall(r"(?:url\(|@import\s+)['\"]?((?:https?:)?//[^'\")\s]+)", text)
        offenders += [f"{css.relative_to(book)}: {u}" for u in urls]
    assert offenders == [], "the book must work offline; these load from outside:\n" + "\n".join(
        offenders
    )


def test_math_and_widgets_are_served_by_the_book(book):
    page = (book / _page(LESSONS[0])).read_text(encoding="utf-8")
    mathjax = re.search(r'<script[^>]*src="([^"]*tex-chtml[^"]*)"', page)
    assert mathjax and not EXTERNAL.match(mathjax.group(1))
    assert (book / "_static" / "vendor" / "mathjax" / "tex-chtml-full.js").exists()
    assert (book / "_static" / "vendor" / "mathjax" / "output" / "chtml" / "fonts").is_dir()
    assert (book / "_static" / "vendor" / "html-manager" / "embed.js").exists()
    for lesson in LESSONS:  # the widget renderer (2 MB) only where a widget is shown
        html = (book / _page(lesson)).read_text(encoding="utf-8")
        if WIDGET_VIEW not in html:
            assert "html-manager/embed.js" not in html, lesson.name


@pytest.mark.parametrize("lesson", LESSONS, ids=[p.stem for p in LESSONS])
def test_raw_cells_and_tests_are_not_shown_and_solutions_are_collapsed(book, lesson):
    html = (book / _page(lesson)).read_text(encoding="utf-8")
    parser = _CodeText()
    parser.feed(html)
    code = "\n".join(parser.blocks)
    for marker in (
        "BEGIN SOLUTION",
        "END SOLUTION",
        "BEGIN TESTS",
        "TEST CONFIG",
        "BEGIN QUESTION",
    ):
        assert marker not in code, f"otter's marker {marker!r} shows in a code block"
    assert "ASSIGNMENT CONFIG" not in html
    roles = _regions(lesson)
    for cell in roles["raw"]:
        body = " ".join(_source(cell).split()[3:])  # past the marker: "name: q1 points: 2"
        assert not body or body not in " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for cell in roles["tests"]:
        lines = [ln for ln in _source(cell).splitlines() if ln.strip() and '"""' not in ln]
        assert not any(ln.strip() in code for ln in lines[-1:]), f"a test cell shows:\n{lines}"
    # a model answer's figure caption joins its figure, inside the figure's own toggle
    captions = [
        c
        for c in roles["solution"]
        if c["cell_type"] == "markdown" and re.match(r"\s*\*\*Figure \d+\.", _source(c))
    ]
    solutions = [c for c in roles["solution"] if c not in captions]
    toggles = len(re.findall(r"Show solution", html))
    assert toggles == len(solutions), f"{len(solutions)} solution cells, {toggles} toggles"
    for caption in captions:
        number = re.match(r"\s*\*\*(Figure \d+)\.", _source(caption)).group(1)
        assert re.search(
            rf"<figcaption>(?:(?!</figcaption>).)*<strong>{number}\.</strong>", html, re.S
        ), number
    assert not re.search(r"<details[^>]*\bopen\b[^>]*>\s*<summary[^>]*>[^<]*Show solution", html)


# --- the browser -----------------------------------------------------------------------------

VISIBLE_RAW_TEX = r"""() => {
  const skip = new Set(["PRE", "CODE", "SCRIPT", "STYLE", "TEXTAREA", "MJX-CONTAINER"]);
  const root = document.querySelector("main") || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
    acceptNode(node) {
      for (let el = node.parentElement; el && el !== root.parentElement; el = el.parentElement) {
        if (skip.has(el.tagName) || el.classList.contains("highlight")) return NodeFilter.FILTER_REJECT;
      }
      return NodeFilter.FILTER_ACCEPT;
    },
  });
  const bad = /\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\s][^$]*\\[a-zA-Z]+[^$]*\$/;
  const found = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (bad.test(n.textContent)) found.push(n.textContent.trim().slice(0, 120));
  }
  return found;
}"""

BROKEN_IMAGES = r"""async () => {
  const images = [...document.querySelectorAll("main img, .bd-sidebar-primary img")];
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  return {
    count: images.length,
    broken: images.filter((img) => !(img.complete && img.naturalWidth > 0)).map((img) => img.src),
  };
}"""

MATH_STATUS = r"""async () => {
  // MathJax's typesetting must finish: within 20 s, or the page is reported as never typeset
  let finished = true;
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    finished = await Promise.race([MathJax.startup.promise.then(() => true),
      new Promise((resolve) => setTimeout(() => resolve(false), 20000))]);
  }
  const math = document.querySelectorAll("main .math");
  return {
    finished,
    math: math.length,
    typeset: document.querySelectorAll("main mjx-container").length,
    untypeset: [...math].filter((m) => !m.querySelector("mjx-container")).map((m) => m.textContent.slice(0, 80)),
  };
}"""


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# every saved widget view is drawn by ipywidgets' renderer next to its <script> (this many are not)
UNRENDERED_WIDGETS = f"""() => [...document.querySelectorAll("script[type='{WIDGET_VIEW}']")]
  .filter((s) => !s.parentElement.querySelector(".jupyter-widgets")).length"""


class Reader:
    """A browser tab that refuses and records every request leaving the book, and every JS error."""

    def __init__(self, browser, base: str, width: int = 1280, height: int = 900):
        self.base = base
        self.context = browser.new_context(viewport={"width": width, "height": height})
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route(
            re.compile(r"^(?!file:|http://127\.0\.0\.1[:/]|data:|blob:).*"), self._refuse
        )
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _refuse(self, route):
        self.outside.append(route.request.url)
        route.abort()

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        return self.page

    def check_page(self, label: str) -> dict:
        """Math typeset, no raw TeX, images loaded: the state of the open page."""
        page = self.page
        math = page.evaluate(MATH_STATUS)
        assert math.pop("finished"), f"{label}: MathJax did not finish typesetting within 20 s"
        assert math["untypeset"] == [], f"{label}: math left untypeset: {math['untypeset']}"
        raw = page.evaluate(VISIBLE_RAW_TEX)
        assert raw == [], f"{label}: raw TeX in the text: {raw}"
        images = page.evaluate(BROKEN_IMAGES)
        assert images["broken"] == [], f"{label}: images that did not load: {images['broken']}"
        if page.locator(f"script[type='{WIDGET_VIEW}']").count():
            page.wait_for_function(f"({UNRENDERED_WIDGETS})() === 0", timeout=15_000)
        return {**math, "images": images["count"]}

    def shot(self, name: str, full_page: bool = False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def close(self):
        self.context.close()


@pytest.fixture
def reader(browser, server):
    tab = Reader(browser, server)
    yield tab
    tab.close()
    assert tab.outside == [], f"requests left the book: {tab.outside}"
    assert tab.errors == [], f"JavaScript errors: {tab.errors}"


def test_reading_the_book_from_start_to_end_with_next(reader):
    """Landing page, then "Next" through every lesson in order; each page fully rendered."""
    page = reader.open("index.html")
    page.wait_for_url(re.compile(r"book/intro\.html$"))
    stats = reader.check_page("landing page")
    assert stats["images"] >= 1  # the logo
    main = page.locator("main")
    for heading in ("Who it is for", "The lessons", "JupyterLab", "Teaching with EM Lab"):
        assert main.get_by_role("heading", name=re.compile(heading)).count() == 1, heading
    nav = [a.strip() for a in page.locator("nav.bd-links a").all_inner_texts()]
    lesson_links = main.locator("a.reference.internal[href*='notebooks/']")
    assert lesson_links.count() >= len(LESSONS)
    downloads = main.locator("a[download][href$='.ipynb']")
    assert downloads.count() == len(LESSONS)
    assert main.locator("a[href*='mybinder.org']").count() == len(LESSONS)
    reader.shot("landing", full_page=True)

    # "Next" walks the notation page, every lesson in order, then the lessons' notes notebooks
    visited = []
    notes = [f"notebooks/notes/{note.stem}.html" for note in NOTES]
    for path in ["book/notation.html", *map(_page, LESSONS), *notes]:
        page.locator("a.right-next").click()
        page.wait_for_url(re.compile(re.escape(path) + r"$"))
        page.wait_for_load_state("load")
        visited.append(path)
        stats = reader.check_page(path)
        title = page.locator("main h1").first.inner_text()
        assert title.strip() in " ".join(nav), f"{title} is not in the sidebar"
        lesson = ROOT / Path(path).with_suffix(".ipynb")
        if lesson in LESSONS:
            # the header's launch (Binder) and download buttons are there
            assert page.locator("a[href*='mybinder.org']").count() >= 1, path
            assert page.locator(f"a[href$='{lesson.name}']").count() >= 1, path
            reader.shot(f"lesson-{lesson.stem}")
    assert page.locator("a.right-next").count() == 0, "the last page has no next page"
    page.locator("a.left-prev").click()
    page.wait_for_url(re.compile(re.escape(visited[-2])))


def test_solutions_are_collapsed_until_asked_for(reader):
    lesson = next((p for p in LESSONS if _regions(p)["solution"]), None)
    if lesson is None:
        pytest.skip("no lesson has a solution yet")
    page = reader.open(_page(lesson))
    toggles = page.locator("details:has(> summary:has-text('Show solution'))")
    assert toggles.count() >= 1
    first = toggles.first
    body = first.locator(":scope > :not(summary)").first
    assert first.get_attribute("open") is None
    assert not body.is_visible()
    first.locator("summary").click()
    assert body.is_visible()
    first.scroll_into_view_if_needed()
    page.wait_for_timeout(600)  # the solution fades in
    reader.check_page(f"{lesson.stem} with a solution open")
    reader.shot(f"solution-open-{lesson.stem}")


def test_search_finds_a_lesson(reader):
    page = reader.open("search.html?q=responsibilities")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=15_000)
    assert results.count() >= 1
    hrefs = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any("notebooks/" in (href or "") for href in hrefs)
    page.wait_for_timeout(1000)  # the quoted math is typeset once the results are in
    raw = page.evaluate(VISIBLE_RAW_TEX)
    # a snippet may cut a formula in two; a whole \( ... \) left in the text was not typeset
    whole = [text for text in raw if re.search(r"\\\(.*?\\\)", text)]
    assert whole == [], f"raw TeX in the search results: {whole}"
    reader.shot("search")


def test_a_lesson_on_a_phone(browser, server):
    tab = Reader(browser, server, width=390, height=844)
    try:
        page = tab.open(_page(LESSONS[-1]))
        tab.check_page("phone")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"the page scrolls sideways on a phone ({width}px)"
        tab.shot("phone")
        page.locator("button.primary-toggle").first.click()
        page.locator("nav.bd-links").first.wait_for(state="visible")
        tab.shot("phone-menu")
    finally:
        tab.close()
    assert tab.outside == [] and tab.errors == []


def test_the_book_opens_from_files_without_a_server(browser, book):
    """An instructor can zip _build/html and hand it out: index.html opens as a plain file."""
    tab = Reader(browser, book.as_uri() + "/")
    try:
        page = tab.open("index.html")
        page.wait_for_url(re.compile(r"book/intro\.html$"))
        tab.check_page("landing page (file)")
        tab.open(_page(LESSONS[0]))
        stats = tab.check_page(f"{LESSONS[0].stem} (file)")
        assert stats["typeset"] >= 1
    finally:
        tab.close()
    assert tab.outside == [] and tab.errors == []


# --- widgets: a lesson's saved widget state renders offline ----------------------------------


def _widget_notebook() -> dict:
    """A lesson whose output is an ipywidgets slider, saved with its state as JupyterLab does."""
    import ipywidgets
    from ipywidgets.embed import embed_data

    slider = ipywidgets.IntSlider(value=7, min=1, max=10, description="K")
    data = embed_data(views=[slider])
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "widgets": {"application/vnd.jupyter.widget-state+json": data["manager_state"]},
        },
        "cells": [
            {
                "cell_type": "markdown",
                "id": "a",
                "metadata": {},
                "source": "# 00 · Widgets\n\n$x^2$",
            },
            {
                "cell_type": "code",
                "id": "b",
                "metadata": {},
                "execution_count": 1,
                "source": "ipywidgets.IntSlider(value=7, min=1, max=10, description='K')",
                "outputs": [
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {
                            "text/plain": "IntSlider(value=7, description='K', max=10, min=1)",
                            "application/vnd.jupyter.widget-view+json": data["view_specs"][0],
                        },
                    }
                ],
            },
        ],
    }


def test_saved_widget_state_renders_offline(browser, tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT / "book", source / "book", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "book.yml", source / "book.yml")
    (source / "notebooks").mkdir()
    notebook = json.dumps(_widget_notebook(), indent=1)
    (source / "notebooks" / "00-widgets.ipynb").write_text(notebook, encoding="utf-8")
    (source / "notebooks" / "notes").mkdir()  # the table of contents lists the notes' folder too
    (source / "notebooks" / "notes" / "00-widgets-notes.ipynb").write_text(
        notebook, encoding="utf-8"
    )
    html = build_book(source, tmp_path / "out")
    assert "unpkg.com" not in (html / "notebooks" / "00-widgets.html").read_text()
    tab = Reader(browser, html.as_uri() + "/")
    try:
        page = tab.open("notebooks/00-widgets.html")
        slider = page.locator(".widget-slider")
        slider.first.wait_for(timeout=15_000)
        assert page.locator(".widget-readout").first.inner_text().strip() == "7"
        tab.check_page("widgets")
        page.locator(".widget-slider").first.scroll_into_view_if_needed()
        tab.shot("widget")
    finally:
        tab.close()
    assert tab.outside == [] and tab.errors == []


# --- the student book: no solutions, and the student editions to download --------------------


def test_the_student_book_leaves_the_solutions_out(tmp_path):
    lesson = next((p for p in LESSONS if _regions(p)["solution"]), None)
    if lesson is None:
        pytest.skip("no lesson has a solution yet")
    source = tmp_path / "src"
    shutil.copytree(ROOT / "book", source / "book", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "book.yml", source / "book.yml")
    (source / "notebooks").mkdir()
    shutil.copy(lesson, source / "notebooks" / lesson.name)
    (source / "notebooks" / "notes").mkdir()  # the table of contents lists the notes' folder too
    note = NOTES[0]  # with the lesson it links back to
    shutil.copy(note, source / "notebooks" / "notes" / note.name)
    shutil.copy(ROOT / "notebooks" / note.name.replace("-notes", ""), source / "notebooks")
    # stands in for the student edition that `make student` writes
    edition = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"edition": "student"}, "cells": []}
    (source / "student").mkdir()
    for name in (lesson.name, note.name.replace("-notes", "")):
        (source / "student" / name).write_text(json.dumps(edition), encoding="utf-8")

    html = build_book(source, tmp_path / "out", edition="student")
    page = (html / _page(lesson)).read_text(encoding="utf-8")
    assert "Show solution" not in page and "emlab-solution" not in page
    parser = _CodeText()
    parser.feed(page)
    code = " ".join(" ".join(parser.blocks).split())
    for cell in _regions(lesson)["solution"]:
        lines = [ln for ln in _source(cell).splitlines() if ln.strip() and "SOLUTION" not in ln]
        assert " ".join(" ".join(lines).split()) not in code, "a solution shows in the student book"
    # the landing page keeps the students' half: no teaching notes, no solutions, no Binder
    landing = (html / "book" / "intro.html").read_text(encoding="utf-8")
    assert "Teaching with EM Lab" not in landing and "Show solution" not in landing
    repository = yaml.safe_load((ROOT / "book.yml").read_text())["repository"]["url"]
    assert repository not in landing and repository not in page  # the repository holds them too
    assert "EMLAB_REPOSITORY_URL" not in landing
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)[1]
    assert f"emlab_course-{version}-py3-none-any.whl[lab]" in landing  # the file make wheel writes
    assert "EMLAB_WHEEL" not in landing
    assert "mybinder.org" not in landing and "mybinder.org" not in page
    downloads = [html / "_sources" / "notebooks" / lesson.name]
    downloads += list(html.glob(f"_downloads/*/{lesson.name}"))
    assert len(downloads) == 2
    for copy in downloads:
        assert json.loads(copy.read_text())["metadata"] == {"edition": "student"}, copy
