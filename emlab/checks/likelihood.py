"""Checks for the exercises on maximum likelihood.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _one_number(value, *, name: str) -> float:
    """``value`` as one float, or an AssertionError that says why it is not one."""
    if not_answered(value):
        raise AssertionError(f"{name} is not answered yet: replace the ... with your code.")
    if isinstance(value, (str, bytes)):
        raise AssertionError(f"{name} should be a number, got the text {value!r}.")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a number, got {type(value).__name__}.") from None
    if array.size != 1:
        raise AssertionError(f"{name} should be one number, but it has shape {array.shape}.")
    return float(array.reshape(()))


def _same_number(a: float, b: float, rtol: float = 1e-9) -> bool:
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-9))


def _diagnose_log_likelihood(got, x, mu: float, sigma: float, *, name: str, reveal: bool) -> None:
    """Name the usual slips in a Gaussian log-likelihood ``got`` of ``x`` at ``(mu, sigma)``."""
    from emlab.mle import gaussian_log_likelihood, gaussian_mle

    n = len(x)
    expected = gaussian_log_likelihood(x, mu, sigma)
    if not not_answered(got) and np.ndim(got) == 1 and np.size(got) == n > 1:
        raise AssertionError(
            f"{name} has one value per data point (shape ({n},)): those are the log densities "
            f"log p(x_i | mu, sigma). The log-likelihood is their sum, one number."
        )
    value = _one_number(got, name=name)
    if np.isnan(value):
        raise AssertionError(f"{name} is NaN: check for log of a negative number or 0 * inf.")
    if value == 0.0 or value == -np.inf:
        raise AssertionError(
            f"{name} is {value}: the product of the {n} densities underflowed to 0 (it is far "
            f"below the smallest float, about 1e-324). Never multiply the densities: add their "
            f"logs, sum_i log p(x_i | mu, sigma)."
        )
    if value == np.inf:
        raise AssertionError(
            f"{name} is inf: a product of densities overflowed. Add the log densities instead."
        )
    if _same_number(value, expected):
        return
    if value > 0.0 and _same_number(float(np.log(value)), expected):
        raise AssertionError(
            f"{name} is the likelihood itself, the product of the densities: return its log, "
            f"computed as a sum of log densities (the product underflows for large n)."
        )
    constant = 0.5 * n * np.log(2.0 * np.pi)
    sum_of_squares = float(np.sum((np.asarray(x) - mu) ** 2))
    slips = [
        (
            expected / np.log(10.0),
            "it is the log-likelihood in base 10. Use the natural logarithm, np.log, "
            "not np.log10: the formulas of this course (and the constant) assume it.",
        ),
        (
            expected + constant,
            "it is missing the constant -n/2 log(2 pi). The constant does not move the "
            "maximum, but the log-likelihood includes it (and comparing models needs it).",
        ),
        (
            expected + n * np.log(sigma),
            "it is missing the term -n log(sigma), from the 1/sigma in front of each density.",
        ),
        (
            -constant - 0.5 * n * np.log(sigma) - sum_of_squares / (2.0 * sigma),
            "it treats sigma as the variance: the density has sigma**2 in the exponent "
            "and 1/sigma in front.",
        ),
        (-expected, "it has the wrong sign: that is the negative log-likelihood."),
        (expected / n, "it is the mean of the log densities: the log-likelihood is their sum."),
    ]
    if n > 1 and np.ptp(x) > 0:
        slips.append(
            (
                gaussian_log_likelihood(x, *gaussian_mle(x)),
                "it is the log-likelihood at the maximum likelihood estimate of x, not at the "
                "mu and sigma given: use the arguments mu and sigma.",
            )
        )
    for wrong, diagnosis in slips:
        if _same_number(value, wrong):
            raise AssertionError(f"{name} is not right: {diagnosis}")
    compare(value, expected, name=name, n=n, reveal=reveal, rtol=1e-9)


def gaussian_log_likelihood(function: Callable) -> None:
    """Check ``function(x, mu, sigma) -> float``, the Gaussian log-likelihood, on fresh data.

    The reference is :func:`emlab.mle.gaussian_log_likelihood`,
    :math:`\\ell(\\mu, \\sigma) = -\\frac{n}{2}\\log(2\\pi) - n\\log\\sigma
    - \\frac{1}{2\\sigma^2}\\sum_i (x_i - \\mu)^2`. A small sample comes first, then a
    large one whose product of densities underflows to 0.
    """
    from emlab import mle

    rng = _fresh_rng()
    for n, sd_range in ((int(rng.integers(20, 60)), (0.5, 5.0)), (5000, (2.0, 20.0))):
        true_mu, true_sd = rng.uniform(-50.0, 200.0), rng.uniform(*sd_range)
        x = rng.normal(true_mu, true_sd, size=n)
        mu = float(true_mu + true_sd * rng.normal())
        sigma = float(true_sd * rng.uniform(0.7, 1.5))
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                x.copy(),
                mu,
                sigma,
                answers=(mle.gaussian_log_likelihood, mle.gaussian_likelihood),
            )
        _diagnose_log_likelihood(
            got, x, mu, sigma, name=f"log_likelihood(x, mu, sigma) with n = {n}", reveal=True
        )


def heights_log_likelihood_at_mle(value) -> None:
    """Check a numeric answer: the log-likelihood of ``datasets.heights()`` at its MLE."""
    from emlab import datasets
    from emlab.mle import gaussian_log_likelihood, gaussian_mle

    x = datasets.heights()
    mu_hat, sigma_hat = gaussian_mle(x)
    name = "ell_hat"
    got = _one_number(value, name=name)
    expected = gaussian_log_likelihood(x, mu_hat, sigma_hat)
    if _same_number(got, expected):
        return
    if _same_number(got, gaussian_log_likelihood(x, mu_hat, float(np.std(x, ddof=1)))):
        raise AssertionError(
            f"{name} is the log-likelihood at sigma computed with n - 1. The maximum is at the "
            f"MLE, which divides by n (np.std(x), ddof=0)."
        )
    if _same_number(got, gaussian_log_likelihood(x, 170.0, 10.0)):
        raise AssertionError(
            f"{name} is the log-likelihood at the true (170, 10), not at the estimates "
            f"(mu_hat, sigma_hat) from the data."
        )
    if _same_number(got, expected, rtol=1e-6):
        raise AssertionError(
            f"{name} is close but not exact: compute it in code rather than typing a rounded "
            f"number."
        )
    _diagnose_log_likelihood(got, x, mu_hat, sigma_hat, name=name, reveal=False)


def coin_a_theta(theta_hat) -> None:
    """Check a numeric answer: the MLE of coin A's heads probability in Do & Batzoglou's trials."""
    from emlab import datasets
    from emlab.mle import bernoulli_mle

    data = datasets.do_batzoglou()
    is_a = data.coins == "A"
    name = "theta_A_hat"
    got = _one_number(theta_hat, name=name)
    expected = bernoulli_mle(data.heads[is_a], data.n_tosses)
    if _same_number(got, expected):
        return
    if not 0.0 <= got <= 1.0:
        raise AssertionError(
            f"{name} = {got:.4g} is not a probability (between 0 and 1). Pool coin A's trials: "
            f"divide its total number of heads by its total number of tosses (n_tosses per "
            f"trial, times its number of trials), not by the number of trials or by n_tosses."
        )
    slips = [
        (1.0 - expected, "it is the fraction of tails, not of heads."),
        (
            bernoulli_mle(data.heads, data.n_tosses),
            "it uses all five trials; use only the trials in which coin A was tossed.",
        ),
        (bernoulli_mle(data.heads[~is_a], data.n_tosses), "it is coin B's estimate, not coin A's."),
    ]
    for wrong, diagnosis in slips:
        if _same_number(got, wrong):
            raise AssertionError(f"{name} is not right: {diagnosis}")
    compare(got, expected, name=name, reveal=False)
