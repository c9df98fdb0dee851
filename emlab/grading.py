"""Grading a class: every submission in a sandbox, the tests in a process of their own.

For each submitted notebook (:func:`grade_folder`):

1. its code cells run in a sandbox (:mod:`emlab.sandbox`) that holds a copy of the
   notebook and of the ``emlab`` package and nothing of the grader's: no tests, no
   solutions, no other submission, no network, with time and memory limits;
2. the lesson's tests (public and hidden, from ``autograder/NN-topic.zip``) run in a fresh
   Python process outside the sandbox, one the student's code never ran in. Each name a
   test uses is asked of the sandbox (:mod:`emlab.sandbox_worker`) and crosses as data
   (numbers, arrays, lists); a function the student wrote stays in the sandbox, and the
   tests call it there through a stand-in that sends the arguments and receives the result
   as data. So the checks that compute the score are the grader's own ``emlab.checks``:
   student code can change what its functions return, and nothing else.

Then it writes ``scores.csv`` (one row per student and lesson, merged into the rows an
earlier run wrote), ``feedback/<student>-NN-topic.txt`` and, for the written answers,
``written/NN-topic.md``.

The ``python -m emlab.grading JOB RESULT`` entry point is the test process of step 2.
"""

from __future__ import annotations

import ast
import builtins
import compileall
import contextlib
import csv
import doctest
import importlib
import io
import json
import linecache
import os
import re
import resource
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import types
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emlab import sandbox_worker
from emlab.feedback import sentences
from emlab.sandbox import Limits, Sandbox, detect, kill

__all__ = ["Entry", "find_entries", "grade_folder", "handout_file"]

INIT_PATTERN = re.compile(
    r"otter\.Notebook\(\s*(?:handout_file\(\s*)?[\"']([^\"']+\.ipynb)[\"']\s*\)?\s*\)"
)
#: A browser's suffix for a second download of the same file ("03-kmeans (1).ipynb") and
#: JupyterLab's for a duplicated notebook ("03-kmeans-Copy1.ipynb").
COPY_SUFFIX = re.compile(r"\s*\(\d+\)|-Copy\d+")
#: Modules a test may use under the name the notebook gave them (the grader imports its own).
TRUSTED_PACKAGES = {"emlab", "numpy", "scipy", "sklearn", "math"}

# statuses of scores.csv
GRADED = "graded"
TIMEOUT = "timeout"
CRASHED = "crashed"
OUT_OF_MEMORY = "out of memory"
NOT_A_NOTEBOOK = "not a notebook"
NOT_A_SUBMISSION = "not a student edition"
NO_GRADER = "no grader"
GRADER_ERROR = "grader error"


def handout_file(name: str) -> str:
    """The file of the handout ``name`` (``"03-kmeans.ipynb"``), however it was renamed.

    The student edition's first cell passes this to ``otter.Notebook``, so that its
    ``grader.check`` cells work in a notebook a browser saved as ``03-kmeans (1).ipynb`` or
    JupyterLab copied to ``03-kmeans-Copy1.ipynb``. Tried in order: the notebook
    JupyterLab says this kernel belongs to (``JPY_SESSION_NAME``), ``name`` itself, and
    the most recently changed notebook in the working folder named ``name`` with a copy
    suffix or a prefix (``alice-03-kmeans.ipynb``).
    """
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb"):
        for candidate in (Path(session), Path.cwd() / Path(session).name):
            if candidate.is_file() and _lesson_of_name(candidate.name) == Path(name).stem:
                return str(candidate)
    if Path(name).is_file():
        return name
    stem = Path(name).stem
    matches = [p for p in Path.cwd().glob("*.ipynb") if _lesson_of_name(p.name) == stem]
    if matches:
        return max(matches, key=lambda p: (p.stat().st_mtime, p.name)).name
    return name


def _lesson_of_name(filename: str) -> str | None:
    """The lesson a notebook's file name names (``alice-03-kmeans (1).ipynb``: ``03-kmeans``)."""
    stem = COPY_SUFFIX.sub("", Path(filename).stem)
    match = re.search(r"\d\d-[A-Za-z0-9-]+$", stem)
    return match.group(0) if match else None


# ---- finding the submissions -----------------------------------------------------------


@dataclass
class Entry:
    """One file of the submissions folder and what became of it."""

    path: Path
    file: str  # the path below the submissions folder
    student: str
    lesson: str = ""
    status: str = ""
    notes: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    tests: list[dict] = field(default_factory=list)
    written: dict = field(default_factory=dict)


def _student_of(relative: Path, lesson: str) -> str:
    student = COPY_SUFFIX.sub("", str(relative.with_suffix("")))
    if lesson:
        student = student.replace(lesson, "")
    return student.strip("-_/ ") or relative.stem


def find_entries(folder: Path) -> list[Entry]:
    """Every file below ``folder`` (hidden files and checkpoints aside), with its lesson.

    A notebook's lesson is read from its ``otter.Notebook(...)`` cell; the student is the
    file's path below ``folder`` without the lesson's name and without a browser's " (1)"
    or JupyterLab's "-Copy1" suffix: ``alice/03-kmeans.ipynb``,
    ``alice-03-kmeans (1).ipynb`` and ``alice/03-kmeans-Copy1.ipynb`` are all Alice's.
    Files that are not notebooks, or not student editions, get their status here.
    """
    folder = Path(folder)
    entries = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if path.is_dir() or any(
            part.startswith(".") or part == "__MACOSX" for part in relative.parts
        ):
            continue
        entry = Entry(path, str(relative), "")
        entries.append(entry)
        if path.suffix != ".ipynb":
            entry.student, entry.status = _student_of(relative, ""), NOT_A_NOTEBOOK
            entry.notes.append(f"{path.suffix or 'no extension'}: not a notebook")
            continue
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            sources = [
                "".join(c.get("source", "")) if isinstance(c.get("source"), list) else c["source"]
                for c in cells
            ]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError) as error:
            entry.student, entry.status = _student_of(relative, ""), NOT_A_NOTEBOOK
            entry.notes.append(f"not a readable notebook ({type(error).__name__})")
            continue
        lessons = {m.group(1) for s in sources for m in INIT_PATTERN.finditer(str(s))}
        if len(lessons) != 1:
            entry.student, entry.status = _student_of(relative, ""), NOT_A_SUBMISSION
            entry.notes.append("no otter.Notebook(...) cell of a lesson")
            continue
        entry.lesson = Path(lessons.pop()).stem
        entry.student = _student_of(relative, entry.lesson)
    return entries


def _newest_first(entries: list[Entry], log) -> list[Entry]:
    """One entry per student and lesson: the newest file; the others are named in its row."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        if entry.lesson:
            groups.setdefault((entry.student, entry.lesson), []).append(entry)
    kept = [entry for entry in entries if not entry.lesson]
    for (student, lesson), group in groups.items():
        group.sort(key=lambda e: (e.path.stat().st_mtime, e.file), reverse=True)
        newest, older = group[0], group[1:]
        if older:
            newest.superseded = [e.file for e in older]
            log(
                f"warning: {student} has {len(group)} files for {lesson}; grading the newest, "
                f"{newest.file}, not {', '.join(newest.superseded)}"
            )
        kept.append(newest)
    return kept


# ---- the test process (trusted; runs no student code) -----------------------------------


class TimeLimitError(BaseException):
    """The submission's sandbox went over its time limit, or ended, while the tests ran."""


class _Channel:
    """The grader's end of the pipe to a sandbox worker, with the submission's deadline."""

    def __init__(self, process: subprocess.Popen, deadline: float):
        self.process, self.deadline = process, deadline
        self.fd_in, self.fd_out = process.stdout.fileno(), process.stdin
        self.lost: str | None = None

    def _read_exact(self, size: int) -> bytes:
        chunks, remaining = [], size
        while remaining:
            wait = self.deadline - time.monotonic()
            if wait <= 0 or not select.select([self.fd_in], [], [], wait)[0]:
                self.lost = TIMEOUT
                raise TimeLimitError("the submission went over its time limit")
            chunk = os.read(self.fd_in, min(remaining, 1 << 20))
            if not chunk:
                self.lost = self.lost or CRASHED
                raise TimeLimitError("the submission's code ended the sandbox")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def receive(self) -> dict:
        if self.lost:
            raise TimeLimitError(f"the sandbox is gone ({self.lost})")
        (size,) = struct.unpack(">Q", self._read_exact(8))
        if size > sandbox_worker.MAX_MESSAGE:
            self.lost = CRASHED
            raise TimeLimitError("the sandbox sent too much")
        message = json.loads(self._read_exact(size).decode("utf-8"))
        if not isinstance(message, dict):
            raise ValueError("not a message")
        return message

    def send(self, message: dict) -> None:
        if self.lost:
            raise TimeLimitError(f"the sandbox is gone ({self.lost})")
        try:
            sandbox_worker.write_message(self.fd_out, message)
        except (BrokenPipeError, OSError):
            self.lost = CRASHED
            raise TimeLimitError("the submission's code ended the sandbox") from None

    def call(self, ref: int, args: tuple):
        self.send({"op": "call", "ref": ref, "args": [sandbox_worker.encode(a) for a in args]})
        reply = self.receive()
        if "raise" in reply:
            error = reply["raise"]
            raised = _exception_class(str(error.get("type")))(str(error.get("message")))
            if isinstance(error.get("line"), int) and error["line"] > 0:
                # where in the student's function, for the checks' message (checks._core._where)
                text = str(error.get("text", ""))
                raised.emlab_where = (error["line"], text)
            raise raised
        return sandbox_worker.decode(reply.get("result"), self.make_callable)

    def make_callable(self, description: dict):
        return _stand_in(self, description)


def _exception_class(name: str) -> type:
    """The built-in exception of that name, or a new ``Exception`` subclass named so."""
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    safe = re.sub(r"\W", "", name) or "Error"
    return type(safe, (Exception,), {})


def _trusted(target: str):
    """The grader's own module or function ``emlab.kmeans`` / ``emlab.kmeans:assign``."""
    module_name, _, qualname = target.partition(":")
    if module_name.split(".")[0] not in TRUSTED_PACKAGES:
        return None
    try:
        found = importlib.import_module(module_name)
        for part in qualname.split(".") if qualname else []:
            found = getattr(found, part)
    except (ImportError, AttributeError, ValueError):
        return None
    return found


def _stand_in(channel: _Channel, description: dict):
    """A function that runs the student's function ``description`` in the sandbox.

    It carries the student's source (for :func:`inspect.getsource`, through
    ``__wrapped__``) and, as its globals, the grader's own copies of the emlab modules and
    functions the student's globals named, so that a check can still tell an answer that
    calls emlab's solution.
    """
    ref, name = int(description["ref"]), re.sub(r"\W", "_", str(description.get("name")))

    def call(*args):
        return channel.call(ref, args)

    namespace = {"__builtins__": builtins}
    for key, target in dict(description.get("globals") or {}).items():
        found = _trusted(str(target))
        if found is not None and isinstance(key, str):
            namespace[key] = found
    stand_in = types.FunctionType(
        call.__code__, namespace, name or "function", None, call.__closure__
    )
    source = description.get("source")
    if isinstance(source, str):
        filename = f"<submission:{name}:{ref}>"
        source = textwrap.dedent(source)
        try:
            module = compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            module = None
        codes = [c for c in (module.co_consts if module else ()) if isinstance(c, types.CodeType)]
        if codes:  # the code object only, never run: inspect reads its source from linecache
            lines = source.splitlines(keepends=True)
            linecache.cache[filename] = (len(source), None, lines, filename)
            stand_in.__wrapped__ = types.FunctionType(codes[0], {})
    return stand_in


def _names_used(test_specs: list[dict]) -> set[str]:
    """Every name the tests' code reads."""
    names = set()
    parser = doctest.DocTestParser()
    for spec in test_specs:
        for suite in spec.get("suites", []):
            for case in suite.get("cases", []):
                for example in parser.get_examples(textwrap.dedent(case["code"])):
                    try:
                        tree = ast.parse(example.source)
                    except SyntaxError:
                        continue
                    names |= {
                        n.id
                        for n in ast.walk(tree)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                    }
    return names


def _load_tests(grader: Path) -> list[dict]:
    """The OK-format test specifications in an otter grader zip, in question order."""
    specs = []
    with zipfile.ZipFile(grader) as archive:
        for name in archive.namelist():
            if re.fullmatch(r"tests/[^/]+\.py", name):
                namespace: dict = {}
                exec(archive.read(name).decode("utf-8"), namespace)  # the instructor's file
                specs.append(namespace["test"])

    def order(spec):
        digits = re.findall(r"\d+", spec["name"])
        return (int(digits[0]) if digits else 0, spec["name"])

    return sorted(specs, key=order)


def case_points(spec: dict) -> list[float]:
    """Each test case's points in an OK-format test, resolved as otter resolves them.

    ``points`` of the question may be a list (one value per case) or a total; cases with
    their own ``points`` keep them and the rest of the total is shared equally among the
    others. Without a total, a question whose cases name no points is worth 1.
    """
    cases = spec["suites"][0]["cases"]
    values = [case.get("points") for case in cases]
    total = spec.get("points")
    if isinstance(total, list):
        if len(total) != len(cases):
            raise ValueError(f"{spec['name']}: {len(total)} points for {len(cases)} test cases")
        values, total = list(total), None
    given = sum(value for value in values if value is not None)
    unset = sum(value is None for value in values)
    if total is not None:
        if given > total:
            raise ValueError(f"{spec['name']}: the cases' points add up to more than {total}")
        share = (total - given) / unset if unset else 0.0
    elif all(value in (0, None) for value in values):
        share = 1 / unset if unset else 0.0
    else:
        share = 0.0
    return [float(value if value is not None else share) for value in values]


def _passes(code: str, env: dict, name: str) -> tuple[bool, str]:
    """Run one doctest case (as otter's OK tests do); its output when it fails."""
    examples = doctest.DocTestParser().parse(textwrap.dedent(code), name)
    test = doctest.DocTest(
        [e for e in examples if isinstance(e, doctest.Example)], env, name, None, None, code
    )
    runner, output = doctest.DocTestRunner(verbose=False), io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        runner.run(test, clear_globs=False, out=output.write)
    return runner.failures == 0, output.getvalue()


def _run_tests(specs: list[dict], env: dict) -> list[dict]:
    """Each question's OK-format tests on ``env``: points per passed case (partial credit).

    The same rules as otter's ``OKTestFile`` (``tests/test_grading.py`` compares them),
    without importing otter, which takes seconds.
    """
    from emlab.checks import _core

    results = []
    for spec in specs:
        _core._DRAWS.clear()  # each question draws the same data in every run
        cases = spec["suites"][0]["cases"]
        points = case_points(spec)
        passed, outputs = [], []
        for index, case in enumerate(cases):
            ok, output = _passes(case["code"], dict(env), f"{spec['name']} {index}")
            passed.append(ok)
            if not ok:
                outputs.append(output)
        score = sum(p for p, ok in zip(points, passed, strict=True) if ok)
        if spec.get("all_or_nothing") and not all(passed):
            score = 0.0
        results.append(
            {
                "name": spec["name"],
                "score": float(score),
                "max_score": float(sum(points)),
                "output": "\n".join(outputs),
            }
        )
    return results


#: What otter puts in a written answer's cell before the student replaces it.
PLACEHOLDER = "_Type your answer here, replacing this text._"


def _written_answers(notebook: Path) -> list[str]:
    """The text of each written answer, in order: the cells between otter's question markers."""
    try:
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    answers, current = [], None
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if "<!-- END QUESTION -->" in source and current is not None:
            answers.append("\n\n".join(part for part in current if part and part != PLACEHOLDER))
            current = None
        if "<!-- BEGIN QUESTION -->" in source:
            current = []
        elif current is not None:
            current.append(source.strip())
    return answers


def grade_one(job: dict) -> dict:
    """Grade one submission: run it in the sandbox, then its tests here. Returns the result."""
    limits = Limits(**job["limits"])
    sandbox = Sandbox(**job["sandbox"])
    result = {"status": GRADED, "notes": [], "tests": []}
    specs = _load_tests(Path(job["grader"]))
    with tempfile.TemporaryDirectory(prefix="emlab-submission-") as tmp:
        Path(tmp).chmod(0o755)
        work = Path(tmp) / "work"
        work.mkdir()
        work.chmod(0o777)
        start = time.monotonic()
        argv = ["-m", "emlab.sandbox_worker", job["handout"], str(limits.cell_time)]
        files = {job["handout"]: Path(job["notebook"])}
        process = sandbox.start(work, Path(job["runtime"]), argv, limits, files)
        channel = _Channel(process, start + limits.time)

        try:
            env = {}
            try:
                ready = channel.receive()
            except (TimeLimitError, ValueError, UnicodeDecodeError):
                ready = {}
            if ready.get("event") == "ready":
                result["notes"] += _cell_notes(ready.get("errors"), limits)
                if isinstance(ready.get("cpu"), (int, float)):
                    result["cpu"] = float(ready["cpu"])  # the notebook's, as the sandbox says
                if ready.get("memory_error"):
                    result["status"] = OUT_OF_MEMORY
                try:
                    env = _namespace(channel, _names_used(specs))
                except TimeLimitError:
                    env = {}
            elif ready.get("event") == "unreadable":
                result["status"] = NOT_A_NOTEBOOK
            result["tests"] = _run_tests(specs, env)
        finally:
            kill(process)
        elapsed = time.monotonic() - start
        if channel.lost == TIMEOUT:
            result["status"] = TIMEOUT
            result["notes"].append(f"stopped after the time limit of {limits.time:g} s")
        elif channel.lost == CRASHED or (not env and result["status"] == GRADED):
            result["status"] = CRASHED
            code = process.returncode
            result["notes"].append(
                f"the notebook's process ended (exit code {code})"
                if code is not None
                else "the notebook's process ended"
            )
        result["seconds"] = round(elapsed, 1)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu"] = round(result.get("cpu", 0.0) + usage.ru_utime + usage.ru_stime, 1)
    result["written"] = _written_answers(Path(job["notebook"]))
    return result


def _cell_notes(errors, limits: Limits) -> list[str]:
    """What went wrong in the notebook's cells, as the sandbox reported it (untrusted data)."""
    notes = []
    for error in errors[:10] if isinstance(errors, list) else []:
        try:
            index, name = int(error[0]), re.sub(r"[^\w.]", "", str(error[1]))[:60]
        except (TypeError, ValueError, IndexError):
            continue
        if name == "CellTimeout":
            notes.append(f"code cell {index + 1}: stopped after {limits.cell_time:g} s")
        else:
            notes.append(f"code cell {index + 1}: {name}")
    return notes


def _namespace(channel: _Channel, names: set[str]) -> dict:
    """The values of ``names`` in the submission's namespace, as the tests will see them."""
    channel.send({"op": "get", "names": sorted(names)})
    try:
        values = channel.receive().get("values", {})
    except (ValueError, UnicodeDecodeError):
        return {}
    env = {}
    for name, data in values.items() if isinstance(values, dict) else ():
        if name not in names:
            continue
        try:
            value = sandbox_worker.decode(data, channel.make_callable)
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
            value = sandbox_worker.Opaque("undecodable")
        if isinstance(value, sandbox_worker.Module):
            value = _trusted(value.name)
            if value is None:
                continue
        env[name] = value
    return env


# ---- the driver ------------------------------------------------------------------------


def _stage_runtime(folder: Path) -> Path:
    """A read-only copy of the ``emlab`` package for the sandboxes (never the repository)."""
    import emlab

    runtime = folder / "runtime"
    shutil.copytree(
        Path(emlab.__file__).parent,
        runtime / "emlab",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    compileall.compile_dir(runtime, quiet=1)  # once here, not in every sandbox
    for path in [runtime, *runtime.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.chmod(0o755)
    return runtime


def _grade_in_process_of_its_own(job: dict, limits: Limits) -> dict:
    with tempfile.TemporaryDirectory(prefix="emlab-job-") as tmp:
        job_file, result_file = Path(tmp) / "job.json", Path(tmp) / "result.json"
        job_file.write_text(json.dumps(job))
        try:
            subprocess.run(
                [sys.executable, "-m", "emlab.grading", str(job_file), str(result_file)],
                timeout=limits.time + 120,
                capture_output=True,
                check=False,
            )
            return json.loads(result_file.read_text())
        except (subprocess.TimeoutExpired, OSError, ValueError) as error:
            return {
                "status": GRADER_ERROR,
                "notes": [f"the test process failed: {type(error).__name__}"],
                "tests": [],
            }


def grade_folder(
    folder: Path,
    autograder_dir: Path,
    output_csv: Path,
    feedback_dir: Path | None = None,
    written_dir: Path | None = None,
    *,
    limits: Limits | None = None,
    jobs: int | None = None,
    fresh: bool = False,
    sandbox: Sandbox | None = None,
    allow_unsafe: bool = False,
    log=print,
) -> list[dict]:
    """Grade every file below ``folder``; merge the rows into ``output_csv``.

    Parameters
    ----------
    folder : Path
        The submissions, in any layout (see :func:`find_entries`).
    autograder_dir : Path
        What ``make student`` wrote: ``NN-topic.zip`` per lesson, and
        ``NN-topic.questions.json`` naming its written answers.
    output_csv : Path
        ``scores.csv``: one row per student and lesson, merged by student and lesson into
        the rows already there (``fresh=True`` replaces them).
    feedback_dir, written_dir : Path, optional
        Where to write ``<student>-NN-topic.txt`` for each student, and ``NN-topic.md``
        with every student's written answers for each lesson.
    limits : Limits
        Time and memory per submission.
    jobs : int
        Submissions graded at once (default: one per core).
    sandbox : Sandbox
        Default: :func:`emlab.sandbox.detect`, which refuses to go on without isolation
        unless ``allow_unsafe``.

    Returns
    -------
    list of dict
        This run's rows (also in ``output_csv``).
    """
    limits = limits or Limits()
    sandbox = sandbox or detect(allow_unsafe)
    log(f"sandbox: {sandbox.description}")
    jobs = jobs or os.cpu_count() or 1
    entries = _newest_first(find_entries(folder), log)
    autograder_dir = Path(autograder_dir)
    todo = []
    for entry in entries:
        if entry.status:
            log(f"{entry.file}: {entry.status} ({'; '.join(entry.notes)})")
            continue
        if not (autograder_dir / f"{entry.lesson}.zip").exists():
            entry.status = NO_GRADER
            entry.notes.append(f"no grader for {entry.lesson} in {autograder_dir}")
            log(f"{entry.file}: {entry.notes[-1]}")
            continue
        todo.append(entry)
    started, cpu_seconds = time.monotonic(), []
    with tempfile.TemporaryDirectory(prefix="emlab-grading-") as tmp:
        runtime = _stage_runtime(Path(tmp))

        def grade(entry: Entry) -> None:
            job = {
                "notebook": str(entry.path.resolve()),
                "handout": f"{entry.lesson}.ipynb",
                "grader": str((autograder_dir / f"{entry.lesson}.zip").resolve()),
                "runtime": str(runtime),
                "limits": asdict(limits),
                "sandbox": asdict(sandbox),
            }
            result = _grade_in_process_of_its_own(job, limits)
            entry.status = result.get("status", GRADER_ERROR)
            entry.notes += result.get("notes", [])
            entry.tests = result.get("tests", [])
            entry.written = _match_written(autograder_dir, entry.lesson, result.get("written", []))
            seconds, cpu = result.get("seconds"), result.get("cpu")
            if cpu:
                cpu_seconds.append(cpu)
            took = f" in {seconds:g} s ({cpu:g} s of CPU)" if seconds and cpu else ""
            log(f"{entry.file}: {entry.status}{took}")

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(grade, todo))
    if todo:
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds) / len(cpu_seconds) if cpu_seconds else float("nan")
        log(
            f"graded {len(todo)} submissions in {elapsed:.0f} s with {jobs} at a time "
            f"({elapsed / len(todo):.1f} s per submission; {cpu:.1f} s of CPU each, notebook "
            f"and tests)"
        )
    rows = [_row(entry, autograder_dir) for entry in entries]
    _write_scores(rows, Path(output_csv), fresh)
    if feedback_dir is not None:
        _write_feedback(entries, Path(feedback_dir), fresh)
    if written_dir is not None:
        _write_written(entries, autograder_dir, Path(written_dir), fresh)
    return rows


def _questions_file(autograder_dir: Path, lesson: str) -> list[dict]:
    path = Path(autograder_dir) / f"{lesson}.questions.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return []


def _manual_questions(autograder_dir: Path, lesson: str) -> list[dict]:
    return [q for q in _questions_file(autograder_dir, lesson) if q.get("manual")]


def _match_written(autograder_dir: Path, lesson: str, answers: list[str]) -> dict:
    manual = _manual_questions(autograder_dir, lesson)
    return {q["name"]: answers[i] if i < len(answers) else "" for i, q in enumerate(manual)}


def _row(entry: Entry, autograder_dir: Path) -> dict:
    """One row of ``scores.csv``; question columns are keyed ``(lesson, name)`` here."""
    row = {
        "student": entry.student,
        "lesson": entry.lesson,
        "status": entry.status,
        "file": entry.file,
    }
    total = possible = 0.0
    for test in entry.tests:
        row[(entry.lesson, test["name"])] = float(test["score"])
        total += float(test["score"])
        possible += float(test["max_score"])
    for question in _manual_questions(autograder_dir, entry.lesson) if entry.lesson else []:
        row[(entry.lesson, f"{question['name']} (written)")] = ""
    if entry.tests:
        row["total"], row["possible"] = total, possible
    row["superseded"] = "; ".join(entry.superseded)
    row["notes"] = "; ".join(entry.notes)
    return row


FIXED = ["student", "lesson", "status", "file"]
TRAILING = ["total", "possible", "superseded", "notes"]
QUESTION_COLUMN = re.compile(r"(?:(\d\d-[\w-]+):)?(q[\w.-]*(?: \(written\))?)")


def _key(row: dict) -> tuple:
    return (row["student"], row["lesson"]) if row["lesson"] else (row["student"], row["file"])


def _read_scores(path: Path) -> list[dict]:
    rows = []
    with path.open(newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {k: raw.get(k, "") for k in FIXED + TRAILING}
            for column, value in raw.items():
                match = QUESTION_COLUMN.fullmatch(column or "")
                if match and column not in FIXED + TRAILING:
                    row[(match.group(1) or raw.get("lesson", ""), match.group(2))] = value
            rows.append(row)
    return rows


def _write_scores(new_rows: list[dict], path: Path, fresh: bool) -> None:
    """Merge ``new_rows`` into ``path`` by student and lesson (keeping marks typed in)."""
    rows = [] if fresh or not path.exists() else _read_scores(path)
    index = {_key(row): i for i, row in enumerate(rows)}
    for row in new_rows:
        key = _key(row)
        if key in index:
            old = rows[index[key]]
            for column, value in old.items():  # marks for written answers stay
                if isinstance(column, tuple) and column[1].endswith("(written)") and value != "":
                    row[column] = value
            rows[index[key]] = row
        else:
            index[key] = len(rows)
            rows.append(row)
    rows.sort(key=lambda r: (r["lesson"] == "", r["lesson"], r["student"], r["file"]))
    columns: list[tuple] = []
    for row in rows:
        for column in row:
            if isinstance(column, tuple) and column not in columns:
                columns.append(column)
    mixed = len({lesson for lesson, _ in columns}) > 1

    def order(column):
        lesson, name = column
        digits = re.findall(r"\d+", name)
        return (lesson, int(digits[0]) if digits else 0, name)

    columns.sort(key=order)
    names = {c: f"{c[0]}:{c[1]}" if mixed else c[1] for c in columns}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIXED + [names[c] for c in columns] + TRAILING)
        for row in rows:
            values = [row.get(k, "") for k in FIXED] + [row.get(c, "") for c in columns]
            writer.writerow(values + [row.get(k, "") for k in TRAILING])


def _write_feedback(entries: list[Entry], folder: Path, fresh: bool) -> None:

    if fresh:
        _remove_old_feedback(folder)
    folder.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    for entry in entries:
        if not entry.lesson or entry.status == NO_GRADER:
            continue
        submission = Submission(entry.path, entry.student, entry.lesson)
        text = feedback_text(submission, entry.tests)
        if entry.status != GRADED:
            text += f"\nstatus: {entry.status} ({'; '.join(entry.notes)})\n"
        (folder / _feedback_name(submission, taken)).write_text(text, encoding="utf-8")


def _write_written(entries: list[Entry], autograder_dir: Path, folder: Path, fresh: bool) -> None:
    """``NN-topic.md`` per lesson: each written question, then every student's answer."""
    by_lesson: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.lesson and _manual_questions(autograder_dir, entry.lesson):
            by_lesson.setdefault(entry.lesson, []).append(entry)
    folder.mkdir(parents=True, exist_ok=True)
    for lesson, group in by_lesson.items():
        store = folder / f"{lesson}.json"
        answers = {} if fresh or not store.exists() else json.loads(store.read_text())
        for entry in group:
            answers[entry.student] = {"file": entry.file, "answers": entry.written}
        store.write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
        lines = [
            f"# {lesson}: written answers",
            "",
            f"Enter each mark in scores.csv, in the question's '(written)' column. "
            f"{len(answers)} students.",
            "",
        ]
        for question in _manual_questions(autograder_dir, lesson):
            name = question["name"]
            points = question.get("points", "?")
            lines += [f"## {name} ({points} point{'s' * (points != 1)})", ""]
            if question.get("prompt"):
                lines += ["> " + line for line in question["prompt"].splitlines()] + [""]
            for student in sorted(answers):
                text = answers[student]["answers"].get(name, "").strip() or "(no answer)"
                lines += [f"### {student} ({answers[student]['file']})", "", text, ""]
        (folder / f"{lesson}.md").write_text("\n".join(lines), encoding="utf-8")


def _main(argv: list[str]) -> int:
    """The test process: ``python -m emlab.grading JOB RESULT``."""
    job = json.loads(Path(argv[0]).read_text())
    try:
        result = grade_one(job)
    except Exception as error:  # reported in the submission's row
        result = {"status": GRADER_ERROR, "notes": [f"{type(error).__name__}: {error}"]}
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


# --- feedback files -----------------------------------------------------------------------------


@dataclass
class Submission:
    """One submitted notebook: who sent it and which lesson it is."""

    path: Path
    student: str
    lesson: str


def _questions(tests: list[dict]) -> list[dict]:
    """The auto-graded exercises among otter's test results (not its summary of public tests)."""
    return [test for test in tests if test.get("max_score") is not None]


def feedback_text(submission: Submission, tests: list[dict]) -> str:
    """What a student is told about one graded notebook: the points and why any were lost.

    One line per auto-graded exercise with its points, and for an exercise that lost
    points the sentences of the checks that failed, as :func:`emlab.feedback.sentences`
    finds them: the same words ``grader.check`` showed in the notebook (e.g. "your function
    returned nothing: replace the ... with your code"), or the error that stopped it.
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
            reasons = sentences(test.get("output") or "") or [
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
