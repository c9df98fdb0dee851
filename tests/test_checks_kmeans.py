"""The checks of lesson 03 (k-means) accept right answers and name typical mistakes."""

import numpy as np
import pytest

from emlab import checks, datasets
from emlab.kmeans import KMeans

# --- Exercise 1: the assignment step (E-step) ----------------------------------------------


def squared_distance_matrix(X, centroids):
    return ((X[:, np.newaxis, :] - centroids[np.newaxis, :, :]) ** 2).sum(axis=2)


def nearest_centroid(X, centroids):
    return squared_distance_matrix(X, centroids).argmin(axis=1)


def nearest_by_euclidean_distance(X, centroids):
    """The plain distance has the same argmin as the squared one."""
    return np.sqrt(squared_distance_matrix(X, centroids)).argmin(axis=1)


def nearest_with_a_loop(X, centroids):
    return [int(np.argmin([np.sum((x - c) ** 2) for c in centroids])) for x in X]


@pytest.mark.parametrize(
    "function", [nearest_centroid, nearest_by_euclidean_distance, nearest_with_a_loop]
)
def test_assign_check_accepts_right_answers_on_fresh_data(function):
    for _ in range(20):
        checks.kmeans_assign(function)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (squared_distance_matrix, "returned the distances"),
        (lambda X, c: np.sqrt(squared_distance_matrix(X, c)), "returned the distances"),
        (lambda X, c: squared_distance_matrix(X, c).argmax(axis=1), "argmin, not argmax"),
        (lambda X, c: squared_distance_matrix(X, c).argmin(axis=0), "not axis=0"),
        (lambda X, c: squared_distance_matrix(X, c).min(axis=1), "use argmin instead of min"),
        (lambda X, c: nearest_centroid(X, c) + 1, "start at 1"),
        (lambda X, c: np.eye(len(c))[nearest_centroid(X, c)], "one label per point"),
        (lambda X, c: ((X[:, None, :] - c) ** 2).sum(axis=1).argmin(axis=1), "wrong cluster"),
        (lambda X, c: None, "returned nothing"),
        (lambda X, c: "labels", "should be numbers"),
    ],
)
def test_assign_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.kmeans_assign(function)


def test_assign_check_reports_a_missing_or_failing_function():
    def stub(X, centroids):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="not defined"):
        checks.kmeans_assign(...)
    with pytest.raises(AssertionError, match="not implemented"):
        checks.kmeans_assign(stub)
    with pytest.raises(AssertionError, match="raised"):
        checks.kmeans_assign(lambda X, c: X[10**6])


# --- Exercise 2: the update step (M-step) --------------------------------------------------


def centroid_means(X, labels, n_clusters):
    return np.array([X[labels == k].mean(axis=0) for k in range(n_clusters)])


def centroid_means_by_counting(X, labels, n_clusters):
    sums = np.zeros((n_clusters, X.shape[1]))
    np.add.at(sums, labels, X)
    return sums / np.bincount(labels, minlength=n_clusters)[:, np.newaxis]


@pytest.mark.parametrize("function", [centroid_means, centroid_means_by_counting])
def test_update_check_accepts_right_answers_on_fresh_data(function):
    for _ in range(20):
        checks.kmeans_update(function)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda X, z, K: [X[z == k].mean(axis=1) for k in range(K)], "over axis=0"),
        (lambda X, z, K: np.array([X[z == k].mean() for k in range(K)]), "over axis=0"),
        (lambda X, z, K: np.array([X[z == k].sum(axis=0) for k in range(K)]), "divide by"),
        (lambda X, z, K: np.tile(X.mean(axis=0), (K, 1)), r"X\[labels == k\]"),
        (lambda X, z, K: centroid_means(X, z, K).T, "transposed"),
        (lambda X, z, K: centroid_means(X, z, K)[::-1], "not right"),
        (lambda X, z, K: None, "returned nothing"),
    ],
)
def test_update_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.kmeans_update(function)


# --- Exercise 3: the inertia of the lesson's clustering ------------------------------------


@pytest.fixture(scope="module")
def lesson_model():
    X, _ = datasets.blobs()
    return X, KMeans(n_clusters=3, init="k-means++", n_init=10, random_state=0).fit(X)


def test_inertia_check_accepts_the_definition_and_the_attribute(lesson_model):
    X, model = lesson_model
    from_definition = ((X - model.cluster_centers_[model.labels_]) ** 2).sum()
    checks.kmeans_blobs_inertia(from_definition)
    checks.kmeans_blobs_inertia(model.inertia_)
    checks.kmeans_blobs_inertia(np.float32(model.inertia_))
    checks.kmeans_blobs_inertia(round(model.inertia_, 2))


def test_inertia_check_names_typical_mistakes_without_revealing_the_answer(lesson_model):
    X, model = lesson_model
    residuals = X - model.cluster_centers_[model.labels_]
    squared = (residuals**2).sum(axis=1)
    per_cluster = np.bincount(model.labels_, weights=squared)
    answer = f"{model.inertia_:.1f}"
    cases = [
        (squared.mean(), "factor of n = 600"),
        (np.sqrt(squared).sum(), "squares"),
        (np.sqrt(model.inertia_), "square root"),
        (per_cluster, "one number"),
        (model.inertia_ + 50.0, "too high"),
        (model.inertia_ - 50.0, "too low"),
        (..., "not answered"),
        ("eleven hundred", "should be a number"),
    ]
    for value, message in cases:
        with pytest.raises(AssertionError, match=message) as caught:
            checks.kmeans_blobs_inertia(value)
        assert answer not in str(caught.value)
