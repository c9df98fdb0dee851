"""``emlab.KMeans``: k-means as hard EM, with scikit-learn's API.

The estimator floor: starts from :func:`emlab.kmeans.init_kmeans_plusplus` or
:func:`emlab.kmeans.init_random` (or given centroids) and runs the fast engine
:func:`emlab.engines.kmeans.fit_kmeans_fast`.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emlab.em import improves
from emlab.engines.kmeans import fit_kmeans_fast
from emlab.kmeans import (
    assign,
    inertia,
    init_kmeans_plusplus,
    init_random,
    squared_distances,
)
from emlab.validation import check_data

__all__ = ["KMeans"]


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering, fitted as hard EM with :func:`fit_kmeans`.

    Minimizes the inertia :math:`J = \\sum_i \\lVert x_i - \\mu_{z_i} \\rVert^2`
    from ``n_init`` starts and keeps the run with the lowest :math:`J` (the first of
    runs whose :math:`J` agree to rounding, :func:`emlab.em.improves`).

    Parameters
    ----------
    n_clusters : int, default=3
        Number of clusters :math:`K`.
    init : {"k-means++", "random"} or array-like of shape (n_clusters, n_features)
        How to start: :func:`init_kmeans_plusplus`, :func:`init_random`, or these
        centroids (then a single run is made, since every run would be the same, with a
        ``RuntimeWarning`` unless ``n_init=1``, as in scikit-learn).
    n_init : int, default=10
        Number of starts.
    max_iter : int, default=300
        Largest number of iterations of each run.
    tol : float, default=1e-4
        Relative tolerance on the centroid shift (see :func:`fit_kmeans`).
    random_state : int, RandomState or None, default=None
        Seed for the starts.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centroids :math:`\\mu_k`.
    labels_ : ndarray of shape (n_samples,)
        The cluster of each training point.
    inertia_ : float
        :math:`J` of the best run.
    n_iter_ : int
        Iterations of the best run.
    converged_ : bool
        Whether the best run converged before ``max_iter``.
    history_ : emlab.em.History
        Every iteration of the best run (``-history_.log_likelihood`` is the
        inertia per iteration).
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    """

    def __init__(
        self,
        n_clusters=3,
        *,
        init="k-means++",
        n_init=10,
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _check_params(self, X):
        n_samples, n_features = X.shape
        n_clusters = self.n_clusters
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
            raise ValueError(f"n_clusters must be a whole number, got {n_clusters!r}.")
        if n_clusters < 1:
            raise ValueError(f"n_clusters must be at least 1, got {n_clusters}.")
        if n_samples < n_clusters:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_clusters={n_clusters}: "
                "each cluster needs at least one point."
            )
        if isinstance(self.n_init, bool) or not isinstance(self.n_init, numbers.Integral):
            raise ValueError(f"n_init must be a whole number, got {self.n_init!r}.")
        if self.n_init < 1:
            raise ValueError(f"n_init must be at least 1, got {self.n_init}.")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, numbers.Integral):
            raise ValueError(f"max_iter must be a whole number, got {self.max_iter!r}.")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be at least 1, got {self.max_iter}.")
        if not isinstance(self.tol, numbers.Real) or not np.isfinite(self.tol) or self.tol < 0:
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}.")
        if isinstance(self.init, str):
            if self.init not in ("k-means++", "random"):
                raise ValueError(
                    f'init must be "k-means++", "random" or an array of centroids, '
                    f"got {self.init!r}."
                )
            return None
        init = check_data(self.init, name="init", ndim=2)
        if init.shape != (n_clusters, n_features):
            raise ValueError(
                f"init must have shape (n_clusters, n_features) = ({n_clusters}, {n_features}), "
                f"got {init.shape}."
            )
        if self.n_init != 1:  # as scikit-learn's KMeans does
            warnings.warn(
                f"init is an array of centroids, so every start would be the same: one run is "
                f"made, not n_init={self.n_init}. Pass n_init=1 to say so.",
                RuntimeWarning,
                stacklevel=3,
            )
        return init

    def fit(self, X, y=None):
        """Cluster ``X``: run k-means from ``n_init`` starts, keep the best.

        Each run uses :func:`emlab.engines.kmeans.fit_kmeans_fast`, which gives the same
        iterations as the readable :func:`fit_kmeans` in fused matrix products.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = validate_data(self, X, dtype=np.float64)
        init_array = self._check_params(X)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(1 if init_array is not None else self.n_init):
            if init_array is not None:
                start = init_array
            elif self.init == "random":
                start = init_random(X, self.n_clusters, rng)
            else:
                start = init_kmeans_plusplus(X, self.n_clusters, rng)
            result = fit_kmeans_fast(X, start, max_iter=self.max_iter, tol=self.tol)
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        self.cluster_centers_ = best.params["centroids"]
        self.labels_ = assign(X, self.cluster_centers_)  # the last E-step's assignments
        self.inertia_ = -best.log_likelihood
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.history_ = best.history
        return self

    def _validated(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=np.float64, reset=False)

    def predict(self, X):
        """The nearest centroid of each point (:func:`assign`).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return assign(self._validated(X), self.cluster_centers_)

    def fit_predict(self, X, y=None):
        """Fit, then return ``labels_``."""
        return self.fit(X).labels_

    def transform(self, X):
        """Euclidean distance from every point to every centroid.

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
            :math:`\\lVert x_i - \\mu_k \\rVert`.
        """
        return np.sqrt(squared_distances(self._validated(X), self.cluster_centers_))

    def fit_transform(self, X, y=None):
        """Fit, then return the distances of the training points to the centroids."""
        return self.fit(X).transform(X)

    def score(self, X, y=None):
        """Minus the inertia of ``X`` with the fitted centroids (higher is better)."""
        return -inertia(self._validated(X), self.cluster_centers_)
