"""emlab.bound: l = L + KL for any q, KL >= 0 and 0 only at the posterior, EM climbs L."""

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from emlab import bound, datasets
from emlab.gmm import e_step_1d, fit_gmm_1d


def _problem(seed, n_components=3, n=50):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, size=n)
    weights = rng.dirichlet(np.full(n_components, 2.0))
    means = rng.normal(0.0, 2.0, n_components)
    sds = rng.uniform(0.5, 3.0, n_components)
    q = rng.dirichlet(np.full(n_components, 0.5), size=n)  # any q, far from the posterior
    return x, q, weights, means, sds


def _by_hand(x, q, weights, means, sds):
    """L and KL from their definitions, with plain densities, one term at a time."""
    lower, kl = 0.0, 0.0
    for i, xi in enumerate(x):
        joint = weights * norm.pdf(xi, means, sds)
        post = joint / joint.sum()
        for k in range(len(weights)):
            if q[i, k] > 0:
                lower += q[i, k] * np.log(joint[k] / q[i, k])
                kl += q[i, k] * np.log(q[i, k] / post[k])
    return lower, kl


@pytest.mark.parametrize("seed", range(20))
def test_log_likelihood_is_the_bound_plus_the_kl_for_any_q(seed):
    x, q, weights, means, sds = _problem(seed)
    log_likelihood = e_step_1d(x, weights, means, sds)[1]
    lower, kl = (
        bound.elbo(x, q, weights, means, sds),
        bound.kl_to_posterior(x, q, weights, means, sds),
    )
    assert abs(log_likelihood - (lower + kl)) < 1e-10 * max(1.0, abs(log_likelihood))
    assert kl > 0 and lower < log_likelihood


@pytest.mark.parametrize("seed", range(5))
def test_the_two_terms_match_a_term_by_term_computation(seed):
    x, q, weights, means, sds = _problem(seed)
    q[:5] = np.eye(3)[np.arange(5) % 3]  # some zeros: 0 log 0 = 0
    lower, kl = _by_hand(x, q, weights, means, sds)
    assert bound.elbo(x, q, weights, means, sds) == pytest.approx(lower, rel=1e-12)
    assert bound.kl_to_posterior(x, q, weights, means, sds) == pytest.approx(kl, rel=1e-10)


def test_the_elbo_of_one_point_has_a_closed_form():
    """For one point and the uniform q, L = mean of log joints + log K (a closed form)."""
    x, weights, means, sds = (
        np.array([0.3]),
        np.array([0.2, 0.8]),
        np.array([-1.0, 2.0]),
        np.ones(2),
    )
    q = np.full((1, 2), 0.5)
    expected = np.mean(np.log(weights) + norm.logpdf(0.3, means, sds)) + np.log(2)
    assert bound.elbo(x, q, weights, means, sds) == pytest.approx(expected, rel=1e-14)
    # and the log-likelihood it bounds is the log of a density that integrates to one
    total, _ = integrate.quad(lambda t: np.exp(e_step_1d([t], weights, means, sds)[1]), -20, 20)
    assert total == pytest.approx(1.0, rel=1e-8)


@pytest.mark.parametrize("seed", range(10))
def test_kl_is_zero_exactly_at_the_posterior_and_positive_elsewhere(seed):
    x, _, weights, means, sds = _problem(seed)
    post = bound.posterior(x, weights, means, sds)
    assert abs(bound.kl_to_posterior(x, post, weights, means, sds)) < 1e-10
    log_likelihood = e_step_1d(x, weights, means, sds)[1]
    assert bound.elbo(x, post, weights, means, sds) == pytest.approx(log_likelihood, abs=1e-9)
    rng = np.random.default_rng(seed)
    for eps in [1e-1, 1e-3]:  # any move away from the posterior opens a gap
        nudged = post + eps * rng.dirichlet(np.ones(3), size=len(x))
        nudged /= nudged.sum(axis=1, keepdims=True)
        assert bound.kl_to_posterior(x, nudged, weights, means, sds) > 0


def test_kl_is_infinite_where_q_puts_mass_the_posterior_rules_out():
    x, weights, means, sds = np.array([1.0, 2.0]), np.array([1.0, 0.0]), np.zeros(2), np.ones(2)
    q = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert bound.kl_to_posterior(x, q, weights, means, sds) == np.inf
    assert bound.elbo(x, q, weights, means, sds) == -np.inf
    assert np.isfinite(bound.elbo(x, np.array([[1.0, 0.0]] * 2), weights, means, sds))


def test_entropy_is_between_zero_and_n_log_k():
    assert bound.entropy(np.eye(3)) == 0.0
    assert bound.entropy(np.full((4, 3), 1 / 3)) == pytest.approx(4 * np.log(3), rel=1e-14)


def test_elbo_works_in_log_space_far_from_every_component():
    x, weights, means, sds = (
        np.array([0.0, 1e4]),
        np.array([0.5, 0.5]),
        np.array([0.0, 1.0]),
        np.ones(2),
    )
    q = np.full((2, 2), 0.5)
    lower = bound.elbo(x, q, weights, means, sds)
    kl = bound.kl_to_posterior(x, q, weights, means, sds)
    assert np.isfinite(lower) and np.isfinite(kl) and kl > 0
    assert lower + kl == pytest.approx(e_step_1d(x, weights, means, sds)[1], rel=1e-12)


def _heights_trace(n_iter=25, **kwargs):
    heights, _ = datasets.heights_by_sex()
    q0 = np.full((heights.size, 2), 0.5)
    return bound.half_steps(heights, q0, [0.5, 0.5], [150.0, 190.0], [10.0, 10.0], n_iter, **kwargs)


def test_half_steps_alternate_and_keep_the_identity():
    trace = _heights_trace(5)
    assert trace.step == ["start"] + ["E", "M"] * 5
    assert len(trace.params) == trace.elbo.size == 11
    np.testing.assert_allclose(trace.log_likelihood, trace.elbo + trace.kl, rtol=1e-12)


def test_em_never_lowers_the_bound_and_every_e_step_closes_the_gap():
    trace = _heights_trace()
    assert np.all(np.diff(trace.elbo) >= -1e-9), np.diff(trace.elbo).min()
    assert np.all(np.diff(trace.log_likelihood) >= -1e-9)
    e_steps = np.array(trace.step) == "E"
    assert np.all(np.abs(trace.kl[e_steps]) < 1e-9)
    assert np.all(trace.kl[~e_steps] > 0)  # after an M-step the old q is no longer the posterior
    np.testing.assert_array_equal(trace.log_likelihood[1:][::2], trace.log_likelihood[:-1][::2])


def test_half_steps_reproduce_emlabs_em_loop():
    heights, _ = datasets.heights_by_sex()
    trace = _heights_trace(25)
    fit = fit_gmm_1d(heights, [0.5, 0.5], [150.0, 190.0], [10.0, 10.0], tol=0, max_iter=25)
    after_m = trace.log_likelihood[np.array(trace.step) != "E"]
    np.testing.assert_allclose(after_m, fit.history.log_likelihood, rtol=1e-9)


def test_a_generalized_m_step_improves_the_bound_without_maximizing_it():
    x, q, weights, means, sds = _problem(3)
    before = bound.elbo(x, q, weights, means, sds)
    best = bound.elbo(x, q, *bound.m_step(x, q))
    for step in [0.1, 0.5, 0.9]:
        after = bound.elbo(x, q, *bound.damped_m_step(x, q, weights, means, sds, step=step))
        assert before < after < best
    exact = bound.damped_m_step(x, q, weights, means, sds, step=1.0)
    np.testing.assert_allclose(np.concatenate(exact), np.concatenate(bound.m_step(x, q)), rtol=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_a_damped_m_step_never_lowers_the_bound_for_random_q_and_theta(seed):
    x, q, weights, means, sds = _problem(seed)
    for step in [0.05, 0.3, 0.7]:
        new = bound.damped_m_step(x, q, weights, means, sds, step=step)
        assert bound.elbo(x, q, *new) >= bound.elbo(x, q, weights, means, sds) - 1e-9


def test_generalized_em_climbs():
    trace = _heights_trace(25, m_step=bound.damped_m_step)
    assert np.all(np.diff(trace.elbo) >= -1e-9)
    assert np.all(np.diff(trace.log_likelihood) >= -1e-9)
    exact = _heights_trace(25)
    assert trace.log_likelihood[-1] < exact.log_likelihood[-1]  # slower, but climbing


def test_point_masses_climb_the_bound_but_never_close_the_gap():
    heights, _ = datasets.heights_by_sex()
    start = ([0.5, 0.5], [150.0, 190.0], [10.0, 10.0])
    q0 = bound.best_point_mass(heights, *start)
    trace = bound.half_steps(heights, q0, *start, 30, e_step=bound.best_point_mass)
    assert np.all(np.diff(trace.elbo) >= -1e-9)  # coordinate ascent inside the family
    assert np.all(trace.kl > 1.0)  # the gap stays open
    assert np.any(np.diff(trace.log_likelihood) < -1e-6)  # and l can fall (lesson 04)
    for q, (weights, means, sds) in zip([q0], [start], strict=True):  # best among point masses
        rng = np.random.default_rng(0)
        other = np.eye(2)[rng.integers(0, 2, heights.size)]
        assert bound.elbo(heights, q, weights, means, sds) >= bound.elbo(
            heights, other, weights, means, sds
        )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda x, q: bound.elbo(
                x, np.full((len(x), 2), 0.5), [0.5, 0.5, 0], [0, 1, 2], [1, 1, 1]
            ),
            "columns",
        ),
        (lambda x, q: bound.elbo(x, q * 2, [0.5, 0.3, 0.2], [0, 1, 2], [1, 1, 1]), "sum to 1"),
        (lambda x, q: bound.elbo(x[:-1], q, [0.5, 0.3, 0.2], [0, 1, 2], [1, 1, 1]), "rows"),
        (lambda x, q: bound.kl_to_posterior(x, q, [0.5, 0.3, 0.2], [0, 1, 2], [1, 0, 1]), "sds"),
        (
            lambda x, q: bound.elbo(
                np.r_[x[:-1], np.nan], q, [0.5, 0.3, 0.2], [0, 1, 2], [1, 1, 1]
            ),
            "NaN",
        ),
        (
            lambda x, q: bound.damped_m_step(x, q, [0.5, 0.3, 0.2], [0, 1, 2], [1, 1, 1], step=2),
            "step",
        ),
        (
            lambda x, q: bound.damped_m_step(x, q, [0.5, 0.3, 0.2], [0, 1, 2], [1, 1, 1], step=0),
            "step",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    x, q, *_ = _problem(0)
    with pytest.raises(ValueError, match=message):
        call(x, q)


@pytest.mark.parametrize("n_iter", [-1, 2.5, True])
def test_half_steps_wants_a_whole_number_of_iterations(n_iter):
    x, q, weights, means, sds = _problem(0)
    with pytest.raises(ValueError, match="n_iter"):
        bound.half_steps(x, q, weights, means, sds, n_iter)
