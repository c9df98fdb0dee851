"""Checks of lesson 09 (choosing K, collapse, house prices): right answers pass, typical
wrong ones are named, and a numeric answer is never revealed."""

import math

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, rand_score

from emlab import checks, datasets, gmm
from emlab.gmm import GaussianMixture
from emlab.kmeans import KMeans

# --------------------------------------------------------------------------- BIC by hand


@pytest.fixture(scope="module")
def faithful_fit():
    X = datasets.old_faithful(standardize=True).X
    fit = GaussianMixture(3, n_init=5, random_state=0).fit(X)
    return X, fit, fit.score(X) * len(X)


def test_bic_accepts_the_answer_and_its_rounding(faithful_fit):
    X, fit, log_lik = faithful_fit
    p = 2 + 3 * 2 + 3 * 3  # weights, means, covariances
    by_hand = -2 * log_lik + p * math.log(len(X))
    assert by_hand == pytest.approx(fit.bic(X))  # the check's formula is emlab's
    checks.old_faithful_bic(by_hand)
    checks.old_faithful_bic(round(by_hand, 1))
    checks.old_faithful_bic(fit.bic(X))


def test_bic_names_typical_mistakes_without_revealing_the_answer(faithful_fit):
    X, fit, log_lik = faithful_fit
    n, p = len(X), 17
    expected = f"{fit.bic(X):.1f}"
    cases = [
        (-2 * fit.score(X) + p * math.log(n), "MEAN log-likelihood"),
        (-2 * log_lik + 2 * p, "That is AIC"),
        (-2 * log_lik + p * math.log10(n), "log10"),
        (-log_lik + p * math.log(n), "factor 2"),
        (2 * log_lik + p * math.log(n), "sign"),
        (-2 * log_lik + 18 * math.log(n), "only K - 1 are free"),
        (-2 * log_lik + 20 * math.log(n), "symmetric"),
        (-2 * log_lik + 8 * math.log(n), "covariances are parameters"),
        (fit.bic(X) + 3, "too high"),
        (fit.bic(X) - 3, "too low"),
        ("big", "should be a number"),
        (float("nan"), "finite"),
        (..., "not answered"),
    ]
    for answer, message in cases:
        with pytest.raises(AssertionError, match=message) as info:
            checks.old_faithful_bic(answer)
        assert expected not in str(info.value)


# --------------------------------------------------------------------------- k-means ARI


def _house_labels(standardize):
    houses = datasets.house_prices()
    X = houses.X
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)  # ddof does not change k-means
    return houses.neighbourhood, KMeans(n_clusters=4, random_state=0).fit(X).labels_


def test_kmeans_ari_accepts_the_answer_and_its_rounding():
    truth, labels = _house_labels(standardize=True)
    ari = adjusted_rand_score(truth, labels)
    checks.house_prices_kmeans_ari(ari)
    checks.house_prices_kmeans_ari(round(ari, 3))


def test_kmeans_ari_names_typical_mistakes_without_revealing_the_answer():
    truth, labels = _house_labels(standardize=True)
    expected = f"{adjusted_rand_score(truth, labels):.3f}"
    raw_truth, raw_labels = _house_labels(standardize=False)
    cases = [
        (adjusted_rand_score(raw_truth, raw_labels), "Standardize each column"),
        (rand_score(truth, labels), "plain Rand index"),
        (0.2, "too low"),
        (1.5, "at most 1"),
        (None, "not answered"),
    ]
    for answer, message in cases:
        with pytest.raises(AssertionError, match=message) as info:
            checks.house_prices_kmeans_ari(answer)
        assert expected not in str(info.value)


# --------------------------------------------------------------------------- the buggy M-step


def _parts(X, resp):
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    covariances = np.stack(
        [
            (r[:, None] * (X - m)).T @ (X - m) / n_k
            for r, m, n_k in zip(resp.T, means, nk, strict=True)
        ]
    )
    return nk, means, covariances


def fixed(X, resp):
    nk, means, covariances = _parts(X, resp)
    return nk / len(X), means, covariances


def fixed_with_floor(X, resp):
    weights, means, covariances = fixed(X, resp)
    return weights, means, covariances + 1e-6 * np.eye(X.shape[1])


def the_bug(X, resp):  # the lesson's buggy_m_step
    nk, _, _ = _parts(X, resp)
    means = resp.T @ X / len(X)
    covariances = np.stack(
        [
            (r[:, None] * (X - m)).T @ (X - m) / n_k
            for r, m, n_k in zip(resp.T, means, nk, strict=True)
        ]
    )
    return nk / len(X), means, covariances


def means_not_divided(X, resp):
    weights, _, covariances = fixed(X, resp)
    return weights, resp.T @ X, covariances


def weights_not_divided(X, resp):
    nk, means, covariances = _parts(X, resp)
    return nk, means, covariances


def covariances_divided_by_n(X, resp):
    nk, means, covariances = _parts(X, resp)
    return nk / len(X), means, covariances * nk[:, None, None] / len(X)


def two_things(X, resp):
    return fixed(X, resp)[:2]


def calls_emlab(X, resp):
    return gmm.m_step(X, resp)


def test_m_step_fixed_accepts_right_answers_every_time():
    for _ in range(20):
        checks.gmm_m_step_fixed(fixed)
        checks.gmm_m_step_fixed(fixed_with_floor)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (the_bug, "divided by n, the number of points: that is the bug"),
        (means_not_divided, "not divided by N_k"),
        (weights_not_divided, "soft counts N_k"),
        (covariances_divided_by_n, "divided by n"),
        (two_things, "three things"),
        (calls_emlab, "emlab's own solution"),
        (..., "not defined"),
    ],
)
def test_m_step_fixed_names_typical_mistakes(function, message):
    for _ in range(3):
        with pytest.raises(AssertionError, match=message):
            checks.gmm_m_step_fixed(function)
