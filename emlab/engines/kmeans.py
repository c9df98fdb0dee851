"""The k-means engine: both steps of an iteration in two matrix products per chunk.

:func:`fit_kmeans_fast` is what :class:`emlab.KMeans` runs; it gives the same centroids,
labels and iterations as the readable :func:`emlab.kmeans.fit_kmeans`
(``tests/test_engines.py``).
"""

from __future__ import annotations

import functools

import numpy as np

from emlab.em import EMResult, History, Snapshot
from emlab.engines.workspace import (
    CHUNK_VALUES,
    aligned_empty,
    engine_result,
    make_workspaces,
    map_chunks,
    one_blas_thread,
)
from emlab.kmeans import _check_centroids, _refill_empty_clusters, _scaled_tol, assign, update
from emlab.validation import check_data, check_n_components

__all__ = ["fit_kmeans_fast", "kmeans_chunk_size", "labels_and_inertia"]


def kmeans_chunk_size(n_samples: int, n_clusters: int, n_features: int) -> int:
    """Points per chunk: a chunk's points and distances stay near half of ``CHUNK_VALUES``.

    (Smaller than the mixture's chunks: k-means does little work per value. With the
    scratch arrays reused (:class:`Workspace`), half measured faster than a quarter
    on both benchmark sizes.) A multiple of 8, so that every row of a chunk's arrays
    begins on a cache line (see ``ALIGN``).
    """
    chunk = max(256, CHUNK_VALUES // 2 // (n_clusters + n_features + 1))
    return int(min(n_samples, -(-chunk // 8) * 8))


def _kmeans_pass(blocks, centroids, workspaces, weights=None, threads=None):
    r"""One fused assignment step and the update step's sums, over all chunks.

    ``blocks(index, workspace)`` gives, per chunk, the centred points with a row of ones,
    :math:`[y_i; 1]`, as the columns of one contiguous (D + 1, c) array; ``weights``,
    if given, each chunk's sample weights :math:`w_i` (a list of (c,) arrays).
    ``centroids`` are centred too. With :math:`A_k = [-2\mu_k, \lVert\mu_k\rVert^2]`,
    :math:`A_k^\top [y_i; 1] = \lVert y_i - \mu_k \rVert^2 - \lVert y_i \rVert^2`: one
    matrix product gives every distance up to a term that does not depend on
    :math:`k`. The nearest centroid's one-hot row (times :math:`w_i`) then gives, in a
    second product, each cluster's weighted sum of points and (from the ones) its weight.

    Returns ``(sum_of_best, sums, exact)``: the weighted sum over points of
    :math:`\min_k (\lVert y_i - \mu_k\rVert^2 - \lVert y_i\rVert^2)` (taken from the
    sums: it is :math:`\sum_k A_k^\top [s_k; N_k]`), the (K, D + 1) sums
    :math:`s_k` and weights :math:`N_k`, and whether no point was tied between two
    centroids (a tie puts the point in both rows; the caller then takes the exact path).
    ``workspaces`` holds a :class:`~emlab.engines.workspace.Workspace` per thread, and
    ``threads`` is :func:`~emlab.engines.workspace.map_chunks`' (by default every core).
    """
    K, D = centroids.shape
    coefficients = np.empty((K, D + 1))
    coefficients[:, :D] = -2.0 * centroids
    coefficients[:, D] = np.einsum("kd,kd->k", centroids, centroids)

    def one_chunk(index, workspace):
        points = blocks(index, workspace)  # (D + 1, c), contiguous
        c = points.shape[1]
        distances = np.matmul(coefficients, points, out=workspace.array("distances", (K, c)))
        best = np.min(distances, axis=0, out=workspace.array("best", (c,)))
        # the one-hot rows, overwriting the distances (equal's own cast to float costs more)
        nearest = np.equal(distances, best, out=workspace.array("nearest", (K, c), bool))
        if weights is None:
            np.copyto(distances, nearest)
            return np.dot(distances, points.T), None  # np.matmul would hold the GIL
        np.multiply(nearest, weights[index], out=distances)
        return np.dot(distances, points.T), np.count_nonzero(nearest) == c

    answers = map_chunks(one_chunk, list(range(n_blocks(blocks))), workspaces, threads)
    sums = sum(answer[0] for answer in answers)
    if weights is None:
        n = sum(len(w) for w in blocks.sizes)
        exact = bool(sums[:, D].sum() == n)
    else:
        exact = all(answer[1] for answer in answers)
    # the best distances add up to sum_k A_k . (s_k, N_k): no pass over the points for them
    return float(np.einsum("kd,kd->", coefficients, sums)), sums, exact


def n_blocks(blocks):
    return len(blocks.sizes)


class _Blocks:
    """Each chunk's centred points with a row of ones, kept for the fit or built per pass.

    Kept (``cache=True``), they take (D + 1) / D times the data: the fastest (a
    contiguous block per chunk). Built per pass into the thread's workspace, they take a
    few chunks' worth: for the Gaussian mixture's start, whose memory must stay near the
    data's (``tests/test_memory.py``).
    """

    def __init__(self, X, center, chunk, cache):
        n, D = X.shape
        self.X, self.center, self.chunk, self.D = X, center, chunk, D
        self.starts = list(range(0, n, chunk))
        self.sizes = [range(s, min(s + chunk, n)) for s in self.starts]
        self.cached = [self._build(i, None) for i in range(len(self.starts))] if cache else None

    def _build(self, index, workspace):
        rows = self.X[self.starts[index] : self.starts[index] + self.chunk]
        shape = (self.D + 1, len(rows))
        block = aligned_empty(shape) if workspace is None else workspace.array("block", shape)
        np.subtract(rows.T, self.center[:, None], out=block[: self.D])
        block[self.D] = 1.0
        return block

    def __call__(self, index, workspace):
        if self.cached is not None:
            return self.cached[index]
        return self._build(index, workspace)


def _weighted_update(points, labels, centroids, weights):
    """:func:`emlab.kmeans.update` with sample weights: weighted means, same refills."""
    labels = _refill_empty_clusters(points, labels, centroids)
    K, D = centroids.shape
    totals = np.bincount(labels, weights=weights, minlength=K)
    new = centroids.copy()
    for d in range(D):
        sums = np.bincount(labels, weights=weights * points[:, d], minlength=K)
        np.divide(sums, totals, out=new[:, d], where=totals > 0)
    return new


def labels_and_inertia(X, centroids, sample_weight=None, chunk_size=None):
    r"""Each point's nearest centroid and the inertia :math:`\sum_i w_i \lVert x_i - \mu_{z_i}\rVert^2`.

    Exact (the differences themselves, not the expansion of the engine's pass, so the
    inertia is never negative from cancellation) and chunked: no (n, K) array. Ties go
    to the lowest index, as :func:`emlab.kmeans.assign`.

    Returns
    -------
    labels : ndarray of shape (n_samples,), int32
    inertia : float
    """
    n, D = X.shape
    centroids = np.asarray(centroids, dtype=np.float64)
    K = len(centroids)
    chunk = int(chunk_size) if chunk_size else kmeans_chunk_size(n, K, D)
    labels = np.empty(n, dtype=np.int32)
    inertia = 0.0
    for start in range(0, n, chunk):
        rows = X[start : start + chunk].astype(np.float64, copy=False)
        distances = np.empty((len(rows), K))
        for k in range(K):
            diff = rows - centroids[k]
            np.einsum("nd,nd->n", diff, diff, out=distances[:, k])
        nearest = np.argmin(distances, axis=1)
        labels[start : start + chunk] = nearest
        best = distances[np.arange(len(rows)), nearest]
        if sample_weight is None:
            inertia += float(best.sum())
        else:
            inertia += float(best @ sample_weight[start : start + chunk])
    return labels, inertia


def fit_kmeans_fast(
    X,
    centroids,
    max_iter=300,
    tol=1e-4,
    chunk_size=None,
    sample_weight=None,
    cache_blocks=True,
) -> EMResult:
    """k-means like :func:`emlab.kmeans.fit_kmeans`, with both steps fused in matrix products.

    Same arguments, stopping rule and history (centroids and minus the inertia per
    iteration), the same centroids and labels; ``result.resp`` is ``None`` (the
    labels of the final centroids are :func:`labels_and_inertia`'s). The data are
    centred once, as scikit-learn does, so that the expanded distances of
    :func:`_kmeans_pass` stay accurate far from the origin. An iteration with an
    empty cluster or a point tied between two centroids falls back to the readable
    :func:`emlab.kmeans.assign` and :func:`emlab.kmeans.update`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        float32 data are read a chunk at a time, not copied to float64.
    centroids : array-like of shape (n_clusters, n_features)
    max_iter : int, default=300
    tol : float, default=1e-4
    chunk_size : int, optional
        Points per chunk; by default :func:`kmeans_chunk_size`.
    sample_weight : array-like of shape (n_samples,), optional
        Weights :math:`w_i` of the points (scikit-learn's ``sample_weight``): the inertia
        is :math:`\\sum_i w_i \\lVert x_i - \\mu_{z_i} \\rVert^2` and each centroid the
        weighted mean of its points. A cluster whose weight is 0 counts as empty.
    cache_blocks : bool, default=True
        Keep each chunk's centred points for the whole fit ((D + 1) / D times the data),
        or build them per pass (a few chunks' memory, a little slower).

    Returns
    -------
    EMResult
    """
    if not (isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2):
        X = check_data(X)
    centroids = _check_centroids(centroids, X)
    check_n_components(len(centroids), X.shape[0], name="n_clusters")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative whole number, got {max_iter!r}.")
    n, D = X.shape
    K = len(centroids)
    shift_tol = _scaled_tol(X, tol)
    center = X.mean(axis=0, dtype=np.float64)
    chunk = int(chunk_size) if chunk_size else kmeans_chunk_size(n, K, D)
    # per chunk, the centred points as the columns of one contiguous block, and a row of
    # ones (column slices of one (D + 1, n) array made both products a quarter slower)
    blocks = _Blocks(X, center, chunk, cache_blocks)
    weights = None
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=np.float64)
        weights = [sample_weight[s : s + chunk] for s in blocks.starts]
    workspaces = make_workspaces()
    sum_of_squares = 0.0
    for index in range(n_blocks(blocks)):
        block = blocks(index, workspaces[0])[:D]
        squares = np.einsum("dn,dn->n", block, block)
        sum_of_squares += float(squares.sum() if weights is None else squares @ weights[index])

    @functools.cache
    def points():  # the centred points, made only if the readable steps are needed
        return X - center

    def e_step(centred):
        sum_of_best, sums, exact = _kmeans_pass(blocks, centred, workspaces, weights)
        if exact and np.all(sums[:, D] > 0):
            return sum_of_squares + sum_of_best, sums, None
        labels = assign(points(), centred)  # a tie or an empty cluster: the readable steps
        squares = ((points() - centred[labels]) ** 2).sum(axis=1)
        return float(squares.sum() if weights is None else squares @ sample_weight), None, labels

    def m_step(centred, sums, labels):
        if labels is not None:
            if weights is None:
                return update(points(), labels, centred)
            return _weighted_update(points(), labels, centred, sample_weight)
        return sums[:, :D] / sums[:, D, None]

    with one_blas_thread(n_blocks(blocks)):  # the chunks run in parallel
        centred = centroids - center
        inertia, sums, labels = e_step(centred)
        history = History([Snapshot(0, {"centroids": centroids.copy()}, -inertia)])
        converged = False
        for iteration in range(1, int(max_iter) + 1):
            new = m_step(centred, sums, labels)
            inertia, sums, labels = e_step(new)
            history.append(Snapshot(iteration, {"centroids": new + center}, -inertia))
            moved = float(((new - centred) ** 2).sum())
            centred = new
            if moved <= shift_tol:
                converged = True
                break
        return engine_result(history, converged)
