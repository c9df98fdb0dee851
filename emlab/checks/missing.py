"""Checks for the exercises of lesson 12, missing data.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _normal(rng: np.random.Generator, D: int):
    """A mean away from 0 and a well-conditioned covariance with clear correlations."""
    mean = rng.uniform(-3.0, 3.0, size=D)
    A = rng.normal(size=(D, D))
    scales = rng.uniform(0.5, 2.0, size=D)
    covariance = scales[:, None] * (A @ A.T / D + 0.5 * np.eye(D)) * scales[None, :]
    return mean, covariance


def _one_pattern(rng: np.random.Generator):
    """Rows that all miss the same one or two entries (never all of them)."""
    D = int(rng.integers(3, 6))
    mean, covariance = _normal(rng, D)
    n = int(rng.integers(4, 12))
    X = mean + rng.normal(size=(n, D)) @ np.linalg.cholesky(covariance).T
    missing = np.zeros(D, dtype=bool)
    missing[rng.choice(D, size=int(rng.integers(1, min(3, D - 1) + 1)), replace=False)] = True
    X[:, missing] = np.nan
    return X, mean, covariance, ~missing


def _as_array(got, name: str, shape) -> np.ndarray | None:
    """``got`` as a float array of ``shape``, or an ``AssertionError`` that says why not."""
    if not_answered(got):
        raise AssertionError(f"{name} returns ...: replace the ... with your code.")
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{name} should return an array of numbers, got {type(got).__name__}."
        ) from None
    if array.shape != shape:
        raise AssertionError(f"{name} returned shape {array.shape}; it should be {shape}.")
    return array


def _fill_in_mistakes(X, mean, covariance, observed):
    """Typical wrong fill-ins of the missing block, each with what it gets wrong."""
    o, m = observed, ~observed
    resid = X[:, o] - mean[o]
    coef = np.linalg.solve(covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]).T  # S_mo S_oo^-1
    precision = np.linalg.inv(covariance)
    return [
        (
            np.broadcast_to(mean[m], (len(X), m.sum())),
            "the missing entries are filled with their means mu_m: that is mean imputation, "
            "which ignores the observed entries. Add Sigma_mo Sigma_oo^{-1} (x_o - mu_o).",
        ),
        (
            resid @ coef.T,
            "the fill-in leaves out mu_m: E[x_m | x_o] = mu_m + Sigma_mo Sigma_oo^{-1} (x_o - mu_o).",
        ),
        (
            mean[m] + X[:, o] @ coef.T,
            "the fill-in uses x_o where x_o - mu_o belongs: the regression is on the deviations "
            "of the observed entries from their means.",
        ),
        (
            mean[m] + resid @ covariance[np.ix_(m, o)].T,
            "the fill-in uses Sigma_mo without Sigma_oo^{-1}: the regression coefficients are "
            "Sigma_mo Sigma_oo^{-1} (np.linalg.solve(Sigma_oo, Sigma_om).T).",
        ),
        (
            mean[m] + resid @ precision[np.ix_(m, o)].T,
            "the fill-in takes blocks of the inverse of Sigma, inv(Sigma)[m, o]: the blocks "
            "belong to Sigma itself, and the inverse is of the block Sigma_oo alone.",
        ),
    ]


def fill_in_pattern(function: Callable) -> None:
    """Check ``function(X_rows, mean, covariance) -> X_filled`` for rows of one pattern.

    Every row of ``X_rows`` misses the same entries (``np.nan``); the function returns the
    rows with each missing block replaced by its conditional mean
    :math:`\\hat x_m = \\mu_m + \\Sigma_{mo} \\Sigma_{oo}^{-1} (x_o - \\mu_o)` and the observed
    entries unchanged. Compared with :func:`emlab.missing.conditional_mean` on fresh data
    (3 to 5 variables, one or two missing), naming the usual slips: mean imputation,
    :math:`\\mu_m` left out, :math:`x_o` for :math:`x_o - \\mu_o`, :math:`\\Sigma_{oo}^{-1}`
    left out, blocks of :math:`\\Sigma^{-1}`, NaN left in, observed entries changed.
    """
    from emlab.missing import conditional_mean, e_step

    rng = _fresh_rng()
    X, mean, covariance, observed = _one_pattern(rng)
    with np.errstate(all="ignore"):
        got = _call(
            function,
            "your function",
            X.copy(),
            mean.copy(),
            covariance.copy(),
            answers=(conditional_mean, e_step),
        )
    if np.shape(got) == (len(X), int((~observed).sum())) and observed.sum() != (~observed).sum():
        raise AssertionError(
            "your function returned only the missing block: return whole rows, shape "
            f"{X.shape}, the observed entries as they were and the missing ones filled in."
        )
    filled = _as_array(got, "your function", X.shape)
    expected = conditional_mean(X, mean, covariance)
    if np.isnan(filled).any():
        raise AssertionError(
            f"your function left {int(np.isnan(filled).sum())} NaN in its result: every missing "
            f"entry needs its conditional mean (and the observed ones stay as they are)."
        )
    if not np.allclose(filled[:, observed], X[:, observed], rtol=1e-12, atol=0):
        raise AssertionError(
            "your function changed observed entries: only the missing ones (np.nan) are filled "
            "in; the observed ones are kept as they are."
        )
    if not np.allclose(filled, expected, rtol=1e-7, atol=1e-9):
        for wrong, message in _fill_in_mistakes(X, mean, covariance, observed):
            if np.allclose(filled[:, ~observed], wrong, rtol=1e-7, atol=1e-9):
                raise AssertionError(f"Not quite: {message}")
    compare(filled, expected, name="the filled-in rows", rtol=1e-7, atol=1e-9)


def _several_patterns(rng: np.random.Generator):
    """Rows with several missingness patterns, complete rows among them, none empty."""
    D = int(rng.integers(3, 5))
    mean, covariance = _normal(rng, D)
    n = int(rng.integers(25, 50))
    X = mean + rng.normal(size=(n, D)) @ np.linalg.cholesky(covariance).T
    hidden = rng.random((n, D)) < 0.35
    hidden[: n // 5] = False  # some complete rows
    hidden[hidden.all(axis=1), 0] = False
    X[hidden] = np.nan
    return X, mean, covariance


def _conditional_covariances(X, mean, covariance):
    """sum_i C_i, C_i the conditional covariance of row i's missing block (zero elsewhere);
    the same without the regression term; and sum over patterns of C (once per pattern)."""
    from emlab.missing import missingness_patterns

    D = X.shape[1]
    per_row, unconditional, per_pattern = np.zeros((D, D)), np.zeros((D, D)), np.zeros((D, D))
    for rows, o in missingness_patterns(X):
        m = ~o
        if not m.any():
            continue
        cov_mm = covariance[np.ix_(m, m)]
        cond = cov_mm - covariance[np.ix_(m, o)] @ np.linalg.solve(
            covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]
        )
        per_row[np.ix_(m, m)] += len(rows) * cond
        per_pattern[np.ix_(m, m)] += cond
        unconditional[np.ix_(m, m)] += len(rows) * cov_mm
    return per_row, unconditional, per_pattern


def e_step_fixed(function: Callable) -> None:
    """Check ``function(X, mean, covariance) -> (sum_x, sum_xx)``, the repaired E-step.

    ``sum_x`` :math:`= \\sum_i \\hat x_i` and ``sum_xx``
    :math:`= \\sum_i (\\hat x_i \\hat x_i^\\top + C_i)`, compared with
    :func:`emlab.missing.e_step` on fresh data with several missingness patterns. Named:
    the conditional covariance :math:`C_i` left out (the bug), added once per pattern instead
    of once per row, or :math:`\\Sigma_{mm}` added in its place.
    """
    from emlab.missing import conditional_mean, e_step

    rng = _fresh_rng()
    X, mean, covariance = _several_patterns(rng)
    D = X.shape[1]
    with np.errstate(all="ignore"):
        got = _call(
            function, "e_step_fixed", X.copy(), mean.copy(), covariance.copy(), answers=(e_step,)
        )
    if not_answered(got):
        raise AssertionError("e_step_fixed returns ...: replace the ... with your code.")
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(
            "e_step_fixed should return two things, (sum_x, sum_xx), as buggy_e_step does."
        )
    sum_x = _as_array(got[0], "sum_x", (D,))
    sum_xx = _as_array(got[1], "sum_xx", (D, D))
    stats, _ = e_step(X, mean, covariance)
    compare(sum_x, stats.sum_x, name="sum_x", n=len(X))
    if not np.allclose(sum_xx, stats.sum_xx, rtol=1e-7, atol=1e-9):
        x_hat = conditional_mean(X, mean, covariance)
        outer = x_hat.T @ x_hat
        per_row, unconditional, per_pattern = _conditional_covariances(X, mean, covariance)
        for wrong, message in [
            (
                outer,
                "sum_xx is still the sum of the outer products of the filled-in rows: the bug "
                "is not fixed. Add each row's conditional covariance C_i on its missing block.",
            ),
            (
                outer + per_pattern,
                "sum_xx adds the conditional covariance once per pattern: every row of the "
                "pattern has its own C_i, so add len(rows) times it.",
            ),
            (
                outer + unconditional,
                "sum_xx adds Sigma_mm, the covariance of the missing block BEFORE the observed "
                "entries are seen: C_i = Sigma_mm - Sigma_mo Sigma_oo^{-1} Sigma_om.",
            ),
            (
                outer - per_row,
                "sum_xx subtracts the conditional covariance: E[x x^T] = x_hat x_hat^T + C_i, "
                "the uncertainty about the missing values adds to the second moment.",
            ),
        ]:
            if np.allclose(sum_xx, wrong, rtol=1e-7, atol=1e-9):
                raise AssertionError(message)
    compare(sum_xx, stats.sum_xx, name="sum_xx", n=len(X))


def mean_imputation_factor(factor, X) -> None:
    """Check a prediction: the variance of column 2 after mean imputation, as a fraction of
    the variance of its observed values (both dividing by their number of values).

    Filling a column's missing entries with the mean of its observed ones leaves the mean
    and the sum of squared deviations unchanged and divides that sum by :math:`n` instead of
    the number observed, so the factor is the fraction of the column that is observed,
    computed here from ``X``, the lesson's data.
    """
    if not_answered(factor):
        raise AssertionError("predicted_factor is not answered yet: replace the ... with it.")
    try:
        value = float(np.asarray(factor, dtype=float))
    except (TypeError, ValueError):
        raise AssertionError("predicted_factor should be one number, a fraction.") from None
    X = np.asarray(X, dtype=float)
    column = X[:, 2]
    seen = ~np.isnan(column)
    expected = float(seen.mean())
    if np.isclose(value, expected, rtol=1e-6):
        return
    for wrong, message in [
        (
            1.0,
            "the filled-in values do not change the spread, but they add rows: the same sum "
            "of squared deviations is now divided by n, not by the number observed.",
        ),
        (
            1.0 - expected,
            "that is the fraction MISSING. Each filled-in value adds 0 to the sum of squared "
            "deviations, which is then divided by all n rows.",
        ),
        (
            np.sqrt(expected),
            "that is the factor for the standard deviation; the question asks about the variance.",
        ),
        (
            1.0 / expected,
            "the variance shrinks, it does not grow: the filled-in values sit at the mean.",
        ),
    ]:
        if np.isclose(value, wrong, rtol=1e-6):
            raise AssertionError(f"predicted_factor is not right: {message}")
    compare(value, expected, name="predicted_factor", rtol=1e-6, reveal=False)
