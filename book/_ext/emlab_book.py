"""Sphinx extension for EM Lab's book: otter-grader exercises and the landing page's lesson list.

The lessons are otter-grader instructor notebooks. Raw marker cells (``# BEGIN SOLUTION``,
``# BEGIN TESTS``, ...) frame each exercise's solution and tests. Authors do not tag anything
for the book: when Sphinx reads a notebook (its ``source-read`` event, before myst-nb parses the
JSON), this extension adds the tags myst-nb understands, to an in-memory copy only:

* raw cells, and the test cells between ``# BEGIN TESTS`` / ``# END TESTS``: ``remove-cell``;
* code cells between ``# BEGIN SOLUTION`` / ``# END SOLUTION``: ``hide-cell``, with the toggle
  labelled "Show solution"; Markdown cells there (model answers) become a collapsed dropdown;
* in the student edition (``EMLAB_BOOK_EDITION=student``) solutions are removed instead, and
  the notebooks offered for download are the student editions that ``make student`` writes.

Inside a solution's code, otter's own markers (``# BEGIN SOLUTION`` lines, ``# SOLUTION``
comments, ``# BEGIN PROMPT`` blocks) are dropped from what the book shows.

On the landing page the line ``<!-- emlab:lessons -->`` becomes the list of lessons, in order,
each with its title, its "What you will learn" sentence, and links to download the notebook and
to run it on Binder: new lessons appear there without editing the page.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlparse

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

LESSON_DOC = re.compile(r"^notebooks/\d\d-[^/]+$")
LESSONS_MARKER = "<!-- emlab:lessons -->"
#: ``<!-- emlab:student -->`` ... ``<!-- emlab:end -->`` in the landing page: only in that edition.
EDITION_BLOCK = re.compile(r"<!-- emlab:(instructor|student) -->\n(.*?)<!-- emlab:end -->\n", re.S)
#: Replaced by the configured repository's address on the landing page.
REPOSITORY_MARKER = "EMLAB_REPOSITORY_URL"
WHEEL_MARKER = "EMLAB_WHEEL"
#: The distribution's name on PyPI (the package imports as ``emlab``; "emlab" on PyPI is another
#: project).
DISTRIBUTION = "emlab-course"
OTTER_MARKER = re.compile(r"^\s*#\s*(BEGIN|END)\s+(SOLUTION|TESTS|QUESTION)\b", re.IGNORECASE)
INLINE_SOLUTION_LINE = re.compile(r"^\s*#\s*(BEGIN|END)\s+SOLUTION\b.*$", re.IGNORECASE)
SOLUTION_SUFFIX = re.compile(r"\s*#\s*SOLUTION(\s+NO\s+PROMPT)?\s*$", re.IGNORECASE)
PROMPT_START = re.compile(r"^\s*(\"\"\"|''')?\s*#\s*BEGIN\s+PROMPT\b", re.IGNORECASE)
PROMPT_END = re.compile(r"#\s*END\s+PROMPT\b", re.IGNORECASE)
EDITIONS = ("instructor", "student")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tag(cell: dict, *tags: str) -> None:
    have = cell.setdefault("metadata", {}).setdefault("tags", [])
    have.extend(t for t in tags if t not in have)


def clean_solution_code(code: str) -> str:
    """The solution as a reader should see it: without otter's marker comments and prompts."""
    lines, in_prompt = [], False
    for line in code.splitlines():
        if in_prompt:
            in_prompt = not PROMPT_END.search(line)
            continue
        if PROMPT_START.match(line):
            in_prompt = not PROMPT_END.search(line)
            continue
        if INLINE_SOLUTION_LINE.match(line):
            continue
        lines.append(SOLUTION_SUFFIX.sub("", line))
    return "\n".join(lines).strip("\n")


def _dropdown(markdown: str, title: str, css_class: str = "emlab-solution") -> str:
    """Wrap Markdown in a collapsed MyST dropdown, with a fence longer than any inside it."""
    runs = [len(m.group(1)) for m in re.finditer(r"^\s*(:{3,})", markdown, re.MULTILINE)]
    fence = ":" * max(3, max(runs, default=0) + 1)
    return f"{fence}{{dropdown}} {title}\n:class-container: {css_class}\n\n{markdown}\n{fence}\n"


def prepare_notebook(notebook: dict, edition: str = "instructor") -> dict:
    """Tag an otter-grader notebook's cells for the book (in place; returns the notebook)."""
    if edition not in EDITIONS:
        raise ValueError(f"edition must be one of {EDITIONS}, not {edition!r}")
    in_solution = in_tests = False
    for cell in notebook.get("cells", []):
        kind = cell.get("cell_type")
        if kind == "raw":
            _tag(cell, "remove-cell")
            marker = OTTER_MARKER.match(_source(cell))
            if marker:
                begin, block = marker.group(1).upper() == "BEGIN", marker.group(2).upper()
                if block == "SOLUTION":
                    in_solution = begin
                elif block == "TESTS":
                    in_tests = begin
                else:  # a question begins or ends: no solution or tests stay open across it
                    in_solution = in_tests = False
            continue
        if in_tests or (in_solution and edition == "student"):
            _tag(cell, "remove-cell")
        elif in_solution and kind == "code":
            _tag(cell, "hide-cell", "emlab-solution")
            cell["source"] = clean_solution_code(_source(cell))
            mystnb = cell["metadata"].setdefault("mystnb", {})
            mystnb.update(code_prompt_show="Show solution", code_prompt_hide="Hide solution")
        elif in_solution and kind == "markdown":
            cell["source"] = _dropdown(_source(cell), "Show solution")
    return notebook


def _edition(app: Sphinx) -> str:
    edition = app.config.emlab_book_edition or "instructor"
    if edition not in EDITIONS:
        raise ValueError(f"EMLAB_BOOK_EDITION must be one of {EDITIONS}, not {edition!r}")
    return edition


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        notebook = json.loads(source[0])
        source[0] = json.dumps(prepare_notebook(notebook, _edition(app)), ensure_ascii=False)
    elif docname == app.config.root_doc:
        text = landing_page(source[0], _edition(app), _repository(app), _wheel(app))
        if LESSONS_MARKER in text:
            text = text.replace(LESSONS_MARKER, lesson_list(app, docname))
        source[0] = text


def _repository(app: Sphinx) -> str:
    return app.config.html_theme_options.get("repository_url", "").strip("/")


def _wheel(app: Sphinx) -> str:
    """The file name of ``make wheel``'s package, from the version in ``pyproject.toml``.

    (Or, with no ``pyproject.toml`` beside the book, the installed ``emlab``'s version.)
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = Path(app.srcdir) / "pyproject.toml"
    try:
        number = tomllib.loads(project.read_text())["project"]["version"]
    except FileNotFoundError:
        try:
            number = version(DISTRIBUTION)
        except PackageNotFoundError:
            number = "<version>"
    # a wheel's file name spells the distribution's name with underscores
    return f"{DISTRIBUTION.replace('-', '_')}-{number}-py3-none-any.whl"


def landing_page(
    text: str, edition: str, repository: str, wheel: str = "emlab-<version>-py3-none-any.whl"
) -> str:
    """The landing page's Markdown for ``edition``: the other edition's blocks removed.

    Blocks between ``<!-- emlab:instructor -->`` (or ``student``) and ``<!-- emlab:end -->``
    are kept only in that edition; ``EMLAB_REPOSITORY_URL`` becomes the repository's address
    and ``EMLAB_WHEEL`` the file name of the package that ``make wheel`` builds.
    """
    text = EDITION_BLOCK.sub(lambda m: m.group(2) if m.group(1) == edition else "", text)
    text = text.replace(WHEEL_MARKER, wheel)
    return text.replace(REPOSITORY_MARKER, repository or "<the course's repository>")


def binder_url(app: Sphinx, path: str) -> str | None:
    """The Binder link that opens a repository file in JupyterLab, as the book's header builds it."""
    if _edition(app) == "student":  # Binder opens the repository's notebooks: the solutions
        return None
    options = app.config.html_theme_options
    binderhub = options.get("launch_buttons", {}).get("binderhub_url", "").strip("/")
    repo = _repository(app)
    if not (binderhub and repo):
        return None
    org_repo = urlparse(repo).path.strip("/")
    branch = options.get("repository_branch", "") or "main"
    return f"{binderhub}/v2/gh/{org_repo}/{branch}?urlpath=lab/tree/{path}"


def _lesson_summary(notebook: dict) -> tuple[str, str]:
    """The first heading of a lesson and its "What you will learn" block (Markdown)."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        text = _source(cell)
        heading = re.search(r"^#\s+(.+?)\s*$", text, re.MULTILINE)
        if not heading:
            continue
        # the block runs to the first blank line that is not followed by another list item
        learn = re.search(
            r"\*\*What you will learn\.?\*\*[ \t]*\n?(.*?)(?=\n[ \t]*\n(?![ \t]*[*+-][ \t])|\Z)",
            text,
            re.S,
        )
        return heading.group(1), (learn.group(1).strip() if learn else "")
    return "", ""


def lesson_list(app: Sphinx, docname: str) -> str:
    """MyST Markdown for the landing page: every lesson with its links, in the book's order."""
    env = app.env
    here = Path(env.doc2path(docname)).parent
    items = []
    for lesson in sorted(d for d in env.found_docs if LESSON_DOC.match(d)):
        path = Path(env.doc2path(lesson))
        env.note_dependency(str(path))
        title, learn = _lesson_summary(json.loads(path.read_text(encoding="utf-8")))
        rel = Path(os.path.relpath(path, here)).as_posix()
        repo_path = Path(os.path.relpath(path, app.srcdir)).as_posix()
        links = [f"[Download the notebook](path:{rel})"]
        binder = binder_url(app, repo_path)
        if binder:
            links.append(f"[Run it on Binder]({binder})")
        item = f"- **[{title or lesson}]({rel})**  \n  {' · '.join(links)}\n"
        if learn:
            body = _dropdown(learn, "What you will learn", css_class="emlab-learn")
            item += "\n" + "".join(f"  {line}".rstrip() + "\n" for line in body.splitlines())
        items.append(item)
    if not items:
        return "*No lessons yet.*\n"
    return "\n".join(items)


def _on_env_get_outdated(app, env, added, changed, removed):
    # the landing page lists the lessons: reread it when one appears, changes or goes
    return [app.config.root_doc] if (added | changed | removed) else []


def _on_html_page_context(app, pagename, templatename, context, doctree):
    """Drop thebe's scripts (thebe is off; they only name a CDN), scripts added twice, and the
    widget renderer where no widget is shown; give the search page MathJax, to typeset the math
    that search results quote.

    Jupyter Book 1 loads sphinx-thebe whatever the configuration, and its inline configuration
    script ends up twice in each page, which is a JavaScript error (a `const` declared twice).
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    thebe_on = app.config.html_theme_options.get("launch_buttons", {}).get("thebe", False)
    # a notebook keeps the state of every widget it made, but a page that shows none of them
    # (the lesson removed those outputs) need not load the widget renderer
    shows_widgets = WIDGET_VIEW in context.get("body", "")
    widget_js = set(app.config.nb_ipywidgets_js)
    seen, kept = set(), []
    for script in scripts:
        filename = (getattr(script, "filename", None) or "").split("?")[0]
        filename = filename.removeprefix("_static/")
        attributes = getattr(script, "attributes", {})
        body = attributes.get("body", "")
        if not thebe_on and ("thebe" in filename or "THEBE_JS_URL" in body):
            continue
        if not shows_widgets and (filename in widget_js or attributes.get("type") == WIDGET_STATE):
            continue
        if (filename, body) not in seen:
            seen.add((filename, body))
            kept.append(script)
    scripts[:] = kept
    if pagename == "search":  # search results quote math as TeX: typeset it there too
        app.add_js_file(app.config.mathjax_path, defer="defer")
        app.add_js_file("emlab-search.js")
    styles = context.get("css_files")
    if styles and not thebe_on:
        styles[:] = [s for s in styles if "thebe" not in (getattr(s, "filename", None) or "")]


def _on_build_finished(app: Sphinx, exception) -> None:
    """Student edition: the notebooks to download are the student editions, not the solutions.

    Sphinx copies each lesson's source (the instructor's notebook) to ``_sources/`` for the
    download button and to ``_downloads/`` for the landing page's links. In the student edition
    both copies are replaced by ``student/NN-topic.ipynb``, as written by ``make student``.
    """
    if exception is not None or _edition(app) != "student" or app.builder.format != "html":
        return
    student = Path(app.srcdir) / app.config.emlab_student_notebooks
    outdir = Path(app.outdir)
    for lesson in sorted(d for d in app.env.found_docs if LESSON_DOC.match(d)):
        name = Path(lesson).name + ".ipynb"
        edition = student / name
        if not edition.exists():
            raise FileNotFoundError(
                f"the student book needs {edition}, the student edition of {lesson}: "
                "run `make student` first (`EMLAB_BOOK_EDITION=student make book` does)"
            )
        copies = [outdir / "_sources" / (lesson + ".ipynb"), *outdir.glob(f"_downloads/*/{name}")]
        for copy in copies:
            if copy.exists():
                copy.write_bytes(edition.read_bytes())


def _on_config_inited(app: Sphinx, config) -> None:
    """Student edition: no Binder or repository button in the header (both lead to the solutions)."""
    if _edition(app) == "student":
        launch = config.html_theme_options.get("launch_buttons")
        if isinstance(launch, dict):
            config.html_theme_options["launch_buttons"] = {**launch, "binderhub_url": ""}
        config.html_theme_options["use_repository_button"] = False


def setup(app: Sphinx) -> dict:
    app.add_config_value(
        "emlab_book_edition", os.environ.get("EMLAB_BOOK_EDITION", "instructor"), "env", types=[str]
    )
    app.connect("config-inited", _on_config_inited)
    app.connect("source-read", _on_source_read)
    app.connect("env-get-outdated", _on_env_get_outdated)
    app.add_config_value("emlab_student_notebooks", "student", "env", types=[str])
    app.connect("html-page-context", _on_html_page_context, priority=900)
    app.connect("build-finished", _on_build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
