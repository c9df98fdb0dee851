"""Tests for emlab.map_em: MAP-EM, checked against scipy.stats and scipy.optimize."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from threadpoolctl import threadpool_limits

from emlab import gmm, map_em
from emlab.em import EMResult
from emlab.gmm import CollapseWarning
from emlab.map_em import GMMPrior


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Every matrix here is tiny; on a shared, loaded machine BLAS threads only cost (10x)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# A prior strong enough that MAP and ML differ clearly on the small problems below.
STRONG = {"alpha": 3.0, "nu": 4.5, "psi": np.array([[1.0, 0.3], [0.3, 2.0]])}
PRIORS = {
    "inverse-Wishart": GMMPrior(**STRONG),
    "normal-inverse-Wishart": GMMPrior(**STRONG, kappa=2.0, m0=np.array([1.0, -1.0])),
}


def two_blobs(seed=0, n_per=(20, 20)):
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(size=(n_per[0], 2)),
        rng.normal(size=(n_per[1], 2)) @ np.array([[0.7, 0.2], [0.0, 0.5]]) + [4.0, 1.0],
    ]
    return np.vstack(parts)


def random_resp(n_samples, n_components, seed):
    return np.random.default_rng(seed).dirichlet(np.ones(n_components), size=n_samples)


def reference_log_prior(params, prior):
    """log p(theta) from scipy.stats' densities, independently of emlab."""
    weights, means, covariances = params["weights"], params["means"], params["covariances"]
    total = stats.dirichlet.logpdf(weights, np.full(len(weights), prior.alpha))
    for mean, covariance in zip(means, covariances, strict=True):
        total += stats.invwishart.logpdf(covariance, df=prior.nu, scale=prior.psi)
        if prior.kappa is not None:
            total += stats.multivariate_normal.logpdf(mean, prior.m0, covariance / prior.kappa)
    return total


def expected_log_posterior(X, resp, params, prior):
    """Q(theta) + log p(theta) for fixed responsibilities, from scipy.stats."""
    log_prob = np.column_stack(
        [
            np.log(w) + stats.multivariate_normal.logpdf(X, mean, cov)
            for w, mean, cov in zip(
                params["weights"], params["means"], params["covariances"], strict=True
            )
        ]
    )
    return float(np.sum(resp * log_prob)) + reference_log_prior(params, prior)


# ---------------------------------------------------------------------------
# The prior's density against scipy.stats


@pytest.mark.parametrize("kind", PRIORS)
def test_log_prior_matches_scipy_stats(kind):
    prior = PRIORS[kind]
    X = two_blobs()
    weights, means, covariances = gmm.m_step(X, random_resp(len(X), 3, seed=1))
    params = {"weights": weights, "means": means, "covariances": covariances}
    expected = reference_log_prior(params, prior)
    assert map_em.log_prior(params, prior) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    _, log_likelihood = gmm.e_step(X, weights, means, covariances)
    assert map_em.log_posterior(X, params, prior) == pytest.approx(
        log_likelihood + expected, rel=1e-12
    )


def test_log_prior_of_an_empty_component():
    """A weight of 0: no NaN from 0 * log 0; -inf when alpha > 1 (the density is 0 there)."""
    params = {"weights": np.array([1.0, 0.0]), "means": np.zeros((2, 2))}
    params["covariances"] = np.stack([np.eye(2), np.eye(2)])
    flat = GMMPrior(nu=3.0, psi=np.eye(2), alpha=1.0)
    assert np.isfinite(map_em.log_prior(params, flat))
    assert map_em.log_prior(params, GMMPrior(nu=3.0, psi=np.eye(2), alpha=2.0)) == -np.inf


# ---------------------------------------------------------------------------
# The M-step against a numerical maximization


def _unpack(theta, n_components, n_features):
    """Weights by softmax, means free, covariances by Cholesky factors with log-diagonals."""
    weights = softmax(theta[:n_components])
    start = n_components
    means = theta[start : start + n_components * n_features].reshape(n_components, n_features)
    start += n_components * n_features
    rows, cols = np.tril_indices(n_features)
    n_tril = len(rows)
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        L = np.zeros((n_features, n_features))
        L[rows, cols] = theta[start + k * n_tril : start + (k + 1) * n_tril]
        L[np.diag_indices(n_features)] = np.exp(np.diagonal(L))
        covariances[k] = L @ L.T
    return {"weights": weights, "means": means, "covariances": covariances}


@pytest.mark.parametrize("kind", PRIORS)
def test_m_step_map_maximizes_the_expected_log_posterior(kind):
    prior = PRIORS[kind]
    X = two_blobs(seed=3, n_per=(6, 5))
    n_components, n_features = 2, 2
    resp = random_resp(len(X), n_components, seed=4)
    weights, means, covariances = map_em.m_step_map(X, resp, prior)

    # Start the optimizer from the maximum-likelihood M-step, a different point.
    ml_weights, ml_means, ml_covariances = gmm.m_step(X, resp, reg_covar=0)
    theta0 = [np.log(ml_weights), ml_means.ravel()]
    for covariance in ml_covariances:
        L = np.linalg.cholesky(covariance)
        L[np.diag_indices(n_features)] = np.log(np.diagonal(L))
        theta0.append(L[np.tril_indices(n_features)])
    theta0 = np.concatenate(theta0)

    def objective(theta):
        params = _unpack(theta, n_components, n_features)
        return -expected_log_posterior(X, resp, params, prior)

    found = minimize(objective, theta0, method="BFGS", options={"gtol": 1e-10, "maxiter": 2000})
    numerical = _unpack(found.x, n_components, n_features)
    closed = {"weights": weights, "means": means, "covariances": covariances}
    ml = {"weights": ml_weights, "means": ml_means, "covariances": ml_covariances}
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(closed[name], numerical[name], atol=1e-5, rtol=1e-5)
        # The prior matters here: MAP and ML differ by far more than the tolerance
        # (except the means under a flat prior on them, which are the ML means).
        if name != "means" or prior.kappa is not None:
            assert np.max(np.abs(closed[name] - ml[name])) > 1e-2
    # No point the optimizer found is higher than the closed form.
    assert expected_log_posterior(X, resp, closed, prior) >= -found.fun - 1e-9


def test_m_step_map_floors_every_covariance():
    """Sigma_k >= Psi / (n + nu + D + 2), even for a component that holds no point."""
    X = two_blobs()
    resp = random_resp(len(X), 3, seed=5)
    resp[:, 2] = 0.0
    resp /= resp.sum(axis=1, keepdims=True)
    for prior in PRIORS.values():
        weights, _, covariances = map_em.m_step_map(X, resp, prior)
        assert weights.sum() == pytest.approx(1.0, abs=1e-14)
        assert weights[2] == pytest.approx((prior.alpha - 1) / (len(X) + 3 * (prior.alpha - 1)))
        floor = prior.psi / (len(X) + prior.nu + 2 + 2)
        for covariance in covariances:
            assert np.linalg.eigvalsh(covariance - floor)[0] >= -1e-12


# ---------------------------------------------------------------------------
# A vanishing prior gives back maximum likelihood


def test_flat_weights_and_means_are_the_maximum_likelihood_ones():
    X = two_blobs(seed=6)
    resp = random_resp(len(X), 3, seed=7)
    flat = GMMPrior(nu=1.0 + 1e-9, psi=1e-12 * np.eye(2), alpha=1.0)  # nu just above D - 1
    weights, means, covariances = map_em.m_step_map(X, resp, flat)
    ml_weights, ml_means, ml_covariances = gmm.m_step(X, resp, reg_covar=0)
    np.testing.assert_allclose(weights, ml_weights, rtol=1e-13)
    np.testing.assert_allclose(means, ml_means, rtol=1e-13)
    # The covariance's mode is the scatter over N_k + nu + D + 1, not over N_k: at the edge
    # of the inverse-Wishart's range (nu -> D - 1, Psi -> 0) it is S_k / (N_k + 2D).
    nk = resp.sum(axis=0)
    rescaled = covariances * ((nk + 2 * 2) / nk)[:, None, None]
    np.testing.assert_allclose(rescaled, ml_covariances, rtol=1e-9)
    assert not np.allclose(covariances, ml_covariances, rtol=1e-2)


@pytest.mark.parametrize("kind", ["default", *PRIORS])
def test_the_prior_fades_like_one_over_n(kind):
    """With the data repeated m times the MAP M-step approaches the ML one, at rate 1/m."""
    X = two_blobs(seed=8)
    resp = random_resp(len(X), 2, seed=9)
    prior = map_em.default_prior(X, 2, alpha=2.0) if kind == "default" else PRIORS[kind]
    gaps = []
    for m in (10, 100, 1000):
        Xm, resp_m = np.tile(X, (m, 1)), np.tile(resp, (m, 1))
        closed = map_em.m_step_map(Xm, resp_m, prior)
        ml = gmm.m_step(Xm, resp_m, reg_covar=0)
        gaps.append(
            max(np.max(np.abs(a - b)) / np.max(np.abs(b)) for a, b in zip(closed, ml, strict=True))
        )
    assert gaps[-1] < 1e-3
    for bigger, smaller in itertools.pairwise(gaps):
        assert 0.07 < smaller / bigger < 0.13  # ten times the data, a tenth of the gap


# ---------------------------------------------------------------------------
# Running MAP-EM


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["default", *PRIORS])
def test_log_posterior_never_decreases(seed, kind):
    rng = np.random.default_rng(seed)
    X = np.vstack([two_blobs(seed=seed), rng.normal(scale=3.0, size=(20, 2))])
    prior = map_em.default_prior(X, 3, alpha=1.5) if kind == "default" else PRIORS[kind]
    weights, means, covariances = gmm.m_step(X, random_resp(len(X), 3, seed=100 + seed))
    result = map_em.fit_gmm_map(X, weights, means, covariances, prior, tol=0, max_iter=30)
    objective = result.history.log_posterior
    assert len(objective) == 31 and np.all(np.isfinite(objective))
    steps = np.diff(objective)
    assert np.all(steps >= -1e-10 * np.abs(objective[1:])), steps.min()
    assert objective[-1] - objective[0] > 1.0  # it climbed


def test_the_log_likelihood_alone_can_fall():
    """The prior pulls: l(theta) drops at some iteration while the log posterior climbs."""
    rng = np.random.default_rng(0)
    X = np.vstack([two_blobs(seed=0), rng.normal(scale=3.0, size=(20, 2))])
    weights, means, covariances = gmm.m_step(X, random_resp(len(X), 3, seed=100))
    prior = PRIORS["normal-inverse-Wishart"]
    result = map_em.fit_gmm_map(X, weights, means, covariances, prior, tol=0, max_iter=30)
    assert np.diff(result.history.log_likelihood).min() < -0.1
    assert np.diff(result.history.log_posterior).min() >= -1e-10 * abs(result.log_posterior)


def test_fit_gmm_map_records_both_objectives():
    X = two_blobs(seed=11)
    weights, means, covariances = gmm.init_params(X, 2, random_state=0)
    result = map_em.fit_gmm_map(X, weights, means, covariances, record_resp=True)
    assert isinstance(result, EMResult) and isinstance(result.history, map_em.MAPHistory)
    assert result.converged and result.n_iter == len(result.history) - 1
    prior = map_em.default_prior(X, 2)  # what prior=None uses
    for snap in (result.history[0], result.history[-1]):
        args = (snap.params["weights"], snap.params["means"], snap.params["covariances"])
        resp, log_likelihood = gmm.e_step(X, *args)
        assert snap.log_likelihood == pytest.approx(log_likelihood, rel=1e-12)
        assert snap.log_posterior == pytest.approx(
            map_em.log_posterior(X, snap.params, prior), rel=1e-12
        )
        np.testing.assert_allclose(snap.resp, resp, atol=1e-12)
    assert result.log_posterior == result.history.log_posterior[-1]
    assert result.log_likelihood == result.history.log_likelihood[-1]
    # The converged MAP parameters are a fixed point of E-step then MAP M-step.
    again = map_em.m_step_map(X, result.resp, prior)
    for name, value in zip(("weights", "means", "covariances"), again, strict=True):
        np.testing.assert_allclose(value, result.params[name], atol=1e-3)


def spiked_start():
    """Lesson 09's collapse, small: a third component of weight 1/n on a lonely point."""
    X = np.vstack([two_blobs(seed=0), [[2.0, 5.0]]])
    n = len(X)
    weights = np.array([0.5 - 0.5 / n, 0.5 - 0.5 / n, 1 / n])
    means = np.array([[0.0, 0.0], [4.0, 1.0], [2.0, 5.0]])
    covariances = np.stack([np.eye(2), 0.5 * np.eye(2), 0.01 * np.eye(2)])
    return X, weights, means, covariances


def test_maximum_likelihood_collapses_from_the_spiked_start():
    """The control: without a floor, ML EM shrinks the spike onto its point."""
    X, weights, means, covariances = spiked_start()
    with pytest.warns(CollapseWarning):
        result = gmm.fit_gmm(X, weights, means, covariances, reg_covar=0, tol=0, max_iter=10)
    smallest = [np.linalg.eigvalsh(s.params["covariances"][2])[0] for s in result.history]
    assert smallest[0] == pytest.approx(0.01)
    assert max(smallest[1:]) < 1e-20
    np.testing.assert_allclose(result.params["means"][2], X[-1], rtol=1e-12)


def test_map_em_does_not_collapse():
    X, weights, means, covariances = spiked_start()
    prior = map_em.default_prior(X, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseWarning)
        result = map_em.fit_gmm_map(X, weights, means, covariances, prior, tol=0, max_iter=30)
    floor = np.linalg.eigvalsh(prior.psi)[0] / (len(X) + prior.nu + 2 + 2)
    for snap in result.history[1:]:
        assert np.linalg.eigvalsh(snap.params["covariances"])[:, 0].min() >= floor
    assert floor > 1e-3
    assert np.all(np.isfinite(result.history.log_posterior))
    assert np.all(np.diff(result.history.log_posterior) >= -1e-10 * abs(result.log_posterior))


# ---------------------------------------------------------------------------
# Clear errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.5}, "alpha must be at least 1"),
        ({"alpha": np.nan}, "alpha must be finite"),
        ({"nu": 1.0}, r"nu must be greater than D - 1 = 1"),
        ({"nu": 0.2}, r"nu must be greater than D - 1"),
        ({"psi": np.array([[1.0, 0.5], [0.0, 1.0]])}, "psi must be symmetric positive definite"),
        ({"psi": np.array([[1.0, 2.0], [2.0, 1.0]])}, "psi must be symmetric positive definite"),
        ({"psi": np.ones((2, 3))}, "psi must be a square"),
        ({"psi": np.array([[1.0, np.nan], [np.nan, 1.0]])}, "psi contains"),
        ({"kappa": 0.0, "m0": np.zeros(2)}, "kappa must be positive"),
        ({"kappa": 1.0}, "m0 is required with kappa"),
        ({"m0": np.zeros(2)}, "give kappa too"),
        ({"kappa": 1.0, "m0": np.zeros(3)}, "m0 must have 2 entries"),
    ],
)
def test_bad_priors_raise_naming_the_argument(kwargs, match):
    arguments = {"nu": 4.0, "psi": np.eye(2), **kwargs}
    with pytest.raises(ValueError, match=match):
        GMMPrior(**arguments)


def test_bad_arguments_to_the_steps():
    X = two_blobs()
    resp = random_resp(len(X), 2, seed=0)
    with pytest.raises(ValueError, match="prior must be a GMMPrior"):
        map_em.m_step_map(X, resp, {"nu": 4.0})
    with pytest.raises(ValueError, match="prior is for D = 3"):
        map_em.m_step_map(X, resp, GMMPrior(nu=4.0, psi=np.eye(3)))
    with pytest.raises(ValueError, match="resp"):
        map_em.m_step_map(X, resp[:-1], PRIORS["inverse-Wishart"])
    with pytest.raises(ValueError, match="params must be a dict"):
        map_em.log_prior({"weights": [1.0]}, PRIORS["inverse-Wishart"])
    params = {"weights": [0.5, 0.5], "means": np.zeros((2, 2))}
    params["covariances"] = np.stack([np.eye(2), -np.eye(2)])
    with pytest.raises(ValueError, match=r"covariances\[1\] is not positive definite"):
        map_em.log_prior(params, PRIORS["inverse-Wishart"])
    with pytest.raises(ValueError, match="sample covariance is singular"):
        map_em.default_prior(np.tile([[1.0, 2.0]], (5, 1)), 2)


def test_default_prior_is_fraley_and_raftery():
    X = two_blobs()
    prior = map_em.default_prior(X, 3)
    assert prior.nu == 4 and prior.kappa == 0.01 and prior.alpha == 1.0
    np.testing.assert_allclose(prior.m0, X.mean(axis=0))
    np.testing.assert_allclose(prior.psi, np.cov(X.T) / 3 ** (2 / 2))
    one_d = map_em.default_prior(X[:, :1], 2, kappa=None)
    assert one_d.psi.shape == (1, 1) and one_d.m0 is None
    assert one_d.psi[0, 0] == pytest.approx(X[:, 0].var(ddof=1) / 4)


def test_one_dimension_matches_a_direct_computation():
    """D = 1: the formulas by hand, with scalars."""
    x = two_blobs(seed=2)[:, 0]
    resp = random_resp(len(x), 2, seed=3)
    prior = GMMPrior(nu=2.0, psi=[[0.5]], alpha=2.0, kappa=0.5, m0=[1.0])
    weights, means, covariances = map_em.m_step_map(x[:, None], resp, prior)
    nk = resp.sum(axis=0)
    expected_means = (x @ resp + 0.5 * 1.0) / (nk + 0.5)
    scatter = np.sum(resp * (x[:, None] - expected_means) ** 2, axis=0)
    expected_vars = (0.5 + scatter + 0.5 * (expected_means - 1.0) ** 2) / (nk + 2.0 + 1 + 2)
    np.testing.assert_allclose(weights, (nk + 1) / (len(x) + 2))
    np.testing.assert_allclose(means[:, 0], expected_means)
    np.testing.assert_allclose(covariances[:, 0, 0], expected_vars)
    # and the 1-D log posterior from scipy.stats' invgamma (an inverse-Wishart with D = 1)
    params = {"weights": weights, "means": means, "covariances": covariances}
    log_lik = np.sum(
        logsumexp(
            np.log(weights) + stats.norm.logpdf(x[:, None], means[:, 0], np.sqrt(expected_vars)),
            axis=1,
        )
    )
    log_p = stats.dirichlet.logpdf(weights, [2.0, 2.0]) + np.sum(
        stats.invgamma.logpdf(expected_vars, a=1.0, scale=0.25)
        + stats.norm.logpdf(means[:, 0], 1.0, np.sqrt(expected_vars / 0.5))
    )
    assert map_em.log_posterior(x[:, None], params, prior) == pytest.approx(log_lik + log_p)
