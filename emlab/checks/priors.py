"""Checks for the exercises of lesson 11, priors against collapse (MAP-EM).

See :mod:`emlab.checks` for what every check does. Each check draws fresh data, calls the
student's function on copies of its arguments and compares the result with
:func:`emlab.map_em.m_step_map`, which it may not call itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _data(rng: np.random.Generator, n_features: int | None = None):
    """Fresh points in a few loose clouds, and responsibilities that are not one-hot."""
    n = int(rng.integers(15, 40))
    n_features = int(rng.integers(2, 4)) if n_features is None else n_features
    centres = rng.normal(0.0, 3.0, size=(3, n_features))
    X = centres[rng.integers(0, 3, n)] + rng.normal(0.0, 1.0, size=(n, n_features))
    return X


def _resp(rng: np.random.Generator, n: int, n_components: int) -> np.ndarray:
    return rng.dirichlet(np.full(n_components, 0.7), size=n)


def _psi(rng: np.random.Generator, n_features: int) -> np.ndarray:
    A = rng.normal(size=(n_features, n_features))
    return A @ A.T / n_features + 0.3 * np.eye(n_features)


def _as_array(got, name: str) -> np.ndarray | None:
    if not_answered(got):
        return None
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be numbers, got {type(got).__name__}.") from None


def _first_match(got: np.ndarray, candidates) -> str | None:
    for candidate, message in candidates:
        candidate = np.asarray(candidate, dtype=float)
        if got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-7, atol=1e-10):
            return message
    return None


# ---------------------------------------------------------------------------
# Exercise 1: the weights


def map_weights(function: Callable) -> None:
    r"""Check ``function(resp, alpha) -> weights``, the MAP weights under a Dirichlet prior.

    :math:`\pi_k = (N_k + \alpha - 1) / (n + K(\alpha - 1))` with
    :math:`N_k = \sum_i r_{ik}`, compared with :func:`emlab.map_em.m_step_map` on fresh
    responsibilities: once with :math:`\alpha > 1` (the usual slips are named: the prior left
    out, the posterior *mean* :math:`(N_k + \alpha)/(n + K\alpha)` for the mode, a denominator
    that does not make the weights sum to 1, :math:`N_k` summed over the wrong axis), and
    once with :math:`\alpha = 1` and an empty component, where the weights are the
    maximum-likelihood ones and one of them is 0.
    """
    from emlab.map_em import GMMPrior, m_step_map

    rng = _fresh_rng()
    for alpha, empty in [(float(rng.uniform(1.5, 6.0)), False), (1.0, True)]:
        X = _data(rng)
        n, n_features = X.shape
        n_components = int(rng.integers(2, 5))
        resp = _resp(rng, n, n_components)
        if empty:
            resp[:, -1] = 0.0
            resp /= resp.sum(axis=1, keepdims=True)
        prior = GMMPrior(nu=n_features + 2.0, psi=np.eye(n_features), alpha=alpha)
        expected = m_step_map(X, resp, prior)[0]
        got = _call(function, "your function", resp.copy(), alpha, answers=(m_step_map,))
        values = _as_array(got, "the weights")
        if values is not None and values.shape == expected.shape and not empty:
            nk = resp.sum(axis=0)
            message = _first_match(
                values,
                [
                    (
                        nk / n,
                        "these are the maximum-likelihood weights N_k / n: the prior adds "
                        "alpha - 1 pseudo-points to every component.",
                    ),
                    (
                        (nk + alpha) / (n + n_components * alpha),
                        "(N_k + alpha) / (n + K alpha) is the MEAN of the Dirichlet posterior "
                        "(what BayesianGaussianMixture reports); the MAP estimate is its MODE, "
                        "with alpha - 1 pseudo-points per component.",
                    ),
                    (
                        (nk + alpha - 1) / n,
                        "the numerators are right but the weights do not sum to 1: divide by "
                        "the sum of the numerators, n + K(alpha - 1).",
                    ),
                    (
                        (nk + alpha - 1) / (n + n_components * alpha),
                        "the numerators are right but the weights do not sum to 1: the "
                        "denominator is the sum of the numerators, n + K(alpha - 1).",
                    ),
                    (
                        (nk + alpha - 1) / (n + alpha - 1),
                        "the denominator counts alpha - 1 pseudo-points once; every one of "
                        "the K components gets them: n + K(alpha - 1).",
                    ),
                ],
            )
            if message is not None:
                raise AssertionError(message)
        if values is not None and values.shape == (n,):
            raise AssertionError(
                f"your function returned {n} numbers, one per point: N_k sums the "
                f"responsibilities over the points, resp.sum(axis=0), one per component."
            )
        name = "the weights with alpha = 1 and an empty component" if empty else "the weights"
        compare(got, expected, name=name, sums_to_one_axis=0)


# ---------------------------------------------------------------------------
# Exercise 2: one covariance, flat prior on the mean


def map_covariance(function: Callable) -> None:
    r"""Check ``function(X, r, nu, psi) -> covariance``, one MAP covariance (flat prior on the mean).

    With the responsibilities :math:`r_i` of one component, :math:`N = \sum_i r_i`,
    the weighted mean :math:`\bar x = \sum_i r_i x_i / N` and an inverse-Wishart
    :math:`\mathcal{W}^{-1}(\nu, \Psi)` prior on :math:`\Sigma`:
    :math:`\Sigma = (\Psi + \sum_i r_i (x_i - \bar x)(x_i - \bar x)^\top) / (N + \nu + D + 1)`.
    Compared with :func:`emlab.map_em.m_step_map` (``kappa=None``) on fresh data, twice:
    once with ordinary responsibilities (the usual slips are named: a wrong count of
    pseudo-observations in the divisor, :math:`\Psi` left out or added after dividing, an
    unweighted scatter or mean), and once for a component that holds almost nothing, where
    the answer must be close to :math:`\Psi / (\nu + D + 1)`.
    """
    from emlab.map_em import GMMPrior, m_step_map

    rng = _fresh_rng()
    for nearly_empty in (False, True):
        X = _data(rng)
        n, n_features = X.shape
        r = rng.uniform(0.05, 1.0, size=n)
        if nearly_empty:
            r = np.full(n, 1e-9)
        nu = float(rng.uniform(n_features + 0.5, n_features + 6))
        psi = _psi(rng, n_features)
        prior = GMMPrior(nu=nu, psi=psi)
        expected = m_step_map(X, np.column_stack([r, 1 - r]), prior)[2][0]
        got = _call(
            function, "your function", X.copy(), r.copy(), nu, psi.copy(), answers=(m_step_map,)
        )
        values = _as_array(got, "the covariance")
        if values is not None and values.shape == expected.shape and not nearly_empty:
            N, D = r.sum(), n_features
            mean = r @ X / N
            diff = X - mean
            scatter = (r[:, None] * diff).T @ diff
            plain = (X - X.mean(axis=0)).T @ (X - X.mean(axis=0))
            unweighted_mean = (r[:, None] * (X - X.mean(axis=0))).T @ (X - X.mean(axis=0))
            unweighted = diff.T @ diff
            count = {
                N: "N (no pseudo-observations: the prior's log|Sigma| terms are missing)",
                N + nu: "N + nu (BayesianGaussianMixture's divisor, the inverse of the "
                "expected precision, not the mode)",
                N + nu + D: "N + nu + D",
                N + nu + D + 2: "N + nu + D + 2 (the count with a normal prior on the mean; "
                "here the mean's prior is flat)",
                N + nu - D - 1: "N + nu - D - 1 (the divisor of an inverse-Wishart's MEAN, like "
                "the prior's mean Psi / (nu - D - 1); MAP takes the MODE)",
            }
            candidates = [
                (
                    (psi + scatter) / c,
                    f"the divisor is {what}; with a flat prior on the mean it "
                    f"is N + nu + D + 1: count the 1/2 log|Lambda| terms on paper.",
                )
                for c, what in count.items()
            ]
            candidates += [
                (
                    scatter / (N + nu + D + 1),
                    "Psi is missing: B = Psi + sum_i r_i (x_i - mean)(x_i - mean)^T.",
                ),
                (
                    scatter / N + psi,
                    "Psi is added after dividing: the prior's scatter Psi and the data's "
                    "are added first, then divided by N + nu + D + 1.",
                ),
                (
                    scatter / N + psi / (N + nu + D + 1),
                    "the data's scatter is divided by N alone: divide the whole "
                    "B = Psi + sum_i r_i (x_i - mean)(x_i - mean)^T by N + nu + D + 1.",
                ),
                (
                    (psi + unweighted) / (N + nu + D + 1),
                    "the scatter is not weighted: each outer product (x_i - mean)(x_i - mean)^T "
                    "needs its responsibility r_i.",
                ),
                (
                    (psi + unweighted_mean) / (N + nu + D + 1),
                    "the deviations are taken from the plain mean of X; use the WEIGHTED "
                    "mean sum_i r_i x_i / N.",
                ),
                (
                    (psi + plain) / (n + nu + D + 1),
                    "this ignores r: it is the covariance of all the data, with n for N.",
                ),
            ]
            message = _first_match(values, candidates)
            if message is not None:
                raise AssertionError(message)
        name = "the covariance of a nearly empty component" if nearly_empty else "the covariance"
        compare(got, expected, name=name)


# ---------------------------------------------------------------------------
# Exercise 4: find the bug in a MAP M-step


def fixed_m_step(function: Callable) -> None:
    r"""Check ``function(X, resp, prior) -> (weights, means, covariances)``, a whole MAP M-step.

    For a normal-inverse-Wishart prior (``prior.kappa`` given), compared with
    :func:`emlab.map_em.m_step_map` on fresh data with :math:`\alpha > 1`. The bug of the
    exercise (covariances divided by :math:`N_k + \nu`) and its near misses are named.
    """
    from emlab.map_em import GMMPrior, m_step_map

    rng = _fresh_rng()
    X = _data(rng)
    n, n_features = X.shape
    n_components = int(rng.integers(2, 4))
    resp = _resp(rng, n, n_components)
    prior = GMMPrior(
        nu=float(rng.uniform(n_features + 0.5, n_features + 5)),
        psi=_psi(rng, n_features),
        alpha=float(rng.uniform(1.5, 4.0)),
        kappa=float(rng.uniform(0.5, 3.0)),
        m0=rng.normal(size=n_features),
    )
    expected = m_step_map(X, resp, prior)
    got = _call(function, "your function", X.copy(), resp.copy(), prior, answers=(m_step_map,))
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(
            "your function should return three things, (weights, means, covariances), as the "
            f"broken one does; it returned {type(got).__name__}."
        )
    weights, means, covariances = got
    compare(weights, expected[0], name="the weights", sums_to_one_axis=0)
    compare(means, expected[1], name="the means")
    values = _as_array(covariances, "the covariances")
    if values is not None and values.shape == expected[2].shape:
        nk = resp.sum(axis=0)
        D, nu = n_features, prior.nu
        for divisor, what in [
            (nk + nu, "N_k + nu: that is the bug, still there"),
            (nk + nu + D + 1, "N_k + nu + D + 1, the count for a flat prior on the means"),
            (nk + nu + D, "N_k + nu + D"),
            (nk, "N_k"),
        ]:
            scaled = expected[2] * ((nk + nu + D + 2) / divisor)[:, None, None]
            if np.allclose(values, scaled, rtol=1e-7, atol=1e-10):
                raise AssertionError(
                    f"the covariances are divided by {what}. Count the (1/2) log|Lambda_k| "
                    f"terms: N_k from the data, nu + D + 1 from the inverse-Wishart, 1 from "
                    f"the normal prior on mu_k."
                )
    compare(covariances, expected[2], name="the covariances")
