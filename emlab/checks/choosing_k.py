"""Checks for the exercises on choosing K, what goes wrong and the house prices (lesson 09).

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered
from emlab.checks.mixtures import _full_covariance_mistakes

#: The fit of exercise 1 of lesson 09: K components, full covariances, on the standardized
#: Old Faithful data, with the lesson's ``n_init`` and ``random_state``.
_BIC_EXERCISE = {"n_components": 3, "n_init": 5, "random_state": 0}


def old_faithful_bic(bic_3) -> None:
    """Check a numeric answer: the BIC of the lesson's 3-component fit to Old Faithful, by hand.

    Refits ``GaussianMixture(3, n_init=5, random_state=0)`` on
    ``datasets.old_faithful(standardize=True)`` and compares ``bic_3`` with
    :math:`-2\\ell(\\hat\\theta) + p \\log n` (within 0.05), naming the usual slips: the mean
    log-likelihood per point instead of the total, AIC's penalty, a logarithm to base 10, a
    wrong count of parameters, a missing factor 2 or a wrong sign.
    """
    from emlab import datasets
    from emlab.gmm import GaussianMixture

    if not_answered(bic_3):
        raise AssertionError("bic_3 is not answered yet: replace the ... with your code.")
    try:
        value = float(bic_3)
    except (TypeError, ValueError):
        raise AssertionError(f"bic_3 should be a number, got {type(bic_3).__name__}.") from None
    if not np.isfinite(value):
        raise AssertionError("bic_3 should be a finite number.")
    X = datasets.old_faithful(standardize=True).X
    fit = GaussianMixture(**_BIC_EXERCISE).fit(X)
    n, D = X.shape
    K = _BIC_EXERCISE["n_components"]
    log_lik = fit.score(X) * n  # the total log-likelihood
    p = (K - 1) + K * D + K * D * (D + 1) // 2
    expected = -2 * log_lik + p * math.log(n)
    if abs(value - expected) <= 0.05:
        return
    mistakes = [
        (
            -2 * fit.score(X) + p * math.log(n),
            "You used score(X), the MEAN log-likelihood per point; BIC needs the total, "
            "score(X) * n.",
        ),
        (-2 * log_lik + 2 * p, "That is AIC (penalty 2p); BIC's penalty is p log n."),
        (
            -2 * log_lik + p * math.log10(n),
            "That penalty uses log10; BIC uses the natural logarithm, np.log(n).",
        ),
        (-log_lik + p * math.log(n), "The log-likelihood needs a factor 2: -2 * log-likelihood."),
        (
            -log_lik + 0.5 * p * math.log(n),
            "That is half of BIC (-l + p log(n) / 2); BIC is -2 l + p log n.",
        ),
        (2 * log_lik + p * math.log(n), "The sign of the log-likelihood is wrong: BIC has -2 l."),
    ]
    for wrong_p, why in (
        (K + K * D + K * D * (D + 1) // 2, "the weights sum to one, so only K - 1 are free"),
        ((K - 1) + K * D + K * D * D, "a covariance matrix is symmetric: D(D+1)/2 numbers each"),
        ((K - 1) + K * D, "the covariances are parameters too"),
    ):
        mistakes.append(
            (
                -2 * log_lik + wrong_p * math.log(n),
                f"The number of free parameters p is off: {why}.",
            )
        )
    for wrong, diagnosis in mistakes:
        if abs(value - wrong) <= 0.05:
            raise AssertionError(f"bic_3 is not right. {diagnosis}")
    compare(value, expected, name="bic_3", atol=0.05, reveal=False)


def gmm_m_step_fixed(function: Callable) -> None:
    """Check ``function(X, resp) -> (weights, means, covariances)``, a repaired full M-step.

    Compares with :func:`emlab.gmm.m_step` on fresh data far from the origin (with or without
    the ``reg_covar`` floor of ``1e-6``), and names the usual mistakes: means or weights
    divided by n or not at all, and the covariance mistakes of lesson 08's exercise.
    """
    from emlab.gmm import estimate_covariances, m_step

    rng = _fresh_rng()
    n, D, K = int(rng.integers(40, 90)), 2, int(rng.integers(3, 5))
    X = rng.normal(size=(n, D)) @ rng.normal(size=(D, D)) + rng.uniform(-10.0, 10.0, size=D)
    resp = rng.dirichlet(np.full(K, 0.7), size=n)
    weights, means, covariances = m_step(X, resp, "full", reg_covar=0.0)
    got = _call(
        function, "m_step_fixed", X.copy(), resp.copy(), answers=(m_step, estimate_covariances)
    )
    if not_answered(got):
        raise AssertionError("m_step_fixed returns ...: replace the ... with your code.")
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(
            "m_step_fixed should return three things, (weights, means, covariances), as "
            "emlab.gmm.m_step does."
        )
    try:
        got_weights, got_means, got_covariances = (np.asarray(part, dtype=float) for part in got)
    except (TypeError, ValueError):
        raise AssertionError(
            "m_step_fixed should return three arrays of numbers: weights, means, covariances."
        ) from None
    nk = resp.sum(axis=0)
    if got_weights.shape == weights.shape and not np.allclose(got_weights, weights, rtol=1e-6):
        if np.allclose(got_weights, nk, rtol=1e-6):
            raise AssertionError("The weights are the soft counts N_k; divide them by n.")
        if np.allclose(got_weights, nk / K, rtol=1e-6):
            raise AssertionError("The weights are N_k / K; they are N_k / n, summing to one.")
    compare(got_weights, weights, name="weights", rtol=1e-6, atol=1e-9)
    if got_means.shape == means.shape and not np.allclose(got_means, means, rtol=1e-6):
        if np.allclose(got_means, resp.T @ X / n, rtol=1e-6):
            raise AssertionError(
                "The means are divided by n, the number of points: that is the bug. Each mean is "
                "a weighted average, mu_k = sum_i r_ik x_i / N_k."
            )
        if np.allclose(got_means, resp.T @ X, rtol=1e-6):
            raise AssertionError("The means are not divided by N_k = sum_i r_ik.")
    compare(got_means, means, name="means", rtol=1e-6, atol=1e-9)
    if got_covariances.shape == covariances.shape:
        for floor in (0.0, 1e-6):
            if np.allclose(got_covariances, covariances + floor * np.eye(D), rtol=1e-6, atol=1e-9):
                return
        for wrong, diagnosis in _full_covariance_mistakes(X, resp):
            if np.allclose(got_covariances, wrong, rtol=1e-5, atol=1e-8):
                raise AssertionError(f"The covariances are off. {diagnosis}")
    compare(got_covariances, covariances, name="covariances", rtol=1e-6, atol=1e-9)


def house_prices_kmeans_ari(ari_kmeans) -> None:
    """Check a numeric answer: the adjusted Rand index of k-means on the standardized houses.

    Recomputes it from :func:`emlab.datasets.house_prices` with
    ``emlab.KMeans(n_clusters=4, random_state=0)``; accepts three decimals.
    """
    from sklearn.metrics import adjusted_rand_score, rand_score

    from emlab import datasets
    from emlab.kmeans import KMeans

    if not_answered(ari_kmeans):
        raise AssertionError("ari_kmeans is not answered yet: replace the ... with your code.")
    try:
        value = float(ari_kmeans)
    except (TypeError, ValueError):
        raise AssertionError(
            f"ari_kmeans should be a number, got {type(ari_kmeans).__name__}."
        ) from None
    if not np.isfinite(value) or value > 1:
        raise AssertionError(
            "ari_kmeans should be an adjusted Rand index, a number of at most 1 (1 for two "
            "identical clusterings)."
        )
    houses = datasets.house_prices()
    X, truth = houses.X, houses.neighbourhood
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = KMeans(n_clusters=4, random_state=0).fit(standardized).labels_
    expected = adjusted_rand_score(truth, labels)
    if abs(value - expected) <= 5e-4:
        return
    raw_labels = KMeans(n_clusters=4, random_state=0).fit(X).labels_
    if abs(value - adjusted_rand_score(truth, raw_labels)) <= 5e-4:
        raise AssertionError(
            "That is k-means on the raw data. Standardize each column first: k-means measures "
            "plain distances, so the prices (in the hundreds) drown the floor areas (tens to a few hundred)."
        )
    if abs(value - rand_score(truth, labels)) <= 5e-4:
        raise AssertionError(
            "That is the plain Rand index; use adjusted_rand_score, which corrects for the "
            "agreement expected by chance."
        )
    compare(value, expected, name="ari_kmeans", atol=5e-4, reveal=False)
