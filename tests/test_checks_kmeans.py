"""The checks of lesson 05 (k-means) accept right answers and name typical mistakes."""

import numpy as np
import pytest

from emlab import checks, datasets, kmeans
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


# --- Exercise 4: the whole loop ------------------------------------------------------------


def lloyd(X, centroids):
    J_history = []
    while True:
        labels = nearest_centroid(X, centroids)
        J_history.append(((X - centroids[labels]) ** 2).sum())
        new = centroid_means(X, labels, len(centroids))
        if np.array_equal(new, centroids):
            return centroids, labels, J_history
        centroids = new


def lloyd_recording_the_repeat(X, centroids):
    """Also records J after the E-step that shows nothing moved (as fit_kmeans' history)."""
    J_history = []
    previous = None
    while True:
        labels = kmeans.assign(X, centroids)
        J_history.append(kmeans.inertia(X, centroids, labels))
        if previous is not None and np.array_equal(previous, centroids):
            return centroids, labels, np.array(J_history)
        previous, centroids = centroids, kmeans.update(X, labels, centroids)


def lloyd_until_labels_repeat(X, centroids):
    J_history, labels = [], None
    while True:
        new_labels = nearest_centroid(X, centroids)
        J_history.append(((X - centroids[new_labels]) ** 2).sum())
        if labels is not None and np.array_equal(new_labels, labels):
            return centroids, new_labels, J_history
        labels = new_labels
        centroids = centroid_means(X, labels, len(centroids))


@pytest.mark.parametrize("function", [lloyd, lloyd_recording_the_repeat, lloyd_until_labels_repeat])
def test_lloyd_check_accepts_right_loops_on_fresh_data(function):
    for _ in range(20):
        checks.kmeans_lloyd(function)


def one_round(X, centroids):
    labels = nearest_centroid(X, centroids)
    J = ((X - centroids[labels]) ** 2).sum()
    return centroid_means(X, labels, len(centroids)), labels, [J]


def fixed_rounds(X, centroids):
    J_history = []
    for _ in range(500):
        labels = nearest_centroid(X, centroids)
        J_history.append(((X - centroids[labels]) ** 2).sum())
        centroids = centroid_means(X, labels, len(centroids))
    return centroids, labels, J_history


def no_loop(X, centroids):
    labels = nearest_centroid(X, centroids)
    return centroids, labels, [((X - centroids[labels]) ** 2).sum()]


def labels_computed_once(X, centroids):
    labels = nearest_centroid(X, centroids)  # never updated: the E-step is outside the loop
    J_history = []
    while True:
        J_history.append(((X - centroids[labels]) ** 2).sum())
        new = centroid_means(X, labels, len(centroids))
        if np.array_equal(new, centroids):
            return centroids, labels, J_history
        centroids = new


def J_after_the_m_step(X, centroids):
    J_history = []
    while True:
        labels = nearest_centroid(X, centroids)
        new = centroid_means(X, labels, len(centroids))
        J_history.append(((X - new[labels]) ** 2).sum())
        if np.array_equal(new, centroids):
            return centroids, labels, J_history
        centroids = new


def calls_fit_kmeans(X, centroids):
    run = kmeans.fit_kmeans(X, centroids, tol=0)
    return run.params["centroids"], run.resp.argmax(axis=1), -run.history.log_likelihood


def calls_the_estimator(X, centroids):
    model = KMeans(len(centroids), init=centroids, n_init=1, tol=0).fit(X)
    return model.cluster_centers_, model.labels_, -model.history_.log_likelihood


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (one_round, "still moving"),
        (no_loop, "returned the start"),
        (fixed_rounds, "break out of the loop"),
        (labels_computed_once, "still moving"),
        (J_after_the_m_step, "the first J"),
        (calls_fit_kmeans, "emlab's own solution"),
        (calls_the_estimator, "emlab's own solution"),
        (lambda X, c: None, "returned nothing"),
        (lambda X, c: (c, nearest_centroid(X, c)), "three things"),
        (lambda X, c: (c[:, 0], nearest_centroid(X, c), [1.0]), "one row per cluster"),
    ],
)
def test_lloyd_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.kmeans_lloyd(function)


def test_lloyd_check_says_when_J_goes_up():
    def rising(X, centroids):
        centroids, labels, J_history = lloyd(X, centroids)
        return centroids, labels, [*J_history, J_history[-1] + 1.0]

    with pytest.raises(AssertionError, match="J went up"):
        checks.kmeans_lloyd(rising)
