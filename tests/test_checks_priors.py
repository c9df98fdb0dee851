"""Lesson 11's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest

from emlab import map_em
from emlab.checks import priors as checks_priors

# ---------------------------------------------------------------------------
# Exercise 1: map_weights


def map_weights(resp, alpha):
    """The model answer."""
    nk = resp.sum(axis=0)
    return (nk + alpha - 1) / (nk.sum() + resp.shape[1] * (alpha - 1))


def map_weights_normalized(resp, alpha):
    """Another right answer: normalize the pseudo-counts."""
    counts = resp.sum(axis=0) + alpha - 1
    return counts / counts.sum()


def test_map_weights_accepts_right_answers_every_time():
    for _ in range(30):
        checks_priors.map_weights(map_weights)
        checks_priors.map_weights(map_weights_normalized)


def ml_weights(resp, alpha):
    return resp.mean(axis=0)


def posterior_mean(resp, alpha):
    nk = resp.sum(axis=0)
    return (nk + alpha) / (nk.sum() + resp.shape[1] * alpha)


def divided_by_n(resp, alpha):
    return (resp.sum(axis=0) + alpha - 1) / len(resp)


def k_alpha_denominator(resp, alpha):
    return (resp.sum(axis=0) + alpha - 1) / (len(resp) + resp.shape[1] * alpha)


def alpha_once(resp, alpha):
    return (resp.sum(axis=0) + alpha - 1) / (len(resp) + alpha - 1)


def wrong_axis(resp, alpha):
    nk = resp.sum(axis=1)
    return (nk + alpha - 1) / (nk.sum() + resp.shape[1] * (alpha - 1))


def calls_emlab(resp, alpha):
    X = np.zeros((len(resp), 2))
    prior = map_em.GMMPrior(nu=4.0, psi=np.eye(2), alpha=alpha)
    return map_em.m_step_map(X, resp, prior)[0]


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (ml_weights, "maximum-likelihood weights"),
        (posterior_mean, "MEAN of the Dirichlet posterior"),
        (divided_by_n, "do not sum to 1: divide by"),
        (k_alpha_denominator, "denominator is the sum of the numerators"),
        (alpha_once, "every one of the K components"),
        (wrong_axis, "one per point"),
        (calls_emlab, "emlab's own solution"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_map_weights_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks_priors.map_weights(function)


def test_map_weights_rejects_a_small_error_without_a_named_cause():
    def slightly_off(resp, alpha):
        weights = map_weights(resp, alpha) + np.linspace(0, 1e-3, resp.shape[1])
        return weights / weights.sum()

    with pytest.raises(AssertionError, match="the weights is not right"):
        checks_priors.map_weights(slightly_off)


# ---------------------------------------------------------------------------
# Exercise 2: map_covariance


def map_covariance(X, r, nu, psi):
    """The model answer."""
    N, D = r.sum(), X.shape[1]
    diff = X - r @ X / N
    return (psi + (r[:, None] * diff).T @ diff) / (N + nu + D + 1)


def map_covariance_loop(X, r, nu, psi):
    """Another right answer: a sum of outer products, the mean by np.average."""
    mean = np.average(X, axis=0, weights=r)
    B = np.array(psi, dtype=float)
    for x, weight in zip(X, r, strict=True):
        B += weight * np.outer(x - mean, x - mean)
    return B / (r.sum() + nu + X.shape[1] + 1)


def test_map_covariance_accepts_right_answers_every_time():
    for _ in range(30):
        checks_priors.map_covariance(map_covariance)
        checks_priors.map_covariance(map_covariance_loop)


def _with_divisor(extra):
    def covariance(X, r, nu, psi):
        N, D = r.sum(), X.shape[1]
        diff = X - r @ X / N
        return (psi + (r[:, None] * diff).T @ diff) / (N + extra(nu, D))

    return covariance


def no_psi(X, r, nu, psi):
    return _scatter(X, r) / (r.sum() + nu + X.shape[1] + 1)


def _scatter(X, r):
    diff = X - r @ X / r.sum()
    return (r[:, None] * diff).T @ diff


def psi_after(X, r, nu, psi):
    return _scatter(X, r) / r.sum() + psi


def unweighted(X, r, nu, psi):
    diff = X - r @ X / r.sum()
    return (psi + diff.T @ diff) / (r.sum() + nu + X.shape[1] + 1)


def plain_mean(X, r, nu, psi):
    diff = X - X.mean(axis=0)
    return (psi + (r[:, None] * diff).T @ diff) / (r.sum() + nu + X.shape[1] + 1)


def calls_emlab_covariance(X, r, nu, psi):
    prior = map_em.GMMPrior(nu=nu, psi=psi)
    return map_em.m_step_map(X, np.column_stack([r, 1 - r]), prior)[2][0]


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (_with_divisor(lambda nu, D: 0), "divisor is N \\(no pseudo-observations"),
        (_with_divisor(lambda nu, D: nu), "divisor is N \\+ nu \\(BayesianGaussianMixture"),
        (_with_divisor(lambda nu, D: nu + D), "divisor is N \\+ nu \\+ D;"),
        (_with_divisor(lambda nu, D: nu + D + 2), "normal prior on the mean"),
        (_with_divisor(lambda nu, D: nu - D - 1), "prior's mean"),
        (no_psi, "Psi is missing"),
        (psi_after, "Psi is added after dividing"),
        (unweighted, "not weighted"),
        (plain_mean, "WEIGHTED mean"),
        (calls_emlab_covariance, "emlab's own solution"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_map_covariance_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks_priors.map_covariance(function)


def test_map_covariance_names_a_scatter_divided_by_n_alone():
    """Dividing the data's scatter by N and only Psi by the full count is a named mistake."""

    def scatter_over_n(X, r, nu, psi):
        return _scatter(X, r) / r.sum() + psi / (r.sum() + nu + X.shape[1] + 1)

    with pytest.raises(AssertionError, match="divided by N alone"):
        checks_priors.map_covariance(scatter_over_n)


# ---------------------------------------------------------------------------
# Exercise 4: fixed_m_step


def fixed_m_step(X, resp, prior, extra=2):
    """The model answer (``extra`` lets the tests break its divisor)."""
    nk = resp.sum(axis=0)
    K, D = resp.shape[1], X.shape[1]
    weights = (nk + prior.alpha - 1) / (nk.sum() + K * (prior.alpha - 1))
    means = (resp.T @ X + prior.kappa * prior.m0) / (nk + prior.kappa)[:, None]
    covariances = np.empty((K, D, D))
    for k in range(K):
        diff = X - means[k]
        B = prior.psi + (resp[:, k, None] * diff).T @ diff
        B += prior.kappa * np.outer(means[k] - prior.m0, means[k] - prior.m0)
        covariances[k] = B / (nk[k] + prior.nu + D + extra)
    return weights, means, covariances


def test_fixed_m_step_accepts_the_right_answer_every_time():
    for _ in range(30):
        checks_priors.fixed_m_step(fixed_m_step)
        checks_priors.fixed_m_step(lambda X, resp, prior: list(fixed_m_step(X, resp, prior)))


def the_bug(X, resp, prior):
    w, m, c = fixed_m_step(X, resp, prior)
    D, nk = X.shape[1], resp.sum(axis=0)
    return w, m, c * ((nk + prior.nu + D + 2) / (nk + prior.nu))[:, None, None]


def flat_count(X, resp, prior):
    return fixed_m_step(X, resp, prior, extra=1)


def ml_weights_step(X, resp, prior):
    _, m, c = fixed_m_step(X, resp, prior)
    return resp.mean(axis=0), m, c


def ml_means_step(X, resp, prior):
    w, _, c = fixed_m_step(X, resp, prior)
    return w, resp.T @ X / resp.sum(axis=0)[:, None], c


def calls_emlab_step(X, resp, prior):
    return map_em.m_step_map(X, resp, prior)


def returns_a_dict(X, resp, prior):
    return dict(zip(("weights", "means", "covariances"), fixed_m_step(X, resp, prior), strict=True))


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (the_bug, "N_k \\+ nu: that is the bug"),
        (flat_count, "flat prior on the means"),
        (ml_weights_step, "the weights is not right"),
        (ml_means_step, "the means is not right"),
        (calls_emlab_step, "emlab's own solution"),
        (returns_a_dict, "three things"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_fixed_m_step_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks_priors.fixed_m_step(function)


def test_the_broken_step_of_the_lesson_lowers_the_log_posterior():
    """The exercise's premise: with N_k + nu the objective falls at least once."""
    from emlab import datasets, gmm

    X = datasets.old_faithful(standardize=True).X
    n = len(X)
    two = gmm.GaussianMixture(2, random_state=0).fit(X)
    gaps = np.linalg.norm(X[:, None] - X[None], axis=2)
    np.fill_diagonal(gaps, np.inf)
    lonely = int(np.argmax(gaps.min(axis=1)))
    theta = {
        "weights": np.append(two.weights_ * (1 - 1 / n), 1 / n),
        "means": np.vstack([two.means_, X[lonely]]),
        "covariances": np.concatenate([two.covariances_, [0.01 * np.eye(2)]]),
    }
    prior = map_em.default_prior(X, 3)
    for step, falls in [(the_bug, True), (fixed_m_step, False)]:
        params, values = dict(theta), []
        for _ in range(6):
            resp, _ = gmm.e_step(X, **params)
            values.append(map_em.log_posterior(X, params, prior))
            params = dict(zip(params, step(X, resp, prior), strict=True))
        assert (np.diff(values).min() < -1e-3) == falls


def test_the_checks_print_nothing(capsys):
    checks_priors.map_weights(map_weights)
    checks_priors.map_covariance(map_covariance)
    checks_priors.fixed_m_step(fixed_m_step)
    assert capsys.readouterr().out == ""
