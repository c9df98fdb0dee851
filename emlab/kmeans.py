"""k-means as *hard* EM.

k-means is EM in which every point belongs wholly to one cluster. With data
:math:`x_1, \\dots, x_n \\in \\mathbb{R}^d` and centroids
:math:`\\mu_1, \\dots, \\mu_K`, it alternates

* **E-step** (:func:`assign`): :math:`z_i = \\arg\\min_k \\lVert x_i - \\mu_k \\rVert^2`,
  each point goes to its nearest centroid;
* **M-step** (:func:`update`): :math:`\\mu_k = \\frac{1}{n_k} \\sum_{i : z_i = k} x_i`,
  each centroid moves to the mean of its points;

and each step lowers (never raises) the *inertia*
:math:`J = \\sum_i \\lVert x_i - \\mu_{z_i} \\rVert^2` (:func:`inertia`).
:func:`fit_kmeans` runs the two steps through the shared loop
:func:`emlab.em.run_em`, with :math:`-J` in the place of the log-likelihood, and
:class:`emlab.KMeans` (:mod:`emlab.estimators.kmeans`) wraps it all as a scikit-learn
estimator with restarts.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import kmeans_plusplus
from sklearn.utils import check_random_state

from emlab.em import EMResult, run_em
from emlab.validation import check_data, check_n_components

__all__ = [
    "assign",
    "fit_kmeans",
    "inertia",
    "init_kmeans_plusplus",
    "init_random",
    "squared_distances",
    "update",
]


# ---------------------------------------------------------------------------
# Checks shared by the lesson-level functions
# ---------------------------------------------------------------------------


def _check_centroids(centroids, X: np.ndarray, *, name: str = "centroids") -> np.ndarray:
    """``centroids`` as a finite (n_clusters, n_features) array matching ``X``."""
    centroids = check_data(centroids, name=name, ndim=2)
    if centroids.shape[1] != X.shape[1]:
        raise ValueError(
            f"{name} must have one column per feature of X ({X.shape[1]}), "
            f"got an array of shape {centroids.shape}."
        )
    return centroids


def _check_labels(labels, n_samples: int, n_clusters: int) -> np.ndarray:
    """``labels`` as a 1-D integer array of cluster indices in ``[0, n_clusters)``."""
    labels = np.asarray(labels)
    if labels.shape != (n_samples,):
        raise ValueError(
            f"labels must have shape ({n_samples},), one per point; got {labels.shape}."
        )
    if labels.dtype.kind not in "iu" and not (
        labels.dtype.kind == "f" and np.all(labels == np.round(labels))
    ):
        raise ValueError(
            f"labels must be whole numbers (cluster indices), got dtype {labels.dtype}."
        )
    labels = labels.astype(np.intp)
    if np.any((labels < 0) | (labels >= n_clusters)):
        raise ValueError(f"labels must lie between 0 and {n_clusters - 1}, one per centroid.")
    return labels


def _check_random_init(X, n_clusters):
    X = check_data(X)
    n_clusters = check_n_components(n_clusters, X.shape[0], name="n_clusters")
    return X, n_clusters


# ---------------------------------------------------------------------------
# Lesson-level functions
# ---------------------------------------------------------------------------


def squared_distances(X, centroids) -> np.ndarray:
    """Squared Euclidean distance from every point to every centroid.

    .. math:: D_{ik} = \\lVert x_i - \\mu_k \\rVert^2 = \\sum_{j=1}^d (x_{ij} - \\mu_{kj})^2

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points :math:`x_i`.
    centroids : array-like of shape (n_clusters, n_features)
        The centroids :math:`\\mu_k`.

    Returns
    -------
    ndarray of shape (n_samples, n_clusters)
    """
    X = check_data(X)
    centroids = _check_centroids(centroids, X)
    return np.stack([((X - centroid) ** 2).sum(axis=1) for centroid in centroids], axis=1)


def assign(X, centroids) -> np.ndarray:
    """E-step of k-means: send every point to its nearest centroid.

    .. math:: z_i = \\arg\\min_{k} \\lVert x_i - \\mu_k \\rVert^2

    Ties go to the centroid with the smallest index.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points :math:`x_i`.
    centroids : array-like of shape (n_clusters, n_features)
        The centroids :math:`\\mu_k`.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The cluster :math:`z_i` of each point.
    """
    return np.argmin(squared_distances(X, centroids), axis=1)


def _refill_empty_clusters(X, labels, centroids) -> np.ndarray:
    """Give each empty cluster the point farthest from its own centroid.

    The farthest point (largest :math:`\\lVert x_i - \\mu_{z_i} \\rVert^2`, ties to the
    smallest index) moves to the first empty cluster, the next farthest to the
    second, and so on: scikit-learn's rule, made deterministic. A point that sits on
    its centroid is not moved (that lowers nothing); an empty cluster left without a
    point keeps its centroid, as when there are fewer distinct points than clusters.
    """
    counts = np.bincount(labels, minlength=len(centroids))
    empty_clusters = np.flatnonzero(counts == 0)
    if empty_clusters.size == 0:
        return labels
    distance_to_own_centroid = ((X - centroids[labels]) ** 2).sum(axis=1)
    farthest_first = np.argsort(-distance_to_own_centroid, kind="stable")
    # a point already on its centroid moves nowhere useful: with more clusters than
    # distinct points it would only swap duplicates back and forth
    movable = farthest_first[distance_to_own_centroid[farthest_first] > 0][: empty_clusters.size]
    labels = labels.copy()
    labels[movable] = empty_clusters[: movable.size]
    return labels


def update(X, labels, centroids) -> np.ndarray:
    """M-step of k-means: move every centroid to the mean of its points.

    .. math:: \\mu_k^{\\text{new}} = \\frac{1}{n_k} \\sum_{i : z_i = k} x_i,
              \\qquad n_k = |\\{i : z_i = k\\}|

    A cluster with no points (:math:`n_k = 0`) has no mean. As in scikit-learn,
    it is refilled with the point farthest from its own centroid,
    :math:`\\arg\\max_i \\lVert x_i - \\mu_{z_i} \\rVert^2`, which leaves its old
    cluster (ties go to the smallest index; several empty clusters take the
    farthest points in order). This lowers the inertia too. A cluster still
    empty after that (it gave away its only point) keeps its centroid.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points :math:`x_i`.
    labels : array-like of shape (n_samples,)
        The cluster :math:`z_i` of each point, from :func:`assign`.
    centroids : array-like of shape (n_clusters, n_features)
        The current centroids, used to refill empty clusters.

    Returns
    -------
    new_centroids : ndarray of shape (n_clusters, n_features)
    """
    X = check_data(X)
    centroids = _check_centroids(centroids, X)
    labels = _check_labels(labels, X.shape[0], centroids.shape[0])
    labels = _refill_empty_clusters(X, labels, centroids)
    new_centroids = centroids.copy()
    for k in range(len(centroids)):
        in_cluster = labels == k
        if in_cluster.any():
            new_centroids[k] = X[in_cluster].mean(axis=0)
    return new_centroids


def inertia(X, centroids, labels=None) -> float:
    """The k-means objective: total squared distance of points to their centroid.

    .. math:: J = \\sum_{i=1}^n \\lVert x_i - \\mu_{z_i} \\rVert^2

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The points :math:`x_i`.
    centroids : array-like of shape (n_clusters, n_features)
        The centroids :math:`\\mu_k`.
    labels : array-like of shape (n_samples,), optional
        The cluster :math:`z_i` of each point; by default the nearest centroid,
        :func:`assign`, which gives the smallest :math:`J` for these centroids.

    Returns
    -------
    float
    """
    X = check_data(X)
    centroids = _check_centroids(centroids, X)
    if labels is None:
        labels = assign(X, centroids)
    labels = _check_labels(labels, X.shape[0], centroids.shape[0])
    return float(((X - centroids[labels]) ** 2).sum())


def init_random(X, n_clusters, random_state=None) -> np.ndarray:
    """Start from ``n_clusters`` data points drawn at random, without replacement.

    .. math:: \\mu_k = x_{s_k}, \\qquad s_1, \\dots, s_K \\text{ distinct, uniform}

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
        :math:`K`, at most ``n_samples``.
    random_state : int, RandomState or None
        Seed, as in scikit-learn (the same draw as ``KMeans(init="random")``).

    Returns
    -------
    centroids : ndarray of shape (n_clusters, n_features)
    """
    X, n_clusters = _check_random_init(X, n_clusters)
    rng = check_random_state(random_state)
    n_samples = X.shape[0]
    # equal probabilities spelled out: the same draw as scikit-learn makes
    chosen = rng.choice(
        n_samples, size=n_clusters, replace=False, p=np.full(n_samples, 1 / n_samples)
    )
    return X[chosen].copy()


def init_kmeans_plusplus(X, n_clusters, random_state=None) -> np.ndarray:
    """Start with k-means++: spread the first centroids out.

    The first centroid is a random data point; each next one is a data point
    drawn with probability proportional to its squared distance to the nearest
    centroid chosen so far,

    .. math:: p(x_i) = \\frac{D(x_i)^2}{\\sum_j D(x_j)^2}, \\qquad
              D(x) = \\min_{\\text{chosen } \\mu} \\lVert x - \\mu \\rVert,

    (Arthur & Vassilvitskii, 2007; scikit-learn's greedy variant, which keeps
    the best of a few candidates at each step).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_clusters : int
        :math:`K`, at most ``n_samples``.
    random_state : int, RandomState or None

    Returns
    -------
    centroids : ndarray of shape (n_clusters, n_features)
    """
    X, n_clusters = _check_random_init(X, n_clusters)
    centroids, _ = kmeans_plusplus(X, n_clusters, random_state=check_random_state(random_state))
    return centroids


def _scaled_tol(X: np.ndarray, tol: float) -> float:
    """scikit-learn's tolerance: ``tol`` times the mean variance of the features."""
    return float(np.mean(np.var(X, axis=0)) * tol) if tol > 0 else 0.0


def fit_kmeans(X, centroids, max_iter=300, tol=1e-4, record_resp=False) -> EMResult:
    """Run k-means (Lloyd's algorithm) from ``centroids`` as hard EM.

    Repeats :func:`assign` (E-step) and :func:`update` (M-step) through
    :func:`emlab.em.run_em`. The responsibilities are one-hot,
    :math:`r_{ik} = [z_i = k]`, and the "log-likelihood" is :math:`-J`, minus
    the :func:`inertia`, so ``result.history.log_likelihood`` rises and
    ``-result.history.log_likelihood`` is the inertia per iteration.

    Stops when the centroids move less than the tolerance, as scikit-learn does:

    .. math:: \\sum_k \\lVert \\mu_k^{(t)} - \\mu_k^{(t-1)} \\rVert^2 \\le
              \\text{tol} \\cdot \\frac{1}{d} \\sum_{j=1}^d \\operatorname{Var}(x_{\\cdot j})

    (with ``tol=0``: when no centroid moves at all). From the same start it
    gives the same centroids, labels, inertia and iteration count as
    ``sklearn.cluster.KMeans(init=centroids, n_init=1, algorithm="lloyd")``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centroids : array-like of shape (n_clusters, n_features)
        Starting centroids :math:`\\mu^{(0)}`.
    max_iter : int, default=300
        Largest number of M-steps.
    tol : float, default=1e-4
        Relative tolerance on the centroid shift, see above.
    record_resp : bool, default=False
        Keep the one-hot assignments of every iteration in the history.

    Returns
    -------
    EMResult
        ``params["centroids"]``, ``resp`` (one-hot, ``resp.argmax(axis=1)`` are
        the labels), ``log_likelihood`` (:math:`-J`), ``n_iter``, ``converged``
        and ``history``.
    """
    X = check_data(X)
    centroids = _check_centroids(centroids, X)
    check_n_components(len(centroids), X.shape[0], name="n_clusters")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    n_clusters = len(centroids)
    shift_tol = _scaled_tol(X, tol)
    current = {"centroids": centroids}  # the M-step refills empty clusters from them

    def e_step(X, params):
        current["centroids"] = params["centroids"]
        labels = assign(X, params["centroids"])
        one_hot = np.eye(n_clusters)[labels]
        return one_hot, -inertia(X, params["centroids"], labels)

    def m_step(X, resp):
        return {"centroids": update(X, resp.argmax(axis=1), current["centroids"])}

    def centroids_stopped_moving(previous, now):
        shift = ((now.params["centroids"] - previous.params["centroids"]) ** 2).sum()
        return shift <= shift_tol

    return run_em(
        X,
        {"centroids": centroids},
        e_step,
        m_step,
        max_iter=max_iter,
        record_resp=record_resp,
        stop=centroids_stopped_moving,
    )


def __getattr__(name: str):
    # ``from emlab.kmeans import KMeans`` keeps working: the estimator lives a floor up
    # (emlab.estimators) and is imported only when asked for (see tests/test_imports.py).
    if name == "KMeans":
        from emlab.estimators.kmeans import KMeans

        return KMeans
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
