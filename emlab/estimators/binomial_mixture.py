"""``emlab.BinomialMixture``: the coins model fit by EM, with scikit-learn's API.

The estimator floor: starts from random responsibilities and :func:`emlab.coins.m_step`
(or the given ``thetas_init``) and runs the fast engine
:func:`emlab.engines.coins.fit_coins_fast`.
"""

from __future__ import annotations

import numbers
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from emlab.coins import log_pmf, m_step
from emlab.em import improves
from emlab.engines.coins import fit_coins_fast
from emlab.validation import check_counts, check_probabilities, check_weights

__all__ = ["BinomialMixture"]


def _check_whole_number(value, name, minimum):
    # a whole number given as a float (n_tosses=10.0) is a whole number
    whole = isinstance(value, numbers.Integral) or (
        isinstance(value, numbers.Real) and float(value).is_integer()
    )
    if isinstance(value, bool) or not whole or value < minimum:
        raise ValueError(f"{name} must be a whole number, at least {minimum}; got {value!r}.")
    return int(value)


class BinomialMixture(DensityMixin, BaseEstimator):
    """A mixture of binomials (the "coins" model), fitted by EM with :func:`fit_coins`.

    Each row of ``X`` is a trial: a coin :math:`k` is picked with probability
    :math:`\\pi_k` and tossed ``n_tosses`` times for each column :math:`j`,
    with heads probability :math:`\\theta_{kj}`; ``X[i, j]`` counts the heads.

    .. math:: p(x_i) = \\sum_k \\pi_k \\prod_j \\binom{n}{x_{ij}}
              \\theta_{kj}^{x_{ij}} (1 - \\theta_{kj})^{n - x_{ij}}

    The classic two-coins experiment is one column and ``n_components=2``.

    Parameters
    ----------
    n_components : int, default=2
        Number of coins :math:`K`.
    n_tosses : int, default=10
        Tosses per trial and column :math:`n`; every ``X[i, j]`` must lie in
        ``0 .. n_tosses``.
    learn_weights : bool, default=True
        Learn the weights :math:`\\pi`; False keeps them at ``weights_init``
        (equal by default).
    tol : float, default=1e-6
        Convergence threshold on the change in average log-likelihood per trial.
    max_iter : int, default=100
        Largest number of EM iterations of each run.
    n_init : int, default=1
        Number of starts; the run with the highest log-likelihood is kept (the first
        of those that agree to rounding, :func:`emlab.em.improves`).
    thetas_init : array-like of shape (n_components, n_features), optional
        Starting :math:`\\theta`. By default each start draws random
        responsibilities and takes an M-step from them.
    weights_init : array-like of shape (n_components,), optional
        Starting (or, without ``learn_weights``, fixed) weights; equal by default.
    random_state : int, RandomState or None, default=None
        Seed for the random starts.

    Attributes
    ----------
    thetas_ : ndarray of shape (n_components, n_features)
        Heads probabilities :math:`\\theta_{kj}`.
    weights_ : ndarray of shape (n_components,)
        Coin weights :math:`\\pi_k`.
    converged_ : bool
        Whether the best run converged.
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Average log-likelihood per trial of the best run at its final
        parameters (EM's lower bound is tight there).
    history_ : emlab.em.History
        Every iteration of the best run.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    """

    def __init__(
        self,
        n_components=2,
        *,
        n_tosses=10,
        learn_weights=True,
        tol=1e-6,
        max_iter=100,
        n_init=1,
        thetas_init=None,
        weights_init=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.n_tosses = n_tosses
        self.learn_weights = learn_weights
        self.tol = tol
        self.max_iter = max_iter
        self.n_init = n_init
        self.thetas_init = thetas_init
        self.weights_init = weights_init
        self.random_state = random_state

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_tosses": [Interval(Real, 1, None, closed="left")],
        "learn_weights": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "thetas_init": ["array-like", None],
        "weights_init": ["array-like", None],
        "random_state": ["random_state"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X holds whole, non-negative counts: the common checks then feed such data.
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def _check_X(self, X, *, reset):
        X = validate_data(self, X, dtype=np.float64, reset=reset)
        n_tosses = _check_whole_number(self.n_tosses, "n_tosses", 1)
        if np.any(X < 0):
            raise ValueError(
                f"Negative values in data passed to {type(self).__name__}: X holds heads "
                f"counts, which must lie between 0 and n_tosses={n_tosses}."
            )
        X, _ = check_counts(X, n_tosses, name="X")
        return X, n_tosses

    def _check_params(self, X):
        n_samples, n_features = X.shape
        n_components = _check_whole_number(self.n_components, "n_components", 1)
        if n_samples < n_components:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_components={n_components}: "
                "each coin needs at least one trial."
            )
        _check_whole_number(self.max_iter, "max_iter", 1)
        _check_whole_number(self.n_init, "n_init", 1)
        if not isinstance(self.tol, numbers.Real) or not np.isfinite(self.tol) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}.")
        thetas_init = None
        if self.thetas_init is not None:
            thetas_init = check_probabilities(self.thetas_init, name="thetas_init")
            if thetas_init.shape != (n_components, n_features):
                raise ValueError(
                    f"thetas_init must have shape (n_components, n_features) = "
                    f"({n_components}, {n_features}), got {thetas_init.shape}."
                )
        weights_init = np.full(n_components, 1.0 / n_components)
        if self.weights_init is not None:
            weights_init = check_weights(self.weights_init, n_components, name="weights_init")
        return thetas_init, weights_init

    def fit(self, X, y=None):
        """Fit by EM from ``n_init`` starts and keep the highest log-likelihood.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_features)
            Heads counts, whole numbers in ``0 .. n_tosses``.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X, n_tosses = self._check_X(X, reset=True)
        thetas_init, weights_init = self._check_params(X)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(1 if thetas_init is not None else self.n_init):
            start = thetas_init
            if start is None:
                random_resp = rng.uniform(size=(X.shape[0], self.n_components))
                random_resp /= random_resp.sum(axis=1, keepdims=True)
                start, _ = m_step(X, n_tosses, random_resp, learn_weights=False)
            result = fit_coins_fast(
                X,
                n_tosses,
                start,
                weights_init,
                learn_weights=self.learn_weights,
                tol=self.tol,
                max_iter=self.max_iter,
            )
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        if not best.converged:
            warnings.warn(
                f"EM did not converge in max_iter={self.max_iter} iterations; "
                "raise max_iter or tol, or try other starts.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.thetas_ = best.params["thetas"]
        self.weights_ = best.params["weights"]
        self.converged_ = best.converged
        self.n_iter_ = best.n_iter
        self.lower_bound_ = best.log_likelihood / X.shape[0]
        self.history_ = best.history
        return self

    def _log_joint(self, X):
        check_is_fitted(self)
        X, n_tosses = self._check_X(X, reset=False)
        with np.errstate(divide="ignore"):
            return np.log(self.weights_) + log_pmf(X, n_tosses, self.thetas_)

    def score_samples(self, X):
        """Log-likelihood of each trial, :math:`\\log p(x_i)`.

        Returns
        -------
        ndarray of shape (n_trials,)
        """
        return logsumexp(self._log_joint(X), axis=1)

    def score(self, X, y=None):
        """Average log-likelihood per trial, :math:`\\frac{1}{N} \\sum_i \\log p(x_i)`."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """Responsibilities :math:`r_{ik} = p(z_i = k \\mid x_i)`.

        Returns
        -------
        ndarray of shape (n_trials, n_components)
        """
        log_joint = self._log_joint(X)
        return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))

    def predict(self, X):
        """The likelier coin of each trial, :math:`\\arg\\max_k r_{ik}`."""
        return self._log_joint(X).argmax(axis=1)

    def fit_predict(self, X, y=None):
        """Fit, then :meth:`predict` the training trials."""
        return self.fit(X).predict(X)
