r"""The Gaussian mixture's start, in chunks: :func:`emlab.gmm.init_params` without an (n, K) array.

:func:`emlab.gmm.init_params` (the lessons' readable start) builds the whole
responsibility matrix and takes one M-step from it. On 5,000,000 points with K = 5 that
matrix alone is 200 MB, more than the data. :func:`initial_parameters` gives the same
start (the same random numbers, the same formulas, to round-off) in two chunked passes:

* ``"random"``: each chunk's rows of the uniform responsibilities are drawn in turn
  (numpy's ``RandomState`` fills an array row after row, so the numbers are those of one
  (n, K) draw); the first pass sums :math:`N_k` and :math:`\sum_i r_{ik} x_i`, the second,
  from the generator's state saved before the first, draws the same rows again for the
  scatter around the means (the generator ends where one draw leaves it);
* ``"kmeans"``: the labels of one k-means run, one integer per point (scikit-learn's
  ``KMeans(n_init=1)``: its k-means++ seeding, here in chunks, then Lloyd's iterations
  in :func:`emlab.engines.kmeans.fit_kmeans_fast` without keeping a centred copy of
  the data); each chunk's responsibilities are the one-hot rows of its labels;
* ``"k-means++"`` (scikit-learn's seeding, in chunks) and ``"random_from_data"``: one
  chosen point per component; the means are those points and the covariances
  ``reg_covar`` times the identity.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from emlab.engines.gmm import gmm_chunk_size
from emlab.engines.kmeans import fit_kmeans_fast, labels_and_inertia
from emlab.gmm import INIT_METHODS, _check_covariance_type, _check_reg_covar
from emlab.validation import check_n_components

__all__ = ["initial_parameters"]

_EPS10 = 10 * np.finfo(np.float64).eps


def _squared_distances_to(point, X, center, start, stop):
    """scikit-learn's ``_euclidean_distances(point, X - center, squared=True)`` on rows start:stop."""
    rows = X[start:stop] - center
    distances = -2 * (rows @ point)
    distances += point @ point
    distances += np.einsum("ij,ij->i", rows, rows)
    return np.maximum(distances, 0, out=distances)


def _kmeans_plusplus(X, center, n_clusters, random_state, chunk):
    """scikit-learn's greedy k-means++ seeding (``sklearn.cluster.kmeans_plusplus``) in chunks.

    The same random numbers and the same choices, to round-off, on the centred points
    (as ``KMeans.fit`` seeds them); the (n_local_trials, n) distances of scikit-learn's
    implementation are taken a chunk at a time, and only each point's distance to its
    nearest seed so far is kept (n numbers). The cumulative sums are taken in the same
    order as ``np.cumsum``, the running total carried from chunk to chunk.
    """
    n, D = X.shape
    starts = range(0, n, chunk)
    n_local_trials = 2 + int(np.log(n_clusters))
    seeds, indices = np.empty((n_clusters, D)), np.empty(n_clusters, dtype=int)
    first = indices[0] = random_state.choice(n, p=np.ones(n) / n)
    seeds[0] = X[first] - center
    closest = np.empty(n)
    for s in starts:
        closest[s : s + chunk] = _squared_distances_to(seeds[0], X, center, s, s + chunk)
    potential = closest.sum()
    for c in range(1, n_clusters):
        thresholds = random_state.uniform(size=n_local_trials) * potential
        candidate_ids = np.full(n_local_trials, n - 1)
        found = np.zeros(n_local_trials, dtype=bool)
        running = 0.0
        for s in starts:
            sums = np.cumsum(np.concatenate([[running], closest[s : s + chunk]]))[1:]
            here = ~found & (thresholds < sums[-1])
            if here.any():
                candidate_ids[here] = s + np.searchsorted(sums, thresholds[here])
                found |= here
            running = sums[-1]
        candidates = X[candidate_ids] - center
        potentials = np.zeros(n_local_trials)
        for s in starts:
            for j in range(n_local_trials):
                distances = _squared_distances_to(candidates[j], X, center, s, s + chunk)
                potentials[j] += np.minimum(closest[s : s + chunk], distances).sum()
        best = int(np.argmin(potentials))
        potential = potentials[best]
        for s in starts:
            distances = _squared_distances_to(candidates[best], X, center, s, s + chunk)
            np.minimum(closest[s : s + chunk], distances, out=closest[s : s + chunk])
        seeds[c], indices[c] = candidates[best], candidate_ids[best]
    return seeds, indices


def _single_points(X, indices, covariance_type, reg_covar):
    """One point per component: its mean that point, its covariance the floor."""
    K, D = len(indices), X.shape[1]
    nk = np.ones(K) + _EPS10
    means = X[indices].astype(np.float64) / nk[:, None]
    floor = {
        "full": np.broadcast_to(reg_covar * np.eye(D), (K, D, D)).copy(),
        "tied": reg_covar * np.eye(D),
        "diag": np.full((K, D), float(reg_covar)),
        "spherical": np.full(K, float(reg_covar)),
    }[covariance_type]
    return nk / nk.sum(), means, floor


def _moments(X, chunks, K, covariance_type, reg_covar):
    """Weights, means and covariances from responsibilities handed out chunk by chunk.

    ``chunks()`` yields ``(start, resp)`` for consecutive row blocks and can be called
    twice (the second pass takes the scatter around the means, as
    :func:`emlab.gmm.estimate_covariances` does).
    """
    D = X.shape[1]
    nk, sums = np.zeros(K), np.zeros((K, D))
    for start, resp in chunks():
        rows = X[start : start + len(resp)].astype(np.float64, copy=False)
        nk += resp.sum(axis=0)
        sums += resp.T @ rows
    nk += _EPS10
    means = sums / nk[:, None]
    matrix = covariance_type in ("full", "tied")
    scatter = np.zeros((K, D, D)) if matrix else np.zeros((K, D))
    for start, resp in chunks():
        rows = X[start : start + len(resp)].astype(np.float64, copy=False)
        for k in range(K):
            diff = rows - means[k]
            if matrix:
                scatter[k] += (resp[:, k] * diff.T) @ diff
            else:
                scatter[k] += resp[:, k] @ diff**2
    if covariance_type == "full":
        covariances = scatter / nk[:, None, None] + reg_covar * np.eye(D)
    elif covariance_type == "tied":
        covariances = scatter.sum(axis=0) / nk.sum() + reg_covar * np.eye(D)
    else:
        variances = scatter / nk[:, None] + reg_covar
        covariances = variances if covariance_type == "diag" else variances.mean(axis=1)
    return nk / nk.sum(), means, covariances


def initial_parameters(
    X,
    n_components,
    method="kmeans",
    random_state=None,
    covariance_type="full",
    reg_covar=1e-6,
    chunk_size=None,
):
    """:func:`emlab.gmm.init_params`' start, computed in chunks (see the module's docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        float64 or float32 (a float32 ``X`` is read a chunk at a time, not copied).
    n_components : int
    method : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
    random_state : int, RandomState instance or None
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    reg_covar : float, default=1e-6
    chunk_size : int, optional
        Points per chunk; by default :func:`emlab.engines.gmm.gmm_chunk_size`.

    Returns
    -------
    weights, means, covariances : ndarray
        Those of :func:`emlab.gmm.init_params` for the same arguments, to round-off.
    """
    n, D = X.shape
    K = check_n_components(n_components, n)
    covariance_type = _check_covariance_type(covariance_type)
    reg_covar = _check_reg_covar(reg_covar)
    random_state = check_random_state(random_state)
    chunk = int(chunk_size) if chunk_size else gmm_chunk_size(n, K, D)
    starts = range(0, n, chunk)
    if method == "k-means++":
        # scikit-learn's kmeans_plusplus(X, K, random_state=random_state), in chunks
        _, indices = _kmeans_plusplus(X, np.zeros(D), K, random_state, chunk)
        return _single_points(X, indices, covariance_type, reg_covar)
    if method == "random_from_data":
        indices = random_state.choice(n, size=K, replace=False)
        return _single_points(X, indices, covariance_type, reg_covar)
    if method == "kmeans":
        # scikit-learn's KMeans(n_clusters=K, n_init=1, random_state=random_state): its
        # k-means++ seeding on the centred data and Lloyd's iterations, both in chunks
        center = X.mean(axis=0, dtype=np.float64)
        seeds, _ = _kmeans_plusplus(X, center, K, random_state, chunk)
        run = fit_kmeans_fast(X, seeds + center, cache_blocks=False)
        labels, _ = labels_and_inertia(X, run.params["centroids"])
        components = np.arange(K)

        def chunks():
            for start in starts:
                yield start, (labels[start : start + chunk, None] == components).astype(float)

        return _moments(X, chunks, K, covariance_type, reg_covar)
    if method == "random":
        state = random_state.get_state()

        def chunks():
            random_state.set_state(state)  # the same rows on both passes
            for start in starts:
                resp = random_state.uniform(size=(min(chunk, n - start), K))
                resp /= resp.sum(axis=1, keepdims=True)
                yield start, resp

        return _moments(X, chunks, K, covariance_type, reg_covar)
    raise ValueError(f"method must be one of {INIT_METHODS}, got {method!r}.")
