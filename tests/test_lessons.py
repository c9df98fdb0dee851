"""Every lesson is one sitting: the budget, the opening and the closing a lesson promises.

The budget (``../shared/course-style.md``): at most 2,800 words of prose, 30 code cells and
1,800 characters in one prose cell. Words are counted as the team's before-stop hook counts them:
the Markdown cells' words, with each inline formula ``$...$`` counted as one word.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
MAX_WORDS, MAX_CODE_CELLS, MAX_PROSE_CELL = 2800, 30, 1800


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _prose(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown"]


def lesson_size(path: Path) -> tuple[int, int, int]:
    """(words of prose, code cells, characters in the longest prose cell) of one lesson."""
    prose = _prose(path)
    words = sum(len(re.sub(r"\$[^$]*\$", " x ", cell).split()) for cell in prose)
    code_cells = sum(c["cell_type"] == "code" for c in _cells(path))
    return words, code_cells, max((len(cell) for cell in prose), default=0)


def test_there_are_lessons():
    assert len(LESSONS) >= 10, [p.name for p in LESSONS]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_fits_one_sitting(path):
    words, code_cells, longest = lesson_size(path)
    assert words <= MAX_WORDS, f"{path.name}: {words} words of prose (at most {MAX_WORDS})"
    assert code_cells <= MAX_CODE_CELLS, f"{path.name}: {code_cells} code cells"
    assert longest <= MAX_PROSE_CELL, f"{path.name}: a prose cell of {longest} characters"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_opens_with_what_it_teaches_builds_on_and_takes(path):
    opening = _prose(path)[0]
    assert opening.startswith(f"# {path.name[:2]} · "), "the title starts with the lesson's number"
    for heading in ("What you will learn", "What it builds on", "Time"):
        assert f"**{heading}" in opening, f"{path.name}'s first cell has no **{heading}**"
    assert re.search(r"\*\*Time[^*]*\*\*[^\n]*\d+ min", opening), "the time is stated in minutes"
    assert "notation.md" in opening, "the first cell links the notation page"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_ends_with_summary_exercises_and_further_reading(path):
    headings = [
        line.lstrip("#").strip()
        for cell in _prose(path)
        for line in cell.splitlines()
        if line.startswith("## ")
    ]
    for heading in ("Summary", "Further reading"):
        assert heading in headings, f"{path.name} has no '## {heading}' section"
    if path.name[:2] != "00":  # lesson 00 is about the exercises themselves
        assert "Exercises" in headings, f"{path.name} has no '## Exercises' section"
    reading = "\n".join(_prose(path)).split("## Further reading", 1)[1]
    references = [line for line in reading.splitlines() if line.startswith(("* ", "- "))]
    assert 2 <= len(references) <= 4, f"{path.name}: {len(references)} references (2 to 4)"
