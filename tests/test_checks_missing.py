"""Lesson 12's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest

from emlab import datasets, missing
from emlab.checks import missing as checks_missing

# ---------------------------------------------------------------------------
# Exercise 1: the conditional-mean fill-in for one pattern


def fill_in(X_rows, mean, covariance):
    """The model answer: one regression of x_m on x_o for all the rows."""
    o = ~np.isnan(X_rows[0])
    m = ~o
    coef = np.linalg.solve(covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]).T
    filled = X_rows.copy()
    filled[:, m] = mean[m] + (X_rows[:, o] - mean[o]) @ coef.T
    return filled


def fill_in_row_by_row(X_rows, mean, covariance):
    filled = np.array(X_rows, dtype=float)
    for row in filled:
        m = np.isnan(row)
        o = ~m
        row[m] = mean[m] + covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)]) @ (
            row[o] - mean[o]
        )
    return filled.tolist()  # a list is fine too


def test_fill_in_accepts_right_answers_every_time():
    for _ in range(30):
        checks_missing.fill_in_pattern(fill_in)
        checks_missing.fill_in_pattern(fill_in_row_by_row)


def _wrong_fill(X_rows, mean, covariance, how):
    o = ~np.isnan(X_rows[0])
    m = ~o
    filled = X_rows.copy()
    resid = X_rows[:, o] - mean[o]
    coef = np.linalg.solve(covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]).T
    filled[:, m] = {
        "means": lambda: np.broadcast_to(mean[m], (len(X_rows), m.sum())),
        "no mu_m": lambda: resid @ coef.T,
        "no centring": lambda: mean[m] + X_rows[:, o] @ coef.T,
        "no inverse": lambda: mean[m] + resid @ covariance[np.ix_(m, o)].T,
        "precision blocks": lambda: mean[m] + resid @ np.linalg.inv(covariance)[np.ix_(m, o)].T,
    }[how]()
    return filled


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("means", "mean imputation"),
        ("no mu_m", "leaves out mu_m"),
        ("no centring", "uses x_o where x_o - mu_o belongs"),
        ("no inverse", r"without Sigma_oo\^\{-1\}"),
        ("precision blocks", "inverse of Sigma"),
    ],
)
def test_fill_in_names_typical_mistakes(how, message):
    def wrong(X_rows, mean, covariance):
        return _wrong_fill(X_rows, mean, covariance, how)

    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks_missing.fill_in_pattern(wrong)


def only_the_block(X_rows, mean, covariance):
    o = ~np.isnan(X_rows[0])
    return fill_in(X_rows, mean, covariance)[:, ~o]


def leaves_nan(X_rows, mean, covariance):
    return X_rows


def changes_observed(X_rows, mean, covariance):
    return fill_in(X_rows, mean, covariance) + 0.1 * ~np.isnan(X_rows)


def calls_emlab(X_rows, mean, covariance):
    return missing.conditional_mean(X_rows, mean, covariance)


def stub(X_rows, mean, covariance):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (leaves_nan, "left .* NaN"),
        (changes_observed, "changed observed entries"),
        (calls_emlab, "emlab's own solution"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_fill_in_names_other_mistakes(function, message):
    with pytest.raises(AssertionError, match=message):
        checks_missing.fill_in_pattern(function)


def test_fill_in_asks_for_whole_rows():
    for _ in range(10):  # some draws have as many missing as observed entries: then shape says
        try:
            checks_missing.fill_in_pattern(only_the_block)
        except AssertionError as error:
            assert "only the missing block" in str(error) or "shape" in str(error)
        else:
            raise AssertionError("returning only the block passed")


def test_fill_in_rejects_a_small_error_without_a_named_cause():
    def off(X_rows, mean, covariance):
        filled = fill_in(X_rows, mean, covariance)
        filled[np.isnan(X_rows)] += 0.01
        return filled

    with pytest.raises(AssertionError, match="the filled-in rows is not right"):
        checks_missing.fill_in_pattern(off)


# ---------------------------------------------------------------------------
# Exercise 2: the E-step that forgets the conditional covariance


def buggy_e_step(X, mean, covariance):
    x_hat = missing.conditional_mean(X, mean, covariance)
    return x_hat.sum(axis=0), x_hat.T @ x_hat


def e_step_fixed(X, mean, covariance):
    """The model answer of the lesson."""
    x_hat = missing.conditional_mean(X, mean, covariance)
    sum_xx = x_hat.T @ x_hat
    for rows, o in missing.missingness_patterns(X):
        m = ~o
        cond_cov = covariance[np.ix_(m, m)] - covariance[np.ix_(m, o)] @ np.linalg.solve(
            covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]
        )
        sum_xx[np.ix_(m, m)] += len(rows) * cond_cov
    return x_hat.sum(axis=0), sum_xx


def e_step_row_by_row(X, mean, covariance):
    x_hat = missing.conditional_mean(X, mean, covariance)
    sum_xx = np.zeros((X.shape[1], X.shape[1]))
    for x, row in zip(x_hat, X, strict=True):
        m = np.isnan(row)
        o = ~m
        C = np.zeros_like(sum_xx)
        C[np.ix_(m, m)] = (
            covariance[np.ix_(m, m)]
            - covariance[np.ix_(m, o)]
            @ np.linalg.inv(covariance[np.ix_(o, o)])
            @ covariance[np.ix_(o, m)]
        )
        sum_xx += np.outer(x, x) + C
    return list(x_hat.sum(axis=0)), sum_xx


def test_e_step_fixed_accepts_right_answers_every_time():
    for _ in range(20):
        checks_missing.e_step_fixed(e_step_fixed)
        checks_missing.e_step_fixed(e_step_row_by_row)
        checks_missing.e_step_fixed(
            lambda X, mean, covariance: tuple(e_step_fixed(X, mean, covariance))
        )


def _variant(how):
    def e_step(X, mean, covariance):
        x_hat = missing.conditional_mean(X, mean, covariance)
        sum_xx = x_hat.T @ x_hat
        for rows, o in missing.missingness_patterns(X):
            m = ~o
            cond_cov = covariance[np.ix_(m, m)] - covariance[np.ix_(m, o)] @ np.linalg.solve(
                covariance[np.ix_(o, o)], covariance[np.ix_(o, m)]
            )
            if how == "once per pattern":
                sum_xx[np.ix_(m, m)] += cond_cov
            elif how == "Sigma_mm":
                sum_xx[np.ix_(m, m)] += len(rows) * covariance[np.ix_(m, m)]
            elif how == "subtracted":
                sum_xx[np.ix_(m, m)] -= len(rows) * cond_cov
        sum_x = x_hat.mean(axis=0) if how == "mean for sum" else x_hat.sum(axis=0)
        return sum_x, sum_xx

    return e_step


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (buggy_e_step, "the bug is not fixed"),
        (_variant("once per pattern"), "once per pattern"),
        (_variant("Sigma_mm"), "BEFORE the observed entries are seen"),
        (_variant("subtracted"), "subtracts the conditional covariance"),
        (_variant("mean for sum"), "factor of n"),
        (lambda X, mean, covariance: missing.e_step(X, mean, covariance)[0], "emlab's own"),
        (lambda X, mean, covariance: e_step_fixed(X, mean, covariance)[1], "two things"),
        (lambda X, mean, covariance: ..., r"replace the \.\.\."),
        (..., "not defined"),
    ],
)
def test_e_step_fixed_names_typical_mistakes(function, message):
    for _ in range(3):
        with pytest.raises(AssertionError, match=message):
            checks_missing.e_step_fixed(function)


def test_the_buggy_e_step_of_the_lesson_shrinks_the_covariance():
    # What the lesson shows: EM with the buggy E-step ends with smaller variances, and its
    # observed-data log-likelihood falls.
    _, X, _, _ = datasets.missing_normal(n=200, missing_rate=0.4, random_state=0)
    mean, covariance = missing.initial_params(X).values()
    log_likelihood = []
    for _ in range(40):
        log_likelihood.append(missing.observed_log_likelihood(X, mean, covariance))
        mean, covariance = missing.m_step(
            missing.ExpectedStats(*buggy_e_step(X, mean, covariance)), len(X)
        )
    fit = missing.normal_mle(X).params["covariance"]
    assert np.all(np.diag(covariance)[1:] < 0.85 * np.diag(fit)[1:])
    assert np.any(np.diff(log_likelihood) < -0.1)


# ---------------------------------------------------------------------------
# Exercise 3: predict the shrinkage under mean imputation


@pytest.fixture
def lesson_X():
    return datasets.missing_normal(n=200, missing_rate=0.4, random_state=0)[1]


def test_mean_imputation_factor_accepts_the_fraction_observed(lesson_X):
    seen = ~np.isnan(lesson_X[:, 2])
    checks_missing.mean_imputation_factor(np.mean(seen), lesson_X)
    imputed = np.where(seen, lesson_X[:, 2], np.nanmean(lesson_X[:, 2]))
    measured = imputed.var() / np.nanvar(lesson_X[:, 2])
    checks_missing.mean_imputation_factor(measured, lesson_X)  # it is exactly that


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda f: 1.0, "divided by n"),
        (lambda f: 1 - f, "fraction MISSING"),
        (lambda f: np.sqrt(f), "standard deviation"),
        (lambda f: 1 / f, "does not grow"),
        (lambda f: f + 0.05, "too high"),
        (lambda f: ..., "not answered"),
        (lambda f: "half", "one number"),
    ],
)
def test_mean_imputation_factor_names_typical_mistakes(lesson_X, answer, message):
    fraction = np.mean(~np.isnan(lesson_X[:, 2]))
    with pytest.raises(AssertionError, match=message):
        checks_missing.mean_imputation_factor(answer(fraction), lesson_X)


def test_the_checks_print_nothing(capsys, lesson_X):
    checks_missing.fill_in_pattern(fill_in)
    checks_missing.e_step_fixed(e_step_fixed)
    checks_missing.mean_imputation_factor(np.mean(~np.isnan(lesson_X[:, 2])), lesson_X)
    assert capsys.readouterr().out == ""
