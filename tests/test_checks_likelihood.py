"""Lesson 01's checks accept right answers and name the typical slips (never the answer)."""

import numpy as np
import pytest
from scipy import stats

from emlab import checks, datasets, mle


def vectorized(x, mu, sigma):
    return np.sum(-0.5 * np.log(2 * np.pi) - np.log(sigma) - (x - mu) ** 2 / (2 * sigma**2))


def with_scipy(x, mu, sigma):
    return stats.norm.logpdf(x, mu, sigma).sum()


def product(x, mu, sigma):
    return np.log(np.prod(stats.norm.pdf(x, mu, sigma)))


def base_10(x, mu, sigma):
    return np.sum(np.log10(stats.norm.pdf(x, mu, sigma)))


def no_constant(x, mu, sigma):
    return np.sum(-np.log(sigma) - (x - mu) ** 2 / (2 * sigma**2))


def per_point(x, mu, sigma):
    return stats.norm.logpdf(x, mu, sigma)


def likelihood(x, mu, sigma):
    return np.prod(stats.norm.pdf(x, mu, sigma))


def negative(x, mu, sigma):
    return -with_scipy(x, mu, sigma)


def mean(x, mu, sigma):
    return stats.norm.logpdf(x, mu, sigma).mean()


def sigma_as_variance(x, mu, sigma):
    return stats.norm.logpdf(x, mu, np.sqrt(sigma)).sum()


def ignores_parameters(x, mu, sigma):
    return stats.norm.logpdf(x, x.mean(), x.std()).sum()


def stub(x, mu, sigma):
    raise NotImplementedError


@pytest.mark.parametrize("function", [vectorized, with_scipy])
def test_gaussian_log_likelihood_accepts_right_answers_every_time(function):
    for _ in range(20):  # fresh random data on every call
        checks.gaussian_log_likelihood(function)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (product, "underflowed to 0"),
        (likelihood, "the likelihood itself"),
        (base_10, "base 10"),
        (no_constant, r"missing the constant -n/2 log\(2 pi\)"),
        (per_point, "one value per data point"),
        (negative, "wrong sign"),
        (mean, "mean of the log densities"),
        (sigma_as_variance, "treats sigma as the variance"),
        (ignores_parameters, "use the arguments mu and sigma"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_gaussian_log_likelihood_names_the_slip(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.gaussian_log_likelihood(function)


HEIGHTS = datasets.heights()
MU_HAT, SIGMA_HAT = mle.gaussian_mle(HEIGHTS)
ELL_HAT = mle.gaussian_log_likelihood(HEIGHTS, MU_HAT, SIGMA_HAT)


def test_heights_log_likelihood_accepts_every_right_computation():
    n = HEIGHTS.size
    checks.heights_log_likelihood_at_mle(vectorized(HEIGHTS, MU_HAT, SIGMA_HAT))
    checks.heights_log_likelihood_at_mle(with_scipy(HEIGHTS, HEIGHTS.mean(), HEIGHTS.std()))
    checks.heights_log_likelihood_at_mle(-n / 2 * (np.log(2 * np.pi * SIGMA_HAT**2) + 1))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (..., "not answered"),
        ("about -3700", "should be a number"),
        (np.zeros(2), "should be one number"),
        (with_scipy(HEIGHTS, MU_HAT, np.std(HEIGHTS, ddof=1)), "n - 1"),
        (with_scipy(HEIGHTS, 170.0, 10.0), "true"),
        (round(ELL_HAT, 3), "close but not exact"),
        (0.0, "underflowed"),
        (-np.inf, "underflowed"),
        (base_10(HEIGHTS, MU_HAT, SIGMA_HAT), "base 10"),
        (no_constant(HEIGHTS, MU_HAT, SIGMA_HAT), "missing the constant"),
        (-ELL_HAT, "wrong sign"),
        (ELL_HAT - 1.0, "too low"),
        (ELL_HAT + 5.0, "too high"),
    ],
)
def test_heights_log_likelihood_names_the_slip_and_never_the_answer(value, message):
    with pytest.raises(AssertionError, match=message) as info:
        checks.heights_log_likelihood_at_mle(value)
    for shown in (f"{ELL_HAT:.1f}", f"{ELL_HAT:.0f}", f"{-ELL_HAT:.0f}"):
        assert shown not in str(info.value)


def test_coin_a_theta_accepts_the_fraction_of_heads():
    data = datasets.do_batzoglou()
    is_a = data.coins == "A"
    checks.coin_a_theta(data.heads[is_a].sum() / (data.n_tosses * is_a.sum()))
    checks.coin_a_theta(data.tosses[is_a].mean())


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "not answered"),
        (24 / 3, "not a probability"),
        (24 / 10, "total number of tosses"),
        (6 / 30, "fraction of tails"),
        (33 / 50, "all five trials"),
        (9 / 20, "coin B"),
        (0.75, "too low"),
        (0.85, "too high"),
    ],
)
def test_coin_a_theta_names_the_slip_and_never_the_answer(value, message):
    with pytest.raises(AssertionError, match=message) as info:
        checks.coin_a_theta(value)
    assert "0.8" not in str(info.value).replace(f"{value}", "")
