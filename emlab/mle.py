"""Maximum likelihood in closed form: the Gaussian and the Bernoulli (lesson 1).

Given data :math:`x_1, \\dots, x_n` assumed independent draws from
:math:`p(x \\mid \\theta)`, the likelihood is the product
:math:`L(\\theta) = \\prod_i p(x_i \\mid \\theta)` and the maximum likelihood
estimate is :math:`\\hat\\theta = \\arg\\max_\\theta L(\\theta)`. We always work with
the log-likelihood :math:`\\ell(\\theta) = \\sum_i \\log p(x_i \\mid \\theta)`: it has
the same maximizer, and a sum of logs does not underflow where the product does
(:func:`gaussian_likelihood` shows the product becoming exactly 0).

Every function checks its input and raises a :class:`ValueError` that names the
offending argument (see :mod:`emlab.validation`).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import optimize, special

from emlab.validation import check_counts, check_data, check_positive, check_probabilities

__all__ = [
    "bernoulli_log_likelihood",
    "bernoulli_map",
    "bernoulli_mle",
    "gaussian_likelihood",
    "gaussian_log_likelihood",
    "gaussian_mle",
    "gaussian_mle_numerical",
]

_LOG_2PI = np.log(2.0 * np.pi)


def _check_finite(value, *, name: str) -> np.ndarray:
    """``value`` as a finite float64 array of its own shape (scalars allowed)."""
    array = np.asarray(value, dtype=np.float64) if _is_numeric(value) else None
    if array is None:
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}.")
    if array.size == 0:
        raise ValueError(f"{name} is empty.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite (no NaN or infinity), got {value!r}.")
    return array


def _is_numeric(value) -> bool:
    try:
        np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _check_sigma(sigma) -> np.ndarray:
    sigma = _check_finite(sigma, name="sigma")
    return check_positive(sigma, name="sigma")


def _check_theta(theta) -> np.ndarray:
    theta = _check_finite(theta, name="theta")
    check_probabilities(theta.reshape(-1), name="theta", ndim=1)
    return theta


def _check_heads(heads, n_tosses) -> tuple[np.ndarray, np.ndarray]:
    heads = np.atleast_1d(_check_finite(heads, name="heads"))
    n_tosses = _check_finite(n_tosses, name="n_tosses")
    if n_tosses.ndim > 0 and n_tosses.shape != heads.shape:
        raise ValueError(
            f"n_tosses must be one number or one per trial ({heads.size}), "
            f"got shape {n_tosses.shape}."
        )
    heads, n_tosses = check_counts(heads, n_tosses, name="heads", tosses_name="n_tosses")
    return heads, np.broadcast_to(n_tosses, heads.shape)


# --------------------------------------------------------------------------- Gaussian


def gaussian_log_likelihood(x, mu, sigma) -> np.ndarray | float:
    """Log-likelihood of a Gaussian: the sum over the data of the log densities.

    .. math::

        \\ell(\\mu, \\sigma) = -\\frac{n}{2}\\log(2\\pi) - n \\log\\sigma
        - \\frac{1}{2\\sigma^2}\\sum_{i=1}^n (x_i - \\mu)^2,

    computed in log space. The sum of squares uses the decomposition
    :math:`\\sum_i (x_i - \\mu)^2 = \\sum_i (x_i - \\bar x)^2 + n(\\bar x - \\mu)^2`,
    so a whole grid of :math:`(\\mu, \\sigma)` costs no more than one point.

    Parameters
    ----------
    x : array-like of shape (n,)
        The data.
    mu : float or array-like
        The mean :math:`\\mu`.
    sigma : float or array-like
        The standard deviation :math:`\\sigma > 0`. ``mu`` and ``sigma`` broadcast
        against each other, e.g. ``mu[None, :]`` and ``sigma[:, None]`` for a grid.

    Returns
    -------
    float or ndarray
        A float for scalar ``mu`` and ``sigma``, otherwise an array of their
        broadcast shape, each entry the log-likelihood of all of ``x``.

    Examples
    --------
    >>> mus, sigmas = np.meshgrid(np.linspace(160, 180, 5), np.linspace(5, 15, 3))
    >>> gaussian_log_likelihood([170.0, 172.0], mus, sigmas).shape
    (3, 5)
    """
    x = check_data(x, name="x", ndim=1)
    mu = _check_finite(mu, name="mu")
    sigma = _check_sigma(sigma)
    n = x.size
    x_bar = x.mean()
    scatter = np.sum((x - x_bar) ** 2)
    sum_of_squares = scatter + n * (x_bar - mu) ** 2
    log_likelihood = -0.5 * n * _LOG_2PI - n * np.log(sigma) - sum_of_squares / (2.0 * sigma**2)
    return float(log_likelihood) if log_likelihood.ndim == 0 else log_likelihood


def gaussian_likelihood(x, mu, sigma) -> np.ndarray | float:
    """Likelihood as a *product* of Gaussian densities; underflows to 0 on purpose.

    .. math::

        L(\\mu, \\sigma) = \\prod_{i=1}^n \\frac{1}{\\sigma\\sqrt{2\\pi}}
        \\exp\\left(-\\frac{(x_i - \\mu)^2}{2\\sigma^2}\\right).

    **Written this way on purpose, to show why we never do it.** Each factor is a
    density well below 1 (at most :math:`1/(\\sigma\\sqrt{2\\pi}) \\approx 0.04` for
    :math:`\\sigma = 10` cm), so for 1000 heights the product is about
    :math:`10^{-1400}`, far below the smallest positive double
    (:math:`\\approx 5 \\times 10^{-324}`): it *underflows* to exactly ``0.0`` at every
    :math:`(\\mu, \\sigma)`, and no maximum can be found. Use
    :func:`gaussian_log_likelihood` instead, whose sum of logs stays finite.

    Parameters
    ----------
    x : array-like of shape (n,)
        The data.
    mu, sigma : float or array-like
        As in :func:`gaussian_log_likelihood` (broadcast against each other).

    Returns
    -------
    float or ndarray
        The product of the ``n`` densities, for each broadcast ``(mu, sigma)``.
    """
    x = check_data(x, name="x", ndim=1)
    mu = _check_finite(mu, name="mu")
    sigma = _check_sigma(sigma)
    shape = np.broadcast_shapes(mu.shape, sigma.shape)
    x_column = x.reshape((-1,) + (1,) * len(shape))
    with np.errstate(under="ignore"):  # the underflow is the point of this function
        densities = np.exp(-((x_column - mu) ** 2) / (2.0 * sigma**2)) / (
            sigma * np.sqrt(2.0 * np.pi)
        )
        likelihood = np.prod(densities, axis=0)
    return float(likelihood) if likelihood.ndim == 0 else likelihood


def gaussian_mle(x, ddof: int = 0) -> tuple[float, float]:
    """Closed-form maximum likelihood estimates of a Gaussian's mean and sd.

    Setting the derivatives of :func:`gaussian_log_likelihood` to zero gives

    .. math::

        \\hat\\mu = \\frac{1}{n}\\sum_{i=1}^n x_i, \\qquad
        \\hat\\sigma = \\sqrt{\\frac{1}{n - \\delta}\\sum_{i=1}^n (x_i - \\hat\\mu)^2},

    with :math:`\\delta = 0` for the maximum likelihood estimate (biased:
    :math:`E[\\hat\\sigma^2] = \\frac{n-1}{n}\\sigma^2`) and :math:`\\delta = 1` for the
    unbiased sample variance (not the maximizer of the likelihood). The deviations are divided
    by the largest of them, :math:`s`, before they are squared, and :math:`\\hat\\sigma` is
    :math:`s` times the root of their mean square: data of any finite scale gives a finite
    answer (the squares of deviations of 1e200 would overflow).

    Parameters
    ----------
    x : array-like of shape (n,)
        The data.
    ddof : {0, 1}, default=0
        :math:`\\delta`, "delta degrees of freedom" as in :func:`numpy.std`.

    Returns
    -------
    mu : float
    sigma : float
    """
    if isinstance(ddof, bool) or not isinstance(ddof, numbers.Integral) or ddof < 0:
        raise ValueError(f"ddof must be a non-negative whole number (0 or 1), got {ddof!r}.")
    x = check_data(x, name="x", ndim=1, min_samples=int(ddof) + 1)
    mu = float(x.mean())
    deviations = x - mu
    scale = float(np.max(np.abs(deviations))) or 1.0  # squared, 1e200 would overflow: scale first
    sigma = scale * float(np.sqrt(np.sum((deviations / scale) ** 2) / (x.size - ddof)))
    return mu, sigma


def gaussian_mle_numerical(x, mu0: float | None = None, sigma0: float | None = None):
    """Maximum likelihood by numerical optimization, to cross-check :func:`gaussian_mle`.

    Minimizes the average negative log-likelihood over :math:`(\\mu, s)` with
    :math:`s = \\log\\sigma` (unconstrained, so :math:`\\sigma > 0` automatically),

    .. math::

        f(\\mu, s) = -\\frac{1}{n}\\ell(\\mu, e^s), \\qquad
        \\frac{\\partial f}{\\partial \\mu} = -\\frac{\\bar x - \\mu}{\\sigma^2}, \\qquad
        \\frac{\\partial f}{\\partial s} = 1 - \\frac{1}{n\\sigma^2}\\sum_i (x_i - \\mu)^2,

    with :func:`scipy.optimize.minimize` (BFGS, analytic gradient).

    Parameters
    ----------
    x : array-like of shape (n,)
        The data (at least 2 distinct values, or :math:`\\hat\\sigma = 0`).
    mu0, sigma0 : float, optional
        Starting point; by default the median and the scaled interquartile
        range, deliberately not the answer.

    Returns
    -------
    mu : float
    sigma : float
    """
    x = check_data(x, name="x", ndim=1, min_samples=2)
    if np.ptp(x) == 0:
        raise ValueError("x has a single distinct value: the maximum likelihood sigma is 0.")
    if mu0 is None:
        mu0 = float(np.median(x))
    if sigma0 is None:
        q75, q25 = np.percentile(x, [75, 25])
        sigma0 = float((q75 - q25) / 1.349) or float(np.std(x)) or 1.0
    mu0 = float(_check_finite(mu0, name="mu0"))
    sigma0 = float(check_positive(sigma0, name="sigma0"))

    # Work on standardized data for a well-conditioned problem, then map back. Standardize
    # with the start, not with the sample mean and sd: those are the closed-form answer, and
    # the check would then be built in (the optimum at exactly (0, 0)).
    center, scale = mu0, sigma0
    z = (x - center) / scale
    z_bar, z_sq = z.mean(), np.mean(z**2)

    def objective(params):
        mu, log_sigma = params
        mean_sq = z_sq - 2.0 * mu * z_bar + mu**2  # (1/n) sum (z_i - mu)^2
        inv_var = np.exp(-2.0 * log_sigma)
        value = 0.5 * _LOG_2PI + log_sigma + 0.5 * mean_sq * inv_var
        gradient = np.array([-(z_bar - mu) * inv_var, 1.0 - mean_sq * inv_var])
        return value, gradient

    start = np.zeros(2)  # (mu0 - center) / scale and log(sigma0 / scale)
    result = optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-12})
    mu_z, log_sigma_z = result.x
    return float(center + scale * mu_z), float(scale * np.exp(log_sigma_z))


# --------------------------------------------------------------------------- Bernoulli


def bernoulli_log_likelihood(heads, n_tosses, theta) -> np.ndarray | float:
    """Log-likelihood of coin tosses, :math:`\\ell(\\theta) = H\\log\\theta + T\\log(1-\\theta)`.

    Trial :math:`i` has :math:`h_i` heads in :math:`m_i` tosses, each toss
    :math:`\\mathrm{Bernoulli}(\\theta)`; over all trials, with
    :math:`H = \\sum_i h_i` heads and :math:`T = \\sum_i (m_i - h_i)` tails,

    .. math::

        \\ell(\\theta) = \\sum_i \\left[h_i \\log\\theta + (m_i - h_i)\\log(1 - \\theta)\\right]
                     = H \\log\\theta + T \\log(1 - \\theta).

    This is the log-probability of the observed *sequences*; the binomial
    coefficients :math:`\\binom{m_i}{h_i}` of the counts are left out, since they
    do not depend on :math:`\\theta`. :math:`0 \\log 0` is taken as 0, so
    :math:`\\theta = 0` or 1 is allowed (giving :math:`-\\infty` if impossible).

    Parameters
    ----------
    heads : int or array-like of shape (n_trials,)
        :math:`h_i`, heads per trial.
    n_tosses : int or array-like of shape (n_trials,)
        :math:`m_i`, tosses per trial.
    theta : float or array-like
        :math:`\\theta \\in [0, 1]`, the probability of heads; an array gives the
        log-likelihood at each value (e.g. a grid for a plot).

    Returns
    -------
    float or ndarray of theta's shape
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    theta = _check_theta(theta)
    total_heads = heads.sum()
    total_tails = (n_tosses - heads).sum()
    log_likelihood = special.xlogy(total_heads, theta) + special.xlogy(total_tails, 1.0 - theta)
    return float(log_likelihood) if log_likelihood.ndim == 0 else log_likelihood


def bernoulli_mle(heads, n_tosses) -> float:
    """Maximum likelihood estimate of a coin's probability of heads, :math:`H / (H + T)`.

    Setting :math:`\\ell'(\\theta) = H/\\theta - T/(1-\\theta) = 0` gives the fraction
    of heads over all trials,

    .. math:: \\hat\\theta_{\\text{MLE}} = \\frac{\\sum_i h_i}{\\sum_i m_i}.

    Parameters
    ----------
    heads : int or array-like of shape (n_trials,)
        Heads per trial.
    n_tosses : int or array-like of shape (n_trials,)
        Tosses per trial.

    Returns
    -------
    float
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    return float(heads.sum() / n_tosses.sum())


def bernoulli_map(heads, n_tosses, a: float = 2.0, b: float = 2.0) -> float:
    """Maximum a posteriori estimate of a coin's bias under a :math:`\\mathrm{Beta}(a, b)` prior.

    With prior :math:`p(\\theta) \\propto \\theta^{a-1}(1-\\theta)^{b-1}`, the posterior
    after :math:`H` heads and :math:`T` tails is
    :math:`\\mathrm{Beta}(H + a, T + b)`, whose mode is

    .. math:: \\hat\\theta_{\\text{MAP}} = \\frac{H + a - 1}{H + T + a + b - 2}

    when both posterior parameters exceed 1. The prior acts like :math:`a - 1`
    extra heads and :math:`b - 1` extra tails; :math:`a = b = 1` (uniform prior)
    gives back the MLE. If one posterior parameter is at most 1 (a prior with
    :math:`a \\le 1` or :math:`b \\le 1` and no heads, or no tails), the posterior
    density is largest at the boundary, and 0 or 1 is returned. Both cannot be at
    most 1, since there is at least one toss.

    Parameters
    ----------
    heads : int or array-like of shape (n_trials,)
        Heads per trial.
    n_tosses : int or array-like of shape (n_trials,)
        Tosses per trial.
    a, b : float, default=2.0
        Prior parameters, both positive (``a = b = 2`` gently pulls towards 1/2).

    Returns
    -------
    float
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    a = float(check_positive(_check_finite(a, name="a"), name="a"))
    b = float(check_positive(_check_finite(b, name="b"), name="b"))
    alpha = heads.sum() + a
    beta = (n_tosses - heads).sum() + b
    if alpha > 1 and beta > 1:
        return float((alpha - 1.0) / (alpha + beta - 2.0))
    # At least one toss: heads >= 1 gives alpha > 1, tails >= 1 gives beta > 1.
    return 0.0 if alpha <= 1 else 1.0  # decreasing or increasing density
