"""What every exercise check shares: comparing with the reference and calling a student's code."""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable

import numpy as np


def not_answered(value) -> bool:
    """Whether ``value`` is still a placeholder (``...`` or ``None``)."""
    return value is Ellipsis or value is None


#: How many generators each check has drawn in this process (the grader clears it per question).
_DRAWS: dict[str, int] = {}


def _fresh_rng() -> np.random.Generator:
    """A generator for the calling check's next data: seeded by its name and call count.

    A check's first call draws the same data in every process, its second call other
    data, and so on, so a regrade gives the same score and a test that calls a check
    five times still tries five data sets.
    """
    caller = sys._getframe(1)
    name = f"{caller.f_globals.get('__name__')}.{caller.f_code.co_name}"
    count = _DRAWS[name] = _DRAWS.get(name, -1) + 1
    return np.random.default_rng([zlib.crc32(name.encode()), count])


def compare(
    got,
    expected,
    *,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    n: int | None = None,
    sums_to_one_axis: int | None = None,
    reveal: bool = True,
) -> None:
    """Raise an ``AssertionError`` that says how ``got`` differs from ``expected``.

    Parameters
    ----------
    got : array-like
        The student's value.
    expected : array-like
        The reference value.
    name : str
        What the value is called in the exercise (used in the message).
    rtol, atol : float
        Tolerances of :func:`numpy.allclose`.
    n : int, optional
        The number of data points; a result off by a factor of ``n`` (or ``n - 1``
        against ``n``) is named as such.
    sums_to_one_axis : int, optional
        The axis along which ``expected`` sums to one (probabilities); a ``got``
        that does not is named as such.
    reveal : bool
        Whether the message may show the expected value. Code exercises run on fresh
        data, so showing it gives nothing away; a numeric answer must not be revealed.
    """
    if not_answered(got):
        raise AssertionError(f"{name} is not answered yet: replace the ... with your code.")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be numbers, got {type(got).__name__}.") from None
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        hint = ""
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            hint = " It looks transposed: rows should be data points, columns components."
        elif got.size == 1 and expected.size == 1:
            got, expected = got.reshape(()), expected.reshape(())
        if got.shape != expected.shape:
            raise AssertionError(
                f"{name} has shape {got.shape}, but it should have shape {expected.shape}.{hint}"
            )
    if np.any(np.isnan(got)):
        raise AssertionError(
            f"{name} contains NaN. A 0/0 or inf - inf happened: often exp() of a very negative "
            f"number underflowed to 0. Work in log space (subtract the maximum before exp)."
        )
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    if sums_to_one_axis is not None:
        sums = got.sum(axis=sums_to_one_axis)
        if not np.allclose(sums, 1.0, atol=1e-6):
            other = 1 - sums_to_one_axis if got.ndim == 2 else None
            extra = ""
            if other is not None and np.allclose(got.sum(axis=other), 1.0, atol=1e-6):
                extra = (
                    f" (they sum to 1 along axis {other}: normalize along axis {sums_to_one_axis})"
                )
            raise AssertionError(
                f"{name} should sum to 1 along axis {sums_to_one_axis}, but the sums range "
                f"from {sums.min():.4g} to {sums.max():.4g}{extra}."
            )
    nonzero = np.abs(expected) > 1e-12
    if np.any(nonzero):
        ratio = got[nonzero] / expected[nonzero]
        factor = float(ratio.flat[0])
        if np.allclose(ratio, factor, rtol=1e-6) and not np.isclose(factor, 1.0):
            hint = ""
            if n is not None and (np.isclose(factor, n) or np.isclose(factor, 1 / n)):
                hint = f" That is a factor of n = {n}: a sum where a mean belongs, or the reverse?"
            elif n is not None and np.isclose(factor, np.sqrt(n / (n - 1))):
                hint = " That is sqrt(n / (n - 1)): you divided by n - 1, the MLE divides by n."
            elif n is not None and np.isclose(factor, n / (n - 1)):
                hint = " That is n / (n - 1): you divided by n - 1, the MLE divides by n."
            if hint or (got.size > 1 and reveal):
                raise AssertionError(f"{name} is off by a factor of {factor:.6g}.{hint}")
    if not reveal:
        direction = "too high" if np.mean(got - expected) > 0 else "too low"
        raise AssertionError(
            f"{name} is not right: it is {direction}. Check each step of the formula."
        )
    worst = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape) if got.ndim else ()
    raise AssertionError(
        f"{name} is not right: at index {tuple(int(i) for i in worst)} it is "
        f"{got[worst]:.6g} but should be {expected[worst]:.6g}."
    )


def _answers_called(function: Callable, answers) -> list[str]:
    """The names of those of ``answers`` that ``function``'s own code calls.

    The calls in ``function``'s source (``kmeans.assign(...)``, ``assign(...)``,
    ``emlab.kmeans.assign(...)``) are looked up in its module's globals, so whatever a
    name was imported as, only the very functions in ``answers`` count. Without a
    source to read (a built-in, a function made by ``exec``) nothing counts.
    """
    import ast
    import builtins
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    namespace = getattr(function, "__globals__", {})
    local = {  # names the function binds itself (arguments, assignments) are not the globals
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
    } | {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    outer = tree.body[0] if tree.body else None
    local |= {  # and the functions and classes it defines inside itself
        node.name for node in ast.walk(tree) if isinstance(node, definitions) and node is not outer
    }
    called = []
    for node in ast.walk(tree):
        target, path = getattr(node, "func", None) if isinstance(node, ast.Call) else None, []
        while isinstance(target, ast.Attribute):
            path.append(target.attr)
            target = target.value
        if not isinstance(target, ast.Name) or target.id in local:
            continue
        found = namespace.get(target.id, getattr(builtins, target.id, None))
        for attribute in reversed(path):
            found = getattr(found, attribute, None)
        for answer in answers:
            name = f"{answer.__module__}.{answer.__qualname__}"
            if found is answer and name not in called:
                called.append(name)
    return called


def _call(function: Callable, name: str, *args, answers=()):
    """``function(*args)``, with what went wrong as an ``AssertionError`` a student can act on.

    ``answers`` are emlab's own solutions to the exercise: a function that calls one of
    them is turned away before it runs (the check compares with them, so it would pass
    without the student having written the step).
    """
    if not_answered(function) or not callable(function):
        raise AssertionError(f"{name} is not defined yet: write the function first.")
    called = _answers_called(function, answers)
    if called:
        raise AssertionError(
            f"{name} calls {' and '.join(called)}, emlab's own solution to this exercise. "
            f"Write the step yourself with numpy: the check compares your code with that "
            f"function."
        )
    try:
        return function(*args)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace the stub.") from None
    except Exception as exc:  # the student's code failed: say so plainly, and where
        raise AssertionError(
            f"{name} raised {type(exc).__name__}{_where(function, exc)}: {exc}. That is an error "
            f"in your own code: fix it, run its cell again, then this check."
        ) from None


def _where(function: Callable, exc: BaseException) -> str:
    """Where in ``function``'s own code ``exc`` was raised: `` at line 3 of f (`y = x[5]`)``.

    The last frame of the traceback that runs code from the file (or notebook cell) that
    defines ``function``; the line is counted from the function's ``def`` line (1). Empty
    when the error did not pass through that code (a built-in was called with bad input).
    """
    import linecache

    remote = getattr(exc, "emlab_where", None)  # raised in a grading sandbox: it says where
    if remote is not None:
        line, text = remote
        where = f" at line {line} of {function.__name__}"
        return f"{where} (`{text}`)" if text else where
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    line, traceback = None, exc.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == code.co_filename:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    if line is None or line < code.co_firstlineno:
        return ""
    text = linecache.getline(code.co_filename, line).strip()
    where = f" at line {line - code.co_firstlineno + 1} of {function.__name__}"
    return f"{where} (`{text}`)" if text else where


def _call_e_step_1d(function: Callable, x, weights, means, sds):
    """A student's 1-D E-step ``function(x, weights, means, sds)`` on copies of the arguments."""
    from emlab.gmm import e_step, e_step_1d

    return _call(
        function,
        "your function",
        x.copy(),
        weights.copy(),
        means.copy(),
        sds.copy(),
        answers=(e_step_1d, e_step),
    )


def _reference_resp(log_joint: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp

    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))
