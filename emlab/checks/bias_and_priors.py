"""Checks for the exercises on bias and priors: n or n - 1, and the MAP estimate of a coin.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import gammaln

from emlab.checks._core import _call, _fresh_rng, compare
from emlab.checks.likelihood import _one_number, _same_number

# A simulated average of sigma_hat^2 / sigma^2 over 100 000 samples of n >= 2 points has a
# standard error of sqrt(2 (n - 1)) / n / sqrt(100 000) <= 0.0023: accept 0.015 (6.6 of them).
_SIMULATION_TOLERANCE = 0.015


def _mean_sd_ratio(n: int) -> float:
    """:math:`E[\\hat\\sigma] / \\sigma` for ``n`` Gaussian points (``sigma_hat`` divides by n)."""
    c4 = np.sqrt(2.0 / (n - 1)) * np.exp(gammaln(n / 2) - gammaln((n - 1) / 2))
    return float(c4 * np.sqrt((n - 1) / n))


def simulated_variance_ratio(simulated_ratio, n: int = 2) -> None:
    """Check a simulated average of :math:`\\hat\\sigma^2 / \\sigma^2` for samples of ``n`` points.

    With :math:`\\hat\\sigma^2 = \\frac1n\\sum_i (x_i - \\bar x)^2`, theory says
    :math:`E[\\hat\\sigma^2] = \\frac{n-1}{n}\\sigma^2`; a simulation over 100 000 samples lands
    within 0.015 of :math:`(n - 1)/n`. The usual slips are named: dividing by :math:`n - 1`,
    averaging :math:`\\hat\\sigma` instead of :math:`\\hat\\sigma^2`, not dividing by the true
    variance, and one value per sample (or per position) instead of their average.
    """
    name = "simulated_ratio"
    if np.ndim(simulated_ratio) == 1 and np.size(simulated_ratio) > 1:
        raise AssertionError(
            f"{name} has {np.size(simulated_ratio)} values: average sigma_hat**2 over all the "
            f"samples (one variance per row, then their mean) and divide by the true variance, "
            f"to get one number."
        )
    got = _one_number(simulated_ratio, name=name)
    if np.isnan(got):
        raise AssertionError(f"{name} is NaN: check the simulation for an empty or invalid sample.")
    expected = (n - 1) / n

    def near(value: float) -> bool:
        return abs(got - value) <= _SIMULATION_TOLERANCE

    if near(expected):
        return
    if near(1.0):
        raise AssertionError(
            f"{name} is close to 1: that is what dividing by n - 1 gives (ddof=1), which is "
            f"unbiased, or the variance of all the heights pooled together. Take the variance "
            f"of each row (one sample), dividing by n (axis=1, ddof=0), then average them."
        )
    if near(_mean_sd_ratio(n)):
        raise AssertionError(
            f"{name} looks like the average of sigma_hat / sigma: average the variances "
            f"sigma_hat**2 and divide by the true variance sigma**2, not by sigma."
        )
    if got > 2.0:
        raise AssertionError(
            f"{name} = {got:.4g} is far above 1: it should be a ratio, the average of "
            f"sigma_hat**2 divided by the true variance sigma**2 (for heights with sigma = 10, "
            f"divide by 100)."
        )
    raise AssertionError(
        f"{name} = {got:.4g} is not what a simulation of samples of n = {n} points gives. Check "
        f"that each row is one sample of {n} points, that you take each row's variance dividing "
        f"by n (axis=1), average them over at least 100 000 rows and divide by the true variance."
    )


def beta_bernoulli_map(function: Callable) -> None:
    """Check ``function(heads, n_tosses, a, b) -> float``, the MAP estimate of a coin, on fresh data.

    After :math:`H` heads in :math:`m` tosses with a :math:`\\mathrm{Beta}(a, b)` prior, the
    posterior is :math:`\\mathrm{Beta}(H + a, m - H + b)`, whose mode is

    .. math:: \\hat\\theta_{\\text{MAP}} = \\frac{H + a - 1}{m + a + b - 2}

    for :math:`a, b > 1`. The reference is :func:`emlab.mle.bernoulli_map`; the checks run on
    random counts and priors with :math:`a, b > 1`, and on the uniform prior :math:`a = b = 1`,
    which must give back the MLE :math:`H / m`.
    """
    from emlab.mle import bernoulli_map

    rng = _fresh_rng()
    cases = []
    for _ in range(6):
        m = int(rng.integers(1, 60))
        cases.append(
            (
                int(rng.integers(0, m + 1)),
                m,
                float(rng.uniform(1.2, 20)),
                float(rng.uniform(1.2, 20)),
            )
        )
    m = int(rng.integers(2, 60))
    cases.append((int(rng.integers(1, m)), m, 1.0, 1.0))  # uniform prior: the MLE
    for heads, m, a, b in cases:
        where = f"theta_map({heads}, {m}, {a:.4g}, {b:.4g})"
        got = _one_number(
            _call(function, "your function", heads, m, a, b, answers=(bernoulli_map,)),
            name=where,
        )
        expected = bernoulli_map(heads, m, a, b)
        if _same_number(got, expected):
            continue
        slips = [
            (
                heads / m,
                "that is the MLE H / m: the prior is missing. It adds a - 1 heads and b - 1 tails.",
            ),
            (
                (heads + a) / (m + a + b),
                "that is the posterior mean (H + a) / (m + a + b). The MAP "
                "estimate is the posterior's mode, where the derivative of the log-posterior is 0.",
            ),
            (
                (heads + b - 1) / (m + a + b - 2),
                "a and b are swapped: a - 1 counts as heads, b - 1 as tails.",
            ),
            (1 - expected, "that is the estimate of the probability of tails, not of heads."),
            (
                (heads + a - 1) / (m + a + b),
                "the denominator should be m + a + b - 2: the "
                "pseudo-counts a - 1 and b - 1 add to the tosses.",
            ),
        ]
        for wrong, diagnosis in slips:
            if _same_number(got, wrong):
                raise AssertionError(f"{where} is not right: {diagnosis}")
        compare(got, expected, name=where, reveal=True, rtol=1e-9)
