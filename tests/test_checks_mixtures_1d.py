"""Lesson 07's checks accept right answers and name what is wrong in typical wrong ones."""

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


def test_e_step_check_asks_for_resp_alone_not_emlabs_pair():
    from emlab.gmm import e_step_1d

    with pytest.raises(AssertionError, match="Return only the responsibilities"):
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


def lesson_start():
    x, labels = datasets.three_gaussians()
    rng = np.random.default_rng(checks.mixtures_1d.GMM_1D_START_SEED)
    means, sds = rng.uniform(x.min(), x.max(), 3), rng.uniform(1, 10, 3)
    return x, labels, (np.full(3, 1 / 3), means, sds)


def count_misassigned(resp, labels, translate=True):
    columns = resp.argmax(axis=1)
    assigned = np.array(checks.mixtures_1d.GMM_1D_LEFT_TO_RIGHT)[columns] if translate else columns
    return int(np.sum(assigned != labels))


def answer(**fit_options):
    """The exercise's answer, computed as a student would: fit, argmax, translate, count."""
    x, labels, start = lesson_start()
    return count_misassigned(fit_gmm_1d(x, *start, **fit_options).resp, labels)


def expected():
    return answer(tol=1e-8, max_iter=1000)


def test_misassigned_check_accepts_the_answer_the_lesson_asks_for():
    checks.gmm_1d_misassigned(expected())
    checks.gmm_1d_misassigned(np.int64(expected()))
    checks.gmm_1d_misassigned(float(expected()))
    checks.gmm_1d_misassigned(answer(tol=1e-10, max_iter=10_000))  # converged further: same


def test_misassigned_answer_is_robust_and_not_a_trivial_count():
    x, _, start = lesson_start()
    resp = fit_gmm_1d(x, *start, tol=1e-8, max_iter=1000).resp
    top_two = np.sort(resp, axis=1)[:, -2:]
    assert np.min(top_two[:, 1] - top_two[:, 0]) > 1e-3  # no point near a tie
    assert 0 < expected() < 0.1 * len(x)


def untranslated():
    x, labels, start = lesson_start()
    resp = fit_gmm_1d(x, *start, tol=1e-8, max_iter=1000).resp
    return count_misassigned(resp, labels, translate=False)


def with_start_resp():
    from emlab.gmm import e_step_1d

    x, labels, start = lesson_start()
    return count_misassigned(e_step_1d(x, *start)[0], labels)


def per_point():
    x, labels, start = lesson_start()
    resp = fit_gmm_1d(x, *start, tol=1e-8, max_iter=1000).resp
    return np.array(checks.mixtures_1d.GMM_1D_LEFT_TO_RIGHT)[resp.argmax(axis=1)] != labels


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda: 3000 - expected(), "in the right component"),
        (untranslated, "left_to_right"),
        (lambda: answer(tol=0, max_iter=20), "after 20 iterations"),
        (lambda: answer(tol=1e-3), "stopped too early"),
        (with_start_resp, "starting parameters"),
        (lambda: expected() / 3000, "fraction"),
        (lambda: 100 * expected() / 3000, "percentage"),
        (lambda: expected() + 0.5, "whole number"),
        (lambda: -3, "between 0 and 3000"),
        (lambda: 5000, "between 0 and 3000"),
        (per_point, "add them up"),
        (lambda: np.array([expected(), 1]), "one number"),
        (lambda: expected() + 7, "too high"),
        (lambda: expected() - 7, "too low"),
        (lambda: ..., "not answered"),
        (lambda: "many", "text"),
    ],
)
def test_misassigned_check_names_the_mistake_without_revealing(wrong, message):
    with pytest.raises(AssertionError, match=message) as info:
        checks.gmm_1d_misassigned(wrong())
    assert str(expected()) not in str(info.value)


def test_misassigned_check_spots_the_true_parameters():
    from emlab.gmm import e_step_1d

    x, labels, _ = lesson_start()
    truth = np.array(datasets.THREE_GAUSSIANS)[list(checks.mixtures_1d.GMM_1D_LEFT_TO_RIGHT)].T
    value = count_misassigned(e_step_1d(x, np.full(3, 1 / 3), *truth)[0], labels)
    assert value != expected()
    with pytest.raises(AssertionError, match="true parameters"):
        checks.gmm_1d_misassigned(value)


# --- the whole EM loop


def e_step_and_log_likelihood(x, weights, means, sds, constant=True):
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    if not constant:  # leaves out -1/2 log(2 pi) of each point's log-density
        log_joint = log_joint + 0.5 * np.log(2 * np.pi)
    log_px = logsumexp(log_joint, axis=1, keepdims=True)
    return np.exp(log_joint - log_px), float(log_px.sum())


def m_step(x, resp):
    nk = resp.sum(axis=0)
    means = x @ resp / nk
    return nk / len(x), means, np.sqrt(np.sum(resp * (x[:, None] - means) ** 2, axis=0) / nk)


def em_loop(x, weights, means, sds, tol, max_iter, mistake=None):
    """EM as the exercise asks for it; ``mistake`` names one typical mistake to make."""
    n = len(x)
    params = (weights, means, sds)
    resp, log_likelihood = e_step_and_log_likelihood(x, *params, constant=mistake != "constant")
    log_likelihoods = [log_likelihood]
    previous, stop_next = params, False
    for _ in range(max_iter if mistake != "endless" else 10**9):
        previous, params = params, m_step(x, resp)
        if mistake == "sd is variance":  # every M-step returns variances as the sds
            params = (params[0], params[1], params[2] ** 2)
        if mistake == "stale means":  # the variances about the old means
            nk = resp.sum(axis=0)
            old_means = previous[1]
            variances = np.sum(resp * (x[:, None] - old_means) ** 2, axis=0) / nk
            params = (params[0], params[1], np.sqrt(variances))
        resp, log_likelihood = e_step_and_log_likelihood(x, *params, constant=mistake != "constant")
        change = log_likelihood - log_likelihoods[-1]
        if mistake == "one short" and abs(change) / n < tol:
            break  # before recording the last log-likelihood
        log_likelihoods.append(log_likelihood)
        if mistake == "one more":
            if stop_next:
                break
            stop_next = abs(change) / n < tol
            continue
        if mistake in ("never", "endless"):
            done = change < -tol  # EM climbs: never true
        elif mistake == "total":
            done = abs(change) < tol
        elif mistake == "reversed":
            done = abs(change) / n > tol
        else:
            done = abs(change) / n < tol
        if done:
            break
    if mistake == "ahead":
        params = m_step(x, resp)
    if mistake == "behind":
        params = previous
    if mistake == "variances":
        params = (params[0], params[1], params[2] ** 2)
    if mistake == "per point":
        log_likelihoods = [value / n for value in log_likelihoods]
    if mistake == "no start":
        log_likelihoods = log_likelihoods[1:]
    return (*params, log_likelihoods)


def em_loop_with_emlabs_steps(x, weights, means, sds, tol, max_iter):
    from emlab.gmm import e_step_1d, m_step_1d

    resp, log_likelihood = e_step_1d(x, weights, means, sds)
    log_likelihoods = [log_likelihood]
    for _ in range(max_iter):
        weights, means, sds = m_step_1d(x, resp)
        resp, log_likelihood = e_step_1d(x, weights, means, sds)
        log_likelihoods.append(log_likelihood)
        if abs(log_likelihoods[-1] - log_likelihoods[-2]) / len(x) < tol:
            break
    return weights, means, sds, np.array(log_likelihoods)


def em_loop_calling_fit_gmm_1d(x, weights, means, sds, tol, max_iter):
    run = fit_gmm_1d(x, weights, means, sds, tol=tol, max_iter=max_iter)
    return (*run.params.values(), run.history.log_likelihood)


def test_em_loop_check_accepts_a_right_loop_every_time():
    for _ in range(10):  # fresh data and a fresh start on every call
        checks.gmm_em_loop_1d(em_loop)


def test_em_loop_check_accepts_a_loop_around_emlabs_steps():
    for _ in range(5):
        checks.gmm_em_loop_1d(em_loop_with_emlabs_steps)


def test_em_loop_check_turns_away_fit_gmm_1d(monkeypatch):
    with pytest.raises(AssertionError, match=r"calls emlab\.gmm\.fit_gmm_1d, emlab's own solution"):
        checks.gmm_em_loop_1d(em_loop_calling_fit_gmm_1d)
    # and it is that rule alone that turns it away: the answer itself is right
    monkeypatch.setattr(checks._core, "_answers_called", lambda function, answers: [])
    checks.gmm_em_loop_1d(em_loop_calling_fit_gmm_1d)


def test_em_loop_problem_stops_cleanly_and_not_at_once():
    rng = np.random.default_rng(0)
    for _ in range(10):
        x, _, reference, on_total = checks.mixtures_1d._fresh_em_problem(rng)
        tol = checks.mixtures_1d.EM_LOOP_TOL
        changes = np.abs(np.diff(reference.history.log_likelihood)) / len(x)
        assert 5 <= reference.n_iter <= 120
        assert changes[-1] < 0.97 * tol < 1.03 * tol < changes[-2]
        assert np.all(np.diff(reference.history.log_likelihood) > 0)  # EM climbs
        assert reference.n_iter + 2 <= on_total.n_iter < checks.mixtures_1d.EM_LOOP_MAX_ITER


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("constant", r"off by the same amount.*n/2 log\(2 pi\)"),
        ("per point", "per point, l / n"),
        ("no start", "leaves out the log-likelihood at the start"),
        ("one more", "one iteration too many"),
        ("one short", "one iteration short"),
        ("never", "its stopping rule never fired"),
        ("total", "change in the total log-likelihood"),
        ("reversed", "Is the test reversed"),
        ("ahead", "one M-step ahead"),
        ("behind", "one M-step behind"),
        ("variances", "variances sigma_k\\^2 where the standard deviations"),
    ],
)
def test_em_loop_check_names_the_mistake(mistake, message):
    def wrong(x, weights, means, sds, tol, max_iter):
        return em_loop(x, weights, means, sds, tol, max_iter, mistake=mistake)

    for _ in range(3):  # whatever the fresh data
        with pytest.raises(AssertionError, match=message):
            checks.gmm_em_loop_1d(wrong)


def test_em_loop_check_names_a_falling_log_likelihood():
    def wrong(x, weights, means, sds, tol, max_iter):
        return em_loop(x, weights, means, sds, tol, max_iter, mistake="sd is variance")

    for _ in range(5):
        with pytest.raises(AssertionError, match="falls at iteration"):
            checks.gmm_em_loop_1d(wrong)


def test_em_loop_check_says_where_a_wrong_step_first_shows():
    def wrong(x, weights, means, sds, tol, max_iter):
        return em_loop(x, weights, means, sds, tol, max_iter, mistake="stale means")

    with pytest.raises(
        AssertionError, match="agree with EM's up to iteration 0, but at iteration 1"
    ):
        checks.gmm_em_loop_1d(wrong)


def test_em_loop_check_stops_an_endless_loop(monkeypatch):
    monkeypatch.setattr(checks.mixtures_1d, "EM_LOOP_SECONDS", 1)

    def wrong(x, weights, means, sds, tol, max_iter):
        return em_loop(x, weights, means, sds, tol, max_iter, mistake="endless")

    with pytest.raises(AssertionError, match="never stops"):
        checks.gmm_em_loop_1d(wrong)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda x, w, m, s, tol, max_iter: em_loop(x, w, m, s, tol, max_iter)[:3], "four things"),
        (lambda x, w, m, s, tol, max_iter: None, "returned None"),
        (lambda x, w, m, s, tol, max_iter: (w, m, s, 1.0), "one number per iteration"),
        (..., "not defined"),
    ],
)
def test_em_loop_check_names_what_is_missing(wrong, message):
    with pytest.raises(AssertionError, match=message):
        checks.gmm_em_loop_1d(wrong)
