"""Grading a class safely (emlab.grading, emlab.sandbox): a folder of honest and hostile
submissions of lesson 00 graded in bubblewrap sandboxes, two at a time, plus the pieces that
need no sandbox (merging, seeding, partial credit, renamed handouts, the Gradescope zip).

The sandboxed tests take about three minutes on a 2-core machine; they are skipped where
bubblewrap cannot run.
"""

import copy
import csv
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

import emlab
from emlab import grading, instructor
from emlab.checks import _core
from emlab.sandbox import Limits, SandboxUnavailable, detect

ROOT = Path(__file__).resolve().parents[1]
#: The lesson most tests grade (small and quick); rename here if the lessons are renumbered.
LESSON = ROOT / "notebooks" / "00-exercises.ipynb"
STEM = LESSON.stem
SECRET = "grader-secret-4f1c9e"  # in the grading process's environment only
LIMITS = Limits(time=90, cell_time=10, memory=1536 * 2**20)

RIGHT_Q1 = """def resp_from_log_joint(log_joint):
    shifted = log_joint - log_joint.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)"""
WRONG_Q1 = """def resp_from_log_joint(log_joint):
    return np.exp(log_joint) / np.exp(log_joint).sum(axis=1, keepdims=True)"""
RIGHT_Q2 = "sigma_hat = np.std(heights)"
WRONG_Q2 = "sigma_hat = np.std(heights, ddof=1)"


def _sandbox_or_skip():
    try:
        return detect()
    except SandboxUnavailable as error:
        pytest.skip(str(error))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return instructor._build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="module")
def editions(tmp_path_factory, wheel):
    out = tmp_path_factory.mktemp("editions")
    instructor.make_student_editions(
        [LESSON], out / "student", out / "autograder", run_tests=False, wheel=wheel
    )
    return out


def _submission(editions, q1=RIGHT_Q1, q2=RIGHT_Q2, written="Shifting cancels.", before=""):
    """The student edition with its three answer cells filled, and ``before`` run first."""
    notebook = json.loads((editions / "student" / LESSON.name).read_text())
    answers = [c for c in notebook["cells"] if "otter_answer_cell" in c["metadata"].get("tags", [])]
    for cell, text in zip(answers, (q1, q2, written), strict=True):
        cell["source"] = text
    if before:
        init = next(
            i for i, c in enumerate(notebook["cells"]) if "import numpy" in str(c["source"])
        )
        cell = {"cell_type": "code", "metadata": {}, "outputs": [], "source": before}
        cell["execution_count"] = None
        notebook["cells"].insert(init + 1, cell)
    return notebook


def _write(folder: Path, name: str, notebook, mtime: float | None = None) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook) if not isinstance(notebook, str) else notebook)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _hashes(*folders: Path) -> dict:
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def _rows(path: Path) -> dict:
    return {row["file"]: row for row in csv.DictReader(path.open())}


class _Listener:
    """A TCP server on the grading machine's loopback that counts who connects."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.server.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
                self.connections += 1
                connection.close()
            except OSError:
                pass

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


def test_a_class_with_hostile_submissions_is_graded_safely(editions, tmp_path, monkeypatch):
    _sandbox_or_skip()
    autograder = editions / "autograder"
    package = Path(emlab.__file__).resolve().parent
    folder = tmp_path / "submissions"
    listener = _Listener()
    now = time.time()
    honest = {  # file: its points, as the answers deserve
        f"alice-{STEM}.ipynb": 3.0,  # older: superseded by the next
        f"alice-{STEM} (1).ipynb": 2.0,
        f"bob/{STEM}-Copy1.ipynb": 3.0,
        f"carol-{STEM}.ipynb": 3.0,  # the solved notebook itself
    }
    _write(folder, f"alice-{STEM}.ipynb", _submission(editions), now - 100)
    _write(folder, f"alice-{STEM} (1).ipynb", _submission(editions, q2=WRONG_Q2), now)
    _write(folder, f"bob/{STEM}-Copy1.ipynb", _submission(editions))
    shutil.copy(autograder / LESSON.name, folder / f"carol-{STEM}.ipynb")
    carol = folder / f"carol-{STEM}.ipynb"
    targets = [  # what hostile code knows of the grader's machine (an attacker could guess)
        *map(str, sorted(autograder.iterdir())),
        str(package / "checks" / "exercises.py"),
        str(carol),
        "/proc/1/environ",
        f"/proc/{os.getpid()}/environ",
    ]
    snoop = f"""
import os, sys
found = []
roots = ['/opt', '/work', '/submission', '/tmp', '/root', '/home', '/srv', '/mnt']
# every folder but the Python installation (tens of thousands of files, readable on purpose:
# walking it took longer than the cell time limit when the virtual environment is under /tmp)
python = {{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}}
searched = []
for root in roots:
    for top, folders, files in os.walk(root):
        folders[:] = [f for f in folders if os.path.realpath(os.path.join(top, f)) not in python]
        searched += [os.path.join(top, f) for f in files if f.endswith(('.zip', '.ipynb', 'q1.py'))]
for path in {targets!r} + searched:
    try:
        with open(path, 'rb') as handle:
            found.append(path + ': ' + handle.read(3000).decode('latin-1'))
    except Exception as error:
        found.append(path + ': ' + type(error).__name__)
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            found.append(open(f'/proc/{{pid}}/environ', 'rb').read().decode('latin-1'))
            found.append(open(f'/proc/{{pid}}/cmdline', 'rb').read().decode('latin-1'))
        except Exception:
            pass
LOOT = '\\n'.join(found)
"""
    leak_q1 = "def resp_from_log_joint(log_joint):\n    raise ValueError(LOOT)"
    rewrite = f"""
import emlab, pathlib
for path in {targets[:-2]!r} + [str(pathlib.Path(emlab.__file__).parent / 'checks' / 'exercises.py')]:
    for mode in ('w', 'a'):
        try:
            with open(path, mode) as handle:
                handle.write('all points for everyone')
        except Exception:
            pass
for folder in [pathlib.Path(emlab.__file__).parent, pathlib.Path({str(package)!r})]:
    try:
        (folder / 'pwned.py').write_text('raise SystemExit')
    except Exception:
        pass
pathlib.Path('tests').mkdir(exist_ok=True)
pathlib.Path('tests/q1.py').write_text("test = {{'name': 'q1', 'points': 2, 'suites': []}}")
"""
    monkeypatching = """
import emlab.checks, emlab.checks._core, emlab.checks.exercises
for module in (emlab.checks, emlab.checks.exercises):
    module.responsibilities_from_log_joint = lambda *args, **kwargs: None
    module.mle_sigma = lambda *args, **kwargs: None
emlab.checks._core.compare = lambda *args, **kwargs: None
import builtins
builtins.AssertionError = type('AssertionError', (Exception,), {})
"""
    network = f"""
import socket
TRIED = []
for address in [('127.0.0.1', {listener.port}), ('1.1.1.1', 80), ('pypi.org', 443)]:
    try:
        socket.create_connection(address, timeout=3).close()
        TRIED.append(f'connected to {{address}}')
    except Exception as error:
        TRIED.append(f'{{address}}: {{type(error).__name__}}')
"""
    hostile = {  # file: (notebook, the most its honest answers earn, its status)
        f"loop-{STEM}.ipynb": (
            _submission(editions, q2="while True:\n    pass\nsigma_hat = np.std(heights)"),
            2.0,
            "graded",
        ),
        f"stubborn-loop-{STEM}.ipynb": (
            _submission(
                editions,
                before="while True:\n    try:\n        while True:\n            pass\n"
                "    except BaseException:\n        pass",
            ),
            0.0,
            "timeout",
        ),
        f"dies-{STEM}.ipynb": (
            _submission(editions, q2="import os\nos._exit(1)"),
            0.0,
            "crashed",
        ),
        f"hog-{STEM}.ipynb": (
            _submission(
                editions, q2="blocks = []\nwhile True:\n    blocks.append(np.empty(10**8))"
            ),
            2.0,
            "out of memory",
        ),
        f"snoop-{STEM}.ipynb": (
            _submission(editions, q1=leak_q1, q2=WRONG_Q2, before=snoop),
            0.0,
            "graded",
        ),
        f"rewriter-{STEM}.ipynb": (
            _submission(editions, q2=WRONG_Q2, before=rewrite),
            2.0,
            "graded",
        ),
        f"patcher-{STEM}.ipynb": (
            _submission(editions, q1=WRONG_Q1, q2=WRONG_Q2, before=monkeypatching),
            0.0,
            "graded",
        ),
        f"network-{STEM}.ipynb": (
            _submission(
                editions,
                q1="def resp_from_log_joint(log_joint):\n    raise ValueError(str(TRIED))",
                before=network,
            ),
            1.0,
            "graded",
        ),
        f"env-{STEM}.ipynb": (
            _submission(
                editions,
                q1="import os\ndef resp_from_log_joint(log_joint):\n"
                "    raise ValueError(repr(dict(os.environ)))",
            ),
            1.0,
            "graded",
        ),
    }
    for name, (notebook, _, _) in hostile.items():
        _write(folder, name, notebook)
    others = {  # files that are not submissions of a lesson with a grader
        "notes.txt": ("i am not a notebook", "not a notebook"),
        f"broken-{STEM}.ipynb": ('{"cells": [', "not a notebook"),
        "lecture.ipynb": (json.dumps({"cells": []}), "not a student edition"),
        "dave-99-nothing.ipynb": (
            json.dumps(
                {
                    "cells": [
                        {
                            "cell_type": "code",
                            "source": 'grader = otter.Notebook("99-nothing.ipynb")',
                        }
                    ]
                }
            ),
            "no grader",
        ),
    }
    for name, (text, _) in others.items():
        _write(folder, name, text)

    watched = [autograder, package, folder]
    before = _hashes(*watched)
    monkeypatch.setenv("EMLAB_TEST_SECRET", SECRET)
    out, messages = tmp_path / "out", []
    started = time.monotonic()
    grading.grade_folder(
        folder,
        autograder,
        out / "scores.csv",
        out / "feedback",
        out / "written",
        limits=LIMITS,
        jobs=2,
        log=messages.append,
    )
    elapsed = time.monotonic() - started
    listener.close()
    rows = _rows(out / "scores.csv")

    # the run ended, and every file has a row (the older of Alice's two in her row)
    assert elapsed < 15 * 60
    accounted = set(rows) | {f for row in rows.values() for f in row["superseded"].split("; ") if f}
    files = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert accounted == files
    assert rows[f"alice-{STEM} (1).ipynb"]["superseded"] == f"alice-{STEM}.ipynb"
    assert any("alice has 2 files" in m and f"not alice-{STEM}.ipynb" in m for m in messages)
    assert any(m.startswith("sandbox: bubblewrap") for m in messages)
    for name, (_, status) in others.items():
        assert rows[name]["status"] == status, rows[name]

    # honest students' scores are right, and the same when graded alone
    for name, points in honest.items():
        if name != f"alice-{STEM}.ipynb":
            assert rows[name]["status"] == "graded", rows[name]
            assert float(rows[name]["total"]) == points, rows[name]
    alone = tmp_path / "alone"
    for name in (f"alice-{STEM} (1).ipynb", f"bob/{STEM}-Copy1.ipynb"):
        (alone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / name, alone / name)
    grading.grade_folder(alone, autograder, tmp_path / "alone.csv", limits=LIMITS, log=print)
    for name, row in _rows(tmp_path / "alone.csv").items():
        assert {k: row[k] for k in ("q1", "q2", "total")} == {
            k: rows[name][k] for k in ("q1", "q2", "total")
        }

    # no hostile submission scores more than its honest answers earn
    for name, (_, most, status) in hostile.items():
        row = rows[name]
        assert row["status"] == status, row
        assert float(row["total"] or 0) <= most, row
        if status == "graded" or status == "out of memory":
            assert float(row["total"]) == most, row  # and the honest part still counts
    assert "stopped after 10 s" in rows[f"loop-{STEM}.ipynb"]["notes"]
    assert "exit code" in rows[f"dies-{STEM}.ipynb"]["notes"]

    # nothing outside the sandboxes changed; the network was out of reach
    assert _hashes(*watched) == before
    assert not (package / "pwned.py").exists()
    assert listener.connections == 0
    network_feedback = (out / "feedback" / f"network-{STEM}.txt").read_text()
    assert "connected" not in network_feedback and "OSError" in network_feedback

    # no feedback file holds a hidden test, a solution or the grader's environment
    solution = json.loads((autograder / LESSON.name).read_text())
    solution_lines = {
        line.strip()
        for cell in solution["cells"]
        if "otter_answer_cell" in cell["metadata"].get("tags", [])
        for line in "".join(cell["source"]).splitlines()
        if len(line.strip()) > 25
    }
    secrets = [SECRET, "OK_FORMAT", "'hidden': True", "for _ in range(5)", "Model answer"]
    secrets += sorted(solution_lines)
    feedback = {p.name: p.read_text() for p in (out / "feedback").glob("*.txt")}
    assert len(feedback) == len(honest) - 1 + len(hostile)  # one per student with a grader
    for name, text in feedback.items():
        for secret in secrets:
            assert secret not in text, (name, secret)
    assert "FileNotFoundError" in feedback[f"snoop-{STEM}.txt"]  # it tried, and saw nothing
    assert "PYTHONPATH" in feedback[f"env-{STEM}.txt"]  # the sandbox's own, clean, environment
    # an error in the student's function says where, counted from its def line, as in Jupyter
    assert (
        "at line 2 of resp_from_log_joint (`raise ValueError(repr(dict(os.environ)))`)"
        in (feedback[f"env-{STEM}.txt"])
    )

    # written answers: one file for the lesson, one column to mark
    written = (out / "written" / f"{STEM}.md").read_text()
    assert written.count("Shifting cancels.") >= 3 and "## q3 (1 point)" in written
    assert "q3 (written)" in next(csv.reader((out / "scores.csv").open()))


def _entry(student, lesson, scores, file=None):
    entry = grading.Entry(Path(file or f"{student}-{lesson}.ipynb"), "", student, lesson, "graded")
    entry.file = str(entry.path)
    entry.tests = [
        {"name": f"q{i}", "score": got, "max_score": most, "output": ""}
        for i, (got, most) in enumerate(scores, 1)
    ]
    return entry


def test_regrading_merges_by_student_and_lesson_and_keeps_the_marks(tmp_path):
    table, feedback = tmp_path / "scores.csv", tmp_path / "feedback"
    first = [
        _entry("alice", "00-exercises", [(2, 2), (0, 1)]),
        _entry("bob", "00-exercises", [(1, 2), (1, 1)]),
    ]
    grading._write_scores([grading._row(e, tmp_path) for e in first], table, fresh=False)
    grading._write_feedback(first, feedback, fresh=False)
    assert next(csv.reader(table.open()))[:6] == ["student", "lesson", "status", "file", "q1", "q2"]
    # the instructor marks a written answer by hand
    text = table.read_text().replace("q2,total", "q2,q3 (written),total")
    text = text.replace("bob-00-exercises.ipynb,1.0,1.0,", "bob-00-exercises.ipynb,1.0,1.0,1,")
    text = text.replace("alice-00-exercises.ipynb,2.0,0.0,", "alice-00-exercises.ipynb,2.0,0.0,,")
    table.write_text(text)
    # a late submission of Bob's, and Carol's first, of another lesson
    late = [
        _entry("bob", "00-exercises", [(2, 2), (1, 1)], "late/bob-00-exercises.ipynb"),
        _entry("carol", "03-kmeans", [(1, 1)]),
    ]
    grading._write_scores([grading._row(e, tmp_path) for e in late], table, fresh=False)
    grading._write_feedback(late, feedback, fresh=False)
    rows = {(r["student"], r["lesson"]): r for r in csv.DictReader(table.open())}
    assert set(rows) == {("alice", "00-exercises"), ("bob", "00-exercises"), ("carol", "03-kmeans")}
    assert rows["alice", "00-exercises"]["00-exercises:q1"] == "2.0"  # untouched
    bob = rows["bob", "00-exercises"]
    assert (bob["00-exercises:q1"], bob["total"], bob["file"]) == (
        "2.0",
        "3.0",
        "late/bob-00-exercises.ipynb",
    )
    assert bob["00-exercises:q3 (written)"] == "1"  # the mark typed in stays
    assert rows["carol", "03-kmeans"]["03-kmeans:q1"] == "1.0"
    assert sorted(p.name for p in feedback.iterdir()) == [
        "alice-00-exercises.txt",
        "bob-00-exercises.txt",
        "carol-03-kmeans.txt",
    ]
    assert (feedback / "bob-00-exercises.txt").read_text().startswith("bob, 00-exercises: 3 of 3")
    # starting afresh forgets the earlier run
    grading._write_scores([grading._row(late[1], tmp_path)], table, fresh=True)
    grading._write_feedback(late[1:], feedback, fresh=True)
    assert [r["student"] for r in csv.DictReader(table.open())] == ["carol"]
    assert [p.name for p in feedback.iterdir()] == ["carol-03-kmeans.txt"]


def test_every_file_is_found_and_named_by_student(tmp_path):
    init = 'import otter\nfrom emlab.grading import handout_file\ngrader = otter.Notebook(handout_file("{}.ipynb"))'
    for name, lesson in [
        ("alice/03-kmeans.ipynb", "03-kmeans"),
        ("bob-03-kmeans (1).ipynb", "03-kmeans"),
        ("carol_04-two-coins.ipynb", "04-two-coins"),
        ("dave/03-kmeans-Copy1.ipynb", "03-kmeans"),
    ]:
        cell = {"cell_type": "code", "source": init.format(lesson), "metadata": {}, "outputs": []}
        _write(tmp_path, name, {"cells": [cell]})
    _write(tmp_path, "truncated.ipynb", '{"cells": [')
    _write(tmp_path, "lecture.ipynb", json.dumps({"cells": []}))
    _write(tmp_path, "eve/essay.pdf", "%PDF")
    _write(tmp_path, ".ipynb_checkpoints/alice-checkpoint.ipynb", "{}")
    found = [(e.file, e.student, e.lesson, e.status) for e in grading.find_entries(tmp_path)]
    assert found == [
        ("alice/03-kmeans.ipynb", "alice", "03-kmeans", ""),
        ("bob-03-kmeans (1).ipynb", "bob", "03-kmeans", ""),
        ("carol_04-two-coins.ipynb", "carol", "04-two-coins", ""),
        ("dave/03-kmeans-Copy1.ipynb", "dave", "03-kmeans", ""),
        ("eve/essay.pdf", "eve/essay", "", "not a notebook"),
        ("lecture.ipynb", "lecture", "", "not a student edition"),
        ("truncated.ipynb", "truncated", "", "not a notebook"),
    ]


def test_checks_draw_the_same_data_in_every_run():
    def a_check():
        return _core._fresh_rng().normal(size=3)

    def another_check():
        return _core._fresh_rng().normal(size=3)

    _core._DRAWS.clear()
    first = [a_check(), a_check(), another_check()]
    _core._DRAWS.clear()
    second = [a_check(), a_check(), another_check()]
    np.testing.assert_array_equal(np.array(first), np.array(second))
    assert not np.allclose(first[0], first[1])  # each call of a check: other data
    assert not np.allclose(first[0], first[2])  # each check: its own data
    # and in another process: a borderline answer scores the same on a regrade
    script = (
        "import numpy as np\nfrom emlab import checks\nseen = []\n"
        "def answer(log_joint):\n    seen.append(float(log_joint.sum()))\n"
        "    shifted = log_joint - log_joint.max(axis=1, keepdims=True)\n"
        "    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n"
        "checks.responsibilities_from_log_joint(answer)\nprint(seen)"
    )
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert runs[0].stdout == runs[1].stdout and runs[0].stdout.startswith("[")


def test_grading_refuses_to_run_without_a_sandbox(monkeypatch, tmp_path, capsys):
    from emlab import sandbox

    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="--no-sandbox"):
        detect()
    assert detect(allow_unsafe=True).kind == "none"
    (tmp_path / "empty").mkdir()
    code = instructor.main(["grade", str(tmp_path / "empty"), "--out", str(tmp_path / "s.csv")])
    assert code == 3 and "not grading: no sandbox" in capsys.readouterr().err
    assert not (tmp_path / "s.csv").exists()


PARTIAL = [  # an instructor's notebook whose question has two independent cases: 1 + 2 points
    ("markdown", "# 07 · Partial credit"),
    ("raw", "# ASSIGNMENT CONFIG\ninit_cell: true\nexport_cell: false\ncheck_all_cell: false"),
    ("raw", "# BEGIN QUESTION\nname: q1\npoints: 3"),
    ("markdown", "Write `double(x)`."),
    ("raw", "# BEGIN SOLUTION"),
    ("code", "def double(x):\n    return 2 * x"),
    ("raw", "# END SOLUTION"),
    ("raw", "# BEGIN TESTS"),
    ("code", '""" # BEGIN TEST CONFIG\npoints: 1\n""" # END TEST CONFIG\nassert double(2) == 4'),
    (
        "code",
        '""" # BEGIN TEST CONFIG\npoints: 2\nhidden: true\n""" # END TEST CONFIG\n'
        "assert double(-3) == -6",
    ),
    ("raw", "# END TESTS"),
    ("raw", "# END QUESTION"),
]


def test_a_question_with_independent_cases_gives_partial_credit(tmp_path, wheel):
    sandbox = _sandbox_or_skip()
    notebook = nbformat.v4.new_notebook()
    makers = {
        "markdown": nbformat.v4.new_markdown_cell,
        "raw": nbformat.v4.new_raw_cell,
        "code": nbformat.v4.new_code_cell,
    }
    notebook.cells = [makers[kind](source) for kind, source in PARTIAL]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["language_info"] = {"name": "python"}
    source = tmp_path / "07-partial.ipynb"
    nbformat.write(notebook, source)
    instructor.make_student_editions([source], tmp_path / "student", tmp_path / "ag", wheel=wheel)
    with zipfile.ZipFile(tmp_path / "ag" / "07-partial.zip") as archive:
        assert "'points': 2" in archive.read("tests/q1.py").decode()
    handout = json.loads((tmp_path / "student" / "07-partial.ipynb").read_text())
    answer = next(
        c for c in handout["cells"] if "otter_answer_cell" in c["metadata"].get("tags", [])
    )
    submissions = tmp_path / "submissions"
    for student, code in [("right", "2 * x"), ("half", "abs(2 * x)"), ("wrong", "x")]:
        answer["source"] = f"def double(x):\n    return {code}"
        _write(submissions, f"{student}-07-partial.ipynb", handout)
    grading.grade_folder(
        submissions, tmp_path / "ag", tmp_path / "scores.csv", sandbox=sandbox, log=print
    )
    scores = {r["student"]: r["q1"] for r in csv.DictReader((tmp_path / "scores.csv").open())}
    assert scores == {"right": "3.0", "half": "1.0", "wrong": "0.0"}


def test_a_renamed_handout_still_checks_its_answers(editions, tmp_path):
    handout = _submission(editions)
    folder = tmp_path / "Downloads"
    _write(folder, f"{STEM} (1).ipynb", handout)
    path = folder / f"{STEM} (1).ipynb"
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()
    checks = [c for c in notebook.cells if c.cell_type == "code" and "grader.check" in c.source]
    assert len(checks) == 2
    for cell in checks:
        assert [o.output_type for o in cell.outputs] != [] and "error" not in [
            o.output_type for o in cell.outputs
        ], cell.outputs
        assert "passed" in json.dumps(cell.outputs), cell.outputs


def test_the_gradescope_zip_installs_emlab_from_its_wheel(editions, tmp_path):
    zip_path = editions / "autograder" / f"{LESSON.stem}.zip"
    autograder = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(autograder / "source")
    (wheel,) = (autograder / "source").glob("emlab_course-*.whl")
    environment = (autograder / "source" / "environment.yml").read_text()
    assert f"/autograder/source/{wheel.name}" in environment
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        requires = archive.read(metadata).decode()
    for dependency in ("numpy", "scipy", "matplotlib", "scikit-learn"):
        assert f"Requires-Dist: {dependency}" in requires
    # install the wheel alone, as Gradescope's image would, and run the zip's autograder
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    (autograder / "submission").mkdir()
    (autograder / "results").mkdir()
    shutil.copy(editions / "autograder" / LESSON.name, autograder / "submission" / LESSON.name)
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [sys.executable, "-c", "import emlab; print(emlab.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert where.stdout.startswith(str(site))
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"from otter.run.run_autograder import main; main({str(autograder)!r})",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        timeout=600,
    )
    results = json.loads((autograder / "results" / "results.json").read_text())
    scored = [t for t in results["tests"] if t.get("max_score")]
    assert scored and all(t["score"] == t["max_score"] for t in scored), results


@pytest.mark.parametrize(
    "points, case_points",
    [
        (2, [None, None]),
        (3, [1, None, None]),
        ([0.5, 1.5, 1], [None, None, None]),
        (None, [None, None]),
        (None, [1, 2, None]),
        (4, [1, 3, None]),
    ],
)
@pytest.mark.parametrize("all_or_nothing", [False, True])
def test_tests_are_scored_as_otter_scores_them(points, case_points, all_or_nothing):
    from otter.test_files.ok_test import OKTestFile

    codes = [">>> assert x > 0\n", ">>> assert x > 1\n", ">>> assert x > 2\n"]
    cases = [
        {"code": code, "hidden": False, "locked": False} | ({"points": p} if p is not None else {})
        for code, p in zip(codes, case_points, strict=False)  # as many cases as points
    ]
    spec = {
        "name": "q1",
        "points": points,
        "all_or_nothing": all_or_nothing,
        "suites": [
            {"cases": cases, "scored": True, "setup": "", "teardown": "", "type": "doctest"}
        ],
    }
    for x in (0, 1, 2, 3):
        otter = OKTestFile.from_spec(copy.deepcopy(spec))
        otter.run({"x": x})
        (ours,) = grading._run_tests([spec], {"x": x})
        assert (ours["score"], ours["max_score"]) == (otter.score, otter.possible), x
        assert ("AssertionError" in ours["output"]) == (not otter.passed_all)


def test_values_cross_the_sandbox_as_data_only():
    from emlab import sandbox_worker as worker

    values = [1, 2.5, float("nan"), 2**70, "text", None, ..., (1, [2]), {"a": 1, 3: (4,)}]
    values += [np.arange(6.0).reshape(2, 3), np.float32(1.5), np.int64(7), np.array([True])]
    for value in values:
        data = json.loads(json.dumps(worker.encode(value), allow_nan=False))
        back = worker.decode(data)
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back, value)
            assert back.dtype == value.dtype
        elif isinstance(value, float) and value != value:
            assert back != back
        else:
            assert back == value and type(back) is type(value), value
    assert isinstance(worker.decode(worker.encode(object())), worker.Opaque)
    assert isinstance(worker.decode(worker.encode(np.array([object()]))), worker.Opaque)
    with pytest.raises(ValueError, match="do not cross"):
        worker.decode({"$": "array", "dtype": "|O", "shape": [1], "data": ""})
    with pytest.raises(ValueError, match="shape"):
        worker.decode({"$": "array", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="})
    assert worker.decode({"$": "pickle", "data": "gASVAAAAAAAAAAAu"}).__class__ is worker.Opaque


def test_emlabs_records_cross_by_their_fields_and_nothing_else_does():
    from emlab import sandbox_worker as worker
    from emlab.em import History, Snapshot
    from emlab.map_em import GMMPrior
    from emlab.missing import ExpectedStats

    prior = GMMPrior(nu=4.0, psi=np.eye(2), alpha=2.0, kappa=0.5, m0=np.zeros(2))
    history = History([Snapshot(0, {"means": np.array([1.0])}, -3.5), Snapshot(1, {}, -2.0)])
    stats = ExpectedStats(sum_x=np.ones(2), sum_xx=np.eye(2))
    for value in (prior, history, stats):
        back = worker.decode(json.loads(json.dumps(worker.encode(value), allow_nan=False)))
        assert type(back) is type(value)
    back = worker.decode(worker.encode(prior))
    assert back.nu == 4.0 and back.kappa == 0.5
    np.testing.assert_array_equal(back.psi, prior.psi)
    assert [snap.log_likelihood for snap in worker.decode(worker.encode(history))] == [-3.5, -2.0]
    # a record names its class; only emlab's listed records are rebuilt
    with pytest.raises(ValueError, match="not a record"):
        worker.decode({"$": "record", "type": "os:system", "fields": {"command": "true"}})
    with pytest.raises(ValueError, match="not a record"):
        worker.decode({"$": "record", "type": "emlab.grading:Submission", "fields": {}})


def test_a_stand_in_shows_the_students_source_so_a_check_can_refuse_emlabs_solution():
    from emlab import kmeans

    class Channel:
        def call(self, ref, args):
            return ("called", ref, args)

    description = {
        "ref": 4,
        "name": "nearest_centroid",
        "source": "def nearest_centroid(X, centroids):\n    return km.assign(X, centroids)\n",
        "globals": {"km": "emlab.kmeans", "np": "numpy", "os": "os", "evil": "emlab.nothing"},
    }
    stand_in = grading._stand_in(Channel(), description)
    assert stand_in(1, 2) == ("called", 4, (1, 2))  # runs in the sandbox, not here
    assert _core._answers_called(stand_in, (kmeans.assign,)) == ["emlab.kmeans.assign"]
    assert stand_in.__globals__["km"] is kmeans and "os" not in stand_in.__globals__
    honest = dict(description, source="def f(X, c):\n    return ((X - c) ** 2).argmin(1)\n")
    assert _core._answers_called(grading._stand_in(Channel(), honest), (kmeans.assign,)) == []
