"""The instructor's workflow: student editions and grading, built on otter-grader.

The lesson notebooks in ``notebooks/`` are the instructor's edition: they hold
each exercise's solution and its tests in otter-grader's notebook format
(raw cells ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN TESTS``...).

``python -m emlab.instructor student``
    runs ``otter assign`` on every lesson and writes the student editions to
    ``student/`` (solutions replaced by ``...`` stubs, hidden tests removed) and
    the graders, which do hold the hidden tests, to ``autograder/``: otter's
    Gradescope zip (with the ``emlab`` wheel added), the solved notebook, and the
    list of the lesson's questions.
``python -m emlab.instructor grade SUBMISSIONS``
    grades every file below ``SUBMISSIONS`` with :mod:`emlab.grading`: each notebook
    runs in a sandbox (:mod:`emlab.sandbox`), its tests in a process of their own,
    and ``scores.csv``, ``feedback/`` and ``written/`` receive the results.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from emlab.grading import (
    INIT_PATTERN,
    feedback_text,
    grade_folder,
)
from emlab.sandbox import Limits, SandboxUnavailable

__all__ = [
    "feedback_text",
    "grade_submissions",
    "is_assignment",
    "main",
    "make_student_editions",
]

CONFIG_MARKER = "# ASSIGNMENT CONFIG"
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
    notebooks: list[Path],
    student_dir: Path,
    autograder_dir: Path,
    *,
    run_tests: bool = True,
    wheel: Path | None = None,
) -> list[Path]:
    """Write the student edition and the grader of each assignment notebook.

    Parameters
    ----------
    notebooks : list of Path
        Instructor notebooks; those without an ``# ASSIGNMENT CONFIG`` cell are skipped.
    student_dir : Path
        Receives ``NN-topic.ipynb`` for each assignment: the notebook to hand out.
    autograder_dir : Path
        Receives ``NN-topic.zip`` (otter's grader, hidden tests included, which also
        serves as the Gradescope autograder: it installs ``emlab`` from the wheel it
        holds), ``NN-topic.ipynb`` (the solved notebook otter checked its tests on) and
        ``NN-topic.questions.json`` (each question's name, points, and whether it is a
        written answer). Keep this folder away from students.
    run_tests : bool
        Let ``otter assign`` run every test on the solutions first (it fails if one does not pass).
    wheel : Path, optional
        The ``emlab`` wheel for the Gradescope zip (``make wheel``); by default one is
        built from the source tree this package was imported from.

    Returns
    -------
    list of Path
        The student notebooks written.
    """
    student_dir, autograder_dir = Path(student_dir), Path(autograder_dir)
    student_dir.mkdir(parents=True, exist_ok=True)
    autograder_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as wheel_dir:
        for notebook in map(Path, notebooks):
            if not is_assignment(notebook):
                continue
            wheel = wheel or _build_wheel(Path(wheel_dir))
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
                _with_wheel(zip_path, autograder_dir / f"{notebook.stem}.zip", wheel)
                shutil.copy(dist / "autograder" / notebook.name, autograder_dir / notebook.name)
            questions = autograder_dir / f"{notebook.stem}.questions.json"
            questions.write_text(json.dumps(_questions_of(notebook), indent=1) + "\n")
            written.append(student_dir / notebook.name)
    return written


def _questions_of(notebook: Path) -> list[dict]:
    """Each question's ``name``, ``points`` and ``manual`` flag, and a written one's prompt."""
    import yaml  # otter's own dependency

    questions, cells = [], _cells(notebook)
    for index, cell in enumerate(cells):
        text = _source(cell).strip()
        if cell["cell_type"] != "raw" or not text.startswith("# BEGIN QUESTION"):
            continue
        config = yaml.safe_load(text.removeprefix("# BEGIN QUESTION")) or {}
        question = {
            "name": str(config.get("name")),
            "points": config.get("points"),
            "manual": bool(config.get("manual", False)),
        }
        if question["manual"]:
            prompt = next((c for c in cells[index + 1 :] if c["cell_type"] == "markdown"), None)
            question["prompt"] = _source(prompt).strip() if prompt else ""
        questions.append(question)
    return questions


def _build_wheel(folder: Path) -> Path:
    """``emlab``'s wheel, built (as ``make wheel`` does) from a copy of its source tree."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").exists():
        raise FileNotFoundError(
            "no emlab source tree to build the wheel from: pass --wheel dist/emlab_course-*.whl (make wheel writes it)"
        )
    source = folder / "source"
    shutil.copytree(root / "emlab", source / "emlab", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).exists():
            shutil.copy(root / name, source / name)
    build = ["wheel", "--no-deps", "--quiet", "-w", str(folder)]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = folder.glob("emlab_course-*.whl")  # the distribution is emlab-course
    return wheel


def _with_wheel(source: Path, target: Path, wheel: Path) -> None:
    """Copy otter's grader zip, adding ``emlab``'s wheel to the environment it installs.

    Gradescope builds the grading image from the zip's ``environment.yml``, whose pip
    list names otter-grader alone: the wheel (and through it numpy, scipy and the other
    dependencies) joins it, installed from ``/autograder/source`` where Gradescope
    unpacks the zip.
    """
    import yaml  # otter's own dependency

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as updated:
        for item in original.infolist():
            data = original.read(item.filename)
            if item.filename == "environment.yml":
                environment = yaml.safe_load(data)
                for dependency in environment["dependencies"]:
                    if isinstance(dependency, dict) and "pip" in dependency:
                        dependency["pip"].append(f"/autograder/source/{wheel.name}")
                data = yaml.safe_dump(environment, sort_keys=False).encode()
            updated.writestr(item, data)
        updated.write(wheel, wheel.name)


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

    * otter's set-up cell moves below the lesson's title cell; it finds the notebook when a
      browser or JupyterLab renamed it (:func:`_find_renamed_handout`), and installs
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
    _find_renamed_handout(cells)
    questions = _questions_of(instructor_notebook)
    if questions:
        names = [question["name"] for question in questions]
        written = [question["name"] for question in questions if question["manual"]]
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


def _find_renamed_handout(cells: list[dict]) -> None:
    """Let otter's set-up cell find the notebook if a browser or JupyterLab renamed it.

    ``otter.Notebook("03-kmeans.ipynb")`` becomes
    ``otter.Notebook(handout_file("03-kmeans.ipynb"))`` (see
    :func:`emlab.grading.handout_file`), so the checks work in ``03-kmeans (1).ipynb``.
    """
    for cell in cells:
        source = _source(cell)
        if cell["cell_type"] == "code" and INIT_PATTERN.search(source):
            source = re.sub(
                r"otter\.Notebook\(\s*([\"'][^\"']+\.ipynb[\"'])\s*\)",
                r"otter.Notebook(handout_file(\1))",
                source,
            )
            source = source.replace(
                "import otter\n", "import otter\nfrom emlab.grading import handout_file\n", 1
            )
            cell["source"] = source
            return


def grade_submissions(
    folder: Path,
    autograder_dir: Path,
    output_csv: Path,
    feedback_dir: Path | None = None,
    written_dir: Path | None = None,
    **options,
) -> list[dict]:
    """Grade every file below ``folder``: see :func:`emlab.grading.grade_folder`."""
    return grade_folder(folder, autograder_dir, output_csv, feedback_dir, written_dir, **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m emlab.instructor", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write student editions and graders")
    student.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    student.add_argument("--out", type=Path, default=Path("student"))
    student.add_argument("--autograder", type=Path, default=Path("autograder"))
    student.add_argument(
        "--wheel", type=Path, help="emlab's wheel for the Gradescope zips (default: build one)"
    )
    grade = commands.add_parser(
        "grade",
        help="grade a folder of submitted notebooks",
        description="Grade every file below SUBMISSIONS, each notebook in a sandbox of its own; "
        "merge the results into scores.csv, feedback/ and written/.",
    )
    defaults = Limits()
    grade.add_argument("submissions", type=Path)
    grade.add_argument("--autograder", type=Path, default=Path("autograder"))
    grade.add_argument("--out", type=Path, default=Path("scores.csv"))
    grade.add_argument(
        "--feedback", type=Path, default=Path("feedback"), help="one text file per student"
    )
    grade.add_argument(
        "--written", type=Path, default=Path("written"), help="written answers, one file a lesson"
    )
    grade.add_argument(
        "--time-limit",
        type=float,
        default=defaults.time,
        help=f"seconds per submission, all cells and tests (default {defaults.time:g})",
    )
    grade.add_argument(
        "--cell-time-limit",
        type=float,
        default=defaults.cell_time,
        help=f"seconds per cell before it is interrupted (default {defaults.cell_time:g})",
    )
    grade.add_argument(
        "--memory-limit",
        type=float,
        default=defaults.memory / 2**30,
        help=f"GiB of memory per submission (default {defaults.memory / 2**30:g})",
    )
    grade.add_argument(
        "--jobs", type=int, default=None, help="submissions at once (default: one per core)"
    )
    grade.add_argument(
        "--fresh",
        action="store_true",
        help="replace scores.csv, feedback/ and written/ instead of merging into them",
    )
    grade.add_argument(
        "--no-sandbox",
        action="store_true",
        help="grade without isolation if no sandbox is found (only for code you trust)",
    )
    args = parser.parse_args(argv)

    if args.command == "student":
        notebooks = args.notebooks or sorted(Path("notebooks").glob("[0-9][0-9]-*.ipynb"))
        written = make_student_editions(notebooks, args.out, args.autograder, wheel=args.wheel)
        for path in written:
            print(f"wrote {path}")
        count = f"{len(written)} student notebook{'s' * (len(written) != 1)}"
        print(f"{count} in {args.out}/, graders in {args.autograder}/")
        return 0
    limits = Limits(
        time=args.time_limit,
        cell_time=min(args.cell_time_limit, args.time_limit),
        memory=int(args.memory_limit * 2**30),
    )
    try:
        rows = grade_submissions(
            args.submissions,
            args.autograder,
            args.out,
            args.feedback,
            args.written,
            limits=limits,
            jobs=args.jobs,
            fresh=args.fresh,
            allow_unsafe=args.no_sandbox,
        )
    except SandboxUnavailable as error:
        print(f"not grading: {error}", file=sys.stderr)
        return 3
    count = f"{len(rows)} file{'s' * (len(rows) != 1)}"
    print(f"{count} accounted for; scores in {args.out}, feedback in {args.feedback}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
