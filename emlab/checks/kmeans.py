"""Checks for the exercises on k-means.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _kmeans_problem(rng: np.random.Generator):
    """Fresh points around a few random centroids: (X, centroids, labels), every label used."""
    n, d, k = int(rng.integers(40, 90)), int(rng.integers(2, 5)), int(rng.integers(3, 6))
    centroids = rng.normal(0.0, 3.0, size=(k, d))
    labels = rng.permutation(np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)]))
    X = centroids[labels] + rng.normal(size=(n, d))
    return X, centroids, labels


def _kmeans_as_numbers(got, name: str, what: str) -> np.ndarray:
    if not_answered(got):
        raise AssertionError(
            f"{name} returned nothing: replace the ... with your code and return {what}."
        )
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def kmeans_assign(function: Callable) -> None:
    """Check ``function(X, centroids) -> labels``, the k-means E-step, on fresh data.

    The answer is :math:`z_i = \\arg\\min_k \\lVert x_i - \\mu_k \\rVert^2`, as
    :func:`emlab.kmeans.assign` computes it (Euclidean or squared distances both do).
    """
    from emlab.kmeans import assign, squared_distances

    X, centroids, _ = _kmeans_problem(_fresh_rng())
    (n, _), k = X.shape, len(centroids)
    got = _call(
        function, "your function", X.copy(), centroids.copy(), answers=(assign, squared_distances)
    )
    values = _kmeans_as_numbers(got, "your function", "the labels")
    if values is None:
        raise AssertionError("the labels should be numbers: one cluster index per point.")
    distances = squared_distances(X, centroids)
    if values.shape == (n, k):
        if np.allclose(values, distances) or np.allclose(values, np.sqrt(distances)):
            raise AssertionError(
                f"your function returned the distances, shape (n, K) = {values.shape}. Return "
                f"the index of the nearest centroid of each point instead: the argmin of each "
                f"row (axis=1)."
            )
        raise AssertionError(
            f"the labels have shape (n, K) = {values.shape}, but there should be one label per "
            f"point, shape ({n},): take the argmin over the centroids, axis=1."
        )
    if values.shape == (k,):
        raise AssertionError(
            f"the labels have shape ({k},), one per centroid, but there should be one per point, "
            f"shape ({n},): take the argmin along axis=1 (over the centroids of each point), "
            f"not axis=0."
        )
    if values.shape != (n,):
        raise AssertionError(
            f"the labels have shape {values.shape}, but there should be one per point, "
            f"shape ({n},)."
        )
    nearest = distances.min(axis=1)
    if np.allclose(values, nearest) or np.allclose(values, np.sqrt(nearest)):
        raise AssertionError(
            "your function returned the distance to the nearest centroid (min), not its index: "
            "use argmin instead of min."
        )
    if np.any(values != np.round(values)):
        raise AssertionError(
            "the labels should be whole numbers: the index (0 to K-1) of the nearest centroid."
        )
    labels = values.astype(np.int64)
    expected = assign(X, centroids)
    if np.array_equal(labels, expected):
        return
    if np.array_equal(labels, distances.argmax(axis=1)):
        raise AssertionError(
            "your labels point to the farthest centroid: use argmin, not argmax, of the distances."
        )
    if np.array_equal(labels, expected + 1):
        raise AssertionError(
            "your labels start at 1, but cluster indices start at 0 (the row of the centroid)."
        )
    wrong = np.flatnonzero(labels != expected)
    raise AssertionError(
        f"{wrong.size} of {n} points got the wrong cluster: point {wrong[0]} is nearest to "
        f"centroid {expected[wrong[0]]}, but your label is {labels[wrong[0]]}. Check that you sum "
        f"the squared differences over the coordinates (the last axis)."
    )


def kmeans_update(function: Callable) -> None:
    """Check ``function(X, labels, n_clusters) -> centroids``, the k-means M-step, on fresh data.

    The answer is :math:`\\mu_k = \\frac{1}{n_k} \\sum_{i : z_i = k} x_i`, as
    :func:`emlab.kmeans.update` computes it (every cluster has at least one point).
    """
    from emlab.kmeans import update

    X, centroids, labels = _kmeans_problem(_fresh_rng())
    (n, d), k = X.shape, len(centroids)
    got = _call(function, "your function", X.copy(), labels.copy(), k, answers=(update,))
    values = _kmeans_as_numbers(got, "your function", "the centroids")
    axis_hint = (
        "average the points of each cluster over axis=0 (down the rows, one coordinate at a "
        "time), not over axis=1 (across the coordinates of each point)."
    )
    if values is None:
        raise AssertionError(
            f"your result is not one array of numbers with {k} rows of {d} coordinates; its rows "
            f"seem to have different lengths. To get one centroid per cluster, {axis_hint}"
        )
    if values.shape == (k,):
        raise AssertionError(
            f"the centroids have shape ({k},): one number per cluster, but each centroid has "
            f"{d} coordinates, shape ({k}, {d}). Do not average over all coordinates: {axis_hint}"
        )
    if values.ndim == 2 and values.shape[0] == k and values.shape[1] != d:
        raise AssertionError(
            f"the centroids have shape {values.shape}, but each should have {d} coordinates, "
            f"shape ({k}, {d}): {axis_hint}"
        )
    if values.shape == (d, k) and d != k:
        raise AssertionError(
            f"the centroids have shape ({d}, {k}): transposed. Return one row per centroid, "
            f"shape ({k}, {d})."
        )
    if values.shape != (k, d):
        raise AssertionError(
            f"the centroids have shape {values.shape}, but they should have shape ({k}, {d}): "
            f"one row per cluster, one column per coordinate."
        )
    expected = update(X, labels, centroids)
    if np.allclose(values, expected, rtol=1e-6, atol=1e-9):
        return
    counts = np.bincount(labels, minlength=k)
    if np.allclose(values, expected * counts[:, np.newaxis], rtol=1e-6):
        raise AssertionError(
            "your centroids are the sums of the points of each cluster, not their means: divide "
            "by the number of points n_k in the cluster."
        )
    if np.allclose(values, X.mean(axis=0), rtol=1e-6):
        raise AssertionError(
            "every centroid is the mean of all the points: select the points of cluster k "
            "first, X[labels == k], then average them."
        )
    if d == k and np.allclose(values.T, expected, rtol=1e-6):
        raise AssertionError("your centroids are transposed: return one row per centroid.")
    compare(values, expected, name="centroids", n=n)


def kmeans_blobs_inertia(J_final) -> None:
    """Check the inertia of the lesson's final k-means clustering of ``datasets.blobs()``.

    The reference is refitted here, with the lesson's settings
    (``emlab.KMeans(n_clusters=3, init="k-means++", n_init=10, random_state=0)``).
    """
    from emlab import datasets
    from emlab.kmeans import KMeans

    X, _ = datasets.blobs()
    model = KMeans(n_clusters=3, init="k-means++", n_init=10, random_state=0).fit(X)
    expected = model.inertia_
    if not_answered(J_final):
        raise AssertionError("J_final is not answered yet: replace the ... with your code.")
    try:
        got = np.asarray(J_final, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"J_final should be a number, got {type(J_final).__name__}.") from None
    if got.size > 1:
        raise AssertionError(
            f"J_final has shape {got.shape}, but the inertia is one number: add up the squared "
            f"distances over all points (and all coordinates)."
        )
    got = float(got.reshape(()))
    distances = np.sqrt(((X - model.cluster_centers_[model.labels_]) ** 2).sum(axis=1))
    if np.isclose(got, distances.sum(), rtol=1e-5):
        raise AssertionError(
            "J_final adds up the distances ||x_i - mu_(z_i)||; the inertia adds up their squares."
        )
    if np.isclose(got, np.sqrt(expected), rtol=1e-5):
        raise AssertionError(
            "J_final looks like a square root of the inertia: J is the sum of the squared "
            "distances, with no root taken."
        )
    compare(got, expected, name="J_final", rtol=1e-5, n=X.shape[0], reveal=False)


def _kmeans_run_as_numbers(got, n: int, k: int, d: int):
    """A student's ``(centroids, labels, J_history)`` as arrays, or an ``AssertionError``."""
    if not_answered(got):
        raise AssertionError(
            "your function returned nothing: replace the ... with your code and return "
            "centroids, labels, J_history."
        )
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(
            "your function should return three things, centroids, labels, J_history "
            "(return centroids, labels, J_history)."
        )
    parts = []
    for value, what in zip(got, ("centroids", "labels", "J_history"), strict=True):
        if not_answered(value):
            raise AssertionError(f"{what} is not answered yet: return it from your loop.")
        try:
            parts.append(np.asarray(value, dtype=float))
        except (TypeError, ValueError):
            raise AssertionError(f"{what} should be numbers.") from None
    centroids, labels, history = parts
    if centroids.shape != (k, d):
        raise AssertionError(
            f"the centroids have shape {centroids.shape}, but there should be one row per "
            f"cluster, shape ({k}, {d})."
        )
    if labels.shape != (n,):
        raise AssertionError(
            f"the labels have shape {labels.shape}, but there should be one per point, "
            f"shape ({n},)."
        )
    if history.ndim != 1 or history.size == 0:
        raise AssertionError(
            f"J_history should be a list of numbers, one J per iteration; got shape "
            f"{history.shape}."
        )
    return centroids, labels, history


def kmeans_lloyd(function: Callable) -> None:
    """Check ``function(X, centroids) -> (centroids, labels, J_history)``: the whole k-means loop.

    On fresh data from a random start, the answer is :func:`emlab.kmeans.fit_kmeans`
    with ``tol=0``: repeat the E-step and the M-step until an M-step moves no centroid,
    return the final centroids, the labels of the last E-step and the inertia after every
    E-step. A history that also holds the final, repeated value is accepted too.
    """
    from emlab.engines.kmeans import fit_kmeans_fast
    from emlab.kmeans import KMeans, fit_kmeans, init_random

    rng = _fresh_rng()
    for _ in range(100):
        # a run long enough to tell a loop that stops early, in which no cluster ever
        # empties (the exercise leaves that case out)
        X, centroids, _ = _kmeans_problem(rng)
        start = init_random(X, len(centroids), random_state=int(rng.integers(2**31)))
        reference = fit_kmeans(X, start, tol=0, max_iter=1000, record_resp=True)
        long_enough = reference.n_iter >= 4
        if long_enough and np.all(reference.history.resp.sum(axis=1) > 0):
            break
    (n, d), k = X.shape, len(centroids)
    answers = (fit_kmeans, fit_kmeans_fast, KMeans)
    got = _call(function, "your function", X.copy(), start.copy(), answers=answers)
    centroids, labels, history = _kmeans_run_as_numbers(got, n, k, d)
    expected_history = -reference.history.log_likelihood  # J after every E-step
    expected_centroids = reference.params["centroids"]
    rises = np.flatnonzero(np.diff(history) > 1e-9 * max(1.0, abs(history[0])))
    if rises.size:
        t = int(rises[0])
        raise AssertionError(
            f"J went up, from {history[t]:.4g} (iteration {t}) to {history[t + 1]:.4g}: k-means "
            f"never raises J. Does each E-step use the newest centroids, and each M-step the "
            f"newest labels? Is J measured with the labels and centroids of the same E-step?"
        )
    if not np.isclose(history[0], expected_history[0], rtol=1e-6):
        raise AssertionError(
            f"the first J is {history[0]:.4g}, but the first E-step from the start gives "
            f"{expected_history[0]:.4g}: record J = sum of ||x_i - mu_(z_i)||^2 right after "
            f"each E-step, starting with the start's."
        )
    long_enough = history.size >= expected_history.size - 1
    if not long_enough or not np.allclose(centroids, expected_centroids, rtol=1e-6, atol=1e-9):
        if np.allclose(centroids, start) and history.size <= 1:
            raise AssertionError(
                "your loop returned the start: it stopped before the first M-step moved the "
                "centroids. Stop only when an M-step leaves every centroid where it was."
            )
        if not long_enough:
            raise AssertionError(
                f"your loop stopped after {history.size} E-steps, but the centroids were still "
                f"moving: k-means needs {expected_history.size - 1} here. Stop only when an "
                f"M-step leaves every centroid exactly where it was."
            )
        compare(centroids, expected_centroids, name="the final centroids", n=n)
    if not np.array_equal(labels, reference.resp.argmax(axis=1)):
        raise AssertionError(
            "the final centroids are right, but the labels are not those of the nearest "
            "centroid: return the labels of the last E-step."
        )
    if history.size > expected_history.size:
        raise AssertionError(
            f"J_history has {history.size} entries, but the loop should stop after "
            f"{expected_history.size - 1} or {expected_history.size} E-steps: break out of the "
            f"loop as soon as an M-step moves no centroid."
        )
    if not (
        np.allclose(history, expected_history[: history.size], rtol=1e-6)
        and history.size >= expected_history.size - 1
    ):
        wrong = int(np.flatnonzero(~np.isclose(history, expected_history[: history.size]))[0])
        raise AssertionError(
            f"J_history[{wrong}] is {history[wrong]:.4g}, but J after E-step {wrong} is "
            f"{expected_history[wrong]:.4g}: record J right after each E-step."
        )
