"""``emlab.KMeans``: k-means as hard EM, with scikit-learn's API.

The estimator floor: validates as scikit-learn does, starts from
:func:`emlab.kmeans.init_kmeans_plusplus` or :func:`emlab.kmeans.init_random` (or given
centroids, or a callable) and runs the fast engine
:func:`emlab.engines.kmeans.fit_kmeans_fast`. A Dask array is fit by
:func:`emlab.engines.distributed.fit_kmeans_dask` (one map-reduce pass per iteration),
from k-means|| starts (:func:`emlab.engines.distributed.kmeans_parallel`).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.cluster import kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from emlab.em import improves
from emlab.engines.distributed import (
    DaskData,
    fit_kmeans_dask,
    is_dask_array,
    kmeans_parallel,
    map_rows,
)
from emlab.engines.kmeans import fit_kmeans_fast, labels_and_inertia
from emlab.kmeans import _scaled_tol, init_kmeans_plusplus, init_random, squared_distances
from emlab.validation import check_data

__all__ = ["KMeans"]

#: Data whose spread exceeds this overflow float64 when squared (the inertia).
LARGEST_SPREAD = 1e152


class KMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering, fitted as hard EM with :func:`fit_kmeans`.

    Minimizes the inertia :math:`J = \\sum_i \\lVert x_i - \\mu_{z_i} \\rVert^2`
    from ``n_init`` starts and keeps the run with the lowest :math:`J` (the first of
    runs whose :math:`J` agree to rounding, :func:`emlab.em.improves`).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters :math:`K`.
    init : {"k-means++", "random"}, callable or array-like of shape (n_clusters, n_features)
        How to start: :func:`emlab.kmeans.init_kmeans_plusplus`,
        :func:`emlab.kmeans.init_random`, ``init(X, n_clusters, random_state=...)``, or
        these centroids (then a single run is made, since every run would be the same,
        with a ``RuntimeWarning`` unless ``n_init=1``, as in scikit-learn).
    n_init : "auto" or int, default=10
        Number of starts; ``"auto"`` is scikit-learn's (1 for k-means++ and given
        centroids, 10 otherwise). The default stays 10, scikit-learn's before 1.4, as
        the lessons use it.
    max_iter : int, default=300
        Largest number of iterations of each run.
    tol : float, default=1e-4
        Relative tolerance on the centroid shift (see :func:`fit_kmeans`).
    verbose : int, default=0
        Print each run's inertia per iteration (once the run is done).
    random_state : int, RandomState or None, default=None
        Seed for the starts.
    copy_x : bool, default=True
        Accepted for scikit-learn's API; ``X`` is never modified either way (the engine
        centres each chunk as it goes instead of centring ``X`` in place).
    algorithm : {"lloyd", "elkan"}, default="lloyd"
        Accepted for scikit-learn's API: both run Lloyd's iterations (Elkan's algorithm
        reaches the same centroids, only by other arithmetic).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        The centroids :math:`\\mu_k`.
    labels_ : ndarray of shape (n_samples,), int32
        The cluster of each training point.
    inertia_ : float
        :math:`J = \\sum_i w_i \\lVert x_i - \\mu_{z_i} \\rVert^2` of the best run (with
        ``sample_weight``, :math:`w_i`; 1 otherwise).
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

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), callable, "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "copy_x": ["boolean"],
        "algorithm": [StrOptions({"lloyd", "elkan"})],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init=10,
        max_iter=300,
        tol=1e-4,
        verbose=0,
        random_state=None,
        copy_x=True,
        algorithm="lloyd",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose
        self.random_state = random_state
        self.copy_x = copy_x
        self.algorithm = algorithm

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.cluster_centers_.shape[0]

    def _validate_X(self, X, *, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            accept_large_sparse=False,
        )
        if sp.issparse(X):
            # the engine works on dense chunks: a sparse X is made dense (its memory)
            X = X.toarray()
        return X

    def _check_centers(self, centers, X):
        if centers.shape[0] != self.n_clusters:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the number "
                f"of clusters {self.n_clusters}: init must have one row per cluster."
            )
        if centers.shape[1] != X.shape[1]:
            raise ValueError(
                f"The shape of the initial centers {centers.shape} does not match the number "
                f"of features of the data {X.shape[1]}: init must have one column per feature."
            )

    def _n_runs(self):
        if self.n_init != "auto":
            n_init = self.n_init
        elif isinstance(self.init, str) and self.init == "k-means++":
            n_init = 1
        elif isinstance(self.init, str) or callable(self.init):
            n_init = 10
        else:
            n_init = 1
        if not isinstance(self.init, str) and not callable(self.init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init in "
                f"KMeans instead of n_init={n_init} (every start would be the same; pass "
                "n_init=1 to say so).",
                RuntimeWarning,
                stacklevel=3,
            )
            n_init = 1
        return n_init

    def _starts(self, X, sample_weight, rng):
        """Yield the starting centroids of each run, as scikit-learn draws them."""
        if not isinstance(self.init, str) and not callable(self.init):
            init = check_data(self.init, name="init", ndim=2)
            self._check_centers(init, X)
            yield init
            return
        for _ in range(self._n_init):
            if callable(self.init):
                centers = check_data(
                    self.init(X, self.n_clusters, random_state=rng), name="init(...)", ndim=2
                )
                self._check_centers(centers, X)
                yield centers
            elif self.init == "random":
                if sample_weight is None:
                    yield init_random(X, self.n_clusters, rng)
                else:
                    p = sample_weight / sample_weight.sum()
                    chosen = rng.choice(X.shape[0], size=self.n_clusters, replace=False, p=p)
                    yield X[chosen].astype(np.float64)
            elif sample_weight is None:
                yield init_kmeans_plusplus(X, self.n_clusters, rng)
            else:
                centers, _ = kmeans_plusplus(
                    X, self.n_clusters, random_state=rng, sample_weight=sample_weight
                )
                yield centers.astype(np.float64)

    def _check_scale(self, X):
        if isinstance(X, DaskData):  # (the first pass: it also finds NaN and inf)
            spread = X.spread()
        else:
            mean = X.mean(axis=0, dtype=np.float64)  # (max and min: no (n, D) temporary)
            spread = float(max(np.max(X.max(axis=0) - mean), np.max(mean - X.min(axis=0))))
        if spread > LARGEST_SPREAD:
            raise ValueError(
                f"X's values lie up to {spread:.3g} from their mean: their squared distances "
                "(the inertia) overflow 64-bit floats. Rescale X first, for instance divide "
                "it by its standard deviation (sklearn.preprocessing.StandardScaler)."
            )

    def _validate_dask(self, X, *, reset):
        """A Dask ``X`` checked without computing it (its values: in the first pass)."""
        data = DaskData(X)
        if reset:
            self.n_features_in_ = data.D
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif data.D != self.n_features_in_:
            raise ValueError(
                f"X has {data.D} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return data

    def _dask_starts(self, data, rng):
        """The starts for a Dask ``X``: k-means||, K random points, a callable's or given."""
        if not isinstance(self.init, str) and not callable(self.init):
            init = check_data(self.init, name="init", ndim=2)
            self._check_centers(init, data)
            yield init
            return
        for _ in range(self._n_init):
            if callable(self.init):
                centers = check_data(
                    self.init(data.X, self.n_clusters, random_state=rng), name="init(...)", ndim=2
                )
                self._check_centers(centers, data)
                yield centers
            elif self.init == "random":
                yield data.take(rng.choice(data.n, size=self.n_clusters, replace=False))
            else:
                yield kmeans_parallel(data, self.n_clusters, rng)

    def _fit_dask(self, X, sample_weight):
        if sample_weight is not None:
            raise ValueError(
                "sample_weight is not supported with a Dask X yet: fit without it, or "
                "repeat or subsample the points instead."
            )
        data = self._validate_dask(X, reset=True)
        if data.n < self.n_clusters:
            raise ValueError(
                f"n_samples={data.n} should be >= n_clusters={self.n_clusters}: "
                "each cluster needs at least one point."
            )
        self._check_scale(data)
        rng = check_random_state(self.random_state)
        self._n_init = self._n_runs()
        best = None
        for start in self._dask_starts(data, rng):
            result = fit_kmeans_dask(data, start, max_iter=self.max_iter, tol=self.tol)
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        centers = best.params["centroids"]
        inertia, counts = data.map_reduce(_inertia_and_counts_block, centers)
        distinct = int(np.count_nonzero(counts))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.cluster_centers_ = centers.astype(data.dtype)
        # a Dask array: each block's labels are computed when asked for, where it lives
        self.labels_ = map_rows(data.X, _labels_block, centers, dtype=np.int32)
        self.inertia_ = float(inertia)
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.history_ = best.history
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Cluster ``X``: run k-means from ``n_init`` starts, keep the best.

        Each run uses :func:`emlab.engines.kmeans.fit_kmeans_fast`, which gives the same
        iterations as the readable :func:`emlab.kmeans.fit_kmeans` in fused matrix
        products.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each point (default: 1 each).

        Returns
        -------
        self

        Notes
        -----
        A Dask ``X`` is clustered where its blocks live, one map-reduce pass per
        iteration (:func:`emlab.engines.distributed.fit_kmeans_dask`), on the active
        ``dask.distributed`` client if there is one. From the same ``init`` centroids the
        iterations are the in-memory ones; ``init="k-means++"`` is k-means||
        (:func:`emlab.engines.distributed.kmeans_parallel`) and ``"random"`` draws K
        points without the in-memory draw's probabilities, so the same seed gives other
        starts than on a NumPy array. ``labels_`` is then a lazy Dask array.
        """
        if is_dask_array(X):
            return self._fit_dask(X, sample_weight)
        X = self._validate_X(X, reset=True)
        if X.shape[0] < self.n_clusters:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}: "
                "each cluster needs at least one point."
            )
        self._check_scale(X)
        if self.algorithm == "elkan" and self.n_clusters == 1:
            warnings.warn(
                "algorithm='elkan' doesn't make sense for a single cluster. Using 'lloyd' instead.",
                RuntimeWarning,
                stacklevel=2,
            )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        rng = check_random_state(self.random_state)
        self._n_init = self._n_runs()  # scikit-learn's attribute: the runs made
        best = None
        for run, start in enumerate(self._starts(X, weights, rng)):
            result = fit_kmeans_fast(
                X, start, max_iter=self.max_iter, tol=self.tol, sample_weight=weights
            )
            if self.verbose:
                print(f"Initialization complete (run {run})")
                for snapshot in result.history[1:]:
                    print(f"Iteration {snapshot.iteration}, inertia {-snapshot.log_likelihood}.")
                if result.converged and len(result.history) > 1:
                    last = result.history[-1].params["centroids"]
                    shift = float(((last - result.history[-2].params["centroids"]) ** 2).sum())
                    if shift == 0:
                        print(f"Converged at iteration {result.n_iter}: strict convergence.")
                    else:
                        print(
                            f"Converged at iteration {result.n_iter}: center shift {shift} "
                            f"within tolerance {_scaled_tol(X, self.tol)}."
                        )
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        centers = best.params["centroids"]
        labels, inertia = labels_and_inertia(X, centers, weights)
        distinct = len(np.unique(labels))
        if distinct < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({distinct}) found smaller than n_clusters "
                f"({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cluster_centers_ = centers.astype(X.dtype)
        self.labels_ = labels  # the last E-step's assignments
        self.inertia_ = inertia
        self.n_iter_ = best.n_iter
        self.converged_ = best.converged
        self.history_ = best.history
        return self

    def _validated(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def predict(self, X):
        """The nearest centroid of each point (:func:`emlab.kmeans.assign`).

        Returns
        -------
        labels : ndarray of shape (n_samples,), int32
            A Dask array, computed block by block, for a Dask ``X``.
        """
        if is_dask_array(X):
            check_is_fitted(self)
            data = self._validate_dask(X, reset=False)
            centers = self.cluster_centers_.astype(np.float64)
            return map_rows(data.X, _labels_block, centers, dtype=np.int32)
        return labels_and_inertia(self._validated(X), self.cluster_centers_)[0]

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X):
        """Euclidean distance from every point to every centroid.

        Returns
        -------
        ndarray of shape (n_samples, n_clusters)
            :math:`\\lVert x_i - \\mu_k \\rVert`, in the data's floating-point type; a Dask
            array for a Dask ``X``.
        """
        if is_dask_array(X):
            check_is_fitted(self)
            data = self._validate_dask(X, reset=False)
            centers = self.cluster_centers_.astype(np.float64)
            return map_rows(
                data.X, _distances_block, centers, n_columns=self.n_clusters, dtype=data.dtype
            )
        X = self._validated(X)
        distances = squared_distances(X.astype(np.float64), self.cluster_centers_)
        return np.sqrt(distances).astype(X.dtype)

    def fit_transform(self, X, y=None, sample_weight=None):
        """Fit, then return the distances of the training points to the centroids."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Minus the (weighted) inertia of ``X`` with the fitted centroids (higher is better)."""
        if is_dask_array(X):
            check_is_fitted(self)
            if sample_weight is not None:
                raise ValueError("sample_weight is not supported with a Dask X yet.")
            data = self._validate_dask(X, reset=False)
            centers = self.cluster_centers_.astype(np.float64)
            return -float(data.map_reduce(_inertia_and_counts_block, centers)[0])
        X = self._validated(X)
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
        return -labels_and_inertia(X, self.cluster_centers_, weights)[1]


# Each block of a Dask X: functions of the block and the centroids only (module-level, so
# that only they and the centroids are sent to the workers).


def _labels_block(X, centers):
    return labels_and_inertia(X, centers)[0]


def _inertia_and_counts_block(X, centers):
    labels, inertia = labels_and_inertia(X, centers)
    return inertia, np.bincount(labels, minlength=len(centers)).astype(float)


def _distances_block(X, centers):
    return np.sqrt(squared_distances(X.astype(np.float64), centers)).astype(X.dtype)
