"""Checks for the exercises on Gaussian mixtures in many dimensions (lesson 08).

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _weighted_scatter(X: np.ndarray, weights: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """:math:`\\sum_i w_i (x_i - c)(x_i - c)^\\top`, shape (D, D)."""
    diff = X - centre
    return (weights[:, np.newaxis] * diff).T @ diff


def _full_covariance_mistakes(X: np.ndarray, resp: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Typical wrong covariance updates, each of shape (K, D, D), with what went wrong."""
    n, K = resp.shape
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, np.newaxis]
    ones = np.ones(n)
    scatter = np.stack([_weighted_scatter(X, resp[:, k], means[k]) for k in range(K)])
    new_means = "mu_k = sum_i r_ik x_i / N_k"
    return [
        (
            np.stack([_weighted_scatter(X, resp[:, k], 0.0) for k in range(K)]) / nk[:, None, None],
            f"The data are not centred: use (x_i - mu_k), with the new mean {new_means}.",
        ),
        (
            np.stack([_weighted_scatter(X, resp[:, k], X.mean(axis=0)) for k in range(K)])
            / nk[:, None, None],
            f"You centred the data at the mean of all the points; centre each component at its "
            f"own new mean {new_means}.",
        ),
        (
            scatter / n,
            "You divided by n, the number of points; divide by N_k = sum_i r_ik, the effective "
            "number of points of component k.",
        ),
        (
            scatter / (nk[:, None, None] - 1),
            "You divided by N_k - 1; the maximum-likelihood M-step divides by N_k = sum_i r_ik.",
        ),
        (
            scatter,
            "You did not divide by N_k = sum_i r_ik: the covariance is a weighted average.",
        ),
        (
            np.stack([_weighted_scatter(X, ones, means[k]) for k in range(K)]) / n,
            "The responsibilities are missing: each outer product must be weighted by r_ik.",
        ),
        (
            np.stack([_weighted_scatter(X, ones, means[k]) for k in range(K)]) / nk[:, None, None],
            "The responsibilities are missing: each outer product must be weighted by r_ik.",
        ),
        (
            np.stack([_weighted_scatter(X, resp[:, k] ** 2, means[k]) for k in range(K)])
            / nk[:, None, None],
            "r_ik appears twice (r_ik squared): weight only one of the two factors of the outer "
            "product, e.g. (r * diff).T @ diff.",
        ),
    ]


def gmm_full_covariances(function: Callable) -> None:
    """Check ``function(X, resp) -> covariances`` (shape (K, D, D)), the full-covariance M-step.

    Compares with :func:`emlab.gmm.m_step` on fresh data far from the origin, and accepts the
    answer with or without the ``reg_covar`` floor of ``1e-6`` on the diagonal.
    """
    from emlab.gmm import estimate_covariances, m_step

    rng = _fresh_rng()
    n, D, K = int(rng.integers(40, 90)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    if K == D:  # keeps the shapes (K, D, D) and (D, D, K) apart
        K += 1
    X = rng.normal(size=(n, D)) @ rng.normal(size=(D, D)) + rng.uniform(-10.0, 10.0, size=D)
    resp = rng.dirichlet(np.full(K, 0.7), size=n)
    expected = m_step(X, resp, "full", reg_covar=0.0)[2]
    got = _call(
        function,
        "full_covariances",
        X.copy(),
        resp.copy(),
        answers=(m_step, estimate_covariances),
    )
    if not_answered(got):
        raise AssertionError("full_covariances returns ...: replace the ... with your code.")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"full_covariances should return an array of numbers, got {type(got).__name__}."
        ) from None
    if got.shape != (K, D, D):
        shape = f"shape (K, D, D) = {(K, D, D)}"
        if got.shape == (D, D):
            hint = f"one D x D matrix; return one per component, stacked into {shape}."
        elif got.shape == (D, D, K):
            hint = f"the component axis last; put it first, {shape} (e.g. np.moveaxis)."
        elif got.shape in ((n, n), (K, n, n)):
            hint = (
                "n x n matrices: the outer product is the wrong way round. With the points as "
                "rows of diff = X - mu_k, the D x D sum of outer products is diff.T @ (r * diff), "
                "not diff @ diff.T."
            )
        elif got.shape == (K, D):
            hint = f"only the variances (the diagonals); full covariances are whole D x D matrices, {shape}."
        else:
            hint = f"the wrong shape; it should have {shape}."
        raise AssertionError(
            f"full_covariances returned shape {got.shape} for K = {K} components in D = {D} "
            f"dimensions: {hint}"
        )
    if np.any(~np.isfinite(got)):
        raise AssertionError(
            "full_covariances returned NaN or infinite values: is some N_k zero, or a division "
            "by an empty sum?"
        )
    for floor in (0.0, 1e-6):  # with or without reg_covar
        if np.allclose(got, expected + floor * np.eye(D), rtol=1e-6, atol=1e-9):
            return
    for wrong, diagnosis in _full_covariance_mistakes(X, resp):
        if np.allclose(got, wrong, rtol=1e-5, atol=1e-8):
            raise AssertionError(diagnosis)
    if not np.allclose(got, got.swapaxes(1, 2), rtol=1e-6, atol=1e-9):
        raise AssertionError(
            "Your covariance matrices are not symmetric, but (x - mu)(x - mu)^T is: check the "
            "two factors of the outer product (the same centred data, one of them weighted)."
        )
    compare(got, expected, name="covariances")


#: The mixture of exercise 2 of lesson 08: K components, D dimensions, full covariances.
_PARAMETER_COUNT_EXERCISE = (5, 3)


def gmm_parameter_count(n_free) -> None:
    """Check a numeric answer: the free parameters of a full-covariance mixture (K=5, D=3)."""
    from emlab.gmm import n_parameters

    if not_answered(n_free):
        raise AssertionError("n_free is not answered yet: replace the ... with your answer.")
    try:
        value = float(n_free)
    except (TypeError, ValueError):
        raise AssertionError(f"n_free should be a number, got {type(n_free).__name__}.") from None
    if not np.isfinite(value) or value != round(value):
        raise AssertionError("n_free should be a whole number: parameters are counted.")
    K, D = _PARAMETER_COUNT_EXERCISE
    expected = n_parameters(K, D, "full")
    if value == expected:
        return
    weights_hint = "The weights sum to one, so only K - 1 of them are free."
    symmetric_hint = (
        "A covariance matrix is symmetric: count the entries on and above the diagonal, "
        "D(D+1)/2 per matrix, not D²."
    )
    mistakes = [
        (K + K * D + K * D * (D + 1) // 2, weights_hint),
        (K - 1 + K * D + K * D * D, symmetric_hint),
        (K + K * D + K * D * D, f"{weights_hint} {symmetric_hint}"),
        (
            K - 1 + K * D + K * D,
            "That counts diagonal covariances (covariance_type='diag'); full covariance "
            "matrices also have entries off the diagonal.",
        ),
        (
            K - 1 + K * D + D * (D + 1) // 2,
            "That counts one covariance matrix shared by all components ('tied'); here every "
            "component has its own.",
        ),
        (K * D + K * D * (D + 1) // 2, "The weights are missing: K - 1 of them are free."),
    ]
    for wrong, diagnosis in mistakes:
        if value == wrong:
            raise AssertionError(f"n_free is not right. {diagnosis}")
    compare(value, expected, name="n_free", reveal=False)
