"""Checks for the exercises of lesson 10, the lower bound.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _mixture_and_q(rng: np.random.Generator):
    """Fresh 1-D data, a mixture with unequal parts, and a q that is NOT the posterior."""
    n, n_components = int(rng.integers(20, 60)), int(rng.integers(2, 4))
    weights = rng.dirichlet(np.full(n_components, 3.0))
    means = np.sort(rng.uniform(150.0, 190.0, n_components))
    sds = rng.permutation(np.geomspace(4.0, 11.0, n_components))
    x = rng.normal(170.0, 12.0, size=n)
    q = rng.dirichlet(np.ones(n_components), size=n)
    return x, q, weights, means, sds


def _as_number(got):
    """``got`` as a float array, or ``None`` if it is not numbers."""
    if not_answered(got):
        return None
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def _diagnose(value: float, x, q, weights, means, sds) -> str | None:
    """The message for a typical wrong ELBO that equals ``value``, if any."""
    from scipy.special import logsumexp, xlogy
    from scipy.stats import norm

    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    expected_log_joint = float(np.sum(q * log_joint))
    neg_entropy = float(np.sum(xlogy(q, q)))  # sum q log q = -H(q) <= 0
    density = norm.pdf(x[:, None], means, sds)
    candidates = [
        (
            expected_log_joint,
            "L leaves out the entropy term: L = sum_ik q_ik log p(x_i, z_i = k) "
            "- sum_ik q_ik log q_ik (the 'divided by q_ik' inside the log).",
        ),
        (
            expected_log_joint + neg_entropy,
            "the entropy term has the wrong sign: L = sum_ik q_ik log(p(x_i, z_i = k) / q_ik) "
            "SUBTRACTS sum_ik q_ik log q_ik (a negative number, so L goes up).",
        ),
        (
            float(logsumexp(log_joint, axis=1).sum()),
            "L equals the log-likelihood l: your function ignores q (or uses the posterior in "
            "its place). The bound must be computed for the q it is given.",
        ),
        (
            float(np.sum(q * weights * density)) - neg_entropy,
            "L uses the densities pi_k N(x_i | mu_k, sigma_k^2) where their logarithms belong: "
            "use np.log(weights) + norm.logpdf(...).",
        ),
        (
            float(np.sum(q * (np.log(weights) + density))) - neg_entropy,
            "L uses the density N(x_i | mu_k, sigma_k^2) where its logarithm belongs: "
            "use norm.logpdf, not norm.pdf.",
        ),
        (
            float(np.sum(q * norm.logpdf(x[:, None], means, sds))) - neg_entropy,
            "L leaves out the mixing weights: log p(x_i, z_i = k) = log pi_k + log N(x_i | ...).",
        ),
        (
            float(np.sum(q * (np.log(weights) + norm.logpdf(x[:, None], means, sds**2))))
            - neg_entropy,
            "L uses the variance sigma_k^2 where the standard deviation sigma_k belongs "
            "(scipy.stats.norm's scale is the standard deviation).",
        ),
    ]
    for candidate, message in candidates:
        if np.isclose(value, candidate, rtol=1e-7, atol=1e-9):
            return message
    return None


def _elbo_reference(x, q, weights, means, sds) -> float:
    from emlab.bound import elbo

    return elbo(x, q, weights, means, sds)


def _call_elbo(function, x, q, weights, means, sds):
    from emlab.bound import elbo

    with np.errstate(all="ignore"):
        got = _call(
            function,
            "your function",
            x.copy(),
            q.copy(),
            weights.copy(),
            means.copy(),
            sds.copy(),
            answers=(elbo,),
        )
    values = _as_number(got)
    if values is not None and values.size > 1:
        raise AssertionError(
            f"your function returned {values.size} numbers (shape {values.shape}): return one "
            f"number, the sum over every point i and component k."
        )
    return got, values


def elbo_1d(function: Callable) -> None:
    """Check ``function(x, q, weights, means, sds) -> L``, the ELBO of a 1-D Gaussian mixture.

    :math:`\\mathcal{L}(q, \\theta) = \\sum_{i,k} q_{ik} \\log\\big(\\pi_k \\mathcal{N}(x_i \\mid
    \\mu_k, \\sigma_k^2) / q_{ik}\\big)`, compared with :func:`emlab.bound.elbo` three times
    on fresh data: with a :math:`q` that is not the posterior (where the usual slips are
    named: the entropy term left out or with its sign flipped, densities for log densities,
    the weights left out, :math:`q` ignored), with a :math:`q` that has zeros (:math:`0 \\log 0
    = 0`), and with heights typed in millimetres, whose densities underflow to 0 (log space).
    """
    rng = _fresh_rng()
    x, q, weights, means, sds = _mixture_and_q(rng)
    got, values = _call_elbo(function, x, q, weights, means, sds)
    expected = _elbo_reference(x, q, weights, means, sds)
    if values is not None and values.size == 1 and np.isfinite(values).all():
        if not np.isclose(float(values.ravel()[0]), expected, rtol=1e-7, atol=1e-9):
            message = _diagnose(float(values.ravel()[0]), x, q, weights, means, sds)
            if message is not None:
                raise AssertionError(message)
    compare(got, expected, name="L")

    # q with exact zeros: a point mass for some points, one label ruled out for others
    zeros = q.copy()
    some = rng.choice(x.size, size=max(2, x.size // 4), replace=False)
    zeros[some] = np.eye(q.shape[1])[rng.integers(0, q.shape[1], some.size)]
    got, values = _call_elbo(function, x, zeros, weights, means, sds)
    if values is not None and values.size == 1 and np.isnan(values).any():
        raise AssertionError(
            "L is NaN when some q_ik are 0: 0 * log(0) is 0 * (-inf) = NaN in numpy, but the "
            "term q_ik log q_ik is 0 when q_ik = 0 (its limit). Use scipy.special.xlogy(q, q), "
            "or np.where(q > 0, ..., 0.0)."
        )
    compare(got, _elbo_reference(x, zeros, weights, means, sds), name="L for a q with zeros")

    # heights typed in millimetres: their densities underflow to 0.0 in every component
    far = x.copy()
    typos = rng.choice(x.size, size=max(2, x.size // 10), replace=False)
    far[typos] *= 10.0
    got, values = _call_elbo(function, far, q, weights, means, sds)
    if values is not None and values.size == 1 and not np.isfinite(values).all():
        raise AssertionError(
            f"L is {float(values.ravel()[0])} for heights typed in millimetres "
            f"(x = {far[typos].min():.0f} and more): there the densities N(x_i | mu_k, "
            f"sigma_k^2) underflow to 0.0 and log(0) = -inf. Work in log space: "
            f"np.log(weights) + norm.logpdf(x[:, None], means, sds)."
        )
    compare(got, _elbo_reference(far, q, weights, means, sds), name="L for far-away points")
