"""Tests of emlab.kmeans: k-means as hard EM, checked against scikit-learn."""

import warnings

import numpy as np
import pytest
import sklearn.cluster
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.datasets import make_blobs
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import check_estimator

from emlab.engines import kmeans as kmeans_engine
from emlab.kmeans import (
    KMeans,
    assign,
    fit_kmeans,
    inertia,
    init_kmeans_plusplus,
    init_random,
    update,
)


def blobs(n_samples=300, centers=4, seed=0):
    return make_blobs(n_samples, centers=centers, cluster_std=1.5, random_state=seed)[0]


def uniform(n_samples=300, n_features=3, seed=0):
    return np.random.default_rng(seed).uniform(size=(n_samples, n_features))


def sklearn_lloyd(X, start, **kwargs):
    return sklearn.cluster.KMeans(
        len(start), init=start, n_init=1, algorithm="lloyd", **kwargs
    ).fit(X)


# --- the same as scikit-learn ------------------------------------------------


@pytest.mark.parametrize("data", [blobs, uniform], ids=["blobs", "uniform"])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("tol", [1e-4, 0.0])
def test_fit_kmeans_matches_sklearn_from_the_same_start(data, seed, tol):
    X = data(seed=seed)
    start = init_random(X, 5, random_state=seed)
    ours = fit_kmeans(X, start, tol=tol)
    theirs = sklearn_lloyd(X, start, tol=tol)
    np.testing.assert_allclose(ours.params["centroids"], theirs.cluster_centers_, atol=1e-10)
    assert -ours.log_likelihood == pytest.approx(theirs.inertia_, rel=1e-10)
    np.testing.assert_array_equal(ours.resp.argmax(axis=1), theirs.labels_)
    assert ours.n_iter == theirs.n_iter_
    assert ours.converged


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_estimator_matches_sklearn_with_the_same_seed(init):
    X = blobs(200, centers=6, seed=1)
    ours = KMeans(6, init=init, n_init=3, random_state=7).fit(X)
    theirs = sklearn.cluster.KMeans(6, init=init, n_init=3, random_state=7, algorithm="lloyd").fit(
        X
    )
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), atol=1e-10)
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)


def test_estimator_with_init_array_matches_sklearn():
    X = uniform(seed=3)
    start = X[:4] + 0.01
    ours = KMeans(4, init=start, n_init=1).fit(X)
    theirs = sklearn_lloyd(X, start)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, atol=1e-10)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)


# --- inertia falls -----------------------------------------------------------


def test_inertia_falls_at_every_iteration_until_it_stops():
    X = blobs(seed=4)
    result = fit_kmeans(X, X[:4], tol=0)  # the first four points: a poor start
    inertia_per_iteration = -result.history.log_likelihood
    assert len(inertia_per_iteration) == result.n_iter + 1 > 3
    steps = np.diff(inertia_per_iteration)
    assert np.all(steps[:-1] < 0)  # every M-step that moves a centroid lowers J
    assert steps[-1] == 0  # the last one moved none: converged
    for snap in result.history:
        assert -snap.log_likelihood == pytest.approx(inertia(X, snap.params["centroids"]))


@st.composite
def data_and_start(draw):
    n_samples = draw(st.integers(2, 40))
    n_features = draw(st.integers(1, 3))
    coordinate = st.floats(-100, 100, allow_nan=False, allow_subnormal=False)
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=coordinate))
    n_clusters = draw(st.integers(1, min(n_samples, 5)))
    seed = draw(st.integers(0, 2**16))
    return X, n_clusters, seed


@settings(deadline=None, max_examples=100)
@given(data_and_start())
def test_inertia_never_increases(case):
    X, n_clusters, seed = case
    result = fit_kmeans(X, init_random(X, n_clusters, seed), tol=0, max_iter=50)
    inertia_per_iteration = -result.history.log_likelihood
    scale = 1e-9 * (1 + inertia_per_iteration[0])
    assert np.all(np.diff(inertia_per_iteration) <= scale)
    labels = result.resp.argmax(axis=1)
    np.testing.assert_array_equal(result.resp.sum(axis=1), 1)
    np.testing.assert_array_equal(labels, assign(X, result.params["centroids"]))


# --- empty clusters ----------------------------------------------------------


def test_update_refills_an_empty_cluster_with_the_farthest_point():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [9.0, 9.0], [10.0, 10.0]])
    centroids = np.array([[0.0, 0.0], [10.0, 10.0], [50.0, 50.0]])
    labels = np.array([0, 0, 0, 1, 1])  # cluster 2 is empty
    new = update(X, labels, centroids)
    # the point farthest from its own centroid is [9, 9] (distance^2 2, vs 1, 1, 0, 0)
    np.testing.assert_allclose(new, [[1 / 3, 1 / 3], [10.0, 10.0], [9.0, 9.0]])


def test_update_refills_several_empty_clusters_farthest_first():
    X = np.array([[0.0], [1.0], [3.0], [7.0]])
    centroids = np.array([[0.0], [20.0], [30.0]])
    labels = np.zeros(4, dtype=int)  # clusters 1 and 2 are empty
    new = update(X, labels, centroids)
    # farthest from centroid 0: 7 (to cluster 1), then 3 (to cluster 2)
    np.testing.assert_allclose(new, [[0.5], [7.0], [3.0]])


def test_a_cluster_that_gives_away_its_only_point_keeps_its_centroid():
    X = np.array([[0.0], [1.0], [2.0], [20.0]])
    centroids = np.array([[1.0], [5.0], [100.0]])
    new = update(X, [0, 0, 0, 1], centroids)
    np.testing.assert_allclose(new, [[1.0], [5.0], [20.0]])


def test_empty_cluster_during_fit_matches_sklearn():
    X = blobs(seed=5)
    start = np.vstack([X[:3], [[1000.0, 1000.0]]])  # nothing is near the last centroid
    assert 3 not in assign(X, start)
    ours = fit_kmeans(X, start)
    theirs = sklearn_lloyd(X, start)
    np.testing.assert_allclose(ours.params["centroids"], theirs.cluster_centers_, atol=1e-10)
    assert -ours.log_likelihood == pytest.approx(theirs.inertia_, rel=1e-10)
    assert np.all(np.diff(-ours.history.log_likelihood) <= 0)
    assert len(np.unique(ours.resp.argmax(axis=1))) == 4


# --- starts and restarts -----------------------------------------------------


def test_inits_pick_distinct_data_points():
    X = uniform(50, 2, seed=6)
    for init in (init_random, init_kmeans_plusplus):
        centroids = init(X, 7, random_state=0)
        assert centroids.shape == (7, 2)
        assert len(np.unique(centroids, axis=0)) == 7
        assert all(np.any(np.all(X == c, axis=1)) for c in centroids)
        np.testing.assert_array_equal(centroids, init(X, 7, random_state=0))


def test_restarts_keep_the_lowest_inertia():
    X = blobs(300, centers=8, seed=7)
    model = KMeans(8, init="random", n_init=6, random_state=0).fit(X)
    rng = check_random_state(0)  # replay the same six starts
    runs = [kmeans_engine.fit_kmeans_fast(X, init_random(X, 8, rng)) for _ in range(6)]
    inertias = [-run.log_likelihood for run in runs]
    assert max(inertias) > min(inertias)  # the starts found different local minima
    # the first run within rounding of the lowest (improves' tolerance)
    best = next(
        run for run, j in zip(runs, inertias, strict=True) if j <= min(inertias) * (1 + 1e-9)
    )
    assert model.inertia_ == pytest.approx(-best.log_likelihood, rel=1e-12)
    np.testing.assert_array_equal(model.cluster_centers_, best.params["centroids"])
    assert model.n_iter_ == best.n_iter
    np.testing.assert_array_equal(model.history_.log_likelihood, best.history.log_likelihood)


def test_same_random_state_gives_the_same_fit_bit_for_bit():
    X = blobs(seed=8)
    first = KMeans(4, random_state=42).fit(X)
    second = KMeans(4, random_state=42).fit(X)
    np.testing.assert_array_equal(first.cluster_centers_, second.cluster_centers_)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    assert first.inertia_ == second.inertia_
    np.testing.assert_array_equal(init_random(X, 4, 3), init_random(X, 4, 3))


def test_fitted_attributes_agree():
    X = blobs(seed=9)
    model = KMeans(4, random_state=0).fit(X)
    assert model.n_features_in_ == 2
    assert model.converged_
    np.testing.assert_array_equal(model.labels_, model.predict(X))
    np.testing.assert_array_equal(model.labels_, model.fit_predict(X))
    assert model.inertia_ == pytest.approx(inertia(X, model.cluster_centers_))
    assert model.score(X) == pytest.approx(-model.inertia_)
    assert model.history_.log_likelihood[-1] == pytest.approx(-model.inertia_, rel=1e-12)
    distances = model.transform(X)
    assert distances.shape == (len(X), 4)
    np.testing.assert_array_equal(distances.argmin(axis=1), model.labels_)


def test_passes_sklearn_estimator_checks():
    # scikit-learn expects its own KMeans to fail these two (a different start for
    # repeated points than for weighted ones), and so do we
    not_equivalent = "sample_weight is not equivalent to removing/repeating samples."
    check_estimator(
        KMeans(),
        expected_failed_checks={
            "check_sample_weight_equivalence_on_dense_data": not_equivalent,
            "check_sample_weight_equivalence_on_sparse_data": not_equivalent,
        },
    )


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("X", "name"),
    [
        ([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0]], "X"),
        ([[0.0, 1.0], [np.inf, 2.0], [3.0, 4.0]], "X"),
        (np.empty((0, 2)), "X"),
        ([0.0, 1.0, 2.0], "X"),
    ],
    ids=["nan", "inf", "empty", "1-D"],
)
def test_bad_X_raises_naming_it(X, name):
    good_centroids = np.zeros((2, 2))
    for call in (
        lambda: fit_kmeans(X, good_centroids),
        lambda: assign(X, good_centroids),
        lambda: init_random(X, 2, 0),
        lambda: init_kmeans_plusplus(X, 2, 0),
    ):
        with pytest.raises(ValueError, match=name):
            call()
    with pytest.raises(ValueError):
        KMeans(2).fit(X)


def test_more_clusters_than_points_raises_naming_n_clusters():
    X = uniform(3, 2)
    with pytest.raises(ValueError, match="n_clusters"):
        init_random(X, 4, 0)
    with pytest.raises(ValueError, match="n_clusters"):
        init_kmeans_plusplus(X, 4, 0)
    with pytest.raises(ValueError, match="n_clusters"):
        fit_kmeans(X, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="n_clusters"):
        KMeans(4).fit(X)


def test_init_array_of_the_wrong_shape_raises_naming_it():
    X = uniform(20, 2)
    with pytest.raises(ValueError, match="init"):
        KMeans(3, init=np.zeros((2, 2))).fit(X)
    with pytest.raises(ValueError, match="init"):
        KMeans(3, init=np.zeros((3, 3))).fit(X)
    with pytest.raises(ValueError, match="init"):
        KMeans(3, init="kmeans").fit(X)
    with pytest.raises(ValueError, match="centroids"):
        fit_kmeans(X, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="centroids"):
        fit_kmeans(X, [[0.0, np.nan], [1.0, 1.0]])


@pytest.mark.parametrize(
    ("params", "name"),
    [({"n_init": 0}, "n_init"), ({"max_iter": 0}, "max_iter"), ({"tol": -1.0}, "tol")],
)
def test_bad_hyperparameters_raise_naming_them(params, name):
    with pytest.raises(ValueError, match=name):
        KMeans(2, **params).fit(uniform(20, 2))


def test_bad_labels_raise():
    X = uniform(5, 2)
    with pytest.raises(ValueError, match="labels"):
        update(X, [0, 1, 2], np.zeros((3, 2)))
    with pytest.raises(ValueError, match="labels"):
        update(X, [0, 1, 2, 3, 4], np.zeros((3, 2)))


def test_restarts_that_find_the_same_clusters_keep_the_first():
    # lesson 03's ten k-means++ starts all find the three blobs, in different orders, with
    # inertias that differ only in the last digits (by the order of the engine's sums):
    # the first start is kept, whatever the rounding
    from emlab.datasets import blobs as lesson_blobs

    X, _ = lesson_blobs()
    model = KMeans(3, init="k-means++", n_init=10, random_state=0).fit(X)
    rng = check_random_state(0)
    runs = [kmeans_engine.fit_kmeans_fast(X, init_kmeans_plusplus(X, 3, rng)) for _ in range(10)]
    inertias = np.array([-run.log_likelihood for run in runs])
    np.testing.assert_allclose(inertias, inertias[0], rtol=1e-12)
    assert len({tuple(np.argsort(run.params["centroids"][:, 0])) for run in runs}) > 1
    np.testing.assert_array_equal(model.cluster_centers_, runs[0].params["centroids"])
    assert model.n_iter_ == runs[0].n_iter


def test_an_array_init_runs_once_and_says_so_unless_n_init_is_1():
    X = blobs(100, centers=3, seed=2)
    start = X[:3].copy()
    with pytest.warns(
        RuntimeWarning, match=r"performing only one init in KMeans instead of n_init=10"
    ):
        model = KMeans(3, init=start, random_state=0).fit(X)
    assert model.n_iter_ == kmeans_engine.fit_kmeans_fast(X, start).n_iter
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        KMeans(3, init=start, n_init=1).fit(X)
