r"""MAP-EM for Gaussian mixtures: priors against collapse.

Maximum-likelihood EM for a mixture with free covariances can walk into a
component that shrinks onto one point, where the likelihood grows without
bound (lesson 09). A prior on the parameters removes that supremum: EM then
climbs the *log posterior*

.. math::

    \log p(\theta \mid X) = \ell(\theta) + \log p(\theta) - \log p(X),
    \qquad \ell(\theta) = \sum_{i=1}^n \log \sum_{k=1}^K \pi_k \,
    \mathcal{N}(x_i \mid \mu_k, \Sigma_k),

and finds its mode, the maximum a posteriori (MAP) estimate. The E-step is
unchanged (:func:`emlab.gmm.e_step`); only the M-step changes, to
:func:`m_step_map`, which maximizes :math:`Q(\theta, \theta^{(t)}) + \log p(\theta)`.
The argument of lesson 04, with :math:`\log p(\theta)` added to both the
log-likelihood and the lower bound, then shows that the log posterior never
decreases (Dempster, Laird & Rubin 1977 already use EM for posterior modes).

The prior (:class:`GMMPrior`), with the weights independent of the components
and the components independent of each other:

* :math:`(\pi_1, \dots, \pi_K) \sim \operatorname{Dirichlet}(\alpha, \dots, \alpha)`,
  a symmetric Dirichlet, :math:`\alpha \ge 1`;
* each covariance :math:`\Sigma_k \sim \mathcal{W}^{-1}(\nu, \Psi)`, an
  inverse-Wishart with :math:`\nu > D - 1` degrees of freedom and scale matrix
  :math:`\Psi` (symmetric positive definite), and a flat prior on the means; or
* with ``kappa`` given, each pair :math:`(\mu_k, \Sigma_k)` normal-inverse-Wishart:
  :math:`\Sigma_k \sim \mathcal{W}^{-1}(\nu, \Psi)` and
  :math:`\mu_k \mid \Sigma_k \sim \mathcal{N}(m_0, \Sigma_k / \kappa)`.

:func:`default_prior` builds the data-dependent prior of Fraley & Raftery (2007),
which mclust uses. Only ``"full"`` covariances are covered here.

How this differs from scikit-learn's ``BayesianGaussianMixture``: that estimator
runs *variational* Bayes, which approximates the whole posterior distribution
over the parameters (and can switch components off through a Dirichlet process
or a sparse Dirichlet prior with :math:`\alpha < 1`); MAP-EM returns one point,
the posterior mode, and is ordinary EM with a different M-step.

References
----------
C. Fraley and A. E. Raftery, "Bayesian regularization for normal mixture
estimation and model-based clustering", *Journal of Classification* 24 (2007),
155-181 (the prior, its default and the M-step; mclust's ``priorControl``).
K. P. Murphy, *Machine Learning: a Probabilistic Perspective*, MIT Press 2012,
section 11.4.2.8 (MAP estimation in EM for mixtures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, multigammaln, xlogy

from emlab.em import EMResult, History, Snapshot, run_em
from emlab.gmm import cholesky_factors, e_step, log_gaussian
from emlab.validation import check_data, check_n_components, check_resp, check_weights

__all__ = [
    "GMMPrior",
    "MAPHistory",
    "MAPResult",
    "MAPSnapshot",
    "default_prior",
    "fit_gmm_map",
    "log_posterior",
    "log_prior",
    "m_step_map",
]


# ---------------------------------------------------------------------------
# The prior


def _check_scalar(value, *, name: str) -> float:
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a number, got {value!r}.")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


@dataclass(frozen=True, kw_only=True, eq=False)
class GMMPrior:
    r"""A conjugate prior for a Gaussian mixture with full covariances.

    .. math::

        p(\theta) = \operatorname{Dir}(\pi \mid \alpha \mathbf{1}_K)
        \prod_{k=1}^K \mathcal{W}^{-1}(\Sigma_k \mid \nu, \Psi)
        \, \bigl[\mathcal{N}(\mu_k \mid m_0, \Sigma_k / \kappa)\bigr],

    the bracket only when ``kappa`` is given (otherwise the means have a flat,
    improper prior that adds nothing to :func:`log_prior`). The densities:

    .. math::

        \log \operatorname{Dir}(\pi \mid \alpha \mathbf{1}_K)
        &= \log\Gamma(K\alpha) - K \log\Gamma(\alpha) + (\alpha - 1) \sum_k \log \pi_k, \\
        \log \mathcal{W}^{-1}(\Sigma \mid \nu, \Psi)
        &= \tfrac{\nu}{2} \log\lvert\Psi\rvert - \tfrac{\nu D}{2} \log 2
           - \log\Gamma_D(\tfrac{\nu}{2})
           - \tfrac{\nu + D + 1}{2} \log\lvert\Sigma\rvert
           - \tfrac12 \operatorname{tr}(\Psi \Sigma^{-1}),

    with :math:`\Gamma_D` the multivariate gamma function. Read the
    hyperparameters as pseudo-data: :math:`\alpha - 1` extra points in every
    component; :math:`\Psi` a scatter matrix from about :math:`\nu` extra points;
    :math:`\kappa` extra points at :math:`m_0` for the means.

    Parameters
    ----------
    nu : float
        Degrees of freedom :math:`\nu` of the inverse-Wishart; greater than
        :math:`D - 1` (the density is proper only then).
    psi : array-like of shape (n_features, n_features)
        Scale matrix :math:`\Psi`, symmetric positive definite. It sets
        :math:`D`, and a floor under every covariance of the M-step:
        :math:`\Sigma_k \succeq \Psi / (n + \nu + D + 2)`.
    alpha : float, default=1.0
        Concentration :math:`\alpha \ge 1` of the symmetric Dirichlet prior on the
        weights. 1 is flat (the weights' M-step is the maximum-likelihood one);
        :math:`\alpha > 1` pulls the weights towards :math:`1/K`. Below 1 the
        density is unbounded where a weight is 0, so the posterior has no mode.
    kappa : float or None, default=None
        :math:`\kappa > 0`: the normal-inverse-Wishart prior, whose means count
        as :math:`\kappa` points at ``m0``. ``None``: a flat prior on the means
        (inverse-Wishart on the covariances only).
    m0 : array-like of shape (n_features,) or None
        The prior mean :math:`m_0`; required with ``kappa``, not allowed without.

    Raises
    ------
    ValueError
        Naming the argument: ``alpha < 1``, ``nu <= D - 1``, ``psi`` not symmetric
        positive definite, ``kappa <= 0``, ``m0`` missing or of the wrong shape.

    See Also
    --------
    default_prior : Fraley & Raftery's data-dependent choice of all of these.
    """

    nu: float
    psi: np.ndarray
    alpha: float = 1.0
    kappa: float | None = None
    m0: np.ndarray | None = None

    def __post_init__(self):
        psi = check_data(self.psi, name="psi", ndim=2)
        n_features = psi.shape[0]
        if psi.shape != (n_features, n_features):
            raise ValueError(f"psi must be a square (D, D) matrix, got shape {psi.shape}.")
        if not np.allclose(psi, psi.T, rtol=1e-10, atol=1e-12 * np.abs(psi).max()):
            raise ValueError("psi must be symmetric positive definite; it is not symmetric.")
        try:
            np.linalg.cholesky(psi)
        except np.linalg.LinAlgError:
            raise ValueError(
                "psi must be symmetric positive definite; its Cholesky factorization failed "
                f"(smallest eigenvalue {np.linalg.eigvalsh(psi)[0]:.3g}). A scaled identity or "
                "the data's covariance (default_prior) are safe choices."
            ) from None
        alpha = _check_scalar(self.alpha, name="alpha")
        if alpha < 1:
            raise ValueError(
                f"alpha must be at least 1, got {alpha:g}: below 1 the Dirichlet density is "
                f"unbounded where a weight is 0, so the posterior has no mode. Use alpha=1 "
                f"(flat) or more; scikit-learn's BayesianGaussianMixture handles alpha < 1."
            )
        nu = _check_scalar(self.nu, name="nu")
        if nu <= n_features - 1:
            raise ValueError(
                f"nu must be greater than D - 1 = {n_features - 1} for psi of shape "
                f"{psi.shape} (an inverse-Wishart is a distribution only then), got {nu:g}. "
                f"Fraley & Raftery use nu = D + 2 = {n_features + 2}."
            )
        kappa, m0 = self.kappa, self.m0
        if kappa is None:
            if m0 is not None:
                raise ValueError(
                    "m0 is the prior mean of the normal-inverse-Wishart: give kappa too "
                    "(for instance kappa=0.01), or leave m0=None for a flat prior on the means."
                )
        else:
            kappa = _check_scalar(kappa, name="kappa")
            if kappa <= 0:
                raise ValueError(
                    f"kappa must be positive (a number of pseudo-points), got {kappa:g}; "
                    f"use kappa=None for a flat prior on the means."
                )
            if m0 is None:
                raise ValueError("m0 is required with kappa: the prior mean of the means.")
            m0 = check_data(m0, name="m0", ndim=1)
            if m0.shape != (n_features,):
                raise ValueError(
                    f"m0 must have {n_features} entries, one per feature (psi is {psi.shape}); "
                    f"got {m0.shape[0]}."
                )
        for name, value in (("psi", psi), ("alpha", alpha), ("nu", nu), ("kappa", kappa)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "m0", m0)

    @property
    def n_features(self) -> int:
        """:math:`D`, the dimension the prior is for."""
        return self.psi.shape[0]


def default_prior(X, n_components, *, alpha=1.0, kappa=0.01) -> GMMPrior:
    r"""Fraley & Raftery's (2007) data-dependent prior, for ``n_components`` full covariances.

    .. math::

        m_0 = \bar x, \qquad \kappa = 0.01, \qquad \nu = D + 2, \qquad
        \Psi = \frac{S_X}{K^{2/D}},

    with :math:`\bar x` the data's mean and :math:`S_X` its sample covariance
    (divisor :math:`n - 1`). :math:`\nu = D + 2` is the smallest whole number of
    degrees of freedom for which an inverse-Wishart has a mean,
    :math:`\Psi / (\nu - D - 1) = \Psi`: the prior guesses that each of :math:`K`
    components fills a :math:`1/K` share of the data's volume
    (:math:`\lvert\Psi\rvert^{1/2} = \lvert S_X\rvert^{1/2} / K`). :math:`\kappa = 0.01`
    makes the prior on the means nearly flat. mclust's ``priorControl()`` uses
    these values for its ellipsoidal model ("VVV").

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The data; needs at least :math:`D + 1` points in general position, so that
        :math:`S_X` is positive definite.
    n_components : int
        :math:`K`.
    alpha : float, default=1.0
        The Dirichlet concentration (Fraley & Raftery put no prior on the weights,
        which is ``alpha=1``).
    kappa : float or None, default=0.01
        ``None`` for a flat prior on the means (then no ``m0``).

    Returns
    -------
    GMMPrior
    """
    X = check_data(X, min_samples=2)
    n_features = X.shape[1]
    n_components = check_n_components(n_components, X.shape[0])
    scale = np.atleast_2d(np.cov(X, rowvar=False)) / n_components ** (2 / n_features)
    try:
        np.linalg.cholesky(scale)
    except np.linalg.LinAlgError:
        raise ValueError(
            "X's sample covariance is singular (fewer than D + 1 distinct points, or a "
            "feature that is constant or a combination of others): drop such features or "
            "give GMMPrior a psi yourself."
        ) from None
    return GMMPrior(
        nu=n_features + 2,
        psi=scale,
        alpha=alpha,
        kappa=kappa,
        m0=None if kappa is None else X.mean(axis=0),
    )


def _check_prior(prior, n_features: int) -> GMMPrior:
    if not isinstance(prior, GMMPrior):
        raise ValueError(
            f"prior must be a GMMPrior (see default_prior), got {type(prior).__name__}."
        )
    if prior.n_features != n_features:
        raise ValueError(
            f"prior is for D = {prior.n_features} features (psi is {prior.psi.shape}) but the "
            f"data have {n_features}; build it from the same data (default_prior(X, K))."
        )
    return prior


def _check_params(params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(params, dict) or not {"weights", "means", "covariances"} <= set(params):
        raise ValueError(
            'params must be a dict with the keys "weights", "means" and "covariances" '
            "(EMResult.params is one)."
        )
    weights = check_weights(params["weights"])
    means = check_data(params["means"], name="means", ndim=2)
    if means.shape[0] != len(weights):
        raise ValueError(
            f"means must have one row per component ({len(weights)}), got {means.shape[0]}."
        )
    return weights, means, params["covariances"]


# ---------------------------------------------------------------------------
# The MAP M-step and the objective


def m_step_map(X, resp, prior: GMMPrior):
    r"""MAP M-step: the weights, means and covariances that maximize :math:`Q + \log p(\theta)`.

    With the responsibilities :math:`r_{ik}` held fixed, the M-step maximizes the
    expected complete-data log posterior

    .. math::

        Q(\theta, \theta^{(t)}) + \log p(\theta)
        = \sum_{i=1}^n \sum_{k=1}^K r_{ik}
          \bigl[\log \pi_k + \log \mathcal{N}(x_i \mid \mu_k, \Sigma_k)\bigr]
          + \log p(\theta).

    With :math:`N_k = \sum_i r_{ik}` (so :math:`\sum_k N_k = n`) the terms split
    into one problem for the weights and one per component.

    **Weights.** The terms in :math:`\pi` are
    :math:`\sum_k (N_k + \alpha - 1) \log \pi_k`; with a Lagrange multiplier for
    :math:`\sum_k \pi_k = 1`, :math:`\pi_k \propto N_k + \alpha - 1`:

    .. math::

        \pi_k = \frac{N_k + \alpha - 1}{n + K(\alpha - 1)}.

    (Every numerator is :math:`\ge 0` because :math:`\alpha \ge 1`.)

    **Means.** The terms in :math:`\mu_k` are
    :math:`-\frac12 \sum_i r_{ik} (x_i - \mu_k)^\top \Sigma_k^{-1} (x_i - \mu_k)
    - \frac{\kappa}{2} (\mu_k - m_0)^\top \Sigma_k^{-1} (\mu_k - m_0)`. The gradient
    :math:`\Sigma_k^{-1} [\sum_i r_{ik} (x_i - \mu_k) - \kappa (\mu_k - m_0)]` is
    zero, whatever :math:`\Sigma_k`, at

    .. math::

        \mu_k = \frac{\sum_i r_{ik} x_i + \kappa m_0}{N_k + \kappa},

    the weighted mean with :math:`\kappa` extra points at :math:`m_0` (with a flat
    prior on the means, :math:`\kappa = 0`: the maximum-likelihood mean).

    **Covariances.** In the precision :math:`\Lambda_k = \Sigma_k^{-1}` the terms are
    :math:`\frac{c_k}{2} \log\lvert\Lambda_k\rvert - \frac12 \operatorname{tr}(\Lambda_k B_k)`,
    where each Gaussian factor :math:`\mathcal{N}(\cdot \mid \cdot, \Sigma_k)` brings
    :math:`\frac12 \log\lvert\Lambda_k\rvert` (weighted by :math:`r_{ik}` for the
    data, :math:`N_k` in all; once for the prior on :math:`\mu_k`) and the inverse-Wishart
    :math:`\frac{\nu + D + 1}{2} \log\lvert\Lambda_k\rvert`, so
    :math:`c_k = N_k + \nu + D + 2` (normal-inverse-Wishart) or
    :math:`c_k = N_k + \nu + D + 1` (flat prior on the means), and

    .. math::

        B_k = \Psi + \sum_i r_{ik} (x_i - \mu_k)(x_i - \mu_k)^\top
              + \kappa (\mu_k - m_0)(\mu_k - m_0)^\top

    (the last term only with :math:`\kappa`). The gradient
    :math:`\frac12 (c_k \Lambda_k^{-1} - B_k)` is zero at

    .. math::

        \Sigma_k = \frac{B_k}{c_k},

    a maximum since the terms are concave in :math:`\Lambda_k`. With the mean
    plugged in, :math:`B_k = \Psi + S_k + \frac{\kappa N_k}{\kappa + N_k}
    (\bar x_k - m_0)(\bar x_k - m_0)^\top`, with :math:`\bar x_k` and :math:`S_k` the
    weighted mean and scatter of the component: Fraley & Raftery's (2007) formula.

    **No collapse.** :math:`B_k \succeq \Psi` and :math:`c_k \le n + \nu + D + 2`, so
    every covariance has :math:`\Sigma_k \succeq \Psi / (n + \nu + D + 2)`: its
    smallest eigenvalue is at least :math:`\lambda_{\min}(\Psi) / (n + \nu + D + 2)`,
    however few points the component holds. No ``reg_covar`` is needed or added.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    resp : array-like of shape (n_samples, n_components)
        Responsibilities :math:`r_{ik}` from the E-step (:func:`emlab.gmm.e_step`).
    prior : GMMPrior
        :math:`\alpha`, :math:`\nu`, :math:`\Psi` and, for the normal-inverse-Wishart,
        :math:`\kappa` and :math:`m_0`.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)

    See Also
    --------
    emlab.gmm.m_step : the maximum-likelihood M-step, which this one becomes
        for :math:`\alpha = 1`, a flat prior on the means and :math:`\Psi \to 0`,
        :math:`\nu \to -(D + 1)` (outside the inverse-Wishart's range: the
        maximum-likelihood estimate is no posterior mode).
    """
    X = check_data(X)
    resp = check_resp(resp, len(X))
    prior = _check_prior(prior, X.shape[1])
    n_components, n_features = resp.shape[1], X.shape[1]
    nk = resp.sum(axis=0)  # N_k
    weights = (nk + prior.alpha - 1) / (nk.sum() + n_components * (prior.alpha - 1))
    if prior.kappa is None:  # flat prior on the means: the weighted mean
        means = resp.T @ X / (nk + 10 * np.finfo(float).eps)[:, np.newaxis]
        c = nk + prior.nu + n_features + 1
    else:  # kappa pseudo-points at m0
        means = (resp.T @ X + prior.kappa * prior.m0) / (nk + prior.kappa)[:, np.newaxis]
        c = nk + prior.nu + n_features + 2
    covariances = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        weighted = np.sqrt(resp[:, k])[:, np.newaxis] * (X - means[k])
        B = prior.psi + weighted.T @ weighted  # Psi + sum_i r_ik (x_i - mu_k)(x_i - mu_k)^T
        if prior.kappa is not None:
            B += prior.kappa * np.outer(means[k] - prior.m0, means[k] - prior.m0)
        covariances[k] = B / c[k]
    return weights, means, covariances


def log_prior(params, prior: GMMPrior) -> float:
    r"""The log prior density :math:`\log p(\theta)` of a mixture's parameters.

    .. math::

        \log p(\theta) = \log \operatorname{Dir}(\pi \mid \alpha \mathbf{1}_K)
        + \sum_{k=1}^K \Bigl[\log \mathcal{W}^{-1}(\Sigma_k \mid \nu, \Psi)
        + \log \mathcal{N}(\mu_k \mid m_0, \Sigma_k / \kappa)\Bigr],

    the last term only with ``prior.kappa`` (see :class:`GMMPrior` for the
    densities). Normalized densities throughout (``scipy.special.gammaln`` and
    ``multigammaln``), so the value can be compared with ``scipy.stats``. Through
    the Cholesky factor :math:`\Sigma_k = L_k L_k^\top`:
    :math:`\log\lvert\Sigma_k\rvert = 2 \sum_d \log (L_k)_{dd}` and
    :math:`\operatorname{tr}(\Psi \Sigma_k^{-1}) = \lVert L_k^{-1} C \rVert_F^2`
    with :math:`\Psi = C C^\top`.

    Parameters
    ----------
    params : dict
        ``"weights"`` (K,), ``"means"`` (K, D), ``"covariances"`` (K, D, D), as in
        :attr:`emlab.em.EMResult.params`.
    prior : GMMPrior

    Returns
    -------
    float
        :math:`-\infty` when a weight is 0 and :math:`\alpha > 1` (the prior density is 0 there).
    """
    weights, means, covariances = _check_params(params)
    n_components, n_features = means.shape
    prior = _check_prior(prior, n_features)
    L = cholesky_factors(covariances, "full", n_components, n_features)
    alpha, nu = prior.alpha, prior.nu
    with np.errstate(divide="ignore"):
        log_dirichlet = (
            gammaln(n_components * alpha)
            - n_components * gammaln(alpha)
            + xlogy(alpha - 1, weights).sum()  # (alpha - 1) log pi_k, 0 when alpha = 1
        )
    C = np.linalg.cholesky(prior.psi)
    log_det_psi = 2 * np.log(np.diagonal(C)).sum()
    log_norm = (
        0.5 * nu * log_det_psi
        - 0.5 * nu * n_features * np.log(2)
        - multigammaln(0.5 * nu, n_features)
    )
    log_det = 2 * np.log(np.diagonal(L, axis1=1, axis2=2)).sum(axis=1)  # log |Sigma_k|
    trace = np.sum(np.linalg.solve(L, np.broadcast_to(C, L.shape)) ** 2, axis=(1, 2))
    log_inv_wishart = log_norm - 0.5 * (nu + n_features + 1) * log_det - 0.5 * trace
    total = log_dirichlet + log_inv_wishart.sum()
    if prior.kappa is not None:  # log N(mu_k | m0, Sigma_k / kappa) = log N(m0 | mu_k, ...)
        total += log_gaussian(prior.m0[np.newaxis], means, covariances / prior.kappa).sum()
    return float(total)


def log_posterior(X, params, prior: GMMPrior) -> float:
    r"""The objective of MAP-EM: :math:`\ell(\theta) + \log p(\theta)`.

    .. math::

        \log p(\theta \mid X) + \log p(X)
        = \sum_{i=1}^n \log \sum_{k=1}^K \pi_k \, \mathcal{N}(x_i \mid \mu_k, \Sigma_k)
          + \log p(\theta),

    the log posterior up to the constant :math:`\log p(X)`, which no one can
    compute and no comparison between parameters needs. Both terms in log space
    (:func:`emlab.gmm.e_step`, :func:`log_prior`).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    params : dict
        ``"weights"``, ``"means"``, ``"covariances"`` (full).
    prior : GMMPrior

    Returns
    -------
    float
    """
    weights, means, covariances = _check_params(params)
    _, log_likelihood = e_step(X, weights, means, covariances, "full")
    return log_likelihood + log_prior(params, prior)


# ---------------------------------------------------------------------------
# Running MAP-EM


@dataclass(frozen=True)
class MAPSnapshot(Snapshot):
    """A :class:`emlab.em.Snapshot` that also holds the log posterior.

    Attributes
    ----------
    log_posterior : float
        :math:`\\ell(\\theta^{(t)}) + \\log p(\\theta^{(t)})`, the objective of
        MAP-EM (``log_likelihood`` keeps :math:`\\ell(\\theta^{(t)})` alone).
    """

    log_posterior: float = math.nan


class MAPHistory(History):
    """A :class:`emlab.em.History` of :class:`MAPSnapshot`, with the log posterior."""

    @property
    def log_posterior(self) -> np.ndarray:
        """Log posterior (up to a constant) at each iteration, shape (n_iterations + 1,)."""
        return np.array([snap.log_posterior for snap in self])


@dataclass
class MAPResult(EMResult):
    """What :func:`fit_gmm_map` returns: an :class:`emlab.em.EMResult` plus the objective.

    Attributes
    ----------
    log_posterior : float
        :math:`\\ell(\\theta) + \\log p(\\theta)` at the final parameters
        (``log_likelihood`` is :math:`\\ell(\\theta)` alone).
    """

    log_posterior: float = math.nan


def fit_gmm_map(
    X,
    weights,
    means,
    covariances,
    prior: GMMPrior | None = None,
    tol=1e-3,
    max_iter=100,
    record_resp=False,
) -> MAPResult:
    r"""Fit a Gaussian mixture (full covariances) by MAP-EM from the given start.

    :func:`emlab.em.run_em` with :func:`emlab.gmm.e_step` and :func:`m_step_map`.
    The objective is the log posterior :math:`\ell(\theta) + \log p(\theta)`
    (:func:`log_posterior`): it never decreases, since the M-step maximizes
    :math:`Q + \log p(\theta)` exactly, and it is bounded above, so a component
    cannot collapse. The log-*likelihood* alone can decrease: the prior pulls.
    Convergence: the change in the average log posterior,
    :math:`\lvert \Delta \log p(\theta \mid X) \rvert / n <` ``tol``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights, means, covariances : array-like
        The starting parameters :math:`\theta^{(0)}`, covariances of shape (K, D, D).
    prior : GMMPrior, optional
        By default :func:`default_prior` ``(X, K)``, Fraley & Raftery's.
    tol : float, default=1e-3
    max_iter : int, default=100
    record_resp : bool, default=False
        Keep the responsibilities of every iteration in the history.

    Returns
    -------
    MAPResult
        ``params`` has the keys ``"weights"``, ``"means"``, ``"covariances"``;
        ``history`` is a :class:`MAPHistory`, whose ``log_posterior`` is the
        objective at every iteration and ``log_likelihood`` :math:`\ell` alone.
    """
    X = check_data(X)
    weights = check_weights(weights)
    check_n_components(len(weights), len(X), name="len(weights)")
    prior = default_prior(X, len(weights)) if prior is None else _check_prior(prior, X.shape[1])
    params = {"weights": weights, "means": means, "covariances": covariances}
    log_likelihoods = []  # l(theta^(t)) of each E-step, in order: index t

    def map_e_step(X, params):
        resp, log_likelihood = e_step(
            X, params["weights"], params["means"], params["covariances"], "full"
        )
        log_likelihoods.append(log_likelihood)
        return resp, log_likelihood + log_prior(params, prior)  # the objective

    def map_m_step(X, resp):
        return dict(
            zip(("weights", "means", "covariances"), m_step_map(X, resp, prior), strict=True)
        )

    result = run_em(
        X, params, map_e_step, map_m_step, tol=tol, max_iter=max_iter, record_resp=record_resp
    )
    history = MAPHistory(
        MAPSnapshot(snap.iteration, snap.params, float(ll), snap.resp, snap.log_likelihood)
        for snap, ll in zip(result.history, log_likelihoods, strict=True)
    )
    return MAPResult(
        params=result.params,
        resp=result.resp,
        log_likelihood=history[-1].log_likelihood,
        n_iter=result.n_iter,
        converged=result.converged,
        history=history,
        log_posterior=history[-1].log_posterior,
    )
