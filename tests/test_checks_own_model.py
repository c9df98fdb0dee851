"""Lesson 14's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import factorial, gammaln, logsumexp, softmax
from scipy.stats import poisson

from emlab.checks import own_model
from emlab.em import run_em

# --------------------------------------------------------------------------- right answers


def log_joint(x, params):
    x = x[:, np.newaxis]
    rates = params["rates"]
    return np.log(params["weights"]) + x * np.log(rates) - rates - gammaln(x + 1)


def log_likelihood(x, params):
    return logsumexp(log_joint(x, params), axis=1).sum()


def e_step(x, params):
    table = log_joint(x, params)
    log_px = logsumexp(table, axis=1, keepdims=True)
    return np.exp(table - log_px), log_px.sum()


def m_step(x, resp):
    nk = resp.sum(axis=0)
    return {"weights": nk / len(x), "rates": x @ resp / nk}


def e_step_with_scipy(x, params):  # another right answer: scipy's log pmf
    table = np.log(params["weights"]) + poisson.logpmf(x[:, None], params["rates"])
    log_px = logsumexp(table, axis=1)
    return np.exp(table - log_px[:, None]), float(np.sum(log_px))


def test_the_references_agree_with_scipy_and_a_direct_maximisation():
    rng = np.random.default_rng(0)
    x, params = own_model._fresh_problem(rng)
    np.testing.assert_allclose(
        own_model._log_joint(x, params),
        np.log(params["weights"]) + poisson.logpmf(x[:, None], params["rates"]),
        rtol=1e-12,
    )
    # EM's fixed point from a start is where scipy.optimize's maximisation of l goes too
    K = len(params["rates"])
    start = {"weights": np.full(K, 1 / K), "rates": np.sort(rng.uniform(1, x.max(), K))}
    fit = run_em(
        x, start, own_model._reference_e_step, own_model._reference_m_step, tol=0, max_iter=5000
    )

    def minus_l(v):
        weights = softmax(np.r_[0.0, v[: K - 1]])
        return -own_model._reference_log_likelihood(
            x, {"weights": weights, "rates": np.exp(v[K - 1 :])}
        )

    v0 = np.r_[
        np.log(fit.params["weights"][1:] / fit.params["weights"][0]), np.log(fit.params["rates"])
    ]
    best = minimize(minus_l, v0, method="BFGS", options={"gtol": 1e-9})
    assert -best.fun == pytest.approx(fit.log_likelihood, rel=1e-10, abs=1e-8)
    assert -best.fun <= fit.log_likelihood + 1e-7  # EM's fixed point is a maximum


def test_the_checks_accept_right_answers_every_time():
    for _ in range(20):
        own_model.poisson_log_likelihood(log_likelihood)
        own_model.poisson_e_step(e_step)
        own_model.poisson_e_step(e_step_with_scipy)
        own_model.poisson_m_step(m_step)
    for _ in range(5):
        own_model.poisson_em(e_step, m_step)


def test_the_checks_print_nothing(capsys):
    own_model.poisson_log_likelihood(log_likelihood)
    own_model.poisson_e_step(e_step)
    own_model.poisson_m_step(m_step)
    own_model.poisson_em(e_step, m_step)
    assert capsys.readouterr().out == ""


# --------------------------------------------------------------------------- the log-likelihood


def ll_no_factorial(x, params):
    return logsumexp(log_joint(x, params) + gammaln(x[:, None] + 1), axis=1).sum()


def ll_factorial_sign(x, params):
    return logsumexp(log_joint(x, params) + 2 * gammaln(x[:, None] + 1), axis=1).sum()


def ll_no_weights(x, params):
    return logsumexp(log_joint(x, params) - np.log(params["weights"]), axis=1).sum()


def ll_sum_of_logs(x, params):
    return log_joint(x, params).sum()


def ll_max(x, params):
    return log_joint(x, params).max(axis=1).sum()


def ll_wrong_axis(x, params):
    return logsumexp(log_joint(x, params), axis=0).sum()


def ll_mean(x, params):
    return logsumexp(log_joint(x, params), axis=1).mean()


def ll_per_day(x, params):
    return logsumexp(log_joint(x, params), axis=1)


def ll_probabilities(x, params):
    rates = params["rates"]
    joint = params["weights"] * rates ** x[:, None] * np.exp(-rates) / factorial(x[:, None])
    return np.log(joint.sum(axis=1)).sum()


def ll_calls_reference(x, params):
    return own_model._reference_log_likelihood(x, params)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (ll_no_factorial, "leaves out the term -log x_i!"),
        (ll_factorial_sign, "wrong sign"),
        (ll_no_weights, "leaves out the weights"),
        (ll_sum_of_logs, "SUM over k"),
        (ll_max, "most likely kind"),
        (ll_wrong_axis, "over the days \\(axis 0\\)"),
        (ll_mean, "AVERAGE"),
        (ll_per_day, "return one number"),
        (ll_probabilities, "overflows.*log space|log space"),
        (ll_calls_reference, "emlab's own solution"),
        (..., "not defined"),
    ],
)
def test_the_log_likelihood_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            own_model.poisson_log_likelihood(function)


# --------------------------------------------------------------------------- the E-step


def _normalise_rows(table):
    return np.exp(table - logsumexp(table, axis=1, keepdims=True))


def e_no_weights(x, params):
    _, ll = e_step(x, params)
    return _normalise_rows(log_joint(x, params) - np.log(params["weights"])), ll


def e_no_minus_rate(x, params):
    _, ll = e_step(x, params)
    return _normalise_rows(log_joint(x, params) + params["rates"]), ll


def e_columns(x, params):
    table = log_joint(x, params)
    return np.exp(table - logsumexp(table, axis=0, keepdims=True)), log_likelihood(x, params)


def e_unnormalised(x, params):
    return np.exp(log_joint(x, params)), log_likelihood(x, params)


def e_log_resp(x, params):
    resp, ll = e_step(x, params)
    with np.errstate(divide="ignore"):
        return np.log(resp), ll


def e_probabilities(x, params):  # right formula, outside log space: underflows and overflows
    rates = params["rates"]
    joint = params["weights"] * rates ** x[:, None] * np.exp(-rates) / factorial(x[:, None])
    return joint / joint.sum(axis=1, keepdims=True), np.log(joint.sum(axis=1)).sum()


def e_only_resp(x, params):
    return e_step(x, params)[0]


def e_bad_log_likelihood(x, params):
    return e_step(x, params)[0], ll_no_factorial(x, params)


def e_transposed(x, params):
    resp, ll = e_step(x, params)
    return resp.T, ll


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (e_no_weights, "leave out the weights"),
        (e_no_minus_rate, "leave out the term -lambda_k"),
        (e_columns, "down each column"),
        (e_unnormalised, "rows do not sum to 1"),
        (e_log_resp, "log-responsibilities"),
        (e_probabilities, "NaN or inf.*log space"),
        (e_only_resp, "return a pair"),
        (e_bad_log_likelihood, "responsibilities are right, but the log-likelihood leaves out"),
        (e_transposed, "transposed"),
    ],
)
def test_the_e_step_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            own_model.poisson_e_step(function)


# --------------------------------------------------------------------------- the M-step


def m_unnormalised(x, resp):
    return {"weights": resp.sum(axis=0), "rates": m_step(x, resp)["rates"]}


def m_weights_by_calls(x, resp):
    return {"weights": x @ resp / x.sum(), "rates": m_step(x, resp)["rates"]}


def m_equal_weights(x, resp):
    K = resp.shape[1]
    return {"weights": np.full(K, 1 / K), "rates": m_step(x, resp)["rates"]}


def m_unweighted_rates(x, resp):
    return {"weights": m_step(x, resp)["weights"], "rates": np.full(resp.shape[1], x.mean())}


def m_rates_over_n(x, resp):
    return {"weights": m_step(x, resp)["weights"], "rates": x @ resp / len(x)}


def m_hard_rates(x, resp):
    labels = resp.argmax(axis=1)
    rates = np.array([x[labels == k].mean() for k in range(resp.shape[1])])
    return {"weights": m_step(x, resp)["weights"], "rates": rates}


def m_weights_slightly_off(x, resp):
    new = m_step(x, resp)
    return {"weights": new["weights"] * 1.01, "rates": new["rates"]}


def m_tuple(x, resp):
    new = m_step(x, resp)
    return new["weights"], new["rates"]


def m_other_names(x, resp):
    new = m_step(x, resp)
    return {"weights": new["weights"], "lambdas": new["rates"]}


def m_calls_reference(x, resp):
    return own_model._reference_m_step(x, resp)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (m_unnormalised, "soft counts N_k themselves"),
        (m_weights_by_calls, "share of the CALLS"),
        (m_equal_weights, "all 1/K"),
        (m_unweighted_rates, "plain mean of all the counts"),
        (m_rates_over_n, "divide by n, the number of all days"),
        (m_hard_rates, "hard assignments"),
        (m_weights_slightly_off, "sum to 1.01"),
        (m_tuple, "return a dict"),
        (m_other_names, "no 'rates'"),
        (m_calls_reference, "emlab's own solution"),
    ],
)
def test_the_m_step_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            own_model.poisson_m_step(function)


# --------------------------------------------------------------------------- a run that falls


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ((e_step, m_weights_by_calls), "fell at iteration \\d+.*Likely the M-step.*CALLS"),
        ((e_columns, m_step), "Likely the E-step.*down each column"),
        ((e_bad_log_likelihood, m_step), "log-likelihood your e_step returns is wrong.*-log x_i!"),
    ],
)
def test_the_run_check_names_the_iteration_and_the_step(steps, message):
    for _ in range(3):
        with pytest.raises(AssertionError, match=message):
            own_model.poisson_em(*steps)


def test_a_run_with_unweighted_rates_is_caught_where_it_falls():
    def m_unweighted(x, resp):  # every rate the plain mean: the mixture collapses to one Poisson
        return {"weights": m_step(x, resp)["weights"], "rates": np.full(resp.shape[1], x.mean())}

    with pytest.raises(
        AssertionError, match=r"fell at iteration 1:.*Likely the M-step.*plain mean"
    ):
        own_model.poisson_em(e_step, m_unweighted)


def test_never_falls_on_a_recorded_history_points_at_the_iteration():
    x = np.random.default_rng(3).poisson(np.repeat([4.0, 12.0, 25.0], [60, 100, 40])).astype(float)
    start = {"weights": np.full(3, 1 / 3), "rates": np.array([5.0, 10.0, 15.0])}
    good = run_em(x, start, e_step, m_step, tol=0, max_iter=30)
    own_model.log_likelihood_never_falls(x, good.history, e_step, m_step)
    bad = run_em(x, start, e_step, m_weights_by_calls, tol=0, max_iter=30)
    t = int(np.argmax(np.diff(bad.history.log_likelihood) < 0)) + 1
    with pytest.raises(AssertionError, match=f"fell at iteration {t}:.*Likely the M-step"):
        own_model.log_likelihood_never_falls(x, bad.history, e_step, m_weights_by_calls)
    with pytest.raises(AssertionError, match=f"fell at iteration {t}:.*Run the checks"):
        own_model.log_likelihood_never_falls(x, bad.history)


def test_the_run_check_turns_errors_into_feedback():
    def broken(x, resp):
        raise ValueError("oops")

    with pytest.raises(AssertionError, match="your m_step raised ValueError"):
        own_model.poisson_em(e_step, broken)


def test_unanswered_steps_say_so():
    def stub(*args):  # what the student edition's `...` returns
        return None

    with pytest.raises(AssertionError, match="your e_step returns nothing yet"):
        own_model.poisson_e_step(stub)
    with pytest.raises(AssertionError, match="your e_step returns nothing yet: answer Exercises"):
        own_model.poisson_em(stub, stub)
    with pytest.raises(AssertionError, match="your m_step returns nothing yet: answer Exercise 4"):
        own_model.poisson_em(e_step, stub)
