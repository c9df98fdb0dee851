"""The exercise checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp

import emlab
from emlab import checks, coins, gmm, kmeans, mle
from emlab.kmeans import assign as nearest_centroid


def stable_resp(log_joint):
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def test_compare_accepts_equal_values():
    checks.compare(np.array([1.0, 2.0]), np.array([1.0, 2.0]), name="x")


@pytest.mark.parametrize(
    ("got", "message"),
    [
        (..., "not answered yet"),
        (None, "not answered yet"),
        ("abc", "should be numbers"),
        (np.ones((3, 2)), "has shape"),
        (np.ones((2, 3)).T.T[:, :2], "has shape"),
        (np.array([[np.nan, 1.0, 0.0], [0.5, 0.5, 0.0]]), "NaN"),
    ],
)
def test_compare_names_the_problem(got, message):
    with pytest.raises(AssertionError, match=message):
        checks.compare(got, np.full((2, 3), 1 / 3), name="resp")


def test_compare_spots_a_transpose_a_factor_and_bad_normalization():
    expected = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5]])
    with pytest.raises(AssertionError, match="transposed"):
        checks.compare(expected.T, expected, name="resp")
    with pytest.raises(AssertionError, match="factor of n = 3"):
        checks.compare(expected * 3, expected, name="resp", n=3)
    wrong_axis = expected / expected.sum(axis=0, keepdims=True)
    with pytest.raises(AssertionError, match="along axis 1"):
        checks.compare(wrong_axis, expected, name="resp", sums_to_one_axis=1)
    off = expected.copy()
    off[1, 0] = 0.7
    with pytest.raises(AssertionError, match=r"at index \(1, 0\)"):
        checks.compare(off, expected, name="resp")


def test_responsibilities_check_accepts_the_stable_version_every_time():
    for _ in range(20):  # fresh random data on every call
        checks.responsibilities_from_log_joint(stable_resp)


def test_responsibilities_check_rejects_typical_mistakes():
    def naive(log_joint):
        return np.exp(log_joint) / np.exp(log_joint).sum(axis=1, keepdims=True)

    def unnormalized(log_joint):
        return np.exp(log_joint - log_joint.max(axis=1, keepdims=True))

    def wrong_axis(log_joint):
        shifted = np.exp(log_joint - log_joint.max(axis=0, keepdims=True))
        return shifted / shifted.sum(axis=0, keepdims=True)

    def stub(log_joint):
        raise NotImplementedError

    with pytest.raises(AssertionError, match="underflow"):
        checks.responsibilities_from_log_joint(naive)
    with pytest.raises(AssertionError, match="should sum to 1"):
        checks.responsibilities_from_log_joint(unnormalized)
    with pytest.raises(AssertionError, match="normalize along axis 1"):
        checks.responsibilities_from_log_joint(wrong_axis)
    with pytest.raises(AssertionError, match="not implemented"):
        checks.responsibilities_from_log_joint(stub)
    with pytest.raises(AssertionError, match="not defined"):
        checks.responsibilities_from_log_joint(...)


def test_mle_sigma_recognises_the_n_minus_1_mistake():
    x = np.random.default_rng(0).normal(170, 10, 50)
    checks.mle_sigma(np.std(x), x)
    with pytest.raises(AssertionError, match="n - 1"):
        checks.mle_sigma(np.std(x, ddof=1), x)
    with pytest.raises(AssertionError, match="not right: it is too high") as info:
        checks.mle_sigma(np.std(x) + 1, x)
    assert f"{np.std(x):.3}" not in str(info.value)  # a numeric answer is never revealed


# --- an exercise answered by calling emlab's own solution is turned away ----------------------


def coins_e_step(heads, n_tosses, theta_a, theta_b):
    return coins.e_step(heads, n_tosses, [theta_a, theta_b])[0]


def coins_m_step(heads, n_tosses, resp):
    return coins.m_step(heads, n_tosses, resp, learn_weights=False)[0]


def gmm_e_step_1d(x, weights, means, sds):
    return gmm.e_step_1d(x, weights, means, sds)[0]


def gmm_weights_and_means(x, resp):
    weights, means, _ = gmm.m_step_1d(x, resp)
    return weights, means


def log_likelihood(x, mu, sigma):
    return mle.gaussian_log_likelihood(x, mu, sigma)


def kmeans_assign(X, centroids):  # through an alias
    return nearest_centroid(X, centroids)


def kmeans_update(X, labels, n_clusters):  # through the package's full path
    return emlab.kmeans.update(X, labels, np.zeros((n_clusters, X.shape[1])))


def full_covariances(X, resp):
    return gmm.m_step(X, resp, "full", reg_covar=0.0)[2]


CALLS_THE_ANSWER = [
    (checks.e_step_responsibilities, coins_e_step, "emlab.coins.e_step"),
    (checks.m_step_thetas, coins_m_step, "emlab.coins.m_step"),
    (checks.gmm_e_step_1d, gmm_e_step_1d, "emlab.gmm.e_step_1d"),
    (checks.e_step_two_components, gmm_e_step_1d, "emlab.gmm.e_step_1d"),
    (checks.gmm_weights_and_means_1d, gmm_weights_and_means, "emlab.gmm.m_step_1d"),
    (checks.gaussian_log_likelihood, log_likelihood, "emlab.mle.gaussian_log_likelihood"),
    (checks.kmeans_assign, kmeans_assign, "emlab.kmeans.assign"),
    (checks.kmeans_update, kmeans_update, "emlab.kmeans.update"),
    (checks.gmm_full_covariances, full_covariances, "emlab.gmm.m_step"),
]


@pytest.mark.parametrize(("check", "answer", "name"), CALLS_THE_ANSWER)
def test_an_answer_that_calls_emlabs_solution_is_turned_away(check, answer, name, monkeypatch):
    with pytest.raises(AssertionError, match=rf"calls {name}, emlab's own solution"):
        check(answer)
    # and it is that rule alone that turns it away: the answer itself is right
    monkeypatch.setattr(checks._core, "_answers_called", lambda function, answers: [])
    check(answer)


def test_only_calls_of_the_very_functions_count():
    def own_nearest(X, centroids):
        # not kmeans.assign(X, centroids): a comment or a string naming it is fine
        note = "kmeans.assign"
        assign = lambda X, C: ((X[:, None, :] - C[None]) ** 2).sum(axis=2).argmin(axis=1)  # noqa: E731
        return assign(X, centroids) if note else None

    assert checks._core._answers_called(own_nearest, (kmeans.assign,)) == []
    checks.kmeans_assign(own_nearest)

    def shadows_the_import(X, centroids):  # a local name that happens to match an import
        nearest_centroid = own_nearest
        return nearest_centroid(X, centroids)

    assert checks._core._answers_called(shadows_the_import, (kmeans.assign,)) == []
    assert checks._core._answers_called(kmeans_assign, (kmeans.assign,)) == ["emlab.kmeans.assign"]
    assert checks._core._answers_called(print, (kmeans.assign,)) == []  # no source: nothing to say
