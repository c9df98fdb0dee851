"""The instructor's workflow: student editions and grading, built on otter-grader.

The lesson notebooks in ``notebooks/`` are the instructor's edition: they hold
each exercise's solution and its tests in otter-grader's notebook format
(raw cells ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN TESTS``...).
This module wraps two otter commands:

``python -m emlab.instructor student``
    runs ``otter assign`` on every lesson and writes the student editions to
    ``student/`` (solutions replaced by ``...`` stubs, hidden tests removed) and
    the graders, which do hold the hidden tests, to ``autograder/``.
``python -m emlab.instructor grade SUBMISSIONS``
    runs ``otter run`` on every submitted notebook below ``SUBMISSIONS`` (any
    layout: ``alice/03-kmeans.ipynb`` or ``alice-03-kmeans.ipynb``) and writes one
    row per submission and one column per exercise to ``scores.csv`` (named
    ``03-kmeans:q1``... when the folder mixes lessons), and to ``feedback/`` one
    text file per submission with its points and the failed checks' messages.

``otter grade`` would run each submission in a Docker container; ``otter run``,
used here, runs it in the current Python environment, so grade on a machine
(or account) where running students' code is acceptable.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "feedback_text",
    "grade_submissions",
    "is_assignment",
    "main",
    "make_student_editions",
]

CONFIG_MARKER = "# ASSIGNMENT CONFIG"
INIT_PATTERN = re.compile(r"otter\.Notebook\(\s*[\"']([^\"']+\.ipynb)[\"']\s*\)")
QUESTION_MARKER = "# BEGIN QUESTION"
#: Added to otter's set-up cell in the student editions: how a check's result is shown.
FEEDBACK_SETUP = (
    "import emlab.feedback\n"
    "\n"
    "emlab.feedback.install()  # each check: one line with the exercise, its points, what to fix\n"
)
#: The Markdown cell above the student editions' last cell.
PROGRESS_INTRO = (
    "## Your exercises at a glance\n"
    "\n"
    "Run this cell when you have worked through the lesson: it runs every check again and lists,\n"
    "for each exercise, whether it passed, what is not right yet, and which answers your\n"
    "instructor reads by hand."
)


def _cells(path: Path) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_assignment(path: Path) -> bool:
    """Whether a notebook is in otter's assignment format (has an ``# ASSIGNMENT CONFIG`` cell)."""
    return any(
        cell["cell_type"] == "raw" and _source(cell).lstrip().startswith(CONFIG_MARKER)
        for cell in _cells(path)
    )


def _otter(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "otter", *args], cwd=cwd, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"otter {' '.join(args)} failed (exit {result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def make_student_editions(
    notebooks: list[Path], student_dir: Path, autograder_dir: Path, *, run_tests: bool = True
) -> list[Path]:
    """Write the student edition and the grader of each assignment notebook.

    Parameters
    ----------
    notebooks : list of Path
        Instructor notebooks; those without an ``# ASSIGNMENT CONFIG`` cell are skipped.
    student_dir : Path
        Receives ``NN-topic.ipynb`` for each assignment: the notebook to hand out.
    autograder_dir : Path
        Receives ``NN-topic.zip`` (otter's grader, hidden tests included) and
        ``NN-topic.ipynb`` (the solved notebook otter checked its tests on).
        Keep this folder away from students.
    run_tests : bool
        Let ``otter assign`` run every test on the solutions first (it fails if one does not pass).

    Returns
    -------
    list of Path
        The student notebooks written.
    """
    student_dir, autograder_dir = Path(student_dir), Path(autograder_dir)
    student_dir.mkdir(parents=True, exist_ok=True)
    autograder_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in map(Path, notebooks):
        if not is_assignment(notebook):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            dist = Path(tmp) / "dist"
            args = ["assign", "--no-pdfs", str(notebook.resolve()), str(dist)]
            if not run_tests:
                args.insert(1, "--no-run-tests")
            _otter(*args)
            _finish_student_edition(
                dist / "student" / notebook.name, student_dir / notebook.name, notebook
            )
            (zip_path,) = (dist / "autograder").glob("*.zip")
            shutil.copy(zip_path, autograder_dir / f"{notebook.stem}.zip")
            shutil.copy(dist / "autograder" / notebook.name, autograder_dir / notebook.name)
        written.append(student_dir / notebook.name)
    return written


def _questions_of(notebook: Path) -> tuple[list[str], list[str]]:
    """The exercises of an instructor notebook in order, and those answered in words."""
    import yaml

    names, written = [], []
    for cell in _cells(notebook):
        text = _source(cell).strip()
        if cell["cell_type"] == "raw" and text.startswith(QUESTION_MARKER):
            config = yaml.safe_load(text[len(QUESTION_MARKER) :]) or {}
            names.append(str(config["name"]))
            if config.get("manual"):
                written.append(str(config["name"]))
    return names, written


def _code_cell(source: str, cell_id: str) -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


def _finish_student_edition(source: Path, target: Path, instructor_notebook: Path) -> None:
    """Copy otter's student notebook, made ready to hand out.

    * otter's set-up cell moves below the lesson's title cell, and installs
      :mod:`emlab.feedback`, so that each ``grader.check`` shows one line: the exercise,
      its points and what to fix;
    * a last cell lists every exercise of the lesson at a glance
      (:func:`emlab.feedback.progress`).
    """
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    cells = notebook["cells"]
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code" and INIT_PATTERN.search(_source(cell)):
            cell["source"] = _source(cell).rstrip("\n") + "\n" + FEEDBACK_SETUP
            if i == 0 and len(cells) > 1 and cells[1]["cell_type"] == "markdown":
                cells[0], cells[1] = cells[1], cells[0]
            break
    names, written = _questions_of(instructor_notebook)
    if names:
        progress = f"emlab.feedback.progress(grader, {names!r}, written={written!r})"
        cells.append(
            {
                "cell_type": "markdown",
                "id": "emlab-progress-intro",
                "metadata": {},
                "source": PROGRESS_INTRO,
            }
        )
        cells.append(_code_cell(progress, "emlab-progress"))
    Path(target).write_text(
        json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


@dataclass
class Submission:
    """One submitted notebook: who sent it and which lesson it is."""

    path: Path
    student: str
    lesson: str


#: A browser's suffix for a second download of the same file ("03-kmeans (1).ipynb") and
#: JupyterLab's for a duplicated notebook ("03-kmeans-Copy1.ipynb").
COPY_SUFFIX = re.compile(r"\s*\(\d+\)|-Copy\d+")


def find_submissions(folder: Path) -> list[Submission]:
    """Every ``.ipynb`` below ``folder``, with the lesson read from its otter init cell.

    The student is the file's path below ``folder`` without the lesson's name (and
    without a browser's " (1)" or JupyterLab's "-Copy1" suffix):
    ``alice/03-kmeans.ipynb``, ``alice-03-kmeans (1).ipynb`` and
    ``alice/03-kmeans-Copy1.ipynb`` are all Alice's. Files that are not readable
    notebooks, or not student editions, are skipped with a message that names them.
    """
    folder = Path(folder)
    found = []
    for path in sorted(folder.rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        try:
            cells = _cells(path)
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
            print(f"skipping {path}: not a readable notebook ({type(error).__name__}: {error})")
            continue
        lessons = {m.group(1) for cell in cells for m in INIT_PATTERN.finditer(_source(cell))}
        if len(lessons) != 1:
            print(f"skipping {path}: not a student edition (no otter.Notebook(...) cell)")
            continue
        lesson = Path(lessons.pop()).stem
        student = COPY_SUFFIX.sub("", str(path.relative_to(folder).with_suffix("")))
        student = student.replace(lesson, "").strip("-_/ ") or path.stem
        found.append(Submission(path, student, lesson))
    return found


def _questions(tests: list[dict]) -> list[dict]:
    """The auto-graded exercises among otter's test results (not its summary of public tests)."""
    return [test for test in tests if test.get("max_score") is not None]


def score_table(graded: list[tuple[Submission, list[dict]]]) -> tuple[list[dict], list[str]]:
    """Rows and columns of ``scores.csv`` from each submission's otter test results.

    One row per submission: ``student``, ``lesson``, the points of each auto-graded
    exercise, ``total`` and ``possible`` (the auto-graded points only; written answers
    are read by hand). The exercises' columns are ``q1``, ``q2``... when every
    submission is of one lesson, and ``03-kmeans:q1``... when lessons are mixed, so
    that a column never holds two lessons' exercises.
    """
    mixed = len({submission.lesson for submission, _ in graded}) > 1
    rows, columns = [], []
    for submission, tests in graded:
        row = {"student": submission.student, "lesson": submission.lesson}
        total = possible = 0.0
        for test in _questions(tests):
            name = f"{submission.lesson}:{test['name']}" if mixed else test["name"]
            row[name] = float(test["score"])
            total += test["score"]
            possible += test["max_score"]
            if name not in columns:
                columns.append(name)
        row["total"], row["possible"] = float(total), float(possible)
        rows.append(row)
    return rows, columns


#: The last line of an exception in otter's test output: "AssertionError: your function ...".
EXCEPTION_LINE = re.compile(r"^\s*((?:\w+\.)*\w*(?:Error|Exception|Exit)): (.*)$")


#: A name the test looked up and did not find: "NameError: name 'J_final' is not defined".
UNDEFINED = re.compile(r"name '(\w+)' is not defined")


def _messages(output: str) -> list[str]:
    """The exceptions' messages in one exercise's otter output, in order.

    A message that repeats another with only its numbers changed (the same check
    on other random data, e.g. in the public and the hidden test) is given once.
    """
    messages, seen = [], set()
    for line in output.splitlines():
        match = EXCEPTION_LINE.match(line)
        if not match:
            continue
        name, message = match.groups()
        text = message if name == "AssertionError" else f"{name}: {message}"
        undefined = UNDEFINED.search(message) if name == "NameError" else None
        if undefined:  # the answer's cell stopped (or never ran) before defining it
            text = (
                f"{undefined.group(1)} is not defined when the tests run: the cell that defines"
                " it (or one above it) stopped with an error, or it was renamed; run the"
                " notebook from the top to see where"
            )
        key = re.sub(r"\d+(\.\d+)?", "#", text)
        if key not in seen:
            seen.add(key)
            messages.append(text)
    return messages


def feedback_text(submission: Submission, tests: list[dict]) -> str:
    """What a student is told about one graded notebook: the points and why any were lost.

    One line per auto-graded exercise with its points, and for an exercise that lost
    points the messages of the checks that failed (the same sentences
    ``grader.check`` showed in the notebook, e.g. "your function returned nothing:
    replace the ... with your code"), or the error that stopped it.
    """
    questions = _questions(tests)
    total = sum(test["score"] for test in questions)
    possible = sum(test["max_score"] for test in questions)
    lines = [
        f"{submission.student}, {submission.lesson}: {total:g} of {possible:g} auto-graded points",
        "(exercises marked 'not auto-graded' are read by hand)",
        "",
    ]
    for test in questions:
        lines.append(f"{test['name']}: {test['score']:g} / {test['max_score']:g}")
        if test["score"] < test["max_score"]:
            reasons = _messages(test.get("output") or "") or [
                "a test failed; run this exercise's grader.check cell to see it"
            ]
            lines += [f"    {reason}" for reason in reasons]
    return "\n".join(lines) + "\n"


def _feedback_name(submission: Submission, taken: set[str]) -> str:
    """``<student>-<lesson>.txt``, made safe as a file name and unique among ``taken``."""
    student = re.sub(r"[^\w.-]+", "_", submission.student).strip("_") or "student"
    name, copy = f"{student}-{submission.lesson}.txt", 1
    while name in taken:  # two notebooks of one student and lesson
        copy += 1
        name = f"{student}-{submission.lesson}-{copy}.txt"
    taken.add(name)
    return name


#: The first line of a feedback file (see feedback_text): how an earlier run's files are known.
FEEDBACK_HEADER = re.compile(r".*, \d\d-[\w-]+: \S+ of \S+ auto-graded points")


def _remove_old_feedback(feedback_dir: Path) -> None:
    """Delete the feedback files an earlier run wrote (and nothing else) in ``feedback_dir``."""
    for path in Path(feedback_dir).glob("*.txt"):
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().rstrip("\n")
        if FEEDBACK_HEADER.fullmatch(first):
            path.unlink()


def grade_submissions(
    folder: Path, autograder_dir: Path, output_csv: Path, feedback_dir: Path | None = None
) -> list[dict]:
    """Grade every submission below ``folder`` and write a per-exercise score table.

    Runs ``otter run`` with the lesson's grader on each submission found by
    :func:`find_submissions` and writes :func:`score_table` to ``output_csv``. With
    ``feedback_dir``, also writes each submission's :func:`feedback_text` there, as
    ``<student>-<lesson>.txt``, to hand back, after deleting the feedback files an
    earlier run left there (so that the folder holds this run's only).
    """
    if feedback_dir is not None:
        _remove_old_feedback(feedback_dir)
        Path(feedback_dir).mkdir(parents=True, exist_ok=True)
    graded, taken = [], set()
    for submission in find_submissions(folder):
        grader = Path(autograder_dir) / f"{submission.lesson}.zip"
        if not grader.exists():
            raise FileNotFoundError(
                f"no grader for {submission.lesson} in {autograder_dir}; run `make student` first"
            )
        with tempfile.TemporaryDirectory() as tmp:
            _otter("run", "--no-logo", "-a", str(grader), "-o", tmp, str(submission.path.resolve()))
            results = json.loads((Path(tmp) / "results.json").read_text())
        graded.append((submission, results["tests"]))
        if feedback_dir is not None:
            text = feedback_text(submission, results["tests"])
            path = Path(feedback_dir) / _feedback_name(submission, taken)
            path.write_text(text, encoding="utf-8")
    rows, columns = score_table(graded)
    output_csv = Path(output_csv)
    output_csv.parent.mkdir(parents=True, exist_ok=True)
    with output_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["student", "lesson", *columns, "total", "possible"], restval=""
        )
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emlab.instructor", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write student editions and graders")
    student.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    student.add_argument("--out", type=Path, default=Path("student"))
    student.add_argument("--autograder", type=Path, default=Path("autograder"))
    grade = commands.add_parser("grade", help="grade a folder of submitted notebooks")
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--autograder", type=Path, default=Path("autograder"))
    grade.add_argument("--out", type=Path, default=Path("scores.csv"))
    grade.add_argument(
        "--feedback", type=Path, default=Path("feedback"), help="one text file per submission"
    )
    args = parser.parse_args(argv)

    if args.command == "student":
        notebooks = args.notebooks or sorted(Path("notebooks").glob("[0-9][0-9]-*.ipynb"))
        written = make_student_editions(notebooks, args.out, args.autograder)
        for path in written:
            print(f"wrote {path}")
        count = f"{len(written)} student notebook{'s' * (len(written) != 1)}"
        print(f"{count} in {args.out}/, graders in {args.autograder}/")
    else:
        rows = grade_submissions(args.submissions, args.autograder, args.out, args.feedback)
        count = f"{len(rows)} submission{'s' * (len(rows) != 1)}"
        print(f"graded {count}; scores in {args.out}, feedback in {args.feedback}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
