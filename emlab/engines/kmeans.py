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
from emlab.kmeans import _check_centroids, _scaled_tol, assign, update
from emlab.validation import check_data, check_n_components

__all__ = ["fit_kmeans_fast", "kmeans_chunk_size"]


def kmeans_chunk_size(n_samples: int, n_clusters: int, n_features: int) -> int:
    """Points per chunk: a chunk's points and distances stay near half of ``CHUNK_VALUES``.

    (Smaller than the mixture's chunks: k-means does little work per value. With the
    scratch arrays reused (:class:`Workspace`), half measured faster than a quarter
    on both benchmark sizes.) A multiple of 8, so that every row of a chunk's arrays
    begins on a cache line (see ``ALIGN``).
    """
    chunk = max(256, CHUNK_VALUES // 2 // (n_clusters + n_features + 1))
    return int(min(n_samples, -(-chunk // 8) * 8))


def _kmeans_pass(blocks, centroids, workspaces):
    r"""One fused assignment step and the update step's sums, over all chunks.

    ``blocks`` holds, per chunk, the centred points with a row of ones,
    :math:`[y_i; 1]`, as the columns of one contiguous (D + 1, c) array.
    ``centroids`` are centred too. With :math:`A_k = [-2\mu_k, \lVert\mu_k\rVert^2]`,
    :math:`A_k^\top [y_i; 1] = \lVert y_i - \mu_k \rVert^2 - \lVert y_i \rVert^2`: one
    matrix product gives every distance up to a term that does not depend on
    :math:`k`. The nearest centroid's one-hot row then gives, in a second product,
    each cluster's sum of points and (from the ones) its count.

    Returns ``(sum_of_best, sums, exact)``: the sum over points of
    :math:`\min_k (\lVert y_i - \mu_k\rVert^2 - \lVert y_i\rVert^2)` (taken from the
    sums: it is :math:`\sum_k A_k^\top [s_k; N_k]`), the (K, D + 1) sums
    :math:`s_k` and counts :math:`N_k`, and whether no point was tied between two centroids
    (a tie puts the point in both rows; the caller then takes the exact path).
    ``workspaces`` holds a :class:`Workspace` per thread.
    """
    K, D = centroids.shape
    coefficients = np.empty((K, D + 1))
    coefficients[:, :D] = -2.0 * centroids
    coefficients[:, D] = np.einsum("kd,kd->k", centroids, centroids)

    def one_chunk(index, workspace):
        points = blocks[index]  # (D + 1, c), contiguous
        c = points.shape[1]
        distances = np.matmul(coefficients, points, out=workspace.array("distances", (K, c)))
        best = np.min(distances, axis=0, out=workspace.array("best", (c,)))
        # the one-hot rows, overwriting the distances (equal's own cast to float costs more)
        nearest = np.equal(distances, best, out=workspace.array("nearest", (K, c), bool))
        np.copyto(distances, nearest)
        return np.dot(distances, points.T)  # np.matmul would hold the GIL

    sums = sum(map_chunks(one_chunk, list(range(len(blocks))), workspaces))
    n = sum(block.shape[1] for block in blocks)
    # the best distances add up to sum_k A_k . (s_k, N_k): no pass over the points for them
    return float(np.einsum("kd,kd->", coefficients, sums)), sums, bool(sums[:, D].sum() == n)


def fit_kmeans_fast(X, centroids, max_iter=300, tol=1e-4, chunk_size=None) -> EMResult:
    """k-means like :func:`emlab.kmeans.fit_kmeans`, with both steps fused in matrix products.

    Same arguments, stopping rule and history (centroids and minus the inertia per
    iteration), the same centroids and labels; ``result.resp`` is ``None`` (the
    labels of the final centroids are :func:`emlab.kmeans.assign`'s). The data are
    centred once, as scikit-learn does, so that the expanded distances of
    :func:`_kmeans_pass` stay accurate far from the origin. An iteration with an
    empty cluster or a point tied between two centroids falls back to the readable
    :func:`emlab.kmeans.assign` and :func:`emlab.kmeans.update`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    centroids : array-like of shape (n_clusters, n_features)
    max_iter : int, default=300
    tol : float, default=1e-4
    chunk_size : int, optional
        Points per chunk; by default :func:`kmeans_chunk_size`.

    Returns
    -------
    EMResult
    """
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
    center = X.mean(axis=0)
    chunk = int(chunk_size) if chunk_size else kmeans_chunk_size(n, K, D)
    # per chunk, the centred points as the columns of one contiguous block, and a row of
    # ones (column slices of one (D + 1, n) array made both products a quarter slower)
    blocks = []
    for start in range(0, n, chunk):
        rows = X[start : start + chunk]
        block = aligned_empty((D + 1, len(rows)))
        np.subtract(rows.T, center[:, None], out=block[:D])
        block[D] = 1.0
        blocks.append(block)
    sum_of_squares = sum(float(np.einsum("dn,dn->", b[:D], b[:D])) for b in blocks)

    workspaces = make_workspaces()

    @functools.cache
    def points():  # the centred points, made only if the readable steps are needed
        return X - center

    def e_step(centred):
        sum_of_best, sums, exact = _kmeans_pass(blocks, centred, workspaces)
        if exact and np.all(sums[:, D] > 0):
            return sum_of_squares + sum_of_best, sums, None
        labels = assign(points(), centred)  # a tie or an empty cluster: the readable steps
        return float(((points() - centred[labels]) ** 2).sum()), None, labels

    def m_step(centred, sums, labels):
        if labels is not None:
            return update(points(), labels, centred)
        return sums[:, :D] / sums[:, D, None]

    with one_blas_thread(len(blocks)):  # the chunks run in parallel
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
