"""Lesson 05's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from emlab import checks, datasets
from emlab.gmm import fit_gmm_1d

# --- the E-step


def e_step(x, weights, means, sds):
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def naive_e_step(x, weights, means, sds):
    joint = weights * norm.pdf(x[:, None], means, sds)
    return joint / joint.sum(axis=1, keepdims=True)


def test_e_step_check_accepts_the_log_space_version_every_time():
    for _ in range(20):  # fresh data on every call
        checks.gmm_e_step_1d(e_step)


def test_e_step_check_accepts_emlabs_pair():
    from emlab.gmm import e_step_1d

    checks.gmm_e_step_1d(e_step_1d)  # returns (resp, log_likelihood)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, w, m, s: e_step(x, np.full(len(w), 1 / len(w)), m, s), "left out the mixing"),
        (lambda x, w, m, s: e_step(x, w, m, s**2), "used the variance"),
        (lambda x, w, m, s: e_step(x, w, m, np.sqrt(s)), "treated sds as variances"),
        (lambda x, w, m, s: e_step(x, w, m, s).T, "transposed"),
        (lambda x, w, m, s: e_step(x, w, m, s)[:, ::-1], "reverse order"),
        (lambda x, w, m, s: np.log(e_step(x, w, m, s)), "log-responsibilities"),
        (lambda x, w, m, s: w * norm.pdf(x[:, None], m, s), "should sum to 1"),
        (naive_e_step, "far from all of them"),
        (..., "not defined"),
    ],
)
def test_e_step_check_names_the_mistake(wrong, message):
    for _ in range(5):  # whatever the fresh data
        with pytest.raises(AssertionError, match=message):
            checks.gmm_e_step_1d(wrong)


def test_e_step_check_says_why_far_points_fail():
    with pytest.raises(AssertionError, match="underflow") as info:
        checks.gmm_e_step_1d(naive_e_step)
    assert "logsumexp" in str(info.value)


# --- the M-step for the weights and means


def weights_and_means(x, resp):
    nk = resp.sum(axis=0)
    return nk / len(x), x @ resp / nk


def test_m_step_check_accepts_the_right_answer_every_time():
    for _ in range(20):
        checks.gmm_weights_and_means_1d(weights_and_means)


def hard_means(x, resp):
    labels = resp.argmax(axis=1)
    return weights_and_means(x, resp)[0], np.array(
        [x[labels == k].mean() for k in range(resp.shape[1])]
    )


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, r: (r.sum(axis=0), x @ r / r.sum(axis=0)), "divide by n"),
        (
            lambda x, r: (np.bincount(r.argmax(axis=1), minlength=r.shape[1]) / len(x), x @ r),
            "hard",
        ),
        (lambda x, r: (np.full(r.shape[1], 1 / r.shape[1]), x @ r), "equal weights"),
        (lambda x, r: (r.sum(axis=0) / r.shape[1], x @ r), "number of components"),
        (lambda x, r: (r.sum(axis=0) / len(x), x @ r / len(x)), "You divided by n"),
        (lambda x, r: (r.sum(axis=0) / len(x), x @ r), "weighted sums"),
        (lambda x, r: (r.sum(axis=0) / len(x), np.full(r.shape[1], x.mean())), "overall mean"),
        (lambda x, r: (r.mean(axis=1), x @ r / r.sum(axis=0)), "has shape"),
        (lambda x, r: weights_and_means(x, r)[1], "Return two arrays"),
        (lambda x, r: (..., x @ r / r.sum(axis=0)), "not answered"),
    ],
)
def test_m_step_check_names_the_mistake(wrong, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.gmm_weights_and_means_1d(wrong)


def test_m_step_check_spots_hard_means():
    with pytest.raises(AssertionError, match="hard assignments"):
        checks.gmm_weights_and_means_1d(hard_means)


# --- the numeric answer


def lesson_fit(**kwargs):
    x, _ = datasets.three_gaussians()
    rng = np.random.default_rng(checks.GMM_1D_START_SEED)
    means, sds = rng.uniform(x.min(), x.max(), 3), rng.uniform(1, 10, 3)
    return fit_gmm_1d(x, np.full(3, 1 / 3), means, sds, **kwargs).params


def widest(params):
    return params["weights"][np.argmax(params["sds"])]


def test_widest_weight_check_accepts_the_answer_the_lesson_asks_for():
    checks.gmm_1d_widest_weight(widest(lesson_fit(tol=1e-8, max_iter=1000)))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda: widest(lesson_fit(tol=0, max_iter=20)), "after 20 iterations"),
        (lambda: widest(lesson_fit(tol=1e-3)), "stopped too early"),
        (lambda: 1 / 3, "starting weight"),
        (lambda: lesson_fit(tol=1e-8, max_iter=1000)["weights"][0], "another component"),
        (lambda: widest(lesson_fit(tol=1e-6, max_iter=1000)), "not converged far enough"),
        (lambda: lesson_fit(tol=1e-8, max_iter=1000)["sds"].max(), "between 0 and 1"),
        (lambda: 0.5, "it is too high"),
        (lambda: ..., "not answered"),
        (lambda: "a third", "one number"),
    ],
)
def test_widest_weight_check_names_the_mistake_without_revealing(answer, message):
    with pytest.raises(AssertionError, match=message) as info:
        checks.gmm_1d_widest_weight(answer())
    expected = widest(lesson_fit(tol=1e-10, max_iter=10_000))
    assert f"{expected:.3f}" not in str(info.value)
    assert f"{expected:.4f}" not in str(info.value)
