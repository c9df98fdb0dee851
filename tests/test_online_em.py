"""Stepwise (online) EM and EM from sufficient statistics (emlab.online_em, lesson 15).

References independent of the module: emlab.gmm's batch E- and M-steps, sums written out
by hand on a tiny case, and the optimum of batch EM on a large sample.
"""

import numpy as np
import pytest

from emlab import gmm, online_em

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]])
COVARIANCES = np.array([np.eye(2), [[1.0, 0.5], [0.5, 1.0]], [[2.0, 0.0], [0.0, 0.5]]])


def _sample(n, seed):
    X, _ = gmm.sample(WEIGHTS, MEANS, COVARIANCES, n, random_state=seed)
    return X


def _rough_start(X, seed):
    rng = np.random.default_rng(seed)
    means = X[rng.choice(len(X), 3, replace=False)]
    covariances = np.repeat(np.cov(X.T, bias=True)[np.newaxis], 3, axis=0)
    return np.full(3, 1 / 3), means, covariances


def test_block_statistics_add_up_and_give_the_batch_m_step():
    X = _sample(1000, 0)
    resp, _ = gmm.e_step(X, WEIGHTS, MEANS, COVARIANCES)
    whole = online_em.sufficient_statistics(X, resp)
    blocks = [
        online_em.sufficient_statistics(X[a:b], resp[a:b])
        for a, b in [(0, 7), (7, 600), (600, 1000)]
    ]
    for total, parts in zip(whole, zip(*blocks, strict=True), strict=True):
        np.testing.assert_allclose(sum(parts), total, rtol=1e-12)
    for mine, reference in zip(
        online_em.m_step_from_statistics(*whole), gmm.m_step(X, resp), strict=True
    ):
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)


def test_statistics_on_a_hand_computed_case():
    # two points, two components; every sum written out
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    resp = np.array([[0.25, 0.75], [1.0, 0.0]])
    nk, sum_x, sum_xx = online_em.sufficient_statistics(X, resp)
    np.testing.assert_allclose(nk, [1.25, 0.75])
    np.testing.assert_allclose(sum_x, [[0.25 + 3.0, 0.5 - 1.0], [0.75, 1.5]])
    np.testing.assert_allclose(
        sum_xx,
        [
            [[0.25 * 1 + 9, 0.25 * 2 - 3], [0.25 * 2 - 3, 0.25 * 4 + 1]],
            [[0.75, 1.5], [1.5, 3.0]],
        ],
    )


def test_the_running_statistics_follow_the_formula_on_a_tiny_case():
    # two steps of mini-batches of one point each, the averages computed by hand
    X = np.array([[0.0, 1.0], [2.0, 0.0]])
    weights, means = np.array([0.5, 0.5]), np.array([[0.0, 0.0], [2.0, 1.0]])
    covariances = np.array([np.eye(2), np.eye(2)])
    tau = 0.75
    result = online_em.stepwise_em(
        X,
        weights,
        means,
        covariances,
        batch_size=1,
        n_steps=2,
        tau=tau,
        random_state=3,
        reg_covar=0.0,
    )
    order = np.random.RandomState(3).permutation(2)
    # the start's statistics: pi_k, pi_k mu_k, pi_k (Sigma_k + mu_k mu_k^T)
    s = [
        weights,
        weights[:, None] * means,
        weights[:, None, None] * (covariances + np.einsum("kd,ke->kde", means, means)),
    ]
    params = (weights, means, covariances)
    for t, i in enumerate(order):
        gamma = (t + 2.0) ** -tau
        x = X[i]
        resp, _ = gmm.e_step(x[None], *params)
        r = resp[0]
        new = [r, r[:, None] * x, r[:, None, None] * np.outer(x, x)]
        s = [(1 - gamma) * old + gamma * point for old, point in zip(s, new, strict=True)]
        means_t = s[1] / s[0][:, None]
        params = (
            s[0] / s[0].sum(),
            means_t,
            s[2] / s[0][:, None, None] - np.einsum("kd,ke->kde", means_t, means_t),
        )
        snap = result.history[t + 1]
        np.testing.assert_allclose(snap.params["weights"], params[0], rtol=1e-12)
        np.testing.assert_allclose(snap.params["means"], params[1], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(snap.params["covariances"], params[2], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(online_em.step_sizes(3, tau), [2**-tau, 3**-tau, 4**-tau])


@pytest.mark.parametrize("seed", [0, 1])
def test_one_batch_of_everything_with_step_size_one_is_batch_em(seed):
    X = _sample(2000, seed)
    start = _rough_start(X, seed)
    batch = gmm.fit_gmm(X, *start, tol=0, max_iter=15)
    stepwise = online_em.stepwise_em(
        X, *start, batch_size=len(X), n_steps=15, tau=0, random_state=seed
    )
    assert len(stepwise.history) == len(batch.history) == 16
    for mine, reference in zip(stepwise.history, batch.history, strict=True):
        assert mine.iteration == reference.iteration
        np.testing.assert_allclose(mine.log_likelihood, reference.log_likelihood, rtol=1e-12)
        for name in ("weights", "means", "covariances"):
            np.testing.assert_allclose(
                mine.params[name], reference.params[name], rtol=1e-9, atol=1e-12
            )


def test_on_a_large_sample_it_reaches_the_batch_optimum():
    X = _sample(50_000, 4)
    n = len(X)
    start = _rough_start(X, 4)
    optimum = gmm.fit_gmm(X, *start, tol=1e-10, max_iter=2000).log_likelihood / n
    result = online_em.stepwise_em(
        X, *start, batch_size=1000, n_steps=500, tau=0.6, random_state=0, record_every=50
    )
    average = result.history.log_likelihood / n
    # within 0.001 nats per point of batch EM's optimum after 10 passes (measured: 2e-4)
    assert abs(average[-1] - optimum) < 1e-3
    # and far closer than the start
    assert optimum - average[0] > 0.5


def test_online_em_beats_batch_em_per_pass_early_on():
    X = _sample(10_000, 0)
    n = len(X)
    start = _rough_start(X, 1)
    batch = gmm.fit_gmm(X, *start, tol=0, max_iter=2).history.log_likelihood[-1] / n
    online = online_em.stepwise_em(X, *start, batch_size=250, n_steps=80, tau=0.6, random_state=0)
    assert online.log_likelihood / n > batch + 0.05


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau": 0.5}, "tau must satisfy 0.5 < tau <= 1"),
        ({"tau": 1.5}, "tau must satisfy"),
        ({"tau": "0.6"}, "tau must be a number"),
        ({"tau": float("nan")}, "tau must be a number"),
        ({"batch_size": 0}, "batch_size must be a whole number, at least 1"),
        ({"batch_size": 2.5}, "batch_size must be a whole number"),
        ({"batch_size": 10_000}, "batch_size=10000 is more than the 100 data points"),
        ({"n_steps": 0}, "n_steps must be a whole number, at least 1"),
        ({"record_every": 0}, "record_every must be"),
        ({"reg_covar": -1.0}, "reg_covar must be non-negative"),
    ],
)
def test_bad_arguments_get_clear_errors(kwargs, message):
    X = _sample(100, 0)
    arguments = {"batch_size": 10, "n_steps": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        online_em.stepwise_em(X, WEIGHTS, MEANS, COVARIANCES, **arguments)


def test_bad_statistics_and_starts_get_clear_errors():
    with pytest.raises(ValueError, match="nk must be non-negative"):
        online_em.m_step_from_statistics([-1.0, 2.0], np.zeros((2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="sum_xx must have shape"):
        online_em.m_step_from_statistics([1.0, 2.0], np.zeros((2, 2)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="sum_x must have one row per component"):
        online_em.m_step_from_statistics([1.0, 2.0], np.zeros((3, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="weights must sum to 1"):
        online_em.start_statistics([0.5, 0.6], MEANS[:2], COVARIANCES[:2])
    with pytest.raises(ValueError, match="not positive definite"):
        online_em.start_statistics(WEIGHTS, MEANS, -COVARIANCES)
    with pytest.raises(ValueError, match="n_steps must be"):
        online_em.step_sizes(-1)
