"""A student reads each check's result at a glance: the exercise, its points, one sentence.

Two levels. First, otter's own test files run in this process on typical answers to lesson 00's
exercises (right, wrong shape, off by a factor, unnormalised, underflow, a name never defined, an
exception inside the student's function), and :func:`emlab.feedback.summary_line` turns each
result into one line. Then every lesson's student edition runs in a real kernel, with its answers
filled in as a student might (left as stubs, never defined, raising, right), and every check cell
must show exactly such a line, in HTML and in plain text, with no doctest transcript, traceback
or file path.
"""

import ast
import html
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from emlab import checks, datasets, feedback, instructor

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(
    p for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb") if instructor.is_assignment(p)
)
#: What must never reach a student: doctest's and Python's transcript words, and file paths.
LEAKS = re.compile(
    r"Traceback|doctest|Failed example|Expecting nothing|\*{10}|File \"|\.py\b|/(tmp|work|root|usr|home)/"
)
STUB = re.compile(r"(=|^\s*)\s*\.\.\.\s*$", re.M)


def _ok_test(name: str, points: float, *codes: str):
    """An otter test file as ``otter assign`` writes it into a student edition's metadata."""
    from otter.test_files.ok_test import OKTestFile

    cases = [{"code": f">>> {code}\n", "hidden": False, "locked": False} for code in codes]
    suite = {"cases": cases, "scored": True, "setup": "", "teardown": "", "type": "doctest"}
    return OKTestFile.from_metadata(
        {"name": name, "points": points, "suites": [suite]}, "00-exercises.ipynb"
    )


def _naive_resp(log_joint):
    unnormalized = np.exp(log_joint)
    return unnormalized / unnormalized.sum(axis=1, keepdims=True)


def _buggy_resp(log_joint):
    shifted = log_joint - log_joint.max(axis=1, keepdims=True)
    return shifted[:, 99]  # an IndexError in the student's own code


HEIGHTS = datasets.heights()
Q1 = "checks.responsibilities_from_log_joint(resp_from_log_joint)"
Q2 = "checks.mle_sigma(sigma_hat, heights)"
CASES = {
    "right": ("q2", Q2, {"sigma_hat": np.std(HEIGHTS)}, "q2 (1 point): passed."),
    "off by a factor": (
        "q2",
        Q2,
        {"sigma_hat": np.std(HEIGHTS, ddof=1)},
        "q2 (1 point): sigma_hat is off by a factor of 1.0005. That is sqrt(n / (n - 1)): "
        "you divided by n - 1, the MLE divides by n.",
    ),
    "never defined": (
        "q2",
        Q2,
        {},
        "q2 (1 point): sigma_hat is not defined when the check runs: run the cell that defines "
        "it, and the cells above it, then the check again.",
    ),
    "wrong shape": (
        "q1",
        Q1,
        {"resp_from_log_joint": lambda log_joint: _naive_resp(log_joint).T},
        "q1 (2 points): resp has shape",
    ),
    "unnormalised": (
        "q1",
        Q1,
        {"resp_from_log_joint": lambda log_joint: np.exp(log_joint)},
        "q1 (2 points): resp should sum to 1 along axis 1",
    ),
    "underflow": (
        "q1",
        Q1,
        {"resp_from_log_joint": _naive_resp},
        "q1 (2 points): resp for far-away points contains NaN. A 0/0 or inf - inf happened",
    ),
    "exception in the student's function": (
        "q1",
        Q1,
        {"resp_from_log_joint": _buggy_resp},
        "q1 (2 points): your function raised IndexError at line 3 of _buggy_resp "
        "(`return shifted[:, 99]",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_result_is_one_line_with_the_exercise_its_points_and_the_sentence(case):
    name, code, answer, expected = CASES[case]
    test_file = _ok_test(name, 2 if name == "q1" else 1, code)
    test_file.run({"checks": checks, "np": np, "heights": HEIGHTS, **answer})
    line = feedback.summary_line(test_file)
    assert line.startswith(expected)
    assert "\n" not in line and not LEAKS.search(line), line
    shown = feedback._html(line)
    assert shown.startswith('<div class="emlab-check" role="status"')
    assert f"<strong>{name} (" in shown and not LEAKS.search(html.unescape(shown))


def test_a_student_error_says_it_is_their_code_and_what_to_do():
    test_file = _ok_test("q1", 2, Q1)
    test_file.run({"checks": checks, "resp_from_log_joint": _buggy_resp})
    line = feedback.summary_line(test_file)
    assert "That is an error in your own code: fix it, run its cell again" in line


def test_partial_credit_and_repeated_sentences():
    # two cases of one exercise, one right and one wrong: half the points, one sentence
    test_file = _ok_test("q2", 2, Q2, "checks.mle_sigma(sigma_hat * 2, heights)")
    test_file.run({"checks": checks, "heights": HEIGHTS, "sigma_hat": np.std(HEIGHTS)})
    assert feedback.summary_line(test_file).startswith("q2 (1 of 2 points): sigma_hat is not")
    # the same check failing twice on other numbers is said once
    twice = _ok_test("q2", 1, Q2, Q2)
    twice.run({"checks": checks, "heights": HEIGHTS, "sigma_hat": np.std(HEIGHTS) * 1.5})
    assert feedback.summary_line(twice).count("sigma_hat") == 1


def test_sentences_reads_otters_grading_output_too():
    # results.json's "output" for an exercise: the summary otter prints, indented
    test_file = _ok_test("q2", 1, Q2)
    test_file.run({"checks": checks, "heights": HEIGHTS, "sigma_hat": np.std(HEIGHTS, ddof=1)})
    said = feedback.sentences(test_file.summary())
    assert said == [
        "sigma_hat is off by a factor of 1.0005. That is sqrt(n / (n - 1)): you divided by "
        "n - 1, the MLE divides by n."
    ]
    assert feedback.sentences("") == []
    assert feedback.sentences("NameError: name 'J' is not defined")[0].startswith("J is not")
    # the grading feedback files say the same sentences
    from emlab import grading

    assert grading.sentences is feedback.sentences


def test_install_outside_ipython_does_nothing():
    assert feedback.install() is None


# --- every lesson's student edition, run in a kernel --------------------------------------------


def _solutions(solved: dict) -> dict[str, str]:
    """The solved notebook's code cells, by their first line (the hint or the ``def``)."""
    found = {}
    for cell in solved["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            found.setdefault(source.splitlines()[0] if source else "", source)
    return found


def _raising(source: str) -> str:
    """A function stub whose body raises, as a student's buggy function would."""
    tree = ast.parse(source)
    if not any(isinstance(node, ast.FunctionDef) for node in tree.body):
        return re.sub(STUB, r'\1 "not a number"', source)
    return re.sub(
        r"^(\s+)\.\.\.\s*$", r'\1raise ValueError("a bug in my code")', source, flags=re.M
    )


def _answered_as_a_student_might(student: Path, solved: Path) -> tuple[nbformat.NotebookNode, dict]:
    """The student edition with its answer cells filled in four ways, in turn."""
    notebook = nbformat.read(student, as_version=4)
    solutions = _solutions(json.loads(solved.read_text()))
    ways, chosen = ["right", "raises", "never defined", "left as a stub"], {}
    answers = [
        c
        for c in notebook.cells
        if c.cell_type == "code" and STUB.search(c.source) and "grader" not in c.source
    ]
    for i, cell in enumerate(answers):
        way = ways[(i + LESSONS.index(ROOT / "notebooks" / student.name)) % len(ways)]
        solution = solutions.get(cell.source.splitlines()[0])
        if way == "right" and solution and not STUB.search(solution):
            cell.source = solution
        elif way == "raises":
            cell.source = _raising(cell.source)
        elif way == "never defined":
            cell.source = "# (this answer's cell was never run)"
        else:
            way = "left as a stub"
        chosen[i] = way
    return notebook, chosen


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    if not LESSONS:
        pytest.skip("no lesson has exercises yet")
    out = tmp_path_factory.mktemp("feedback-editions")
    instructor.make_student_editions(LESSONS, out / "student", out / "autograder", run_tests=False)
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_check_cell_of_a_student_edition_shows_one_plain_line(editions, lesson):
    student = editions / "student" / lesson.name
    notebook, chosen = _answered_as_a_student_might(student, editions / "autograder" / lesson.name)
    assert chosen, f"{lesson.name} has no answer cells"
    NotebookClient(
        notebook,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(editions / "student")}},
    ).execute()
    shown = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or not cell.source.startswith("grader.check("):
            continue
        name = re.match(r"grader\.check\(\s*[\"'](\w+)", cell.source).group(1)
        (output,) = cell.outputs
        assert output.output_type == "execute_result", f"{lesson.name} {name}: {output}"
        plain, rich = output.data["text/plain"], output.data["text/html"]
        assert re.match(rf"{name} \(\d+(\.\d+)? points?\): \S", plain), plain
        assert re.match(rf'<div class="emlab-check" role="status"[^>]*><strong>{name} \(', rich)
        assert not LEAKS.search(plain) and not LEAKS.search(html.unescape(rich)), plain
        shown.append(plain)
    assert shown, f"{lesson.name}: no check cell ran"
    progress = notebook.cells[-1]
    assert progress.source.startswith("emlab.feedback.progress(grader")
    (output,) = progress.outputs
    summary = output.data["text/plain"].splitlines()
    questions = instructor._questions_of(lesson)
    names = [question["name"] for question in questions]
    written = {question["name"] for question in questions if question["manual"]}
    assert summary[0] == "Your exercises in this lesson:"
    assert [line.split(" ")[0].rstrip(":") for line in summary[1:-1]] == names
    assert summary[-1].startswith("Auto-graded so far: ")
    for line, name in zip(summary[1:-1], names, strict=True):
        if name in written:
            assert line == f"{name}: a written answer, read by your instructor."
        else:
            assert re.match(rf"{name} \([^)]*\): (passed\.|not yet: \S)", line), line
    assert not LEAKS.search(output.data["text/plain"])


def test_lesson_00s_typical_wrong_answers_are_named_in_the_notebook(editions):
    lesson = ROOT / "notebooks" / "00-exercises.ipynb"
    if lesson not in LESSONS:
        pytest.skip("lesson 00 has no exercises")
    notebook = nbformat.read(editions / "student" / lesson.name, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "sigma_hat = ..." in cell.source:
            cell.source = "sigma_hat = np.std(heights, ddof=1)"
        elif cell.cell_type == "code" and "def resp_from_log_joint" in cell.source:
            cell.source = (
                "def resp_from_log_joint(log_joint):\n"
                "    unnormalized = np.exp(log_joint)\n"
                "    return unnormalized / unnormalized.sum(axis=1, keepdims=True)"
            )
    NotebookClient(
        notebook,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(editions / "student")}},
    ).execute()
    checks_shown = {
        cell.source: cell.outputs[0].data["text/plain"]
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.source.startswith("grader.check(")
    }
    assert checks_shown['grader.check("q1")'].startswith(
        "q1 (2 points): resp for far-away points contains NaN"
    )
    assert checks_shown['grader.check("q2")'].startswith(
        "q2 (1 point): sigma_hat is off by a factor of 1.0005"
    )


def test_the_student_editions_are_answered_in_all_four_ways(editions):
    ways = set()
    for lesson in LESSONS:
        _, chosen = _answered_as_a_student_might(
            editions / "student" / lesson.name, editions / "autograder" / lesson.name
        )
        ways |= set(chosen.values())
    assert ways == {"right", "raises", "never defined", "left as a stub"}
