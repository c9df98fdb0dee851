r"""A multivariate normal with values missing at random, fit by EM.

The setting of Dempster, Laird & Rubin (1977, section 4.1): the rows
:math:`x_1, \dots, x_n \in \mathbb{R}^D` are independent draws from
:math:`\mathcal{N}(\mu, \Sigma)`, and some of their entries were not recorded
(``np.nan`` in ``X``). Row :math:`i` splits into its observed entries
:math:`x_{i,o}` (the index set :math:`o_i`) and its missing ones
:math:`x_{i,m}` (the set :math:`m_i`). When the values are *missing at random*
(whether an entry is missing may depend on what was observed, not on the
missing value itself; Rubin, 1976) the missingness mechanism can be ignored and
the maximum-likelihood estimate is the maximizer of the
**observed-data log-likelihood**

.. math::

    \ell(\mu, \Sigma) = \sum_{i=1}^n \log \mathcal{N}(x_{i,o} \mid \mu_{o_i}, \Sigma_{o_i o_i}),

each row's marginal normal on the entries it has (below, :math:`o` and :math:`m`
stand for :math:`o_i` and :math:`m_i` where the row is clear, and
:math:`\Sigma_{mo}` for the block of rows :math:`m`, columns :math:`o`). It has
no closed form, but
the *complete*-data log-likelihood depends on the data only through two sums,
:math:`\sum_i x_i` and :math:`\sum_i x_i x_i^\top`; EM replaces them by their
expectations given what was observed (E-step) and then takes the complete-data
MLE of those expected sums (M-step). The E-step fills in expected sufficient
statistics, not values: the expected outer product carries a conditional
covariance that filling in a value would drop.

The lesson-level functions:

* :func:`missingness_patterns` -- the rows grouped by which entries they miss;
* :func:`conditional_mean` -- :math:`\hat x_i = E[x_i \mid x_{i,o}]`, each row
  with its missing entries filled in by their conditional mean;
* :func:`e_step` -- the expected sums and :math:`\ell`;
* :func:`m_step` -- the mean and covariance from the expected sums;
* :func:`observed_log_likelihood` -- :math:`\ell(\mu, \Sigma)` alone;
* :func:`initial_params` -- the start: available-case means and variances;
* :func:`normal_mle` -- EM from that start, through :func:`emlab.em.run_em`.

Every step works one missingness pattern at a time (all the rows that miss the
same entries share one Cholesky factor and one regression), so the cost grows
with the number of patterns, never with a Python loop over rows.

References
----------
Dempster, A. P., Laird, N. M. and Rubin, D. B. (1977). Maximum likelihood from
incomplete data via the EM algorithm. *Journal of the Royal Statistical Society
B* 39(1), 1-38.
Rubin, D. B. (1976). Inference and missing data. *Biometrika* 63(3), 581-592.
Little, R. J. A. and Rubin, D. B. (2002). *Statistical Analysis with Missing
Data*, 2nd edition, chapter 11 (the multivariate normal). Wiley.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import NamedTuple

import numpy as np

from emlab.em import EMResult, run_em
from emlab.validation import check_data

__all__ = [
    "ExpectedStats",
    "conditional_mean",
    "e_step",
    "initial_params",
    "m_step",
    "missingness_patterns",
    "normal_mle",
    "observed_log_likelihood",
]

_LOG_2PI = np.log(2 * np.pi)
_MAX_LISTED = 10  # how many bad rows or columns an error message names


class ExpectedStats(NamedTuple):
    r"""The expected sufficient statistics that :func:`e_step` returns.

    Attributes
    ----------
    sum_x : ndarray of shape (D,)
        :math:`\sum_i E[x_i \mid x_{i,o}] = \sum_i \hat x_i`.
    sum_xx : ndarray of shape (D, D)
        :math:`\sum_i E[x_i x_i^\top \mid x_{i,o}] = \sum_i (\hat x_i \hat x_i^\top + C_i)`.
    """

    sum_x: np.ndarray
    sum_xx: np.ndarray


# ---------------------------------------------------------------------------
# Input checks (each raises a ValueError that names the argument)


def _listed(indices) -> str:
    """``"3, 17, 21"``, or the first few and how many more."""
    indices = [int(i) for i in indices]
    shown = ", ".join(str(i) for i in indices[:_MAX_LISTED])
    more = len(indices) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def _check_missing_data(X, *, name: str = "X", min_rows: int = 1) -> np.ndarray:
    """Return ``X`` as a float64 (n, D) array whose only non-finite values are NaN."""
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        hint = ""
        if "NAType" in str(exc):  # pandas' pd.NA, from a nullable column
            hint = f" For a pandas DataFrame use {name}.to_numpy(dtype=float, na_value=np.nan)."
        raise ValueError(
            f"{name} must be an array of numbers, with np.nan where a value is missing; "
            f"converting it failed: {exc}.{hint}"
        ) from None
    if array.ndim != 2:
        hint = f" For one variable use {name}.reshape(-1, 1)." if array.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D, one row per data point and one column per variable; "
            f"got an array of shape {array.shape}.{hint}"
        )
    n, D = array.shape
    if D == 0:
        raise ValueError(f"{name} has no columns (shape {array.shape}); pass at least one.")
    if n < min_rows:
        raise ValueError(
            f"{name} has {n} row(s) but at least {min_rows} are needed "
            f"to estimate a mean and a covariance."
        )
    infinite = np.isinf(array)
    if infinite.any():
        rows, cols = np.nonzero(infinite)
        raise ValueError(
            f"{name} contains {infinite.sum()} infinite value(s) (the first in row {rows[0]}, "
            f"column {cols[0]}); only np.nan marks a missing value. Replace them with np.nan "
            f"if they were not recorded, or fix them."
        )
    empty_rows = np.flatnonzero(np.isnan(array).all(axis=1))
    if empty_rows.size:
        raise ValueError(
            f"{name} has {empty_rows.size} row(s) with every value missing (row(s) "
            f"{_listed(empty_rows)}). They carry no information about the mean or the "
            f"covariance: drop them first, with {name}[~np.isnan({name}).all(axis=1)]."
        )
    return array


def _check_columns_observed(X: np.ndarray, *, name: str = "X") -> None:
    """Every column needs at least two different observed values (a variance above 0)."""
    observed = ~np.isnan(X)
    counts = observed.sum(axis=0)
    unseen = np.flatnonzero(counts == 0)
    if unseen.size:
        raise ValueError(
            f"column(s) {_listed(unseen)} of {name} have no observed value: nothing in the "
            f"data says where their mean lies. Drop them: "
            f"{name}[:, ~np.isnan({name}).all(axis=0)]."
        )
    spread = np.nanmax(X, axis=0) > np.nanmin(X, axis=0)
    flat = np.flatnonzero(~spread)
    if flat.size:
        raise ValueError(
            f"column(s) {_listed(flat)} of {name} have a single distinct observed value "
            f"(counts {_listed(counts[flat])}): their variance would be 0 and the normal "
            f"would have no density. Drop them, or collect more values."
        )


def _check_mean(mean, D: int) -> np.ndarray:
    mean = check_data(mean, name="mean", ndim=1)
    if mean.shape != (D,):
        raise ValueError(
            f"mean must have shape (D,) = ({D},), one entry per column of X; got {mean.shape}."
        )
    return mean


def _check_covariance(covariance, D: int) -> np.ndarray:
    covariance = check_data(covariance, name="covariance", ndim=2)
    if covariance.shape != (D, D):
        raise ValueError(
            f"covariance must have shape (D, D) = ({D}, {D}), D the columns of X; "
            f"got {covariance.shape}."
        )
    scale = np.abs(np.diagonal(covariance)).max()
    if not np.allclose(covariance, covariance.T, rtol=1e-5, atol=1e-8 * scale):
        raise ValueError("covariance must be symmetric: a covariance matrix equals its transpose.")
    try:
        np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        raise ValueError(
            "covariance is not positive definite (its Cholesky factorization failed): some "
            "combination of the variables would have variance 0 or less."
        ) from None
    return covariance


def _check_arguments(X, mean, covariance):
    X = _check_missing_data(X)
    D = X.shape[1]
    return X, _check_mean(mean, D), _check_covariance(covariance, D)


# ---------------------------------------------------------------------------
# Lesson-level functions


def missingness_patterns(X) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Group the rows of ``X`` by which of their entries are missing.

    Rows with the same pattern share the observed set :math:`o` and the missing
    set :math:`m`, hence one Cholesky factor of :math:`\Sigma_{oo}` and one
    regression of :math:`x_m` on :math:`x_o`: the steps below loop over the
    patterns (at most :math:`\min(n, 2^D - 1)`, a handful in practice) and treat
    the rows of each pattern together.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing.

    Returns
    -------
    list of (rows, observed)
        One pair per pattern, in a fixed order (the complete rows, if any, first):
        ``rows`` the indices of its rows (increasing), ``observed`` a boolean
        array of shape (D,), True where those rows have a value.
    """
    X = _check_missing_data(X)
    missing = np.isnan(X)
    D = X.shape[1]
    if D < 63:  # each pattern as one integer, its bits the missing columns: a fast 1-D unique
        codes, which = np.unique(missing @ (1 << np.arange(D)), return_inverse=True)
        patterns = (codes[:, np.newaxis] >> np.arange(D)) & 1 == 1
    else:
        patterns, which = np.unique(missing, axis=0, return_inverse=True)
        which = which.ravel()  # numpy 2.0.0 returned it with an extra axis
    order = np.argsort(which, kind="stable")
    bounds = np.cumsum(np.bincount(which, minlength=len(patterns)))[:-1]
    return [
        (rows, ~pattern) for pattern, rows in zip(patterns, np.split(order, bounds), strict=True)
    ]


def _conditional(mean, covariance, observed):
    r"""What one pattern needs, from :math:`\Sigma_{oo} = L L^\top`: :math:`L^{-1}`, the
    regression coefficients :math:`B = \Sigma_{mo} \Sigma_{oo}^{-1}` and the conditional
    covariance :math:`\Sigma_{mm} - B \Sigma_{om}`.

    :math:`L^{-1}` is a small :math:`|o| \times |o|` matrix, formed once per pattern and
    then applied to all its rows by one matrix product (numpy's ``inv``: scipy's
    triangular solves stall for milliseconds per call on a busy multi-threaded BLAS).
    """
    o, m = observed, ~observed
    chol_inv = np.linalg.inv(np.linalg.cholesky(covariance[np.ix_(o, o)]))
    cov_om = covariance[np.ix_(o, m)]
    coef = (chol_inv.T @ (chol_inv @ cov_om)).T  # Sigma_mo Sigma_oo^{-1}
    cond_cov = covariance[np.ix_(m, m)] - coef @ cov_om
    return chol_inv, coef, cond_cov


def _log_normal_sum(resid: np.ndarray, chol_inv: np.ndarray) -> float:
    r""":math:`\sum_i \log \mathcal{N}(r_i \mid 0, L L^\top)` for the rows :math:`r_i` of
    ``resid``, given :math:`L^{-1}`: with :math:`z_i = L^{-1} r_i`, it is
    :math:`-\tfrac12 \sum_i \lVert z_i \rVert^2 - n (\tfrac d2 \log 2\pi + \sum_j \log L_{jj})`."""
    n_rows, d = resid.shape
    z = resid @ chol_inv.T
    half_log_det = -np.log(np.diagonal(chol_inv)).sum()  # (L^{-1})_jj = 1 / L_jj
    return float(-0.5 * np.sum(z**2) - n_rows * (0.5 * d * _LOG_2PI + half_log_det))


def conditional_mean(X, mean, covariance) -> np.ndarray:
    r"""Each row with its missing entries replaced by their conditional mean.

    For a normal vector, the missing block given the observed one is normal with

    .. math::

        \hat x_{i,m} = E[x_{i,m} \mid x_{i,o}]
            = \mu_m + \Sigma_{mo} \Sigma_{oo}^{-1} (x_{i,o} - \mu_o),
        \qquad
        \operatorname{Cov}[x_{i,m} \mid x_{i,o}] = \Sigma_{mm} - \Sigma_{mo} \Sigma_{oo}^{-1} \Sigma_{om},

    the regression of the missing entries on the observed ones. Observed
    entries are kept as they are. This is the *value* part of the E-step;
    :func:`e_step` adds the conditional covariance to the expected outer product.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing.
    mean : array-like of shape (D,)
        :math:`\mu`.
    covariance : array-like of shape (D, D)
        :math:`\Sigma`, symmetric positive definite.

    Returns
    -------
    x_hat : ndarray of shape (n, D)
        :math:`\hat x_i = E[x_i \mid x_{i,o}, \mu, \Sigma]`, no NaN left.
    """
    X, mean, covariance = _check_arguments(X, mean, covariance)
    x_hat = X.copy()
    for rows, observed in missingness_patterns(X):
        missing = ~observed
        if not missing.any():
            continue
        _, coef, _ = _conditional(mean, covariance, observed)
        resid = X[np.ix_(rows, observed)] - mean[observed]
        x_hat[np.ix_(rows, missing)] = mean[missing] + resid @ coef.T
    return x_hat


def e_step(X, mean, covariance) -> tuple[ExpectedStats, float]:
    r"""E-step: the expected sufficient statistics, and the observed-data log-likelihood.

    Given the current :math:`\mu, \Sigma` (those of iteration :math:`t`), each
    row's missing block has the conditional normal of :func:`conditional_mean`,
    with mean :math:`\hat x_{i,m}` and covariance
    :math:`\Sigma_{mm} - \Sigma_{mo} \Sigma_{oo}^{-1} \Sigma_{om}`. So

    .. math::

        E[x_i \mid x_{i,o}] = \hat x_i,
        \qquad
        E[x_i x_i^\top \mid x_{i,o}] = \hat x_i \hat x_i^\top + C_i,

    where :math:`C_i` is zero except on the missing block :math:`(m_i, m_i)`,
    which holds that conditional covariance. The second moment is not the outer
    product of the filled-in row: :math:`C_i` is the uncertainty about the
    missing values, and leaving it out (filling in values, then taking a sample
    covariance) shrinks the variances.

    The log-likelihood is that of the observed entries, each row's marginal
    normal :math:`\mathcal{N}(x_{i,o} \mid \mu_o, \Sigma_{oo})`, computed in log
    space through the Cholesky factor :math:`\Sigma_{oo} = L L^\top`:
    :math:`\log \mathcal{N} = -\tfrac12 (|o| \log 2\pi + \lVert L^{-1}(x_{i,o} - \mu_o) \rVert^2)
    - \sum_d \log L_{dd}`.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing; no row may be all missing.
    mean : array-like of shape (D,)
        :math:`\mu`.
    covariance : array-like of shape (D, D)
        :math:`\Sigma`, symmetric positive definite.

    Returns
    -------
    stats : ExpectedStats
        ``sum_x`` :math:`= \sum_i \hat x_i` and
        ``sum_xx`` :math:`= \sum_i (\hat x_i \hat x_i^\top + C_i)`.
    log_likelihood : float
        :math:`\ell(\mu, \Sigma) = \sum_i \log \mathcal{N}(x_{i,o} \mid \mu_o, \Sigma_{oo})`.
    """
    X, mean, covariance = _check_arguments(X, mean, covariance)
    D = X.shape[1]
    sum_x, sum_xx, log_likelihood = np.zeros(D), np.zeros((D, D)), 0.0
    for rows, observed in missingness_patterns(X):
        missing = ~observed
        chol_inv, coef, cond_cov = _conditional(mean, covariance, observed)
        resid = X[np.ix_(rows, observed)] - mean[observed]
        log_likelihood += _log_normal_sum(resid, chol_inv)
        x_hat = X[rows]
        x_hat[:, missing] = mean[missing] + resid @ coef.T
        sum_x += x_hat.sum(axis=0)
        sum_xx += x_hat.T @ x_hat
        sum_xx[np.ix_(missing, missing)] += len(rows) * cond_cov
    return ExpectedStats(sum_x, sum_xx), log_likelihood


def m_step(stats: ExpectedStats, n: int) -> tuple[np.ndarray, np.ndarray]:
    r"""M-step: the complete-data MLE, with the expected sums in place of the sums.

    .. math::

        \mu^{(t+1)} = \frac1n \sum_i \hat x_i,
        \qquad
        \Sigma^{(t+1)} = \frac1n \sum_i E[x_i x_i^\top \mid x_{i,o}]
            - \mu^{(t+1)} \mu^{(t+1)\top},

    the sample mean and the divide-by-:math:`n` sample covariance when nothing
    is missing. (The covariance is symmetrized, :math:`(S + S^\top)/2`, against
    rounding.) For data far from the origin the subtraction loses digits:
    :func:`normal_mle` therefore centres the data first.

    Parameters
    ----------
    stats : ExpectedStats
        ``(sum_x, sum_xx)`` from :func:`e_step`.
    n : int
        The number of rows :math:`n` the sums run over.

    Returns
    -------
    mean : ndarray of shape (D,)
    covariance : ndarray of shape (D, D)
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be the number of rows, a whole number at least 1; got {n!r}.")
    sum_x, sum_xx = stats
    sum_x = check_data(sum_x, name="stats.sum_x", ndim=1)
    sum_xx = check_data(sum_xx, name="stats.sum_xx", ndim=2)
    D = sum_x.shape[0]
    if sum_xx.shape != (D, D):
        raise ValueError(
            f"stats.sum_xx must have shape (D, D) = ({D}, {D}) to match stats.sum_x; "
            f"got {sum_xx.shape}."
        )
    mean = sum_x / n
    covariance = sum_xx / n - np.outer(mean, mean)
    return mean, 0.5 * (covariance + covariance.T)


def observed_log_likelihood(X, mean, covariance) -> float:
    r"""The observed-data log-likelihood, the objective EM climbs.

    .. math::

        \ell(\mu, \Sigma) = \sum_{i=1}^n \log \mathcal{N}(x_{i,o} \mid \mu_o, \Sigma_{oo})

    (a row's missing entries integrate out of its normal, leaving the marginal
    on the entries it has). Computed in log space, one Cholesky factor per
    missingness pattern, as in :func:`e_step`.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing.
    mean : array-like of shape (D,)
    covariance : array-like of shape (D, D)

    Returns
    -------
    float
    """
    X, mean, covariance = _check_arguments(X, mean, covariance)
    log_likelihood = 0.0
    for rows, observed in missingness_patterns(X):
        chol_inv = np.linalg.inv(np.linalg.cholesky(covariance[np.ix_(observed, observed)]))
        log_likelihood += _log_normal_sum(X[np.ix_(rows, observed)] - mean[observed], chol_inv)
    return log_likelihood


def initial_params(X) -> dict:
    r"""The start of :func:`normal_mle`: available-case means and variances.

    :math:`\mu^{(0)}_d` is the mean of the observed values of column :math:`d`
    and :math:`\Sigma^{(0)} = \operatorname{diag}(s^2_1, \dots, s^2_D)`, with
    :math:`s^2_d` their divide-by-count variance. The covariances start at 0:
    pairwise ("available-case") covariances, each from the rows that have both
    entries, need not form a positive definite matrix, while a diagonal with
    positive variances always does.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing.

    Returns
    -------
    dict
        ``{"mean": (D,) array, "covariance": (D, D) array}``.
    """
    X = _check_missing_data(X, min_rows=2)
    _check_columns_observed(X)
    return {"mean": np.nanmean(X, axis=0), "covariance": np.diag(np.nanvar(X, axis=0))}


def normal_mle(X, max_iter=1000, tol=1e-8, mean=None, covariance=None) -> EMResult:
    r"""Maximum-likelihood mean and covariance of a normal from data with missing values, by EM.

    Starting from :math:`\theta^{(0)} = (\mu^{(0)}, \Sigma^{(0)})`
    (:func:`initial_params` unless ``mean`` and ``covariance`` are given),
    repeat for :math:`t = 0, 1, \dots`: the :func:`e_step` at
    :math:`\theta^{(t)}` gives the expected sums and :math:`\ell(\theta^{(t)})`,
    the :func:`m_step` turns them into :math:`\theta^{(t+1)}`; stop when the
    average log-likelihood changes by less than ``tol``
    (:func:`emlab.em.run_em`). EM never lowers :math:`\ell`; when no value is
    missing it reaches the closed-form MLE (the sample mean and the
    divide-by-:math:`n` covariance) in one step.

    The estimate is the MLE under *missing at random*: whether a value is
    missing may depend on the values observed in the same row, not on the
    missing value itself. Convergence is linear, slower the more information is
    missing (Dempster, Laird & Rubin, 1977, section 3), hence the small default
    ``tol``: the mean and covariance are the answer here, and at ``tol=1e-3``
    they can stop almost 0.02 away from the MLE (the default data of
    :func:`emlab.datasets.missing_normal`, either mechanism).

    The data are centred by their available-case means before EM and the means
    shifted back after, which changes nothing but the rounding.

    Parameters
    ----------
    X : array-like of shape (n, D)
        The data, ``np.nan`` where a value is missing. At least 2 rows; every
        row and every column needs an observed value.
    max_iter : int, default=1000
        Largest number of iterations (M-steps).
    tol : float, default=1e-8
        Stop when :math:`|\ell^{(t)} - \ell^{(t-1)}| / n <` ``tol``.
    mean : array-like of shape (D,), optional
        Starting mean :math:`\mu^{(0)}`; give ``covariance`` with it.
    covariance : array-like of shape (D, D), optional
        Starting covariance :math:`\Sigma^{(0)}`, symmetric positive definite.

    Returns
    -------
    EMResult
        ``params`` holds ``"mean"`` (D,) and ``"covariance"`` (D, D);
        ``history[t]`` the parameters and :math:`\ell(\theta^{(t)})` of iteration
        :math:`t` (``history.log_likelihood`` is the whole curve); ``resp``, in
        the place a mixture keeps its responsibilities, holds the data filled
        in by :func:`conditional_mean` at the final parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from emlab.missing import normal_mle
    >>> X = np.array([[1.0, 2.0], [2.0, np.nan], [3.0, 5.0], [4.0, 7.0], [np.nan, 4.0]])
    >>> np.nanmean(X, axis=0)  # the available-case means, where EM starts
    array([2.5, 4.5])
    >>> result = normal_mle(X)
    >>> result.params["mean"].round(3)
    array([2.452, 4.314])
    >>> bool(np.all(np.diff(result.history.log_likelihood) >= 0))
    True
    """
    X = _check_missing_data(X, min_rows=2)
    start = initial_params(X)
    n, D = X.shape
    if (mean is None) != (covariance is None):
        raise ValueError("give both mean and covariance to start from, or neither.")
    if mean is not None:
        start = {"mean": _check_mean(mean, D), "covariance": _check_covariance(covariance, D)}
    shift = np.nanmean(X, axis=0)
    X_centred = X - shift

    def missing_e_step(X_centred, params):
        return e_step(X_centred, params["mean"] - shift, params["covariance"])

    def missing_m_step(X_centred, stats):
        mean, covariance = m_step(stats, n)
        try:
            np.linalg.cholesky(covariance)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"EM reached a covariance that is not positive definite: X ({n} rows, {D} "
                f"columns) does not determine a full covariance (too few rows with values, "
                f"or columns that are exact linear combinations of others). Drop columns or "
                f"add rows."
            ) from None
        return {"mean": mean + shift, "covariance": covariance}

    result = run_em(X_centred, start, missing_e_step, missing_m_step, tol=tol, max_iter=max_iter)
    x_hat = conditional_mean(X, result.params["mean"], result.params["covariance"])
    return dataclasses.replace(result, resp=x_hat)
