"""``emlab.GaussianMixture``: a Gaussian mixture fit by EM, with scikit-learn's API.

The estimator floor: it validates as scikit-learn does, starts from :func:`emlab.gmm.init_params`
(or the given ``*_init``), and runs the fast engine :func:`emlab.engines.gmm.fit_gmm_fast`
(or, with ``record_resp=True``, the readable :func:`emlab.gmm.fit_gmm`).
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from emlab.em import EMResult, improves
from emlab.engines.gmm import fit_gmm_fast
from emlab.gmm import (
    COVARIANCE_TYPES,
    INIT_METHODS,
    _check_means,
    cholesky_factors,
    fit_gmm,
    init_params,
    log_gaussian,
    n_parameters,
    sample,
)
from emlab.validation import check_n_components, check_weights

__all__ = ["GaussianMixture"]


class GaussianMixture(DensityMixin, BaseEstimator):
    r"""Gaussian mixture fit by EM, with scikit-learn's API and EM Lab's history.

    Same model, parameters and M-step as :class:`sklearn.mixture.GaussianMixture`,
    with two differences: the start is given by ``covariances_init`` (not
    precisions), and the fit keeps its whole trajectory in ``history_``.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        EM stops when the average log-likelihood per point changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the variances at every M-step; keeps collapsing components
        positive definite (a :class:`CollapseWarning` says when it does).
    max_iter : int, default=100
        Largest number of M-steps; 0 keeps the initialization.
    n_init : int, default=1
        Number of starts; the one with the highest final log-likelihood is kept (the
        first of those that agree to rounding, :func:`emlab.em.improves`).
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How to start when not every ``*_init`` is given (see :func:`init_params`).
    weights_init, means_init, covariances_init : array-like, default=None
        Starting parameters; each given one overrides ``init_params``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.
    record_resp : bool, default=False
        Keep the responsibilities of every iteration in ``history_``.

    Attributes
    ----------
    weights_, means_, covariances_ : ndarray
        The fitted parameters (covariances stored as ``covariance_type`` says).
    precisions_ : ndarray
        Inverses of the covariances.
    precisions_cholesky_ : ndarray
        Upper-triangular :math:`U_k` with :math:`\Sigma_k^{-1} = U_k U_k^\top`
        (scikit-learn's convention).
    converged_ : bool
    n_iter_ : int
        Number of M-steps of the best start.
    lower_bound_ : float
        Mean log-likelihood per point at the final parameters,
        :math:`\frac1n \log p(X \mid \hat\theta)`.
    history_ : emlab.em.History
        Every iteration of the best start.
    n_features_in_ : int

    Notes
    -----
    How the iterations line up with scikit-learn's: here ``history_[0]`` is the
    start :math:`\theta^{(0)}`, every iteration is an M-step followed by an
    E-step, and ``history_[t].log_likelihood`` is the *total* log-likelihood at
    the parameters :math:`\theta^{(t)}` after :math:`t` M-steps. scikit-learn's
    iteration :math:`t` is an E-step then an M-step, and its ``lower_bounds_[t-1]``
    (1-based iteration :math:`t`) is the *mean* log-likelihood at
    :math:`\theta^{(t-1)}`, so

    .. math::

        \texttt{lower\_bounds\_}[t-1] = \texttt{history\_}[t-1]\texttt{.log\_likelihood} / n.

    With the same start, ``tol=0`` and ``max_iter=N`` both end at
    :math:`\theta^{(N)}`. With ``tol > 0`` this estimator stops one M-step
    earlier than scikit-learn (it tests the change just after the E-step), and
    its ``lower_bound_`` is the mean log-likelihood of the parameters it returns.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "covariances_init": ["array-like", None],
        "random_state": ["random_state"],
        "record_resp": ["boolean"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        covariances_init=None,
        random_state=None,
        record_resp=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.random_state = random_state
        self.record_resp = record_resp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # EM needs every coordinate of every point
        tags.input_tags.sparse = False
        return tags

    def _validate_X(self, X, *, reset):
        try:
            return validate_data(
                self, X, reset=reset, dtype=np.float64, ensure_min_samples=2 if reset else 1
            )
        except ValueError as exc:
            raise ValueError(f"Invalid X: {exc}") from None

    def _start(self, X, random_state):
        """Starting (weights, means, covariances): the given ``*_init``, else ``init_params``."""
        given = (self.weights_init, self.means_init, self.covariances_init)
        if all(value is not None for value in given):
            return tuple(np.asarray(value, dtype=float) for value in given)
        start = init_params(
            X,
            self.n_components,
            self.init_params,
            random_state,
            self.covariance_type,
            self.reg_covar,
        )
        return tuple(
            s if g is None else np.asarray(g, dtype=float)
            for s, g in zip(start, given, strict=True)
        )

    def _check_init(self, n_features):
        K = self.n_components
        if self.weights_init is not None:
            check_weights(self.weights_init, K, name="weights_init")
        if self.means_init is not None:
            _check_means(self.means_init, K, n_features, name="means_init")
        if self.covariances_init is not None:
            cholesky_factors(
                self.covariances_init, self.covariance_type, K, n_features, name="covariances_init"
            )

    def fit(self, X, y=None):
        """Fit the mixture by EM, ``n_init`` times, keeping the best start.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : GaussianMixture
        """
        self._validate_params()
        X = self._validate_X(X, reset=True)
        check_n_components(self.n_components, X.shape[0])
        self._check_init(X.shape[1])
        random_state = check_random_state(self.random_state)
        best = None
        for _ in range(self.n_init):
            weights, means, covariances = self._start(X, random_state)
            # the fast engine unless the responsibilities are to be recorded (same numbers)
            engine = fit_gmm if self.record_resp else fit_gmm_fast
            result = engine(
                X,
                weights,
                means,
                covariances,
                self.covariance_type,
                tol=self.tol,
                max_iter=self.max_iter,
                reg_covar=self.reg_covar,
                **({"record_resp": True} if self.record_resp else {}),
            )
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Increase max_iter or tol, "
                "try another start (init_params, n_init), or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_params_from(best, X.shape[0])
        return self

    def _set_params_from(self, result: EMResult, n_samples: int) -> None:
        self.weights_ = result.params["weights"]
        self.means_ = result.params["means"]
        self.covariances_ = result.params["covariances"]
        L = cholesky_factors(self.covariances_, self.covariance_type, *self.means_.shape)
        if self.covariance_type in ("full", "tied"):
            identity = np.eye(self.means_.shape[1])
            inv_L = np.stack([solve_triangular(Lk, identity, lower=True) for Lk in L])
            self.precisions_cholesky_ = inv_L.swapaxes(1, 2)  # U_k = L_k^{-T}
            self.precisions_ = self.precisions_cholesky_ @ inv_L  # L_k^{-T} L_k^{-1}
            if self.covariance_type == "tied":
                self.precisions_cholesky_ = self.precisions_cholesky_[0]
                self.precisions_ = self.precisions_[0]
        else:
            self.precisions_cholesky_ = 1.0 / np.sqrt(self.covariances_)
            self.precisions_ = 1.0 / self.covariances_
        self.converged_ = bool(result.converged)
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = result.log_likelihood / n_samples
        self.history_ = result.history

    def _log_prob(self, X):
        """log pi_k + log N(x_i | mu_k, Sigma_k), shape (n_samples, n_components)."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        with np.errstate(divide="ignore"):
            return np.log(self.weights_) + log_gaussian(
                X, self.means_, self.covariances_, self.covariance_type
            )

    def fit_predict(self, X, y=None):
        """Fit, then return the most responsible component of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X).predict(X)

    def predict(self, X):
        """Most responsible component :math:`\\arg\\max_k r_{ik}` of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return np.argmax(self._log_prob(X), axis=1)

    def predict_proba(self, X):
        """Responsibilities :math:`r_{ik}` of each component for each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        log_prob = self._log_prob(X)
        return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))

    def score_samples(self, X):
        """Log-density :math:`\\log p(x_i \\mid \\theta)` of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        return logsumexp(self._log_prob(X), axis=1)

    def score(self, X, y=None):
        """Mean log-likelihood per point, :math:`\\frac1n \\sum_i \\log p(x_i \\mid \\theta)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Draw points from the fitted mixture (see :func:`sample`).

        The points come in the order they were drawn, each component picked at random
        per point, as the model tells the story; scikit-learn's ``sample`` returns the
        same kind of sample grouped by component (all of component 0 first).

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a whole number, at least 1; got {n_samples!r}.")
        return sample(
            self.weights_,
            self.means_,
            self.covariances_,
            n_samples,
            self.covariance_type,
            self.random_state,
        )

    def _n_parameters(self):
        return n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better); see :func:`bic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return -2 * self.score(X) * X.shape[0] + self._n_parameters() * math.log(X.shape[0])

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better); see :func:`aic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return -2 * self.score(X) * X.shape[0] + 2 * self._n_parameters()
