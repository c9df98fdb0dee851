"""Lesson 02's checks accept right answers and name the typical slips."""

import numpy as np
import pytest
from scipy import optimize, stats

from emlab import checks, mle
from emlab.checks import bias_and_priors


def simulate(n=2, n_samples=100_000, seed=0, ddof=0):
    """The average of the variance estimate over simulated samples of n heights, over sigma^2."""
    samples = np.random.default_rng(seed).normal(170, 10, size=(n_samples, n))
    return samples.var(axis=1, ddof=ddof).mean() / 100


# --- the simulated bias of sigma_hat^2 -------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_a_right_simulation_passes_whatever_its_seed(seed):
    checks.simulated_variance_ratio(simulate(seed=seed), n=2)


@pytest.mark.parametrize("n", [2, 3, 5, 20])
def test_the_theory_passes_for_any_sample_size(n):
    checks.simulated_variance_ratio((n - 1) / n, n=n)
    checks.simulated_variance_ratio(simulate(n=n, n_samples=100_000, seed=n), n=n)


def test_the_mean_of_sigma_hat_is_what_the_theory_says():
    # E[sigma_hat] / sigma, the value the check recognises as "averaged sigma_hat, not its square"
    for n in (2, 5):
        rng = np.random.default_rng(n)
        simulated = rng.normal(0, 1, size=(400_000, n)).std(axis=1).mean()
        assert bias_and_priors._mean_sd_ratio(n) == pytest.approx(simulated, abs=0.003)
    assert bias_and_priors._mean_sd_ratio(2) == pytest.approx(1 / np.sqrt(np.pi))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (..., "not answered yet"),
        ("0.5", "should be a number"),
        (simulate(ddof=1), "dividing by n - 1"),
        (np.random.default_rng(3).normal(170, 10, (100_000, 2)).var() / 100, "pooled together"),
        (
            np.random.default_rng(1).normal(170, 10, (100_000, 2)).std(axis=1).mean() / 10,
            "average of sigma_hat / sigma",
        ),
        (simulate() * 100, "far above 1"),
        (np.random.default_rng(2).normal(170, 10, (100_000, 2)).var(axis=0) / 100, "has 2 values"),
        (simulate(n=3), "not what a simulation of samples of n = 2"),
        (np.nan, "NaN"),
    ],
)
def test_a_wrong_simulation_is_named(answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.simulated_variance_ratio(answer, n=2)


def test_a_simulation_of_the_wrong_size_does_not_pass_by_luck():
    too_small = [simulate(n_samples=100, seed=seed) for seed in range(50)]
    failed = 0
    for value in too_small:
        try:
            checks.simulated_variance_ratio(value, n=2)
        except AssertionError:
            failed += 1
    assert failed > 30  # 100 samples: the standard error is 0.07, most miss by more than 0.015


# --- the MAP estimate of a coin ----------------------------------------------------------------


def theta_map(heads, n_tosses, a, b):
    return (heads + a - 1) / (n_tosses + a + b - 2)


def numerical_map(heads, n_tosses, a, b):
    """The top of the log-posterior, found by an optimizer: the derivation's independent check."""

    def negative_log_posterior(theta):
        return -(
            mle.bernoulli_log_likelihood(heads, n_tosses, theta) + stats.beta.logpdf(theta, a, b)
        )

    result = optimize.minimize_scalar(
        negative_log_posterior,
        bounds=(1e-12, 1 - 1e-12),
        method="bounded",
        options={"xatol": 1e-12},
    )
    return result.x


def test_the_formula_is_the_top_of_the_log_posterior():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = int(rng.integers(1, 60))
        heads, a, b = int(rng.integers(0, m + 1)), rng.uniform(1.2, 20), rng.uniform(1.2, 20)
        assert theta_map(heads, m, a, b) == pytest.approx(numerical_map(heads, m, a, b), abs=1e-7)


def test_the_right_answer_passes_every_time():
    for _ in range(20):  # fresh random counts and priors on every call
        checks.beta_bernoulli_map(theta_map)


def test_an_answer_with_numpy_arithmetic_passes():
    def with_numpy(heads, n_tosses, a, b):
        return np.divide(np.add(heads, a - 1), np.sum([n_tosses, a, b, -2]))

    checks.beta_bernoulli_map(with_numpy)


def mle_only(heads, n_tosses, a, b):
    return heads / n_tosses


def posterior_mean(heads, n_tosses, a, b):
    return (heads + a) / (n_tosses + a + b)


def swapped(heads, n_tosses, a, b):
    return (heads + b - 1) / (n_tosses + a + b - 2)


def tails(heads, n_tosses, a, b):
    return 1 - theta_map(heads, n_tosses, a, b)


def no_minus_two(heads, n_tosses, a, b):
    return (heads + a - 1) / (n_tosses + a + b)


def off(heads, n_tosses, a, b):
    return (heads + a - 1) / (n_tosses + a + b - 1)


def calls_emlab(heads, n_tosses, a, b):
    return mle.bernoulli_map(heads, n_tosses, a, b)


def stub(heads, n_tosses, a, b):
    raise NotImplementedError


def returns_nothing(heads, n_tosses, a, b):
    pass


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (mle_only, "the prior is missing"),
        (posterior_mean, "posterior mean"),
        (swapped, "a and b are swapped"),
        (tails, "probability of tails"),
        (no_minus_two, r"m \+ a \+ b - 2"),
        (off, r"is not right: at index \(\) it is"),
        (calls_emlab, "calls emlab.mle.bernoulli_map, emlab's own solution"),
        (stub, "not implemented"),
        (returns_nothing, "not answered yet"),
        (..., "not defined"),
    ],
)
def test_a_wrong_map_estimate_is_named(answer, message):
    with pytest.raises(AssertionError, match=message):
        checks.beta_bernoulli_map(answer)
