r"""Gaussian mixture models, fit by EM (lessons 5 and 6).

The model: each point :math:`x_i \in \mathbb{R}^D` comes from one of :math:`K`
components, chosen with probabilities (the *weights*) :math:`\pi_k`, and the
chosen component draws it from a Gaussian :math:`\mathcal{N}(\mu_k, \Sigma_k)`:

.. math::

    p(x_i \mid \theta) = \sum_{k=1}^K \pi_k \, \mathcal{N}(x_i \mid \mu_k, \Sigma_k).

The lesson-level functions are short enough to read in a notebook:

* :func:`log_gaussian` -- :math:`\log \mathcal{N}(x_i \mid \mu_k, \Sigma_k)` for every
  point and component, through a Cholesky factor;
* :func:`e_step` -- the responsibilities :math:`r_{ik}` and the log-likelihood;
* :func:`m_step` -- new weights, means and covariances (scikit-learn's M-step);
* :func:`e_step_1d`, :func:`m_step_1d` -- the same in one dimension, with
  standard deviations :math:`\sigma_k` (the first half of lesson 5);
* :func:`fit_gmm`, :func:`fit_gmm_1d` -- EM from a given start, through
  :func:`emlab.em.run_em`, which records every iteration.

Covariances are stored as scikit-learn stores them, by ``covariance_type``:

===============  =====================  ==========================================
type             shape                  meaning
===============  =====================  ==========================================
``"full"``       (K, D, D)              one covariance matrix per component
``"tied"``       (D, D)                 one matrix shared by all components
``"diag"``       (K, D)                 a diagonal matrix per component
``"spherical"``  (K,)                   one variance per component
===============  =====================  ==========================================

:class:`emlab.GaussianMixture` (:mod:`emlab.estimators.gaussian_mixture`) wraps all of this
in a scikit-learn estimator, running the fast engine :mod:`emlab.engines.gmm`.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.utils import check_random_state

from emlab.em import EMResult, run_em
from emlab.validation import (
    check_data,
    check_n_components,
    check_positive,
    check_resp,
    check_weights,
)

__all__ = [
    "COVARIANCE_TYPES",
    "INIT_METHODS",
    "CollapseWarning",
    "aic",
    "bic",
    "cholesky_factors",
    "e_step",
    "e_step_1d",
    "estimate_covariances",
    "fit_gmm",
    "fit_gmm_1d",
    "init_params",
    "log_gaussian",
    "m_step",
    "m_step_1d",
    "n_parameters",
    "sample",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_METHODS = ("kmeans", "k-means++", "random", "random_from_data")


class CollapseWarning(UserWarning):
    """A component's variance fell to the ``reg_covar`` floor.

    The component sits on a single point or on duplicate points (or the data
    vary less than ``reg_covar`` in some direction). Without the floor its
    likelihood would grow without bound.
    """


# ---------------------------------------------------------------------------
# Input checks (each raises a ValueError that names the argument)


def _check_covariance_type(covariance_type) -> str:
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}."
        )
    return covariance_type


def _check_means(means, n_components: int | None, n_features: int, *, name: str = "means"):
    means = check_data(means, name=name, ndim=2)
    n_components = means.shape[0] if n_components is None else n_components
    if means.shape != (n_components, n_features):
        raise ValueError(
            f"{name} must have shape (n_components, n_features) = ({n_components}, "
            f"{n_features}), one row per component; got {means.shape}."
        )
    return means


def _check_component_vector(values, n_components: int, *, name: str) -> np.ndarray:
    values = check_data(values, name=name, ndim=1)
    if values.shape[0] != n_components:
        raise ValueError(
            f"{name} must have {n_components} entries, one per component; got {values.shape[0]}."
        )
    return values


def _check_reg_covar(reg_covar) -> float:
    return float(check_positive(reg_covar, name="reg_covar", strict=False))


def cholesky_factors(
    covariances, covariance_type: str, n_components: int, n_features: int, *, name="covariances"
) -> np.ndarray:
    r"""Check covariances and return their Cholesky factors :math:`L_k`.

    :math:`\Sigma_k = L_k L_k^\top` with :math:`L_k` lower triangular. A diagonal
    (or spherical) :math:`\Sigma_k` has the diagonal factor
    :math:`L_k = \operatorname{diag}(\sqrt{\sigma^2_{k1}}, \dots, \sqrt{\sigma^2_{kD}})`.

    Parameters
    ----------
    covariances : array-like
        Shape (K, D, D), (D, D), (K, D) or (K,) for ``covariance_type``
        ``"full"``, ``"tied"``, ``"diag"``, ``"spherical"``.
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components, n_features : int
        :math:`K` and :math:`D`.
    name : str
        The argument's name in error messages.

    Returns
    -------
    ndarray
        Shape (K, D, D) of lower-triangular factors for ``"full"`` and ``"tied"``
        (the tied factor repeated), shape (K, D) of standard deviations for
        ``"diag"`` and ``"spherical"``.

    Raises
    ------
    ValueError
        If the shape is wrong, an entry is not finite, or a covariance is not
        symmetric positive definite.
    """
    covariance_type = _check_covariance_type(covariance_type)
    shapes = {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }
    covariances = check_data(covariances, name=name, ndim=None)
    if covariances.shape != shapes[covariance_type]:
        raise ValueError(
            f"{name} must have shape {shapes[covariance_type]} for "
            f"covariance_type={covariance_type!r} ({n_components} components, "
            f"{n_features} features); got {covariances.shape}."
        )
    if covariance_type in ("diag", "spherical"):
        if np.any(covariances <= 0):
            raise ValueError(
                f"{name} must be positive (variances), got a minimum of {covariances.min():.3g}. "
                f"If it came from an M-step, a component collapsed: increase reg_covar."
            )
        sds = np.sqrt(covariances)
        return sds if covariance_type == "diag" else np.repeat(sds[:, None], n_features, axis=1)

    matrices = covariances.reshape(-1, n_features, n_features)
    transposed = matrices.swapaxes(1, 2)
    scale = np.abs(np.diagonal(matrices, axis1=1, axis2=2)).max()
    if not np.allclose(matrices, transposed, rtol=1e-5, atol=1e-8 * scale):
        raise ValueError(f"{name} must be symmetric: a covariance matrix equals its transpose.")
    factors = np.empty_like(matrices)
    for k, matrix in enumerate(matrices):
        try:
            factors[k] = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            which = f"{name}[{k}]" if covariance_type == "full" else name
            raise ValueError(
                f"{which} is not positive definite (its Cholesky factorization failed). "
                f"If it came from an M-step, a component collapsed onto too few points: "
                f"increase reg_covar (for instance to 1e-3), use fewer components, or "
                f"rescale the data."
            ) from None
    if covariance_type == "tied":
        factors = np.repeat(factors, n_components, axis=0)
    return factors


# ---------------------------------------------------------------------------
# Lesson-level functions


def log_gaussian(X, means, covariances, covariance_type="full") -> np.ndarray:
    r"""Log-density of every point under every Gaussian component.

    With the Cholesky factor :math:`\Sigma_k = L_k L_k^\top` and
    :math:`z_{ik} = L_k^{-1}(x_i - \mu_k)` (a triangular solve, never an inverse),

    .. math::

        \log \mathcal{N}(x_i \mid \mu_k, \Sigma_k)
        = -\tfrac12 \left( D \log 2\pi + \lVert z_{ik} \rVert^2 \right)
          - \sum_{d=1}^D \log (L_k)_{dd},

    since :math:`(x_i-\mu_k)^\top \Sigma_k^{-1} (x_i-\mu_k) = \lVert z_{ik} \rVert^2` and
    :math:`\tfrac12 \log\det\Sigma_k = \sum_d \log (L_k)_{dd}`. Subtracting
    :math:`\mu_k` first keeps the digits for data far from the origin.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points :math:`x_i`.
    means : array-like of shape (n_components, n_features)
        The means :math:`\mu_k`.
    covariances : array-like
        The covariances :math:`\Sigma_k`, stored as ``covariance_type`` says.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"

    Returns
    -------
    log_prob : ndarray of shape (n_samples, n_components)
        ``log_prob[i, k]`` :math:`= \log \mathcal{N}(x_i \mid \mu_k, \Sigma_k)`.
    """
    X = check_data(X)
    means = _check_means(means, None, X.shape[1])
    n_components, n_features = means.shape
    L = cholesky_factors(covariances, covariance_type, n_components, n_features)
    log_prob = np.empty((X.shape[0], n_components))
    for k in range(n_components):
        diff = X - means[k]
        if L.ndim == 3:  # full or tied: solve L_k z = x_i - mu_k
            z = solve_triangular(L[k], diff.T, lower=True, check_finite=False).T
            half_log_det = np.log(np.diagonal(L[k])).sum()
        else:  # diag or spherical: L_k is diagonal, holding standard deviations
            z = diff / L[k]
            half_log_det = np.log(L[k]).sum()
        log_prob[:, k] = -0.5 * (n_features * np.log(2 * np.pi) + np.sum(z**2, axis=1))
        log_prob[:, k] -= half_log_det
    return log_prob


def e_step(X, weights, means, covariances, covariance_type="full"):
    r"""E-step: responsibilities and log-likelihood, computed in log space.

    .. math::

        r_{ik} = \frac{\pi_k \, \mathcal{N}(x_i \mid \mu_k, \Sigma_k)}
                      {\sum_j \pi_j \, \mathcal{N}(x_i \mid \mu_j, \Sigma_j)},
        \qquad
        \log p(X \mid \theta) = \sum_i \log \sum_k \pi_k \, \mathcal{N}(x_i \mid \mu_k, \Sigma_k).

    The inner sum is a ``logsumexp`` of :math:`\log \pi_k + \log \mathcal{N}(\cdot)`,
    so nothing underflows even when every density is tiny.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights : array-like of shape (n_components,)
        The mixing weights :math:`\pi_k`; non-negative, summing to 1.
    means : array-like of shape (n_components, n_features)
    covariances : array-like
        Stored as ``covariance_type`` says (see the module docstring).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
        :math:`r_{ik}`; every row sums to 1.
    log_likelihood : float
        :math:`\log p(X \mid \theta)`, summed over the points.
    """
    X = check_data(X)
    weights = check_weights(weights)
    means = _check_means(means, len(weights), X.shape[1])
    with np.errstate(divide="ignore"):  # a weight of 0 gives log 0 = -inf: fine
        log_prob = np.log(weights) + log_gaussian(X, means, covariances, covariance_type)
    log_px = logsumexp(log_prob, axis=1)  # log p(x_i) = log sum_k pi_k N(x_i | mu_k, Sigma_k)
    resp = np.exp(log_prob - log_px[:, np.newaxis])
    return resp, float(log_px.sum())


def estimate_covariances(X, resp, nk, means, covariance_type="full", reg_covar=1e-6):
    r"""M-step for the covariances, for each ``covariance_type``.

    With :math:`N_k = \sum_i r_{ik}` and :math:`n = \sum_k N_k`:

    * full: :math:`\Sigma_k = \frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top`;
    * tied: :math:`\Sigma = \frac{1}{n} \sum_k \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top`;
    * diag: :math:`\sigma^2_{kd} = \frac{1}{N_k} \sum_i r_{ik} (x_{id} - \mu_{kd})^2`;
    * spherical: :math:`\sigma^2_k = \frac{1}{D} \sum_d \sigma^2_{kd}`;

    then ``reg_covar`` is added to every variance (the diagonal). These are
    scikit-learn's formulas, written around the means :math:`\mu_k` so that no
    digits are lost for data far from the origin.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    resp : ndarray of shape (n_samples, n_components)
    nk : ndarray of shape (n_components,)
        :math:`N_k`.
    means : ndarray of shape (n_components, n_features)
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6

    Returns
    -------
    covariances : ndarray
        Shape (K, D, D), (D, D), (K, D) or (K,) according to ``covariance_type``.
    """
    n_components, n_features = means.shape
    if covariance_type == "tied":
        scatter = estimate_covariances(X, resp, nk, means, "full", 0.0) * nk[:, None, None]
        return scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(n_features)
    if covariance_type in ("diag", "spherical"):
        variances = np.stack([resp[:, k] @ (X - means[k]) ** 2 for k in range(n_components)])
        variances = variances / nk[:, np.newaxis] + reg_covar
        return variances if covariance_type == "diag" else variances.mean(axis=1)
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        diff = X - means[k]
        covariances[k] = (resp[:, k] * diff.T) @ diff / nk[k] + reg_covar * np.eye(n_features)
    return covariances


def collapse_floor(reg_covar, largest_variance, data_variance):
    r"""The variance at or below which a component counts as collapsed.

    :math:`2\,\text{reg\_covar} + 10^{-12} \max(\lambda_{\max}, \operatorname{Var}(x))`:
    the floor that ``reg_covar`` adds, or numerically zero next to the data's scale.
    """
    return 2 * reg_covar + 1e-12 * np.maximum(largest_variance, data_variance)


def _collapsed_components(covariances, covariance_type, reg_covar, data_variance) -> list[int]:
    """Components whose smallest variance is at most the reg_covar floor (or numerically 0)."""
    if covariance_type in ("full", "tied"):
        eigenvalues = np.linalg.eigvalsh(covariances.reshape(-1, *covariances.shape[-2:]))
        smallest, largest = eigenvalues[:, 0], eigenvalues[:, -1]
    else:
        variances = covariances.reshape(len(covariances), -1)
        smallest, largest = variances.min(axis=1), variances.max(axis=1)
    floor = collapse_floor(reg_covar, np.abs(largest), data_variance)
    return [int(k) for k in np.flatnonzero(smallest <= floor)]


def _warn_if_collapsed(covariances, covariance_type, reg_covar, data_variance) -> None:
    collapsed = _collapsed_components(covariances, covariance_type, reg_covar, data_variance)
    if not collapsed:
        return
    which = "The tied covariance" if covariance_type == "tied" else f"Component(s) {collapsed}"
    warnings.warn(
        f"{which} collapsed: the variance in some direction is (nearly) zero, at most "
        f"reg_covar={reg_covar:g}, so the reg_covar floor added to the diagonal is all that "
        f"keeps the covariance positive definite. This happens when a component sits on a "
        f"single point or on duplicate points (or when the data vary less than reg_covar). "
        f"Try fewer components, another start, or rescaling the data; increase reg_covar "
        f"(for instance to 1e-3) to raise the floor.",
        CollapseWarning,
        stacklevel=3,
    )


def m_step(X, resp, covariance_type="full", reg_covar=1e-6):
    r"""M-step: the weights, means and covariances that maximize the expected log-likelihood.

    .. math::

        N_k = \sum_i r_{ik}, \qquad
        \pi_k = \frac{N_k}{n}, \qquad
        \mu_k = \frac{1}{N_k} \sum_i r_{ik} x_i, \qquad
        \Sigma_k = \frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top + \varepsilon I,

    with :math:`\varepsilon` = ``reg_covar``; tied, diagonal and spherical
    covariances are in :func:`estimate_covariances`. As in scikit-learn,
    :math:`N_k` gets ``10 * eps`` (machine epsilon) so that an empty component
    does not divide by zero. A :class:`CollapseWarning` is raised when a
    component's variance falls to the ``reg_covar`` floor.

    Same numbers as scikit-learn's M-step (to round-off) for the same
    responsibilities; the covariances are computed around the means, where
    scikit-learn's tied, diagonal and spherical formulas use raw second moments
    (:math:`\overline{x^2} - \mu^2`) and lose digits far from the origin.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    resp : array-like of shape (n_samples, n_components)
        Responsibilities :math:`r_{ik}` from the E-step.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6
        Non-negative floor added to the variances.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray
        Stored as ``covariance_type`` says.
    """
    X = check_data(X)
    resp = check_resp(resp, len(X))
    covariance_type = _check_covariance_type(covariance_type)
    reg_covar = _check_reg_covar(reg_covar)
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps  # N_k
    weights = nk / nk.sum()  # pi_k = N_k / n
    means = resp.T @ X / nk[:, np.newaxis]  # mu_k = sum_i r_ik x_i / N_k
    covariances = estimate_covariances(X, resp, nk, means, covariance_type, reg_covar)
    _warn_if_collapsed(covariances, covariance_type, reg_covar, X.var(axis=0).max())
    return weights, means, covariances


def _check_1d_params(x, weights, means, sds):
    x = check_data(x, name="x", ndim=1)
    weights = check_weights(weights)
    means = _check_component_vector(means, len(weights), name="means")
    sds = _check_component_vector(sds, len(weights), name="sds")
    if np.any(sds <= 0):
        raise ValueError(
            f"sds must be positive (standard deviations), got a minimum of {sds.min():.3g}. "
            f"If it came from an M-step, a component collapsed: increase reg_covar."
        )
    return x, weights, means, sds


def e_step_1d(x, weights, means, sds):
    r"""E-step in one dimension, with standard deviations :math:`\sigma_k`.

    .. math::

        \log \pi_k \mathcal{N}(x_i \mid \mu_k, \sigma_k^2)
        = \log \pi_k - \log \sigma_k - \tfrac12 \log 2\pi
          - \tfrac12 \left(\frac{x_i - \mu_k}{\sigma_k}\right)^2,
        \qquad
        r_{ik} = \frac{\pi_k \mathcal{N}(x_i \mid \mu_k, \sigma_k^2)}
                      {\sum_j \pi_j \mathcal{N}(x_i \mid \mu_j, \sigma_j^2)}.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    weights, means, sds : array-like of shape (n_components,)
        :math:`\pi_k`, :math:`\mu_k` and :math:`\sigma_k > 0`.

    Returns
    -------
    resp : ndarray of shape (n_samples, n_components)
    log_likelihood : float
        :math:`\sum_i \log \sum_k \pi_k \mathcal{N}(x_i \mid \mu_k, \sigma_k^2)`.
    """
    x, weights, means, sds = _check_1d_params(x, weights, means, sds)
    z = (x[:, np.newaxis] - means) / sds  # (n, K): z_ik = (x_i - mu_k) / sigma_k
    with np.errstate(divide="ignore"):  # a weight of 0 gives log 0 = -inf: fine
        log_prob = np.log(weights) - np.log(sds) - 0.5 * (np.log(2 * np.pi) + z**2)
    log_px = logsumexp(log_prob, axis=1)
    resp = np.exp(log_prob - log_px[:, np.newaxis])
    return resp, float(log_px.sum())


def m_step_1d(x, resp, reg_covar=1e-6):
    r"""M-step in one dimension: weights, means and standard deviations.

    .. math::

        N_k = \sum_i r_{ik}, \quad
        \pi_k = \frac{N_k}{n}, \quad
        \mu_k = \frac{1}{N_k} \sum_i r_{ik} x_i, \quad
        \sigma_k = \sqrt{\frac{1}{N_k} \sum_i r_{ik} (x_i - \mu_k)^2 + \varepsilon},

    with :math:`\varepsilon` = ``reg_covar`` (as :func:`m_step`, so that both
    agree for :math:`D = 1`).

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    resp : array-like of shape (n_samples, n_components)
    reg_covar : float, default=1e-6

    Returns
    -------
    weights, means, sds : ndarray of shape (n_components,)
    """
    x = check_data(x, name="x", ndim=1)
    resp, reg_covar = check_resp(resp, len(x)), _check_reg_covar(reg_covar)
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps  # N_k
    weights = nk / nk.sum()
    means = x @ resp / nk
    variances = np.sum(resp * (x[:, np.newaxis] - means) ** 2, axis=0) / nk + reg_covar
    _warn_if_collapsed(variances, "spherical", reg_covar, x.var())
    return weights, means, np.sqrt(variances)


# ---------------------------------------------------------------------------
# Running EM


def fit_gmm(
    X,
    weights,
    means,
    covariances,
    covariance_type="full",
    tol=1e-3,
    max_iter=100,
    reg_covar=1e-6,
    record_resp=False,
) -> EMResult:
    r"""Fit a Gaussian mixture by EM from the given start.

    Runs :func:`emlab.em.run_em` with :func:`e_step` and :func:`m_step`;
    ``history[t].log_likelihood`` is :math:`\log p(X \mid \theta^{(t)})` after
    :math:`t` M-steps. It never decreases while ``reg_covar`` is small next to the
    variances; a floor that matters (a collapsed component, or data whose
    variances are within a factor ~100 of ``reg_covar``) makes the M-step
    inexact, and the log-likelihood can then drop slightly.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights, means, covariances : array-like
        The starting parameters :math:`\theta^{(0)}`.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        Stop when the average log-likelihood changes by less than ``tol``.
    max_iter : int, default=100
    reg_covar : float, default=1e-6
    record_resp : bool, default=False
        Keep the responsibilities of every iteration in the history.

    Returns
    -------
    EMResult
        ``params`` has the keys ``"weights"``, ``"means"``, ``"covariances"``.
    """
    X = check_data(X)
    covariance_type = _check_covariance_type(covariance_type)
    reg_covar = _check_reg_covar(reg_covar)
    weights = check_weights(weights)
    check_n_components(len(weights), len(X), name="len(weights)")
    params = {"weights": weights, "means": means, "covariances": covariances}

    def gmm_e_step(X, params):
        return e_step(X, params["weights"], params["means"], params["covariances"], covariance_type)

    def gmm_m_step(X, resp):
        new_params = m_step(X, resp, covariance_type, reg_covar)
        return dict(zip(("weights", "means", "covariances"), new_params, strict=True))

    return run_em(
        X, params, gmm_e_step, gmm_m_step, tol=tol, max_iter=max_iter, record_resp=record_resp
    )


def fit_gmm_1d(
    x, weights, means, sds, tol=1e-3, max_iter=100, reg_covar=1e-6, record_resp=False
) -> EMResult:
    """Fit a one-dimensional Gaussian mixture by EM (:func:`e_step_1d`, :func:`m_step_1d`).

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    weights, means, sds : array-like of shape (n_components,)
        The starting parameters.
    tol, max_iter, reg_covar, record_resp
        As in :func:`fit_gmm`.

    Returns
    -------
    EMResult
        ``params`` has the keys ``"weights"``, ``"means"``, ``"sds"``.
    """
    x, weights, means, sds = _check_1d_params(x, weights, means, sds)
    reg_covar = _check_reg_covar(reg_covar)
    check_n_components(len(weights), len(x), name="len(weights)")
    params = {"weights": weights, "means": means, "sds": sds}

    def gmm_e_step(x, params):
        return e_step_1d(x, params["weights"], params["means"], params["sds"])

    def gmm_m_step(x, resp):
        return dict(zip(("weights", "means", "sds"), m_step_1d(x, resp, reg_covar), strict=True))

    return run_em(
        x, params, gmm_e_step, gmm_m_step, tol=tol, max_iter=max_iter, record_resp=record_resp
    )


def init_params(
    X,
    n_components,
    method="kmeans",
    random_state=None,
    covariance_type="full",
    reg_covar=1e-6,
):
    r"""Starting weights, means and covariances, as scikit-learn's ``init_params`` makes them.

    Each method first makes responsibilities, then takes one M-step from them:

    * ``"kmeans"``: one run of k-means (``KMeans(n_init=1)``); :math:`r_{ik} = 1`
      for the cluster of :math:`x_i`;
    * ``"k-means++"``: the k-means++ seeding picks :math:`K` data points, each
      the only member of its component;
    * ``"random"``: uniform random responsibilities, rows normalized;
    * ``"random_from_data"``: :math:`K` distinct data points drawn at random, each
      the only member of its component.

    With a single point per component ("k-means++", "random_from_data") the
    covariances start at ``reg_covar`` times the identity, as in scikit-learn.
    These two starts give every row of the responsibilities but :math:`K` a sum
    of zero, where scikit-learn differs in two ways: its starting weights are
    :math:`1/n` each and do not sum to one (here they are :math:`N_k / \sum_j N_j
    = 1/K`; the first E-step is the same, since a common factor of the weights
    cancels in :math:`r_{ik}`), and its tied covariance
    :math:`(X^\top X - \sum_k N_k \mu_k \mu_k^\top) / \sum_k N_k` counts every
    point (here it is the scatter around the means, ``reg_covar`` times the
    identity as for the other types).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    method : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
    random_state : int, RandomState instance or None
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6

    Returns
    -------
    weights, means, covariances : ndarray
        The weights are :math:`N_k / \sum_j N_j`.
    """
    X = check_data(X)
    n_samples = X.shape[0]
    n_components = check_n_components(n_components, n_samples)
    covariance_type = _check_covariance_type(covariance_type)
    reg_covar = _check_reg_covar(reg_covar)
    random_state = check_random_state(random_state)
    resp = np.zeros((n_samples, n_components))
    if method == "kmeans":
        kmeans = KMeans(n_clusters=n_components, n_init=1, random_state=random_state)
        resp[np.arange(n_samples), kmeans.fit(X).labels_] = 1
    elif method == "k-means++":
        _, indices = kmeans_plusplus(X, n_components, random_state=random_state)
        resp[indices, np.arange(n_components)] = 1
    elif method == "random":
        resp = random_state.uniform(size=(n_samples, n_components))
        resp /= resp.sum(axis=1, keepdims=True)
    elif method == "random_from_data":
        indices = random_state.choice(n_samples, size=n_components, replace=False)
        resp[indices, np.arange(n_components)] = 1
    else:
        raise ValueError(f"method must be one of {INIT_METHODS}, got {method!r}.")
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = resp.T @ X / nk[:, np.newaxis]
    covariances = estimate_covariances(X, resp, nk, means, covariance_type, reg_covar)
    return nk / nk.sum(), means, covariances


def sample(weights, means, covariances, n, covariance_type="full", random_state=None):
    r"""Draw ``n`` points from a Gaussian mixture, the way the model says data arise.

    For each point, :math:`z_i \sim \operatorname{Categorical}(\pi)`, then
    :math:`x_i = \mu_{z_i} + L_{z_i} \varepsilon_i` with
    :math:`\varepsilon_i \sim \mathcal{N}(0, I)` and :math:`\Sigma_k = L_k L_k^\top`.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
    means : array-like of shape (n_components, n_features)
    covariances : array-like
        Stored as ``covariance_type`` says.
    n : int
        Number of points, at least 1.
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n, n_features)
    labels : ndarray of shape (n,)
        The component :math:`z_i` that drew each point.
    """
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be a whole number of points, at least 1; got {n!r}.")
    weights = check_weights(weights)
    means = check_data(means, name="means", ndim=2)
    means = _check_means(means, len(weights), means.shape[1])
    L = cholesky_factors(covariances, covariance_type, *means.shape)
    random_state = check_random_state(random_state)
    labels = random_state.choice(len(weights), size=n, p=weights / weights.sum())
    noise = random_state.standard_normal(size=(n, means.shape[1]))
    if L.ndim == 3:
        X = means[labels] + np.einsum("nij,nj->ni", L[labels], noise)
    else:
        X = means[labels] + L[labels] * noise
    return X, labels


def n_parameters(n_components, n_features, covariance_type="full") -> int:
    r"""Number of free parameters of a Gaussian mixture.

    :math:`(K - 1)` weights (they sum to 1), :math:`KD` means, and covariances:
    :math:`K D (D+1)/2` (full), :math:`D (D+1)/2` (tied), :math:`KD` (diag),
    :math:`K` (spherical).
    """
    covariance_type = _check_covariance_type(covariance_type)
    K, D = n_components, n_features
    covariance_params = {
        "full": K * D * (D + 1) // 2,
        "tied": D * (D + 1) // 2,
        "diag": K * D,
        "spherical": K,
    }[covariance_type]
    return int(K - 1 + K * D + covariance_params)


def bic(X, weights, means, covariances, covariance_type="full") -> float:
    r"""Bayesian information criterion :math:`-2 \log p(X \mid \theta) + p \log n`, lower is better.

    :math:`p` is :func:`n_parameters` and :math:`n` the number of points.
    """
    _, log_likelihood = e_step(X, weights, means, covariances, covariance_type)
    n_samples, n_features = np.shape(X)
    n_params = n_parameters(len(weights), n_features, covariance_type)
    return -2 * log_likelihood + n_params * math.log(n_samples)


def aic(X, weights, means, covariances, covariance_type="full") -> float:
    r"""Akaike information criterion, :math:`-2 \log p(X \mid \theta) + 2p` (lower is better).

    :math:`p` is :func:`n_parameters`.
    """
    _, log_likelihood = e_step(X, weights, means, covariances, covariance_type)
    n_params = n_parameters(len(weights), np.shape(X)[1], covariance_type)
    return -2 * log_likelihood + 2 * n_params


def __getattr__(name: str):
    # ``from emlab.gmm import GaussianMixture`` (lesson 06) keeps working: the estimator
    # lives a floor up, in emlab.estimators, and is imported only when asked for, so this
    # module never imports upwards while it loads (tests/test_imports.py allows exactly
    # these re-exports).
    if name == "GaussianMixture":
        from emlab.estimators.gaussian_mixture import GaussianMixture

        return GaussianMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
