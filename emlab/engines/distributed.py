r"""EM on a Dask array: every iteration is one map-reduce pass over the blocks, where they live.

EM's M-step needs only sums over the data. For a Gaussian mixture they are, per component,

.. math::
    N_k = \sum_i r_{ik}, \qquad s_k = \sum_i r_{ik}\, y_i, \qquad
    S_k = \sum_i r_{ik}\, y_i y_i^\top \quad (y_i = x_i - c),

(only :math:`\operatorname{diag} S_k` for diagonal covariances, only its trace for
spherical ones), and the E-step's log-likelihood is a sum too,
:math:`\ell = \sum_i \log \sum_k \pi_k \mathcal N(x_i \mid \mu_k, \Sigma_k)`. Sums over the
points are sums over any split of them into blocks, so one iteration is

* **map**: on each block, on the worker that holds it (or reads it from storage), the fast
  engine's own chunk code (:func:`emlab.engines.gmm.expansion_sums`, or
  :func:`emlab.engines.gmm._pass` on its exact path) computes the block's statistics: a
  (K, P) matrix, :math:`P = D(D+1)/2 + D + 1` numbers per component for full covariances,
  and one float;
* **reduce**: the blocks' statistics are added up in a tree (``split_every`` at a time), so
  no one task receives more than ``split_every`` small matrices;
* **M-step**: on the client, from the totals, by :func:`emlab.engines.gmm.run_iterations`,
  the very loop :func:`emlab.engines.gmm.fit_gmm_fast` runs (the same choice of path, the
  same M-step, the same stopping rule and history).

The parameters travel to the workers as one small task that every block's task depends
on, and only the statistics come back; the data never leave the workers. From the same
start the iterations are the in-memory engine's, up to the order in which the sums are
added (``tests/test_scale.py``: log-likelihoods equal to 1e-10 relative, every iteration).
Each block's answer depends only on the block and the parameters, and the tree adds them
in a fixed order, so a task that is run again (a worker lost, its blocks recomputed
elsewhere) gives the same bits.

k-means is the same with the counts, the sums of the points and the inertia of each
cluster (:func:`fit_kmeans_dask`; the chunk code is :func:`emlab.engines.kmeans._kmeans_pass`).

**Starts at scale** (:func:`kmeans_parallel`): k-means|| (Bahmani et al., 2012), which
needs a few passes, not K: starting from one point drawn at random, each of ``rounds``
rounds keeps every point with probability :math:`\min(1, \ell\, d^2(x) / \phi)`
(:math:`d^2(x)` its squared distance to the candidates so far, :math:`\phi` their sum,
:math:`\ell` the oversampling factor, 2K by default); each candidate is then weighted by
the number of points nearest to it, and scikit-learn's weighted k-means++ picks K of the
few dozen candidates on the client, which a weighted Lloyd's run on the candidates
refines. Each block draws its own random numbers from a generator seeded by
``random_state``, the round and the block's index, so the start is the same for the same
seed whatever the workers. It is not the in-memory k-means++ start: the same seed gives
another start on a NumPy array.

Dask is imported only here, and only when a Dask array is given: NumPy users need none.
With a :class:`dask.distributed.Client` active, the passes run on its cluster (any
scheduler address); without one, on Dask's threads in this process.
"""

from __future__ import annotations

import threading

import numpy as np
from sklearn.utils import check_random_state

from emlab.em import EMResult, History, Snapshot
from emlab.engines.gmm import (
    DataSummary,
    _features,
    _pass,
    check_start,
    expansion_chunk_size,
    expansion_stats,
    expansion_sums,
    gmm_chunk_size,
    run_iterations,
)
from emlab.engines.kmeans import (
    _Blocks,
    _kmeans_pass,
    fit_kmeans_fast,
    kmeans_chunk_size,
)
from emlab.engines.workspace import Workspace, engine_result
from emlab.gmm import INIT_METHODS, _check_covariance_type
from emlab.validation import check_n_components

__all__ = [
    "DaskData",
    "fit_gmm_dask",
    "fit_kmeans_dask",
    "gmm_start_dask",
    "is_dask_array",
    "kmeans_parallel",
]

_EPS10 = 10 * np.finfo(np.float64).eps
#: How many blocks' statistics one task of the reduction tree adds up.
SPLIT_EVERY = 8


def is_dask_array(X) -> bool:
    """Whether ``X`` is a Dask array, without importing Dask."""
    cls = type(X)
    return cls.__module__.split(".")[0] == "dask" and cls.__name__ == "Array"


# ---------------------------------------------------------------------------
# Blocks, tasks and the tree


_local = threading.local()


def _workspaces():
    """This worker thread's :class:`Workspace`, kept between tasks (scratch memory reused)."""
    workspaces = getattr(_local, "workspaces", None)
    if workspaces is None:
        workspaces = _local.workspaces = [Workspace()]
    return workspaces


def _add(*answers):
    """Element-wise sum of tuples of numbers and arrays (``None`` stays ``None``)."""
    first = answers[0]
    if not isinstance(first, tuple):
        return sum(answers[1:], first)
    return tuple(_add(*parts) for parts in zip(*answers, strict=True))


def _first_pass_block(block):
    """Count, column sums, column extremes and non-finite values of one block."""
    finite = np.isfinite(block)
    bad = int(block.size - np.count_nonzero(finite))
    rows = block.astype(np.float64, copy=False)
    if bad:
        return len(block), np.zeros(block.shape[1]), None, None, bad
    return len(block), rows.sum(axis=0), rows.max(axis=0), rows.min(axis=0), 0


def _merge_first(*answers):
    count = sum(a[0] for a in answers)
    sums = sum((a[1] for a in answers[1:]), answers[0][1])
    highs = [a[2] for a in answers if a[2] is not None]
    lows = [a[3] for a in answers if a[3] is not None]
    high = np.max(highs, axis=0) if highs else None
    low = np.min(lows, axis=0) if lows else None
    return count, sums, high, low, sum(a[4] for a in answers)


def _centred_block(block, center):
    """The block's largest distance to ``center``, and its centred sums and scatter."""
    centred = block - center
    radius = float(np.sqrt(np.einsum("nd,nd->n", centred, centred).max()))
    return radius, centred.sum(axis=0), centred.T @ centred


def _merge_centred(*answers):
    return (
        max(a[0] for a in answers),
        sum((a[1] for a in answers[1:]), answers[0][1]),
        sum((a[2] for a in answers[1:]), answers[0][2]),
    )


def _expansion_block(block, coefficients, center, covariance_type):
    """:func:`emlab.engines.gmm.expansion_sums` on one block, in the engine's chunks."""
    n = len(block)
    M, P = coefficients.theta.shape
    chunk = expansion_chunk_size(n, M + 1, P)
    starts = list(range(0, n, chunk))

    def features(start, workspace):
        rows = block[start : start + chunk]
        out = workspace.array("features", (P, len(rows)))
        return _features(rows, covariance_type, out=out, center=center)

    return expansion_sums(features, starts, coefficients, _workspaces(), threads=1)


def _exact_block(block, weights, means, covariances, covariance_type, centers):
    """:func:`emlab.engines.gmm._pass` (the exact path's sums) on one block."""
    chunk = gmm_chunk_size(len(block), len(weights), block.shape[1])
    return _pass(block, weights, means, covariances, covariance_type, chunk, centers=centers)


def _kmeans_block(block, center, centred_centroids):
    """:func:`emlab.engines.kmeans._kmeans_pass` on one block: (sum of best, sums, no tie)."""
    n, D = block.shape
    K = len(centred_centroids)
    blocks = _Blocks(block, center, kmeans_chunk_size(n, K, D), cache=False)
    return _kmeans_pass(blocks, centred_centroids, _workspaces(), threads=1)


def _merge_kmeans(*answers):
    """Blocks' k-means answers added up; the pass is exact only if every block's was."""
    return (
        sum(a[0] for a in answers),
        sum((a[1] for a in answers[1:]), answers[0][1]),
        all(a[2] for a in answers),
    )


def _assigned_block(block, offset, center, centred_centroids, n_empty):
    """Exact assignment of one block (ties to the lowest index), its sums and far points.

    Returns the (K, D + 1) sums of the centred points and counts per cluster, the
    exact inertia, and the block's ``n_empty`` points farthest from their own centroid
    (distance, global index, centred point, label), for refilling empty clusters as
    :func:`emlab.kmeans.update` does.
    """
    points = block - center
    K, D = centred_centroids.shape
    distances = np.stack(
        [np.einsum("nd,nd->n", points - c, points - c) for c in centred_centroids], axis=1
    )
    labels = np.argmin(distances, axis=1)
    own = distances[np.arange(len(points)), labels]
    sums = np.zeros((K, D + 1))
    np.add.at(sums[:, :D], labels, points)
    sums[:, D] = np.bincount(labels, minlength=K)
    far = None
    if n_empty:
        order = np.argsort(-own, kind="stable")
        order = order[own[order] > 0][:n_empty]
        far = [(float(own[i]), offset + int(i), points[i], int(labels[i])) for i in order]
    return sums, float(own.sum()), far


def _merge_assigned(*answers):
    far = None
    if answers[0][2] is not None:
        far = [item for a in answers for item in a[2]]
    return (
        sum((a[0] for a in answers[1:]), answers[0][0]),
        sum(a[1] for a in answers),
        far,
    )


class DaskData:
    """A Dask array of points, seen as blocks of whole rows: the passes EM makes over it.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        float64 or float32 (other number types are converted block by block). Its
        blocks are rechunked to hold every column, if they do not.
    name : str, default="X"
        The argument's name, for error messages.
    split_every : int, default=SPLIT_EVERY
        How many blocks' statistics one task of the reduction tree adds.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D, does not hold numbers, has unknown block sizes or no rows.
        Non-finite values are found by the first pass (:meth:`summary`), which then
        raises a ``ValueError`` naming ``X``.
    """

    def __init__(self, X, name="X", split_every=SPLIT_EVERY):
        import dask
        import dask.array as da

        self._dask = dask
        self.name = name
        if X.ndim != 2:
            hint = f" For one feature use {name}.reshape(-1, 1)." if X.ndim == 1 else ""
            raise ValueError(f"{name} must be 2-D, got a Dask array of shape {X.shape}.{hint}")
        if any(np.isnan(size) for size in X.shape):
            raise ValueError(
                f"{name} has blocks of unknown size (shape {X.shape}); call "
                f"{name}.compute_chunk_sizes() first (or give the sizes, e.g. "
                "dask.dataframe's to_dask_array(lengths=True))."
            )
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"{name} must hold numbers, got a Dask array of dtype {X.dtype}.")
        if np.iscomplexobj(np.empty(0, X.dtype)):
            raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}.")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape}); pass at least 1 data point.")
        if X.dtype not in (np.float64, np.float32):
            X = X.astype(np.float64)
        if X.numblocks[1] > 1:
            X = X.rechunk({1: -1})
        self.X = X
        self.n, self.D = (int(s) for s in X.shape)
        self.dtype = X.dtype
        self.split_every = int(split_every)
        self.blocks = list(X.to_delayed().ravel())
        self.offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int).tolist()
        self._first = None
        self._summary = None
        self._da = da

    @property
    def shape(self):
        return (self.n, self.D)

    # -- running tasks

    def _small(self, value):
        """``value`` as one task of the graph, on which every block's task depends."""
        return self._dask.delayed(value, pure=False, traverse=False)

    def map_reduce(self, function, *args, merge=_add, per_block=None):
        """``merge`` of ``function(block, *args)`` over every block, added up in a tree.

        ``args`` are small (parameters): each array or tuple goes into the graph once, as
        a task every block's task depends on. ``per_block``, if given, is a list with one
        value per block (its index, its first row), passed right after the block.
        Returns the computed total; only the blocks' answers travel.
        """
        # pure=False: keys are fresh names, not hashes of the arguments; hashing them
        # (the blocks' graphs, the parameters) cost the client 16 ms per pass over 10 blocks
        delayed = self._dask.delayed
        args = [a if isinstance(a, (str, int, float, type(None))) else self._small(a) for a in args]
        if per_block is None:
            parts = [delayed(function, pure=False)(b, *args) for b in self.blocks]
        else:
            parts = [
                delayed(function, pure=False)(b, extra, *args)
                for b, extra in zip(self.blocks, per_block, strict=True)
            ]
        while len(parts) > 1:
            step = self.split_every
            parts = [
                delayed(merge, pure=False)(*parts[i : i + step]) for i in range(0, len(parts), step)
            ]
        (total,) = self._dask.compute(parts[0])
        return total

    # -- the passes made once

    def first_pass(self):
        """Count, sums, column maxima and minima; raises the clear error for NaN or inf."""
        if self._first is None:
            count, sums, high, low, bad = self.map_reduce(_first_pass_block, merge=_merge_first)
            if bad:
                raise ValueError(
                    f"{self.name} contains {bad} NaN or infinite value(s); remove or impute them "
                    "before fitting (e.g. X[da.isfinite(X).all(axis=1)], then "
                    "compute_chunk_sizes())."
                )
            self._first = (count, sums, high, low)
        return self._first

    @property
    def center(self):
        count, sums, _, _ = self.first_pass()
        return sums / count

    def spread(self):
        """The largest distance of a coordinate from its mean (for the scale check)."""
        _, _, high, low = self.first_pass()
        center = self.center
        return float(max(np.max(high - center), np.max(center - low)))

    def summary(self) -> DataSummary:
        """The data's :class:`~emlab.engines.gmm.DataSummary`, in two passes (kept)."""
        if self._summary is None:
            center = self.center
            radius, sums, scatter = self.map_reduce(_centred_block, center, merge=_merge_centred)
            self._summary = DataSummary(self.n, center, radius, sums, scatter)
        return self._summary

    def largest_variance(self):
        """The largest variance of the features (from the summary)."""
        summary = self.summary()
        return float(np.diagonal(summary.scatter).max() / self.n)

    def take(self, indices):
        """The rows at ``indices`` (a few), as float64: only they leave the workers."""
        order = np.argsort(indices)
        rows = self.X[np.asarray(indices)[order]].compute().astype(np.float64)
        out = np.empty_like(rows)
        out[order] = rows
        return out


# ---------------------------------------------------------------------------
# Gaussian mixtures


def fit_gmm_dask(
    X,
    weights,
    means,
    covariances,
    covariance_type="full",
    tol=1e-3,
    max_iter=100,
    reg_covar=1e-6,
    on_iteration=None,
) -> EMResult:
    """Fit a Gaussian mixture by EM on a Dask array: :func:`~emlab.engines.gmm.fit_gmm_fast`'s
    iterations, each one map-reduce pass over the blocks (see the module's docstring).

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features), or a :class:`DaskData`
    weights, means, covariances : array-like
        The start, as for :func:`emlab.gmm.fit_gmm`.
    covariance_type : {"full", "tied", "diag", "spherical"}
    tol, max_iter, reg_covar : float, int, float
        As for :func:`emlab.engines.gmm.fit_gmm_fast`.
    on_iteration : callable, optional
        As for :func:`emlab.engines.gmm.fit_gmm_fast`: ``on_iteration(t, log_likelihood)``
        after each pass.

    Returns
    -------
    EMResult
        Parameters and history as the in-memory engine's; ``resp`` is ``None``.
    """
    data = X if isinstance(X, DaskData) else DaskData(X)
    covariance_type, start, requested_shape = check_start(
        weights, means, covariances, covariance_type, data.D
    )
    summary = data.summary()
    center = summary.center

    def expansion_pass(coefficients):
        log_likelihood, sums = data.map_reduce(
            _expansion_block, coefficients, center, covariance_type
        )
        return expansion_stats(coefficients, log_likelihood, sums)

    def exact_pass(weights, means, covariances, centers=None):
        return data.map_reduce(_exact_block, weights, means, covariances, covariance_type, centers)

    return run_iterations(
        expansion_pass,
        exact_pass,
        summary,
        *start,
        covariance_type,
        requested_shape,
        tol=tol,
        max_iter=max_iter,
        reg_covar=reg_covar,
        on_iteration=on_iteration,
    )


def _moments_block(block, center, centroids, covariance_type):
    """Hard-assignment sums of one block around its cluster's centroid (k-means start)."""
    points = block - center
    distances = np.stack([np.einsum("nd,nd->n", points - c, points - c) for c in centroids], 1)
    labels = np.argmin(distances, axis=1)
    return _one_hot_moments(points, labels, centroids, covariance_type)


def _one_hot_moments(points, labels, around, covariance_type):
    K, D = around.shape
    nk = np.bincount(labels, minlength=K).astype(float)
    sums = np.zeros((K, D))
    matrix = covariance_type in ("full", "tied")
    scatter = np.zeros((K, D, D)) if matrix else np.zeros((K, D))
    for k in range(K):
        diff = points[labels == k] - around[k]
        sums[k] = diff.sum(axis=0)
        scatter[k] = diff.T @ diff if matrix else (diff**2).sum(axis=0)
    return nk, sums, scatter


def _random_moments_block(block, index, seed, center, K, covariance_type):
    """Random responsibilities for one block (its own generator), and their sums around c."""
    rng = np.random.default_rng([seed, index])
    resp = rng.uniform(size=(len(block), K))
    resp /= resp.sum(axis=1, keepdims=True)
    points = block - center
    D = points.shape[1]
    matrix = covariance_type in ("full", "tied")
    scatter = np.zeros((K, D, D)) if matrix else np.zeros((K, D))
    for k in range(K):
        weighted = points * resp[:, k, None]
        scatter[k] = weighted.T @ points if matrix else (weighted * points).sum(axis=0)
    return resp.sum(axis=0), resp.T @ points, scatter


def _moments_to_parameters(nk, sums, scatter, around, covariance_type, reg_covar):
    """Weights, means and covariances from sums taken around ``around`` (per component)."""
    D = around.shape[1]
    counts = nk + _EPS10
    shift = sums / counts[:, None]
    means = around + shift
    if covariance_type in ("full", "tied"):
        centred = scatter - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
        if covariance_type == "tied":
            covariances = centred.sum(axis=0) / counts.sum() + reg_covar * np.eye(D)
        else:
            covariances = centred / counts[:, None, None] + reg_covar * np.eye(D)
    else:
        variances = (scatter - nk[:, None] * shift**2) / counts[:, None] + reg_covar
        covariances = variances if covariance_type == "diag" else variances.mean(axis=1)
    return counts / counts.sum(), means, covariances


def gmm_start_dask(data, n_components, method, random_state, covariance_type, reg_covar):
    """A start for :func:`fit_gmm_dask`, like :func:`emlab.gmm.init_params`' on the blocks.

    * ``"kmeans"``: :func:`kmeans_parallel` then Lloyd's iterations
      (:func:`fit_kmeans_dask`), then each cluster's weight, mean and covariance (one
      pass; the scatter is taken around the centroid and shifted to the mean);
    * ``"k-means++"``: K of :func:`kmeans_parallel`'s points as means, ``reg_covar``
      times the identity as covariances;
    * ``"random_from_data"``: K points drawn at random, the same way;
    * ``"random"``: uniform random responsibilities, each block drawing its own from a
      generator seeded by ``random_state`` and the block's index, then one M-step.

    None of these are the in-memory starts for the same seed (those draw per point over
    the whole data set), but each is the same for the same seed on any cluster.
    """
    K = check_n_components(n_components, data.n)
    covariance_type = _check_covariance_type(covariance_type)
    random_state = check_random_state(random_state)
    D = data.D
    center = data.center
    if method in ("k-means++", "random_from_data"):
        if method == "k-means++":
            means = kmeans_parallel(data, K, random_state)
        else:
            indices = random_state.choice(data.n, size=K, replace=False)
            means = data.take(indices)
        nk = np.ones(K) + _EPS10
        floor = {
            "full": np.broadcast_to(reg_covar * np.eye(D), (K, D, D)).copy(),
            "tied": reg_covar * np.eye(D),
            "diag": np.full((K, D), float(reg_covar)),
            "spherical": np.full(K, float(reg_covar)),
        }[covariance_type]
        return nk / nk.sum(), means / nk[:, None], floor
    if method == "kmeans":
        seeds = kmeans_parallel(data, K, random_state)
        centroids = fit_kmeans_dask(data, seeds).params["centroids"] - center
        stats = data.map_reduce(_moments_block, center, centroids, covariance_type)
        weights, means, covariances = _moments_to_parameters(
            *stats, centroids, covariance_type, reg_covar
        )
        return weights, means + center, covariances
    if method == "random":
        seed = int(random_state.randint(2**31 - 1))
        indices = list(range(len(data.blocks)))
        stats = data.map_reduce(
            _random_moments_block, seed, center, K, covariance_type, per_block=indices
        )
        around = np.zeros((K, D))
        weights, means, covariances = _moments_to_parameters(
            *stats, around, covariance_type, reg_covar
        )
        return weights, means + center, covariances
    raise ValueError(f"init_params must be one of {INIT_METHODS}, got {method!r}.")


# ---------------------------------------------------------------------------
# k-means


def _scaled_tol(data, tol):
    """scikit-learn's tolerance, ``tol`` times the mean variance of the features."""
    summary = data.summary()
    variances = np.diagonal(summary.scatter) / data.n - (summary.sums / data.n) ** 2
    return float(np.mean(variances) * tol) if tol > 0 else 0.0


def fit_kmeans_dask(X, centroids, max_iter=300, tol=1e-4) -> EMResult:
    """Lloyd's k-means on a Dask array: :func:`~emlab.engines.kmeans.fit_kmeans_fast`'s
    iterations, each one map-reduce pass (per block: counts, sums, inertia).

    Each block runs the engine's fused pass (:func:`emlab.engines.kmeans._kmeans_pass`);
    an iteration in which a point is tied between two centroids or a cluster is empty
    takes an exact pass instead (ties to the lowest index; an empty cluster takes the
    point farthest from its own centroid, as :func:`emlab.kmeans.update`), as the
    in-memory engine does.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features), or a :class:`DaskData`
    centroids : array-like of shape (n_clusters, n_features)
    max_iter : int, default=300
    tol : float, default=1e-4
        Relative to the features' mean variance, as :func:`emlab.kmeans.fit_kmeans`.

    Returns
    -------
    EMResult
        Centroids and minus the inertia per iteration, as the in-memory engine's.
    """
    data = X if isinstance(X, DaskData) else DaskData(X)
    centroids = np.asarray(centroids, dtype=np.float64)
    if centroids.ndim != 2 or centroids.shape[1] != data.D:
        raise ValueError(
            f"centroids must have shape (n_clusters, {data.D}), got {centroids.shape}."
        )
    if not np.all(np.isfinite(centroids)):
        raise ValueError("centroids contains NaN or infinite values.")
    check_n_components(len(centroids), data.n, name="n_clusters")
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative whole number, got {max_iter!r}.")
    D = centroids.shape[1]
    summary = data.summary()
    center = summary.center
    shift_tol = _scaled_tol(data, tol)
    sum_of_squares = float(np.trace(summary.scatter))

    def e_step(centred):
        sum_of_best, sums, exact = data.map_reduce(
            _kmeans_block, center, centred, merge=_merge_kmeans
        )
        if exact and np.all(sums[:, D] > 0):
            return sum_of_squares + sum_of_best, ("sums", sums)
        return None, ("exact", centred)

    def exact_step(centred):
        """Ties or an empty cluster: exact labels, and update()'s refill of empty clusters."""
        sums, inertia, _ = data.map_reduce(
            _assigned_block, center, centred, 0, merge=_merge_assigned, per_block=data.offsets
        )
        return inertia, sums

    def m_step(centred, sums):
        empty = np.flatnonzero(sums[:, D] == 0)
        if empty.size:
            _, _, far = data.map_reduce(
                _assigned_block,
                center,
                centred,
                int(empty.size),
                merge=_merge_assigned,
                per_block=data.offsets,
            )
            far.sort(key=lambda item: (-item[0], item[1]))
            sums = sums.copy()
            for (_, _, point, label), k in zip(far[: empty.size], empty, strict=False):
                sums[label, :D] -= point
                sums[label, D] -= 1
                sums[k, :D] += point
                sums[k, D] += 1
        new = centred.copy()
        filled = sums[:, D] > 0
        new[filled] = sums[filled, :D] / sums[filled, D, None]
        return new

    def step(centred):
        inertia, (kind, value) = e_step(centred)
        if kind == "exact":
            inertia, value = exact_step(centred)
        return inertia, value

    centred = centroids - center
    inertia, sums = step(centred)
    history = History([Snapshot(0, {"centroids": centroids.copy()}, -inertia)])
    converged = False
    for iteration in range(1, int(max_iter) + 1):
        new = m_step(centred, sums)
        inertia, sums = step(new)
        history.append(Snapshot(iteration, {"centroids": new + center}, -inertia))
        moved = float(((new - centred) ** 2).sum())
        centred = new
        if moved <= shift_tol:
            converged = True
            break
    return engine_result(history, converged)


def _cost_block(block, center, candidates):
    """Sum over the block of each point's squared distance to its nearest candidate."""
    return float(_nearest_distances(block - center, candidates).sum())


def _nearest_distances(points, candidates):
    best = np.full(len(points), np.inf)
    for c in candidates:
        diff = points - c
        np.minimum(best, np.einsum("nd,nd->n", diff, diff), out=best)
    return best


def _sample_block(block, index, seed, center, candidates, factor):
    """The block's points kept with probability min(1, factor * d^2) (its own generator)."""
    points = block - center
    distances = _nearest_distances(points, candidates)
    rng = np.random.default_rng([seed, index])
    kept = rng.uniform(size=len(points)) < factor * distances
    return points[kept]


def _count_block(block, center, candidates):
    """How many of the block's points are nearest to each candidate."""
    points = block - center
    best = np.full(len(points), np.inf)
    nearest = np.zeros(len(points), dtype=int)
    for j, c in enumerate(candidates):
        diff = points - c
        distance = np.einsum("nd,nd->n", diff, diff)
        closer = distance < best
        best[closer], nearest[closer] = distance[closer], j
    return np.bincount(nearest, minlength=len(candidates)).astype(float)


def kmeans_parallel(X, n_clusters, random_state=None, oversampling=None, rounds=5):
    r"""k-means|| (Bahmani et al., 2012): K starting centroids in a few passes over the blocks.

    1. one point drawn uniformly at random is the first candidate; a pass gives the cost
       :math:`\phi = \sum_i d^2(x_i)`, :math:`d^2(x)` the squared distance from x to the
       nearest candidate;
    2. ``rounds`` times: every point is kept with probability
       :math:`\min(1, \ell\, d^2(x) / \phi)` (one pass; each block draws from a generator
       seeded by ``random_state``, the round and its index), the kept points join the
       candidates, and a pass gives the new :math:`\phi`; about :math:`\ell` points join
       per round;
    3. a pass counts the points nearest to each candidate: its weight;
    4. on the client, scikit-learn's k-means++ with those weights picks K candidates,
       and a weighted Lloyd's run on the candidates
       (:func:`emlab.engines.kmeans.fit_kmeans_fast`) refines them.

    Only the candidates (a few dozen points) and the counts leave the workers:
    ``2 * rounds + 2`` passes in all. With fewer candidates than K (tiny data, many
    duplicates), the missing ones are points drawn at random.

    Parameters
    ----------
    X : dask.array.Array or DaskData
    n_clusters : int
    random_state : int, RandomState instance or None
    oversampling : float, optional
        :math:`\ell`, the expected number of points kept per round; default ``2 * K``.
    rounds : int, default=5
        Bahmani et al. find 5 rounds enough in practice.

    Returns
    -------
    centroids : ndarray of shape (n_clusters, n_features)
    """
    data = X if isinstance(X, DaskData) else DaskData(X)
    K = check_n_components(n_clusters, data.n, name="n_clusters")
    rng = check_random_state(random_state)
    ell = float(2 * K if oversampling is None else oversampling)
    center = data.center
    candidates = data.take([int(rng.randint(data.n))]) - center
    indices = list(range(len(data.blocks)))
    for _ in range(int(rounds)):
        cost = data.map_reduce(_cost_block, center, candidates)
        if not cost > 0:
            break
        seed = int(rng.randint(2**31 - 1))
        kept = data.map_reduce(
            _sample_block,
            seed,
            center,
            candidates,
            ell / cost,
            merge=_concatenate,
            per_block=indices,
        )
        if len(kept):
            candidates = np.concatenate([candidates, kept])
    if len(candidates) < K:
        extra = data.take(rng.choice(data.n, size=K - len(candidates), replace=False)) - center
        candidates = np.concatenate([candidates, extra])
    counts = data.map_reduce(_count_block, center, candidates)
    if len(candidates) == K:
        return candidates + center
    from sklearn.cluster import kmeans_plusplus  # (scikit-learn's clustering: only here)

    weights = counts + _EPS10  # (a candidate nearest to no point keeps a tiny weight)
    seeds, _ = kmeans_plusplus(candidates, K, random_state=rng, sample_weight=weights)
    refined = fit_kmeans_fast(candidates, seeds, sample_weight=weights)
    return refined.params["centroids"] + center


def _concatenate(*parts):
    return np.concatenate(parts)


# ---------------------------------------------------------------------------
# Predictions, block by block


def map_rows(X, function, *args, n_columns=None, dtype=np.float64):
    """``function(block, *args)`` on each block of rows of ``X``, as a lazy Dask array.

    Each block of the answer has the block's rows and ``n_columns`` columns (``None``:
    a 1-D answer). The parameters in ``args`` go into the graph once.
    """
    data_X = X
    if X.ndim == 2 and X.numblocks[1] > 1:
        data_X = X.rechunk({1: -1})
    if n_columns is None:
        return data_X.map_blocks(function, *args, drop_axis=1, dtype=dtype)
    return data_X.map_blocks(function, *args, chunks=(data_X.chunks[0], (n_columns,)), dtype=dtype)
