"""What a student reads when a check runs: one plain sentence per exercise.

otter-grader runs each exercise's test cells as doctests and shows the result as a transcript:
"Trying:", "Expecting nothing", a row of asterisks, "Failed example:" and a traceback through
``doctest.py`` and ``emlab/checks``, with the check's sentence on its last line. Its test files
can carry only fixed ``success_message`` and ``failure_message`` texts, and its exception-based
format still prints the failing line and the exception's type around the message, so otter
itself cannot show the sentence first and alone. This module does the smallest thing that can:
it leaves otter to run the tests, score them and log them, and changes only how a result is
*displayed*, through IPython's own display formatters:

* :func:`sentences` finds the checks' sentences in otter's output for one exercise (the grading
  feedback files use it too, so a student reads the same words in both places);
* :func:`summary_line` turns one exercise's result into ``"q2 (1 point): <sentence>"``, or
  ``"q2 (1 point): passed."``;
* :func:`install` makes JupyterLab and plain-text front ends show ``grader.check("q2")`` as that
  line (the student editions' first code cell calls it);
* :func:`progress` is the student editions' last cell: every exercise of the lesson at a glance.

Nothing here changes a score: the objects otter returns, logs and grades are otter's own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

__all__ = ["Progress", "install", "progress", "sentences", "summary_line"]

#: How otter shows a test case that raised: "Exception raised:", then the indented traceback.
_RAISED = re.compile(r"^(\s*)Exception raised:\s*$")
#: The first line of an exception as Python prints it: "AssertionError: sigma_hat is off ...".
_EXCEPTION = re.compile(
    r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt)): ?(.*)$"
)
#: Python's words for a name the test looked up and did not find.
_UNDEFINED = re.compile(r"name '(\w+)' is not defined")

#: Said when otter's output holds no sentence of ours (a test that printed something, say).
FALLBACK = (
    "a check did not pass, and it did not say why. Run the cells above from the top, then this "
    "check again; if it still says this, ask your instructor."
)


def _exception_in(traceback_lines: list[str]) -> tuple[str, str] | None:
    """The (type, message) of the exception at the end of a printed traceback."""
    start = None
    for i, line in enumerate(traceback_lines):
        if line.startswith((" ", "Traceback")) or not line.strip():
            continue  # frames ("  File ..."), their source lines and carets, the header
        if _EXCEPTION.match(line):
            start = i
            break
    if start is None:
        return None
    kind, first = _EXCEPTION.match(traceback_lines[start]).groups()
    rest = [line for line in traceback_lines[start + 1 :] if line.strip()]
    return kind, "\n".join([first, *rest]).strip()


def _sentence(kind: str, message: str) -> str:
    """What the student is told about an exception a test raised."""
    if kind == "AssertionError" and message:
        return message  # a check's own sentence
    undefined = _UNDEFINED.search(message) if kind == "NameError" else None
    if undefined:
        return (
            f"{undefined.group(1)} is not defined when the check runs: run the cell that "
            f"defines it, and the cells above it, then the check again."
        )
    return (
        f"the check stopped with {kind}: {message}. Look at what your answer holds (print it); "
        f"if it looks right, ask your instructor."
    )


def sentences(output: str) -> list[str]:
    """The checks' sentences in otter's output for one exercise, in order, each once.

    Parameters
    ----------
    output : str
        What otter reports for one exercise: a test case's ``message`` (the doctest
        transcript of a failed test cell), a whole test file's summary, or the ``output``
        of one test in ``otter run``'s ``results.json``.

    Returns
    -------
    list of str
        One sentence per failed check: the check's own ``AssertionError`` message; for a
        ``NameError``, which name is missing and what to do; for any other exception, its
        type and message and what to do. A sentence that repeats another with only its
        numbers changed (the same check on other random data, e.g. a public and a hidden
        test) is given once. Empty when nothing failed.
    """
    lines = output.splitlines()
    raised = []
    for i, line in enumerate(lines):
        match = _RAISED.match(line)
        if not match:
            continue
        indent = len(match.group(1))
        block = []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following)
        depth = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
        parsed = _exception_in([b[depth:] for b in block])
        if parsed is not None:
            raised.append(parsed)
    if not raised:  # not a doctest transcript: take every line that reads as an exception
        raised = [m.groups() for m in map(_EXCEPTION.match, map(str.strip, lines)) if m]
    found, seen = [], set()
    for kind, message in raised:
        text = _sentence(kind, message)
        key = re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "#", text)
        if key not in seen:
            seen.add(key)
            found.append(text)
    return found


def _points(points: float) -> str:
    return f"{points:g} point{'' if points == 1 else 's'}"


def _failed_output(test_file) -> str:
    return "\n".join(
        result.message or "" for result in test_file.test_case_results if not result.passed
    )


def summary_line(test_file) -> str:
    """One exercise's result as the student reads it: name, points, then the sentence.

    ``"q2 (1 point): passed."`` when every test case passed; otherwise
    ``"q2 (1 point): sigma_hat is off by a factor of 1.0005. ..."``, with ``"0.5 of 1 point"``
    where some of the exercise's cases passed (partial credit), and one sentence per line
    where several checks failed.
    """
    possible = float(test_file.possible)
    if test_file.passed_all:
        return f"{test_file.name} ({_points(possible)}): passed."
    score = float(test_file.score)
    worth = _points(possible) if score == 0 else f"{score:g} of {_points(possible)}"
    said = sentences(_failed_output(test_file)) or [FALLBACK]
    return f"{test_file.name} ({worth}): " + "\n".join(said)


def _html(text: str, *, role: str = "status") -> str:
    head, _, rest = text.partition(": ")
    body = html.escape(rest).replace("\n", "<br>")
    return (
        f'<div class="emlab-check" role="{role}" style="white-space: normal">'
        f"<strong>{html.escape(head)}:</strong> {body}</div>"
    )


def _plain_printer(render):
    def printer(obj, p, cycle):
        p.text(render(obj))

    return printer


def install(ipython=None) -> None:
    """Show otter's check results as :func:`summary_line` in this IPython session.

    Registers display formatters (HTML for JupyterLab, plain text for a terminal or a
    converted notebook) for otter's test-file results, so that ``grader.check("q2")`` shows
    one line: the exercise, its points and the check's sentence, with no doctest transcript,
    traceback or file path. Outside IPython (a plain script) it does nothing.
    """
    if ipython is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with Jupyter
            return
        ipython = get_ipython()
    if ipython is None:
        return
    formatters = ipython.display_formatter.formatters
    where = ("otter.test_files.abstract_test", "TestFile")
    formatters["text/html"].for_type_by_name(*where, lambda obj: _html(summary_line(obj)))
    formatters["text/plain"].for_type_by_name(*where, _plain_printer(summary_line))


class Progress:
    """Every exercise of a lesson at a glance (what :func:`progress` returns)."""

    def __init__(self, lines: list[str], earned: float, possible: float):
        self.lines, self.earned, self.possible = lines, earned, possible

    def __str__(self) -> str:
        total = f"Auto-graded so far: {self.earned:g} of {_points(self.possible)}."
        return "\n".join(["Your exercises in this lesson:", *self.lines, total])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        items = "".join(f"<li>{_html(line, role='none')}</li>" for line in self.lines)
        total = html.escape(f"Auto-graded so far: {self.earned:g} of {_points(self.possible)}.")
        return (
            '<div class="emlab-progress" role="status"><p><strong>Your exercises in this '
            f"lesson:</strong></p><ul>{items}</ul><p>{total}</p></div>"
        )


def progress(
    grader, questions: Iterable[str], written: Iterable[str] = (), global_env: dict | None = None
) -> Progress:
    """Run every check of the lesson and say, per exercise: passed, not yet, or read by hand.

    Parameters
    ----------
    grader : otter.Notebook
        The student edition's ``grader``.
    questions : iterable of str
        The lesson's exercises, in order (``"q1"``, ``"q2"``, ...).
    written : iterable of str
        Those of them answered in words (otter's ``manual: true``), which no check grades.
    global_env : dict, optional
        The variables to check; by default the notebook's (the caller's globals).

    Returns
    -------
    Progress
        Shown as one line per exercise (``"q1 (2 points): passed."``,
        ``"q2 (1 point): not yet: sigma_hat is off by ..."``, ``"q3: a written answer,
        read by your instructor."``) and the auto-graded points so far.
    """
    if global_env is None:
        import inspect

        global_env = inspect.currentframe().f_back.f_globals
    written = set(written)
    lines, earned, possible = [], 0.0, 0.0
    for name in questions:
        if name in written:
            lines.append(f"{name}: a written answer, read by your instructor.")
            continue
        result = grader.check(name, global_env)
        line = summary_line(result)
        if not result.passed_all:
            head, _, said = line.partition(": ")
            line = f"{head}: not yet: {said}"
        lines.append(line)
        earned += float(result.score)
        possible += float(result.possible)
    return Progress(lines, earned, possible)
