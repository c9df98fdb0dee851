"""Tests of emlab.mle against scipy and the closed forms."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from emlab import mle
from emlab.datasets import do_batzoglou, heights


@pytest.fixture
def x():
    return heights(n=1000, random_state=0)


# --------------------------------------------------------------------------- Gaussian


def test_log_likelihood_equals_scipy(x):
    for mu, sigma in [(170.0, 10.0), (150.0, 3.0), (200.0, 40.0)]:
        expected = stats.norm.logpdf(x, loc=mu, scale=sigma).sum()
        value = mle.gaussian_log_likelihood(x, mu, sigma)
        assert isinstance(value, float)
        assert value == pytest.approx(expected, rel=1e-12)


def test_log_likelihood_broadcasts_over_a_grid(x):
    mus = np.linspace(160, 180, 7)
    sigmas = np.linspace(5, 15, 4)
    grid = mle.gaussian_log_likelihood(x, mus[None, :], sigmas[:, None])
    assert grid.shape == (4, 7)
    expected = stats.norm.logpdf(x[:, None, None], mus[None, None, :], sigmas[None, :, None])
    np.testing.assert_allclose(grid, expected.sum(axis=0), rtol=1e-12)
    mu_grid, sigma_grid = np.meshgrid(mus, sigmas)
    np.testing.assert_array_equal(mle.gaussian_log_likelihood(x, mu_grid, sigma_grid), grid)


def test_likelihood_underflows_but_log_likelihood_does_not(x):
    product = mle.gaussian_likelihood(x, 170.0, 10.0)
    assert product == 0.0  # 1000 densities of about 0.03: ~1e-1500, below the smallest double
    log_sum = mle.gaussian_log_likelihood(x, 170.0, 10.0)
    assert np.isfinite(log_sum) and log_sum < np.log(np.finfo(float).tiny)
    grid = mle.gaussian_likelihood(x, np.array([165.0, 170.0]), np.array([[8.0], [10.0]]))
    assert grid.shape == (2, 2) and np.all(grid == 0.0)


def test_likelihood_is_the_product_for_few_points():
    few = np.array([1.0, 2.5, -0.3])
    expected = np.prod(stats.norm.pdf(few, loc=0.5, scale=1.2))
    assert mle.gaussian_likelihood(few, 0.5, 1.2) == pytest.approx(expected, rel=1e-12)
    assert np.log(mle.gaussian_likelihood(few, 0.5, 1.2)) == pytest.approx(
        mle.gaussian_log_likelihood(few, 0.5, 1.2), rel=1e-12
    )


def test_gaussian_mle_equals_scipy_fit_and_numpy(x):
    mu, sigma = mle.gaussian_mle(x)
    mu_fit, sigma_fit = stats.norm.fit(x)
    assert mu == pytest.approx(mu_fit, rel=1e-12)
    assert sigma == pytest.approx(sigma_fit, rel=1e-12)
    assert sigma == pytest.approx(np.std(x), rel=1e-12)
    _, sigma_unbiased = mle.gaussian_mle(x, ddof=1)
    assert sigma_unbiased == pytest.approx(np.std(x, ddof=1), rel=1e-12)
    assert sigma_unbiased > sigma


def test_gaussian_mle_equals_numerical_optimum(x):
    mu, sigma = mle.gaussian_mle(x)
    mu_num, sigma_num = mle.gaussian_mle_numerical(x)
    assert mu_num == pytest.approx(mu, rel=1e-8)
    assert sigma_num == pytest.approx(sigma, rel=1e-8)
    far = mle.gaussian_mle_numerical(x, mu0=0.0, sigma0=1000.0)
    np.testing.assert_allclose(far, (mu, sigma), rtol=1e-6)


@given(
    arrays(
        np.float64,
        st.integers(2, 60),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False),
    ),
    st.floats(-1.0, 1.0),
    st.floats(-1.0, 1.0),
)
def test_closed_form_is_the_maximum(data, mu_step, log_sigma_step):
    if np.ptp(data) < 1e-6:
        return
    mu, sigma = mle.gaussian_mle(data)
    best = mle.gaussian_log_likelihood(data, mu, sigma)
    other = mle.gaussian_log_likelihood(data, mu + mu_step * sigma, sigma * np.exp(log_sigma_step))
    assert other <= best + 1e-9 * abs(best)


@pytest.mark.parametrize("scale", [1e-200, 1e-5, 1.0, 1e150, 1e200, 1e300])
def test_gaussian_mle_is_finite_and_scales_with_the_data(scale):
    """Scaling the data scales the estimates: no overflow of the squares, no underflow."""
    x = heights(200, random_state=3) - 170.0
    mu, sigma = mle.gaussian_mle(x)
    mu_scaled, sigma_scaled = mle.gaussian_mle(x * scale)
    assert np.isfinite(mu_scaled) and np.isfinite(sigma_scaled) and sigma_scaled > 0
    assert mu_scaled == pytest.approx(mu * scale, rel=1e-12, abs=1e-12 * sigma * scale)
    assert sigma_scaled == pytest.approx(sigma * scale, rel=1e-12)
    mu_flat, sigma_flat = mle.gaussian_mle(
        np.full(5, 3.0 * scale)
    )  # zero up to the mean's rounding
    assert mu_flat == pytest.approx(3.0 * scale, rel=1e-15) and 0 <= sigma_flat <= 1e-15 * scale


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: mle.gaussian_log_likelihood([1.0, 2.0], 0.0, 0.0), "sigma"),
        (lambda: mle.gaussian_log_likelihood([1.0, 2.0], 0.0, -1.0), "sigma"),
        (lambda: mle.gaussian_log_likelihood([1.0, 2.0], 0.0, [1.0, 0.0]), "sigma"),
        (lambda: mle.gaussian_log_likelihood([1.0, 2.0], np.nan, 1.0), "mu"),
        (lambda: mle.gaussian_log_likelihood([1.0, np.nan], 0.0, 1.0), "x"),
        (lambda: mle.gaussian_log_likelihood([[1.0, 2.0]], 0.0, 1.0), "x"),
        (lambda: mle.gaussian_log_likelihood([], 0.0, 1.0), "x"),
        (lambda: mle.gaussian_likelihood([1.0], 0.0, np.nan), "sigma"),
        (lambda: mle.gaussian_mle([1.0, np.inf]), "x"),
        (lambda: mle.gaussian_mle([1.0], ddof=1), "x"),
        (lambda: mle.gaussian_mle([1.0, 2.0], ddof=-1), "ddof"),
        (lambda: mle.gaussian_mle_numerical([3.0, 3.0, 3.0]), "x"),
    ],
)
def test_gaussian_bad_input(call, word):
    with pytest.raises(ValueError, match=word):
        call()


# --------------------------------------------------------------------------- Bernoulli


def test_bernoulli_log_likelihood_closed_form():
    data = do_batzoglou()
    value = mle.bernoulli_log_likelihood(data.heads, data.n_tosses, 0.6)
    assert isinstance(value, float)
    assert value == pytest.approx(33 * np.log(0.6) + 17 * np.log(0.4), rel=1e-12)
    # equals the sum of Bernoulli log-pmfs of every toss
    assert value == pytest.approx(stats.bernoulli.logpmf(data.tosses, 0.6).sum(), rel=1e-12)
    # and the binomial log-pmf minus the theta-free log binomial coefficients
    binomial = stats.binom.logpmf(data.heads, 10, 0.6).sum()
    log_coefficients = np.log([float(stats.binom.pmf(h, 10, 0.5) * 2**10) for h in data.heads])
    assert value == pytest.approx(binomial - log_coefficients.sum(), rel=1e-10)


def test_bernoulli_log_likelihood_grid_and_edges():
    thetas = np.linspace(0.0, 1.0, 101)
    grid = mle.bernoulli_log_likelihood([3, 4], 10, thetas)
    assert grid.shape == (101,)
    assert grid[0] == -np.inf and grid[-1] == -np.inf  # heads and tails were both seen
    assert thetas[np.argmax(grid)] == pytest.approx(7 / 20)
    square = mle.bernoulli_log_likelihood(7, 20, thetas.reshape(-1, 1) * np.ones((1, 3)))
    assert square.shape == (101, 3)
    assert mle.bernoulli_log_likelihood(0, 10, 0.0) == 0.0  # 0 log 0 = 0
    assert mle.bernoulli_log_likelihood(10, 10, 1.0) == 0.0
    per_trial = mle.bernoulli_log_likelihood([2, 5], [4, 6], 0.5)
    assert per_trial == pytest.approx(10 * np.log(0.5))


def test_bernoulli_mle_and_map():
    data = do_batzoglou()
    assert mle.bernoulli_mle(data.heads, 10) == pytest.approx(33 / 50)
    is_a = data.coins == "A"
    assert mle.bernoulli_mle(data.heads[is_a], 10) == pytest.approx(0.80)
    assert mle.bernoulli_mle(data.heads[~is_a], 10) == pytest.approx(0.45)
    assert mle.bernoulli_mle([1, 2], [3, 5]) == pytest.approx(3 / 8)
    # MAP = (H + a - 1) / (N + a + b - 2)
    assert mle.bernoulli_map(data.heads, 10, 2, 2) == pytest.approx(34 / 52)
    assert mle.bernoulli_map(data.heads, 10, 5, 1) == pytest.approx(37 / 54)
    assert mle.bernoulli_map(data.heads, 10, 1, 1) == pytest.approx(33 / 50)  # uniform prior
    # the MAP is the mode of the Beta posterior
    grid = np.linspace(0, 1, 100001)
    mode = grid[np.argmax(stats.beta.pdf(grid, 33 + 3, 17 + 2))]
    assert mle.bernoulli_map(data.heads, 10, 3, 2) == pytest.approx(mode, abs=1e-5)


def test_bernoulli_map_boundaries():
    assert mle.bernoulli_map(0, 5, a=1, b=1) == 0.0  # Beta(1, 6): decreasing
    assert mle.bernoulli_map(5, 5, a=1, b=1) == 1.0  # Beta(6, 1): increasing
    assert mle.bernoulli_map(0, 5, a=0.5, b=2) == 0.0
    assert mle.bernoulli_map(0, 1, a=0.5, b=0.2) == 0.0  # Beta(0.5, 1.2)
    assert mle.bernoulli_map(1, 1, a=0.2, b=0.5) == 1.0  # Beta(1.2, 0.5)


@given(st.integers(0, 50), st.integers(0, 50))
def test_mle_maximizes_log_likelihood(heads, tails):
    n_tosses = max(heads + tails, 1)
    theta_hat = mle.bernoulli_mle(heads, n_tosses)
    best = mle.bernoulli_log_likelihood(heads, n_tosses, theta_hat)
    grid = mle.bernoulli_log_likelihood(heads, n_tosses, np.linspace(0, 1, 201))
    assert np.all(grid <= best + 1e-9)


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: mle.bernoulli_log_likelihood(5, 10, 1.5), "theta"),
        (lambda: mle.bernoulli_log_likelihood(5, 10, -0.1), "theta"),
        (lambda: mle.bernoulli_log_likelihood(5, 10, np.nan), "theta"),
        (lambda: mle.bernoulli_log_likelihood(11, 10, 0.5), "heads"),
        (lambda: mle.bernoulli_log_likelihood(-1, 10, 0.5), "heads"),
        (lambda: mle.bernoulli_log_likelihood(2.5, 10, 0.5), "heads"),
        (lambda: mle.bernoulli_log_likelihood([1, np.nan], 10, 0.5), "heads"),
        (lambda: mle.bernoulli_mle(3, 0), "n_tosses"),
        (lambda: mle.bernoulli_mle(3, np.nan), "n_tosses"),
        (lambda: mle.bernoulli_mle([3, 12], 10), "heads"),
        (lambda: mle.bernoulli_mle([3, 4], [10, 10, 10]), "n_tosses"),
        (lambda: mle.bernoulli_map(3, 10, a=0), "a"),
        (lambda: mle.bernoulli_map(3, 10, b=-1), "b"),
        (lambda: mle.bernoulli_map(3, 10, a=np.nan), "a"),
    ],
)
def test_bernoulli_bad_input(call, word):
    with pytest.raises(ValueError, match=word):
        call()
