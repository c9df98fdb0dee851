"""The coin-mixture engine: soft EM on the distinct heads counts, not on every trial.

:func:`fit_coins_fast` is what :class:`emlab.BinomialMixture` runs; it gives the same
iterations as the readable :func:`emlab.coins.fit_coins` (``tests/test_engines.py``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from emlab.coins import THETA_EPS, _check_heads, _check_or_equal_weights, _check_thetas
from emlab.em import EMResult, History, Snapshot
from emlab.engines.workspace import engine_result

__all__ = ["fit_coins_fast"]


def fit_coins_fast(
    heads, n_tosses, thetas, weights=None, learn_weights=False, tol=1e-6, max_iter=100
) -> EMResult:
    """Soft EM for the coin mixture like :func:`emlab.coins.fit_coins`, on distinct trials only.

    A trial's responsibilities depend only on its heads, and there are at most
    ``n_tosses + 1`` different heads counts per series. So the trials are grouped
    once into their :math:`m` distinct rows :math:`h_j`, each seen :math:`c_j` times,
    and every iteration works on those:

    .. math:: \\ell = \\sum_j c_j \\log \\sum_k \\pi_k p(h_j \\mid \\theta_k), \\qquad
              \\theta_k = \\frac{\\sum_j c_j r_{jk} h_j}{n \\sum_j c_j r_{jk}}, \\qquad
              \\pi_k = \\frac{1}{N} \\sum_j c_j r_{jk},

    the same sums as over the :math:`N` trials, in :math:`O(m K)` per iteration
    instead of :math:`O(N K)`. Same arguments, stopping rule and history;
    ``result.resp`` is ``None``.

    Parameters
    ----------
    heads, n_tosses, thetas, weights, learn_weights, tol, max_iter
        As for :func:`emlab.coins.fit_coins` (soft EM).

    Returns
    -------
    EMResult
    """

    heads, n_tosses = _check_heads(heads, n_tosses)
    thetas = _check_thetas(thetas, heads)
    weights = _check_or_equal_weights(weights, len(thetas))
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative whole number, got {max_iter!r}.")
    n_trials = len(heads)
    rows, counts = np.unique(heads.reshape(n_trials, -1), axis=0, return_counts=True)
    counts = counts.astype(float)
    tails = n_tosses - rows
    log_coefficients = (gammaln(n_tosses + 1) - gammaln(rows + 1) - gammaln(tails + 1)).sum(axis=1)
    rows_and_tails = np.concatenate([rows, tails], axis=1)  # (m, 2S)
    counted_rows = rows_and_tails * counts[:, None]
    n_series = rows.shape[1]
    shape = thetas.shape

    def e_step(thetas, weights):
        thetas = thetas.reshape(len(thetas), -1)
        log_odds = np.concatenate(  # (K, 2S); as emlab.coins.log_pmf: log 1 = 0 stays exact
            [np.log(np.maximum(thetas, THETA_EPS)), np.log1p(-np.minimum(thetas, 1 - THETA_EPS))],
            axis=1,
        )
        with np.errstate(divide="ignore"):
            log_joint = rows_and_tails @ log_odds.T + np.log(weights)
        top = log_joint.max(axis=1, keepdims=True)
        joint = np.exp(log_joint - top)
        total = joint.sum(axis=1, keepdims=True)
        log_likelihood = float(counts @ (np.log(total[:, 0]) + top[:, 0] + log_coefficients))
        return joint / total, log_likelihood

    def m_step(resp):
        expected = resp.T @ counted_rows  # (K, 2S): heads, then tails
        expected_heads = expected[:, :n_series]
        expected_tosses = expected_heads + expected[:, n_series:]
        new_thetas = np.divide(
            expected_heads,
            expected_tosses,
            out=np.full_like(expected_heads, 0.5),
            where=expected_tosses > 0,
        )
        new_weights = counts @ resp / n_trials if learn_weights else weights
        return new_thetas.reshape(shape), new_weights

    resp, log_likelihood = e_step(thetas, weights)
    history = History([Snapshot(0, {"thetas": thetas, "weights": weights}, log_likelihood)])
    converged = False
    for iteration in range(1, int(max_iter) + 1):
        thetas, weights = m_step(resp)
        resp, new_log_likelihood = e_step(thetas, weights)
        history.append(
            Snapshot(iteration, {"thetas": thetas, "weights": weights}, new_log_likelihood)
        )
        change = (new_log_likelihood - log_likelihood) / n_trials
        log_likelihood = new_log_likelihood
        if abs(change) < tol:
            converged = True
            break
    return engine_result(history, converged)
