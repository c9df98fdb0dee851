"""Tests for emlab.missing: a normal with missing values, checked against scipy and closed forms.

The references are independent of emlab: the observed-data log-likelihood is recomputed with
``scipy.stats.multivariate_normal`` and maximized directly with ``scipy.optimize.minimize``, the
E-step is recomputed row by row with ``np.linalg.solve``, and the complete-data MLE is the sample
mean and the divide-by-n covariance.
"""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import multivariate_normal

from emlab import datasets, missing
from emlab.em import EMResult
from emlab.missing import (
    ExpectedStats,
    conditional_mean,
    e_step,
    initial_params,
    m_step,
    missingness_patterns,
    normal_mle,
    observed_log_likelihood,
)

# ---------------------------------------------------------------------------
# Independent references


def reference_log_likelihood(X, mean, covariance):
    """Each row's marginal normal on its observed entries, by scipy, one pattern at a time."""
    groups = {}
    for i, row in enumerate(np.isnan(X)):
        groups.setdefault(tuple(row), []).append(i)
    total = 0.0
    for pattern, rows in groups.items():
        o = ~np.array(pattern)
        total += multivariate_normal.logpdf(
            X[np.ix_(rows, o)], mean[o], covariance[np.ix_(o, o)]
        ).sum()
    return float(total)


def reference_e_step(X, mean, covariance):
    """The E-step row by row: conditional mean and covariance with np.linalg.solve."""
    n, D = X.shape
    x_hats = np.empty_like(X)
    sum_xx = np.zeros((D, D))
    for i in range(n):
        m = np.isnan(X[i])
        o = ~m
        x_hat = X[i].copy()
        outer_correction = np.zeros((D, D))
        if m.any():
            S_oo = covariance[np.ix_(o, o)]
            S_mo = covariance[np.ix_(m, o)]
            x_hat[m] = mean[m] + S_mo @ np.linalg.solve(S_oo, X[i, o] - mean[o])
            outer_correction[np.ix_(m, m)] = covariance[np.ix_(m, m)] - S_mo @ np.linalg.solve(
                S_oo, S_mo.T
            )
        x_hats[i] = x_hat
        sum_xx += np.outer(x_hat, x_hat) + outer_correction
    return x_hats, x_hats.sum(axis=0), sum_xx


def unpack(theta, D):
    """Mean and covariance from an unconstrained vector: the Cholesky factor, log diagonal."""
    factor = np.zeros((D, D))
    factor[np.tril_indices(D)] = theta[D:]
    factor[np.diag_indices(D)] = np.exp(factor[np.diag_indices(D)])
    return theta[:D], factor @ factor.T


def direct_mle(X):
    """Maximize the observed-data log-likelihood with BFGS, from the standard normal."""
    n, D = X.shape
    theta0 = np.zeros(D + D * (D + 1) // 2)
    fit = minimize(
        lambda theta: -reference_log_likelihood(X, *unpack(theta, D)) / n,
        theta0,
        method="BFGS",
        options={"gtol": 1e-10, "maxiter": 2000},
    )
    mean, covariance = unpack(fit.x, D)
    return mean, covariance, -fit.fun * n


def random_missing(n=40, D=4, rate=0.4, seed=0):
    """A correlated normal sample with entries hidden at random, no row left empty."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(D, D))
    covariance = A @ A.T + D * np.eye(D)
    mean = rng.normal(size=D)
    X = mean + rng.normal(size=(n, D)) @ np.linalg.cholesky(covariance).T
    hidden = rng.random((n, D)) < rate
    hidden[hidden.all(axis=1), rng.integers(D)] = False
    hidden[hidden.all(axis=1), 0] = False
    X[hidden] = np.nan
    return X, mean, covariance


# ---------------------------------------------------------------------------
# Against a direct maximization of the observed-data likelihood


@pytest.mark.parametrize(
    ("mechanism", "missing_rate", "seed"), [("mar", 0.4, 3), ("mcar", 0.3, 5), ("mar", 0.5, 8)]
)
def test_normal_mle_matches_direct_maximization(mechanism, missing_rate, seed):
    _, X, _, _ = datasets.missing_normal(
        n=60, missing_rate=missing_rate, mechanism=mechanism, random_state=seed
    )
    result = normal_mle(X, tol=1e-14, max_iter=5000)
    assert result.converged
    mean, covariance, maximum = direct_mle(X)
    assert result.log_likelihood == pytest.approx(maximum, rel=1e-6)
    assert result.log_likelihood >= maximum - 1e-9 * abs(maximum)  # EM is not below the optimizer
    np.testing.assert_allclose(result.params["mean"], mean, rtol=0, atol=1e-4)
    np.testing.assert_allclose(result.params["covariance"], covariance, rtol=0, atol=1e-4)


def test_log_likelihood_is_scipy_observed_data_log_likelihood():
    X, mean, covariance = random_missing(seed=1)
    expected = reference_log_likelihood(X, mean, covariance)
    assert observed_log_likelihood(X, mean, covariance) == pytest.approx(expected, rel=1e-12)
    assert e_step(X, mean, covariance)[1] == pytest.approx(expected, rel=1e-12)


def test_history_records_the_log_likelihood_of_each_iteration():
    _, X, _, _ = datasets.missing_normal(n=50, random_state=2)
    result = normal_mle(X, tol=0, max_iter=6)
    assert isinstance(result, EMResult)
    assert result.n_iter == 6 and len(result.history) == 7
    for snap in result.history:
        expected = reference_log_likelihood(X, snap.params["mean"], snap.params["covariance"])
        assert snap.log_likelihood == pytest.approx(expected, rel=1e-12)
    start = initial_params(X)
    np.testing.assert_array_equal(result.history[0].params["mean"], start["mean"])
    np.testing.assert_array_equal(result.history[0].params["covariance"], start["covariance"])
    np.testing.assert_allclose(
        result.resp, conditional_mean(X, result.params["mean"], result.params["covariance"])
    )


# ---------------------------------------------------------------------------
# EM's guarantees


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("mechanism", ["mar", "mcar"])
def test_log_likelihood_never_decreases(mechanism, seed):
    _, X, _, _ = datasets.missing_normal(
        n=80,
        missing_rate=0.5 if mechanism == "mar" else 0.6,
        mechanism=mechanism,
        random_state=seed,
    )
    log_likelihood = normal_mle(X, tol=0, max_iter=60).history.log_likelihood
    assert np.all(np.diff(log_likelihood) >= -1e-10 * np.abs(log_likelihood[1:]))
    assert log_likelihood[-1] > log_likelihood[0]  # and it does climb


def test_log_likelihood_never_decreases_from_a_poor_start():
    X, mean, covariance = random_missing(n=50, D=5, rate=0.5, seed=4)
    result = normal_mle(X, tol=0, max_iter=80, mean=mean + 5.0, covariance=10 * covariance)
    log_likelihood = result.history.log_likelihood
    assert np.all(np.diff(log_likelihood) >= -1e-10 * np.abs(log_likelihood[1:]))
    assert log_likelihood[-1] - log_likelihood[0] > 100


def test_complete_data_gives_the_closed_form_mle_in_one_step():
    X_complete, _, _, _ = datasets.missing_normal(n=100, random_state=7)
    mean = X_complete.mean(axis=0)
    covariance = np.cov(X_complete, rowvar=False, ddof=0)
    far_start = {"mean": np.array([5.0, -5.0, 0.0]), "covariance": 3.0 * np.eye(3)}
    result = normal_mle(X_complete, **far_start)
    np.testing.assert_allclose(result.history[1].params["mean"], mean, rtol=1e-12)
    np.testing.assert_allclose(result.history[1].params["covariance"], covariance, rtol=1e-12)
    assert result.converged and result.n_iter == 2  # the second step changes nothing
    np.testing.assert_allclose(result.params["covariance"], covariance, rtol=1e-12)
    assert result.log_likelihood == pytest.approx(
        multivariate_normal.logpdf(X_complete, mean, covariance).sum(), rel=1e-12
    )


def test_the_order_of_rows_and_columns_does_not_matter():
    X, _, _ = random_missing(n=50, D=4, rate=0.4, seed=6)
    rng = np.random.default_rng(0)
    rows, cols = rng.permutation(len(X)), np.array([2, 0, 3, 1])
    fit = normal_mle(X, tol=1e-12, max_iter=2000)
    shuffled = normal_mle(X[rows][:, cols], tol=1e-12, max_iter=2000)
    np.testing.assert_allclose(shuffled.params["mean"], fit.params["mean"][cols], atol=1e-7)
    np.testing.assert_allclose(
        shuffled.params["covariance"], fit.params["covariance"][np.ix_(cols, cols)], atol=1e-7
    )
    np.testing.assert_allclose(shuffled.resp, fit.resp[rows][:, cols], atol=1e-7)


def test_data_far_from_the_origin_give_the_same_covariance():
    _, X, _, _ = datasets.missing_normal(n=60, random_state=9)
    near = normal_mle(X, tol=1e-12, max_iter=2000)
    far = normal_mle(X + 1e6, tol=1e-12, max_iter=2000)
    np.testing.assert_allclose(far.params["mean"] - 1e6, near.params["mean"], atol=1e-7)
    np.testing.assert_allclose(far.params["covariance"], near.params["covariance"], atol=1e-7)


# ---------------------------------------------------------------------------
# Against the alternatives, on a simulation with known truth


def squared_error(mean, covariance, true_mean, true_covariance):
    return np.sum((mean - true_mean) ** 2) + np.sum((covariance - true_covariance) ** 2)


def average_errors(mechanism, n_replicates=20):
    errors = {"em": [], "complete_rows": [], "mean_imputation": []}
    for seed in range(n_replicates):
        _, X, true_mean, true_covariance = datasets.missing_normal(
            n=200, missing_rate=0.4, mechanism=mechanism, random_state=seed
        )
        fit = normal_mle(X).params
        complete = X[~np.isnan(X).any(axis=1)]
        imputed = np.where(np.isnan(X), np.nanmean(X, axis=0), X)
        estimates = {
            "em": (fit["mean"], fit["covariance"]),
            "complete_rows": (complete.mean(axis=0), np.cov(complete, rowvar=False, ddof=0)),
            "mean_imputation": (imputed.mean(axis=0), np.cov(imputed, rowvar=False, ddof=0)),
        }
        for name, (mean, covariance) in estimates.items():
            errors[name].append(squared_error(mean, covariance, true_mean, true_covariance))
    return {name: np.mean(values) for name, values in errors.items()}


def test_em_beats_dropping_rows_and_mean_imputation_when_missing_at_random():
    errors = average_errors("mar")
    # Measured: EM about 0.17, complete rows 1.3 (biased), mean imputation 1.4 (variances shrunk).
    assert errors["em"] < 0.25 * errors["complete_rows"]
    assert errors["em"] < 0.25 * errors["mean_imputation"]


def test_em_beats_dropping_rows_and_mean_imputation_when_missing_completely_at_random():
    errors = average_errors("mcar")
    # Complete rows are unbiased under MCAR, only wasteful: EM's margin is smaller.
    assert errors["em"] < 0.75 * errors["complete_rows"]
    assert errors["em"] < 0.25 * errors["mean_imputation"]


def test_no_output(capsys):
    _, X, _, _ = datasets.missing_normal(n=30, random_state=0)
    normal_mle(X)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ---------------------------------------------------------------------------
# The steps, against brute force


@pytest.mark.parametrize("seed", range(3))
def test_e_step_matches_a_row_by_row_computation(seed):
    X, mean, covariance = random_missing(n=40, D=4, rate=0.45, seed=seed)
    mean = mean + 0.3  # not the truth: the E-step at any parameters
    x_hats, sum_x, sum_xx = reference_e_step(X, mean, covariance)
    stats, _ = e_step(X, mean, covariance)
    assert isinstance(stats, ExpectedStats)
    np.testing.assert_allclose(stats.sum_x, sum_x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stats.sum_xx, sum_xx, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(conditional_mean(X, mean, covariance), x_hats, rtol=1e-12)
    observed = ~np.isnan(X)
    np.testing.assert_array_equal(conditional_mean(X, mean, covariance)[observed], X[observed])


def test_e_step_adds_the_conditional_covariance_to_the_outer_product():
    # One row, x_1 missing, the other observed at its mean: x_hat = mean, and the expected
    # square of the missing entry is mu_1^2 + (1 - rho^2) sigma_1^2, not mu_1^2.
    mean = np.array([1.0, 2.0])
    covariance = np.array([[4.0, 1.2], [1.2, 1.0]])
    stats, _ = e_step(np.array([[np.nan, 2.0]]), mean, covariance)
    np.testing.assert_allclose(stats.sum_x, mean)
    assert stats.sum_xx[0, 0] == pytest.approx(1.0 + 4.0 - 1.2**2 / 1.0)
    assert stats.sum_xx[0, 1] == pytest.approx(2.0)


def test_m_step_is_the_complete_data_mle_of_the_sums():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    mean, covariance = m_step(ExpectedStats(X.sum(axis=0), X.T @ X), len(X))
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(covariance, np.cov(X, rowvar=False, ddof=0), rtol=1e-10)
    np.testing.assert_array_equal(covariance, covariance.T)


def test_missingness_patterns_cover_every_row_once():
    X, _, _ = random_missing(n=60, D=4, rate=0.4, seed=2)
    patterns = missingness_patterns(X)
    rows = np.concatenate([rows for rows, _ in patterns])
    np.testing.assert_array_equal(np.sort(rows), np.arange(len(X)))
    for rows, observed in patterns:
        np.testing.assert_array_equal(~np.isnan(X[rows]), np.broadcast_to(observed, (len(rows), 4)))
    assert len({tuple(observed) for _, observed in patterns}) == len(patterns)
    assert patterns[0][1].all()  # the complete rows come first


def test_missingness_patterns_with_many_columns():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 70))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[:5] = X[5]  # five rows share one pattern
    patterns = missingness_patterns(X)
    rows = np.concatenate([rows for rows, _ in patterns])
    np.testing.assert_array_equal(np.sort(rows), np.arange(20))
    assert any(set(range(6)) <= set(rows.tolist()) for rows, _ in patterns)


def test_docstring_examples():
    failed, attempted = doctest.testmod(missing)
    assert attempted > 0 and failed == 0


# ---------------------------------------------------------------------------
# Bad input: a ValueError that names the argument and says what to do


def with_rows_all_missing():
    X = datasets.missing_normal(n=20, random_state=0)[1]
    X[[3, 11]] = np.nan
    return X


def with_infinity():
    X = datasets.missing_normal(n=20, random_state=0)[1]
    X[4, 0] = np.inf
    return X


def with_empty_column():
    X = datasets.missing_normal(n=20, random_state=0)[1]
    X[:, 2] = np.nan
    return X


def with_constant_column():
    X = datasets.missing_normal(n=20, random_state=0)[1]
    X[:, 1] = 7.0
    return X


@pytest.mark.parametrize(
    ("make_X", "message"),
    [
        (
            with_rows_all_missing,
            r"2 row\(s\) with every value missing \(row\(s\) 3, 11\).*drop them",
        ),
        (with_infinity, r"X contains 1 infinite value\(s\) \(the first in row 4, column 0\)"),
        (with_empty_column, r"column\(s\) 2 of X have no observed value"),
        (with_constant_column, r"column\(s\) 1 of X have a single distinct observed value"),
        (lambda: np.array([[1.0, np.nan, 2.0]]), r"X has 1 row\(s\) but at least 2"),
        (lambda: np.array([1.0, np.nan, 2.0]), r"X must be 2-D.*X.reshape\(-1, 1\)"),
        (lambda: np.zeros((5, 0)), r"X has no columns"),
        (lambda: [["a", "b"], ["c", "d"]], r"X must be an array of numbers"),
    ],
)
def test_normal_mle_rejects_bad_data(make_X, message):
    with pytest.raises(ValueError, match=message):
        normal_mle(make_X())


def test_a_dataframe_with_pandas_missing_values_gets_a_hint():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1.0, None, 3.0, 5.0]}, dtype="Float64")
    with pytest.raises(ValueError, match=r"X.to_numpy\(dtype=float, na_value=np.nan\)"):
        normal_mle(frame)
    result = normal_mle(frame.to_numpy(dtype=float, na_value=np.nan))
    assert result.converged and not np.isnan(result.params["mean"]).any()


def test_the_steps_reject_empty_rows_and_infinity():
    mean, covariance = np.zeros(3), np.eye(3)
    for function in (e_step, conditional_mean, observed_log_likelihood):
        with pytest.raises(ValueError, match="every value missing"):
            function(with_rows_all_missing(), mean, covariance)
        with pytest.raises(ValueError, match="infinite"):
            function(with_infinity(), mean, covariance)


@pytest.mark.parametrize(
    ("mean", "covariance", "message"),
    [
        (np.zeros(2), np.eye(3), r"mean must have shape \(D,\) = \(3,\)"),
        (np.zeros(3), np.eye(2), r"covariance must have shape \(D, D\) = \(3, 3\)"),
        (np.zeros(3), np.diag([1.0, 0.0, 1.0]), "covariance is not positive definite"),
        (np.zeros(3), np.triu(np.ones((3, 3))), "covariance must be symmetric"),
        (np.array([0.0, np.nan, 0.0]), np.eye(3), "mean contains 1 NaN"),
    ],
)
def test_steps_reject_bad_parameters(mean, covariance, message):
    X = datasets.missing_normal(n=20, random_state=0)[1]
    with pytest.raises(ValueError, match=message):
        e_step(X, mean, covariance)


def test_normal_mle_wants_both_starting_parameters():
    X = datasets.missing_normal(n=20, random_state=0)[1]
    with pytest.raises(ValueError, match="give both mean and covariance"):
        normal_mle(X, mean=np.zeros(3))


def test_normal_mle_explains_a_singular_covariance():
    # Three columns, two rows: no full covariance fits.
    X = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 5.0]])
    with pytest.raises(ValueError, match="does not determine a full covariance"):
        normal_mle(X)


def test_m_step_rejects_a_bad_n_and_mismatched_sums():
    with pytest.raises(ValueError, match="n must be the number of rows"):
        m_step(ExpectedStats(np.zeros(2), np.eye(2)), 0)
    for bad_n in (2.5, None, "10", True):
        with pytest.raises(ValueError, match="n must be the number of rows"):
            m_step(ExpectedStats(np.zeros(2), np.eye(2)), bad_n)
    with pytest.raises(ValueError, match=r"stats.sum_xx must have shape \(D, D\) = \(2, 2\)"):
        m_step(ExpectedStats(np.zeros(2), np.eye(3)), 5)


# ---------------------------------------------------------------------------
# The simulation


def test_missing_normal_is_reproducible_and_hides_only_what_it_says():
    X_complete, X, mean, covariance = datasets.missing_normal(n=4000, missing_rate=0.3)
    again = datasets.missing_normal(n=4000, missing_rate=0.3)
    for first, second in zip((X_complete, X, mean, covariance), again, strict=True):
        np.testing.assert_array_equal(first, second)
    hidden = np.isnan(X)
    np.testing.assert_array_equal(X[~hidden], X_complete[~hidden])
    assert not hidden[:, 0].any() and not np.isnan(X_complete).any()
    assert hidden[:, 1:].mean() == pytest.approx(0.3, abs=0.02)
    np.testing.assert_allclose(X_complete.mean(axis=0), mean, atol=0.06)
    np.testing.assert_allclose(np.cov(X_complete, rowvar=False), covariance, atol=0.1)


def test_missing_normal_mechanisms():
    X_complete, mar, _, _ = datasets.missing_normal(n=4000, missing_rate=0.4, mechanism="mar")
    same_complete, mcar, _, _ = datasets.missing_normal(n=4000, missing_rate=0.4, mechanism="mcar")
    np.testing.assert_array_equal(X_complete, same_complete)
    for X in (mar, mcar):
        assert np.isnan(X[:, 1:]).mean() == pytest.approx(0.4, abs=0.02)
    x0 = X_complete[:, 0]
    # MAR: rows with a larger observed first value lose more; MCAR: no relation.
    assert x0[np.isnan(mar[:, 1])].mean() - x0[~np.isnan(mar[:, 1])].mean() > 0.5
    assert abs(x0[np.isnan(mcar[:, 1])].mean() - x0[~np.isnan(mcar[:, 1])].mean()) < 0.1
    assert not np.isnan(datasets.missing_normal(missing_rate=0.0)[1]).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 1}, "n must be at least 2"),
        ({"missing_rate": 0.6}, r"missing_rate must lie in \[0, 0.5\] for mechanism='mar'"),
        ({"missing_rate": 1.0, "mechanism": "mcar"}, r"in \[0, 1\) for 'mcar'"),
        ({"missing_rate": -0.1}, "missing_rate must lie in"),
        ({"missing_rate": float("nan")}, "missing_rate must be finite"),
        ({"mechanism": "mnar"}, "mechanism must be 'mar' or 'mcar'"),
    ],
)
def test_missing_normal_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.missing_normal(**kwargs)
