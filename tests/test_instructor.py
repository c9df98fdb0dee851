"""The instructor's workflow end to end: student editions leak nothing, stubs fail, solutions pass.

These tests run otter-grader for real on every lesson that has exercises, so they take a minute.
"""

import csv
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from emlab import grading, instructor
from emlab.sandbox import SandboxUnavailable, detect

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(
    p for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb") if instructor.is_assignment(p)
)
MARKER = re.compile(r"#\s*(BEGIN|END) (SOLUTION|TESTS?|QUESTION|TEST CONFIG)|#\s*SOLUTION\s*$")


def _source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _blocks(path):
    """Split an instructor notebook's cells into solution lines, hidden-test lines and the rest."""
    solution, hidden, other = [], [], []
    region = None
    for cell in json.loads(path.read_text())["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "raw":
            head = text.strip().splitlines()[0] if text.strip() else ""
            region = {"# BEGIN SOLUTION": "solution", "# BEGIN TESTS": "tests"}.get(head, region)
            if head in ("# END SOLUTION", "# END TESTS"):
                region = None
            continue
        in_solution = region == "solution"
        inline = False
        code = cell["cell_type"] == "code"
        for line in text.splitlines():
            stripped = line.strip()
            if code and re.fullmatch(r"#\s*BEGIN SOLUTION", stripped):
                inline = True
                continue
            if code and re.fullmatch(r"#\s*END SOLUTION", stripped):
                inline = False
                continue
            if region == "tests" and "hidden: true" in text:
                hidden.append(stripped)
            elif (in_solution and not code) or inline or (code and stripped.endswith("# SOLUTION")):
                solution.append(re.sub(r"\s*#\s*SOLUTION$", "", stripped))
            else:
                other.append(stripped)
    meaningful = {line for line in other}

    def keep(lines):
        return [
            line
            for line in lines
            if line
            and not line.startswith("#")
            and not MARKER.search(line)
            and line not in meaningful
            and not line.startswith('"""')
        ]

    return keep(solution), keep(hidden)


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    if not LESSONS:
        pytest.skip("no lesson has exercises yet")
    out = tmp_path_factory.mktemp("editions")
    written = instructor.make_student_editions(LESSONS, out / "student", out / "autograder")
    assert [p.name for p in written] == [p.name for p in LESSONS]
    return out


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_student_edition_has_no_solution_and_no_hidden_test(editions, lesson):
    solution, hidden = _blocks(lesson)
    assert solution, "every lesson with exercises has solution lines"
    student_text = (editions / "student" / lesson.name).read_text()
    student_lines = {
        line.strip()
        for cell in json.loads(student_text)["cells"]
        for line in _source(cell).splitlines()
    }
    leaked = [line for line in solution + hidden if line in student_lines]
    assert leaked == [], f"{lesson.name}: lines of solutions or hidden tests in the student edition"
    student_code = "".join(
        _source(c) for c in json.loads(student_text)["cells"] if c["cell_type"] != "markdown"
    )
    assert "TEST CONFIG" not in student_code and "hidden: true" not in student_code
    assert "BEGIN SOLUTION" not in student_code and "BEGIN QUESTION" not in student_code


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_student_edition_runs_until_the_first_unsolved_exercise(editions, lesson):
    path = editions / "student" / lesson.name
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    code = [c for c in notebook.cells if c.cell_type == "code"]
    first_stub = next(
        i for i, c in enumerate(code) if re.search(r"(=|^\s*)\s*\.\.\.\s*$", c.source, re.M)
    )
    first_error = next(
        (i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)),
        len(code),
    )
    assert first_error > first_stub, f"{lesson.name}: crashed before the first exercise"
    # every check cell of an unsolved exercise reports a failure instead of crashing
    for cell in code:
        if cell.source.startswith("grader.check("):
            text = json.dumps([o for o in cell.outputs])
            assert "error" not in [o.output_type for o in cell.outputs] or "Error" in text


def test_grading_a_folder_scores_stubs_zero_and_solutions_full(editions, tmp_path):
    submissions = tmp_path / "submissions"
    for lesson in LESSONS:
        (submissions / "stub-student").mkdir(parents=True, exist_ok=True)
        shutil.copy(editions / "student" / lesson.name, submissions / "stub-student" / lesson.name)
        shutil.copy(editions / "autograder" / lesson.name, submissions / f"model-{lesson.name}")
    table = tmp_path / "scores.csv"
    feedback = tmp_path / "feedback"
    # these are the course's own notebooks: where this machine has no sandbox, they are graded
    # without one (tests/test_grading.py tests the isolation, and skips there, saying so)
    try:
        sandbox = detect()
    except SandboxUnavailable:
        sandbox = detect(allow_unsafe=True)
    instructor.grade_submissions(
        submissions, editions / "autograder", table, feedback, sandbox=sandbox
    )
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == 2 * len(LESSONS)
    for lesson in LESSONS:  # one feedback file per submission
        stub = (feedback / f"stub-student-{lesson.stem}.txt").read_text()
        model = (feedback / f"model-{lesson.stem}.txt").read_text()
        assert stub.startswith(f"stub-student, {lesson.stem}: 0 of ")
        assert "replace the ..." in stub  # the checks' own words, as grader.check showed them
        assert "\n    " not in model  # full points: no reasons
        points = re.search(r": (\S+) of (\S+) auto-graded", model)
        assert points and points.group(1) == points.group(2), model
    for row in rows:
        # the folder mixes lessons, so each exercise's column names its lesson
        questions = [k for k in row if re.fullmatch(r"\d\d-[a-z0-9-]+:q\d+", k) and row[k] != ""]
        assert questions, "one column per auto-graded exercise"
        assert all(q.startswith(row["lesson"] + ":") for q in questions), row
        if row["student"] == "stub-student":
            assert all(float(row[q]) == 0 for q in questions), row
            assert float(row["total"]) == 0
        else:
            assert row["student"] == "model", row
            assert float(row["total"]) == float(row["possible"]) > 0, row


def test_scores_name_columns_by_lesson_only_when_lessons_are_mixed(tmp_path):
    def entry(student, lesson, scores):
        graded = grading.Entry(Path(f"{student}.ipynb"), f"{student}.ipynb", student, lesson)
        graded.status = "graded"
        graded.tests = [
            {"name": f"q{i}", "score": got, "max_score": most, "output": ""}
            for i, (got, most) in enumerate(scores, 1)
        ]
        return grading._row(graded, tmp_path)

    table = tmp_path / "scores.csv"
    grading._write_scores([entry("alice", "03-kmeans", [(2, 2), (0, 1)])], table, fresh=True)
    assert list(csv.DictReader(table.open())) == [
        {
            "student": "alice",
            "lesson": "03-kmeans",
            "status": "graded",
            "file": "alice.ipynb",
            "q1": "2.0",
            "q2": "0.0",
            "total": "2.0",
            "possible": "3.0",
            "superseded": "",
            "notes": "",
        }
    ]
    grading._write_scores([entry("bob", "04-two-coins", [(1, 3)])], table, fresh=False)
    header = next(csv.reader(table.open()))
    assert header[4:7] == ["03-kmeans:q1", "03-kmeans:q2", "04-two-coins:q1"]
    bob = list(csv.DictReader(table.open()))[1]
    assert (bob["04-two-coins:q1"], bob["03-kmeans:q1"], bob["total"]) == ("1.0", "", "1.0")


def test_feedback_names_each_exercise_and_why_it_lost_points():
    output = """q2 results:
    q2 - 1 result:
        Exception raised:
            Traceback (most recent call last):
              File "checks.py", line 1188, in _kmeans_as_numbers
                raise AssertionError(
            AssertionError: your centroids have shape (2, 3); expected (3, 2).
    q2 - 2 result:
            AssertionError: your centroids have shape (4, 3); expected (3, 4).
"""
    tests = [
        {"name": "Public Tests", "output": "...", "status": "failed"},
        {"name": "q1", "score": 2, "max_score": 2.0, "output": ""},
        {"name": "q2", "score": 0, "max_score": 2.0, "output": output},
        {
            "name": "q3",
            "score": 0,
            "max_score": 1.0,
            "output": "NameError: name 'J' is not defined",
        },
        {"name": "q4", "score": 0.5, "max_score": 1.0, "output": None},
    ]
    alice = grading.Submission(Path("a.ipynb"), "alice", "03-kmeans")
    text = grading.feedback_text(alice, tests)
    assert text.splitlines() == [
        "alice, 03-kmeans: 2.5 of 6 auto-graded points",
        "(exercises marked 'not auto-graded' are read by hand)",
        "",
        "q1: 2 / 2",
        "q2: 0 / 2",
        "    your centroids have shape (2, 3); expected (3, 2).",  # once: the same check twice
        "q3: 0 / 1",
        "    J is not defined when the check runs: run the cell that defines it, and the cells"
        " above it, then the check again.",
        "q4: 0.5 / 1",
        "    a test failed; run this exercise's grader.check cell to see it",
    ]
    taken = set()
    bob = grading.Submission(Path("b.ipynb"), "section 2/bob", "03-kmeans")
    names = [grading._feedback_name(s, taken) for s in (alice, bob, bob)]
    assert names == [
        "alice-03-kmeans.txt",
        "section_2_bob-03-kmeans.txt",
        "section_2_bob-03-kmeans-2.txt",
    ]


def test_a_new_grading_run_replaces_the_old_feedback_files_only(tmp_path):
    alice = grading.Submission(Path("a.ipynb"), "alice", "03-kmeans")
    old = tmp_path / "alice-03-kmeans.txt"
    old.write_text(grading.feedback_text(alice, [{"name": "q1", "score": 1, "max_score": 2}]))
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes, not feedback\n")
    grading._remove_old_feedback(tmp_path)
    assert not old.exists() and notes.exists()
    grading._remove_old_feedback(tmp_path / "not-there")  # nothing to remove: no error
