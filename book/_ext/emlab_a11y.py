"""Sphinx extension for EM Lab's book: what a screen reader or a keyboard needs (WCAG 2.1 AA).

* **Figures.** A lesson's figure is a code cell whose output is an image, followed by a Markdown
  cell that starts ``**Figure N.**`` (the caption; cells that print numbers may come between). When Sphinx reads a notebook, the image gets
  a text alternative (the caption's first sentence, as plain text) and the caption becomes the
  figure's ``<figcaption>`` (myst-nb's cell options ``image.alt`` and ``figure.caption``), so the
  caption is tied to the image instead of following it as a separate paragraph. An image with no
  caption takes its alternative from the figure's title in the cell's code; one with neither is
  a build warning (the book builds with warnings as errors), so no image is ever named by its
  file.
* **Toggles.** myst-nb names its "Show solution" toggles "Toggle hidden content" for assistive
  technology, which does not match what they show; the label is dropped, so the toggle is named
  by its visible text. The written answers' dropdowns say "Show solution" / "Hide solution" as
  they open and close (``emlab-a11y.js``).

The theme's search button and colour-mode switch are mended by two small template overrides in
``book/_templates/``; MathJax's keyboard settings are in ``book.yml`` and ``emlab-a11y.js``.
"""

from __future__ import annotations

import json
import re

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

CAPTION = re.compile(r"^\s*\*\*Figure\s+(\d+)\.?\*\*\.?\s*")
TITLE = re.compile(r"""(?:\btitle\s*=\s*|set_title\(\s*|suptitle\(\s*)[rf]?(["'])(.+?)\1""")
MAX_ALT = 250


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def plain_text(markdown: str) -> str:
    """Markdown (with inline TeX) as plain text a screen reader can say.

    Links keep their text, emphasis and code marks go, and ``$\\mu_k$`` reads ``mu_k``.
    """
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"\$+([^$]*)\$+", lambda m: _plain_tex(m.group(1)), text)
    text = re.sub(r"[*`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _plain_tex(tex: str) -> str:
    """Inline TeX as words: ``\\mu_k`` -> ``mu_k``, ``\\mathrm{d}`` -> ``d``."""
    tex = re.sub(r"\\(?:mathrm|mathbf|mathcal|text|operatorname|left|right|,|;|!)", "", tex)
    return re.sub(r"[\\{}]", "", tex)


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(?=\s+[A-Z(]|\s*$)", text)
    sentence = match.group(1) if match else text
    if len(sentence) > MAX_ALT:
        sentence = sentence[:MAX_ALT].rsplit(" ", 1)[0] + " ..."
    return sentence


def _image_outputs(cell: dict) -> list[dict]:
    return [
        output
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
        and any(mime.startswith("image/") for mime in output.get("data", {}))
    ]


def _caption_cell(cells: list[dict], index: int) -> dict:
    """The Markdown cell after code cell ``index``, past code cells that show no figure.

    A figure's caption follows it, sometimes after a cell that prints the figure's numbers.
    """
    for cell in cells[index + 1 :]:
        if cell.get("cell_type") == "markdown":
            return cell
        if cell.get("cell_type") == "code" and _image_outputs(cell):
            return {}
    return {}


#: a model answer's Markdown, which emlab_book has wrapped in a collapsed "Show solution" dropdown
SOLUTION_DROPDOWN = re.compile(
    r"^(:{3,})\{dropdown\} Show solution\n:class-container: emlab-solution\n\n(.*)\n\1\n?$",
    re.DOTALL,
)


def _caption_text(cell: dict) -> str:
    """The caption cell's Markdown; a model answer's caption comes out of its dropdown.

    The figure of a model answer sits in its code cell, which the book hides behind "Show
    solution"; its caption, once it is the figure's ``<figcaption>``, is hidden with it.
    """
    text = _source(cell).strip()
    wrapped = SOLUTION_DROPDOWN.match(text)
    return wrapped.group(2).strip() if wrapped else text


def describe_figures(notebook: dict, docname: str = "") -> dict:
    """Give every image output of ``notebook`` a text alternative and its caption (in place).

    Returns the notebook. Cells the book removes (``remove-cell``, ``remove-output``) are left
    alone. The caption cell after a figure is removed from the page, as it becomes the figure's
    ``<figcaption>``.
    """
    cells = notebook.get("cells", [])
    for index, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        images = _image_outputs(cell)
        if not images:
            continue
        following = _caption_cell(cells, index)
        caption = _caption_text(following) if following else ""
        match = CAPTION.match(caption)
        mystnb = cell.setdefault("metadata", {}).setdefault("mystnb", {})
        if match:
            number, rest = match.group(1), plain_text(caption[match.end() :])
            alt = f"Figure {number}: {_first_sentence(rest)}"
            if len(images) == 1:
                mystnb["figure"] = {"caption": caption}
                following.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
        else:
            titles = [plain_text(m.group(2)) for m in TITLE.finditer(_source(cell))]
            if not titles:
                logger.warning(
                    f"{docname}: the figure of code cell {index} has no caption (a Markdown cell "
                    "starting '**Figure N.**' right after it) and no title in its code, so it "
                    "has no text alternative",
                    type="emlab",
                    subtype="figure",
                )
                continue
            alt = "Figure: " + "; ".join(titles)
        mystnb["image"] = {**mystnb.get("image", {}), "alt": alt}
    return notebook


def _on_source_read(app: Sphinx, docname: str, source: list[str]) -> None:
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        notebook = describe_figures(json.loads(source[0]), docname)
        source[0] = json.dumps(notebook, ensure_ascii=False)


#: myst-nb's toggle summary, labelled for assistive technology with words it does not show.
TOGGLE_LABEL = ' aria-label="Toggle hidden content"'


def _on_html_page_context(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and TOGGLE_LABEL in body:
        context["body"] = body.replace(f"<summary{TOGGLE_LABEL}>", "<summary>")


def setup(app: Sphinx) -> dict:
    app.connect("source-read", _on_source_read, priority=600)  # after emlab_book tags the cells
    app.connect("html-page-context", _on_html_page_context)
    app.add_js_file("emlab-a11y.js", defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
