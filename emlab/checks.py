"""Exercise checks: compare a student's answer with emlab's reference and say what is off.

Every check

* builds *fresh* data on each call (an unseeded generator), so that passing means
  the code is right, not that a number was copied;
* compares with emlab's own implementation of the same step;
* on a mismatch raises :class:`AssertionError` with a diagnosis a student can act
  on (wrong shape, rows that do not sum to one, off by a factor of n, the
  unstable version that underflows), and returns ``None`` when all is well.

They are called from otter-grader's test cells in the lesson notebooks, so they
must print nothing: otter's doctest runner would read printed text as a wrong
answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "compare",
    "mle_sigma",
    "not_answered",
    "responsibilities_from_log_joint",
]


def not_answered(value) -> bool:
    """Whether ``value`` is still a placeholder (``...`` or ``None``)."""
    return value is Ellipsis or value is None


def _fresh_rng() -> np.random.Generator:
    return np.random.default_rng()


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


def _call(function: Callable, name: str, *args):
    if not_answered(function) or not callable(function):
        raise AssertionError(f"{name} is not defined yet: write the function first.")
    try:
        return function(*args)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace the stub.") from None
    except Exception as exc:  # the student's code failed: say so plainly
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from None


# --- 00: how exercises work -------------------------------------------------------------------


def _reference_resp(log_joint: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp

    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def responsibilities_from_log_joint(function: Callable) -> None:
    """Check ``function(log_joint) -> resp`` on fresh data, far-away points included.

    ``log_joint[i, k]`` is :math:`\\log \\pi_k + \\log p(x_i \\mid z_i = k)`; the answer is
    :math:`r_{ik} = \\exp(\\text{log\\_joint}_{ik}) / \\sum_j \\exp(\\text{log\\_joint}_{ij})`.
    """
    rng = _fresh_rng()
    n, k = int(rng.integers(20, 60)), int(rng.integers(2, 5))
    moderate = rng.normal(-3.0, 2.0, size=(n, k))
    compare(
        _call(function, "your function", moderate.copy()),
        _reference_resp(moderate),
        name="resp",
        sums_to_one_axis=1,
    )
    # points far from every component: densities of about exp(-1000) underflow to 0
    far = moderate - 1000.0
    with np.errstate(all="ignore"):
        got = _call(function, "your function", far.copy())
    compare(got, _reference_resp(far), name="resp for far-away points", sums_to_one_axis=1)


def mle_sigma(sigma_hat, x) -> None:
    """Check a numeric answer: the maximum-likelihood standard deviation of ``x``."""
    x = np.asarray(x, dtype=float)
    expected = np.sqrt(np.mean((x - x.mean()) ** 2))
    compare(sigma_hat, expected, name="sigma_hat", n=len(x), reveal=False)
