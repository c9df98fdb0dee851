"""The checks of lesson 06 (two coins) accept right answers and name typical mistakes."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emlab import checks, coins, datasets
from emlab.coins import e_step, expected_counts, m_step

# --- Exercise 1: the E-step weights ---------------------------------------------------------


def log_space_weights(heads, n_tosses, theta_A, theta_B):
    thetas = np.array([theta_A, theta_B])
    log_p = np.outer(heads, np.log(thetas)) + np.outer(n_tosses - heads, np.log1p(-thetas))
    return np.exp(log_p - logsumexp(log_p, axis=1, keepdims=True))


def product_weights(heads, n_tosses, theta_A, theta_B):
    """Right for a few tosses, but the products underflow for many."""
    p_a = theta_A**heads * (1 - theta_A) ** (n_tosses - heads)
    p_b = theta_B**heads * (1 - theta_B) ** (n_tosses - heads)
    return np.column_stack([p_a, p_b]) / (p_a + p_b)[:, None]


def unnormalized_weights(heads, n_tosses, theta_A, theta_B):
    p_a = theta_A**heads * (1 - theta_A) ** (n_tosses - heads)
    p_b = theta_B**heads * (1 - theta_B) ** (n_tosses - heads)
    return np.column_stack([p_a, p_b])


def heads_only_weights(heads, n_tosses, theta_A, theta_B):
    p_a, p_b = theta_A**heads, theta_B**heads
    return np.column_stack([p_a, p_b]) / (p_a + p_b)[:, None]


def swapped_weights(heads, n_tosses, theta_A, theta_B):
    return log_space_weights(heads, n_tosses, theta_A, theta_B)[:, ::-1]


def binomial_pmf_weights(heads, n_tosses, theta_A, theta_B):
    """Also right: scipy's pmf works in log space inside."""
    from scipy.stats import binom

    p = binom.pmf(heads[:, None], n_tosses, np.array([theta_A, theta_B])[None, :])
    return p / p.sum(axis=1, keepdims=True)


def test_e_step_responsibilities_accepts_right_answers_every_time():
    for _ in range(20):
        checks.e_step_responsibilities(log_space_weights)
        checks.e_step_responsibilities(log_space_weights, many_tosses=True)
        checks.e_step_responsibilities(binomial_pmf_weights, many_tosses=True)
        checks.e_step_responsibilities(product_weights)  # fine for a few tosses


def test_the_reference_agrees_with_the_paper_example():
    # Clarice Wang's trial with 8 heads, starting guesses 0.8 and 0.7: weight 0.564 on coin A
    weights = log_space_weights(np.array([8]), 10, 0.8, 0.7)
    assert round(weights[0, 0], 3) == 0.564


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (unnormalized_weights, "should sum to 1 over the two coins"),
        (heads_only_weights, "only theta\\*\\*h"),
        (swapped_weights, "swapped"),
        (lambda *args: None, "not answered"),
        (lambda *args: "abc", "should be numbers"),
        (lambda *args: log_space_weights(*args).T, "transposed"),
        (..., "not defined"),
    ],
)
def test_e_step_responsibilities_names_the_mistake(wrong, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.e_step_responsibilities(wrong)


def test_e_step_responsibilities_catches_underflow_with_many_tosses():
    for _ in range(5):
        with pytest.raises(AssertionError, match="underflows to 0"):
            checks.e_step_responsibilities(product_weights, many_tosses=True)


def test_e_step_responsibilities_explains_an_overflow():
    def with_python_binomials(heads, n_tosses, theta_A, theta_B):
        from math import comb

        coef = np.array([float(comb(n_tosses, int(h))) for h in heads])
        p_a = coef * theta_A**heads * (1 - theta_A) ** (n_tosses - heads)
        p_b = coef * theta_B**heads * (1 - theta_B) ** (n_tosses - heads)
        return np.column_stack([p_a, p_b]) / (p_a + p_b)[:, None]

    checks.e_step_responsibilities(with_python_binomials)
    with pytest.raises(AssertionError, match=r"OverflowError.*work with logarithms"):
        checks.e_step_responsibilities(with_python_binomials, many_tosses=True)


# --- Exercise 2: the M-step -----------------------------------------------------------------


def right_m_step(heads, n_tosses, resp):
    return resp.T @ heads / (n_tosses * resp.sum(axis=0))


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (lambda h, n, r: right_m_step(h, n, r)[::-1], "swapped"),
        (lambda h, n, r: r.T @ h, "expected heads"),
        (lambda h, n, r: r.T @ h / r.sum(axis=0), "factor of n_tosses"),
        (lambda h, n, r: r.T @ h / (r.T @ (n - h)), "by the expected tails"),
        (lambda h, n, r: r.T @ h / (n * len(h)), "all the tosses of all trials"),
        (lambda h, n, r: np.full(2, h.mean() / n), "overall fraction of heads"),
        (lambda h, n, r: right_m_step(h, n, r) + 0.01, "at index"),
        (lambda h, n, r: np.outer(h, [1, 1]), "shape"),
        (lambda h, n, r: None, "not answered"),
    ],
)
def test_m_step_names_the_mistake(wrong, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.m_step_thetas(wrong)


def test_m_step_accepts_the_right_answer_every_time():
    for _ in range(20):
        checks.m_step_thetas(right_m_step)
        checks.m_step_thetas(lambda h, n, r: list(right_m_step(h, n, r)))


# --- Exercise 3: heads attributed to coin A by the second E-step ----------------------------


def second_e_step_counts():
    data = datasets.do_batzoglou()
    resp, _ = e_step(data.heads, 10, [0.6, 0.5])
    thetas, _ = m_step(data.heads, 10, resp, learn_weights=False)
    resp, _ = e_step(data.heads, 10, thetas)
    return expected_counts(data.heads, 10, resp)


def third_e_step_heads_a():
    data = datasets.do_batzoglou()
    thetas = [0.6, 0.5]
    for _ in range(2):
        thetas, _ = m_step(data.heads, 10, e_step(data.heads, 10, thetas)[0], learn_weights=False)
    heads, _ = expected_counts(data.heads, 10, e_step(data.heads, 10, thetas)[0])
    return heads[0]


def rounded_second_e_step_heads_a():
    """The trap: the second E-step from the first M-step's estimates as printed, 0.71 and 0.58."""
    data = datasets.do_batzoglou()
    heads, _ = expected_counts(data.heads, 10, e_step(data.heads, 10, [0.71, 0.58])[0])
    return heads[0]


def test_the_rounding_trap_is_far_enough_from_the_answer_to_be_told_apart():
    heads, _ = second_e_step_counts()
    assert abs(rounded_second_e_step_heads_a() - heads[0]) > 0.03


def test_second_e_step_accepts_the_answer_rounded_to_two_decimals():
    heads, _ = second_e_step_counts()
    checks.do_batzoglou_second_e_step(heads[0])
    checks.do_batzoglou_second_e_step(round(float(heads[0]), 2))
    checks.do_batzoglou_second_e_step(np.array([heads[0]]))


def test_second_e_step_names_the_mistake_without_revealing_the_answer():
    heads, tails = second_e_step_counts()
    data = datasets.do_batzoglou()
    first, _ = expected_counts(data.heads, 10, e_step(data.heads, 10, [0.6, 0.5])[0])
    cases = [
        (first[0], "first E-step"),
        (third_e_step_heads_a(), "one iteration too many"),
        (heads[1], "coin B's share"),
        (tails[0], "tails"),
        (rounded_second_e_step_heads_a(), "full precision"),
        (0.75, "not a probability"),
        (heads[0] + 0.5, "too high"),
        (heads[0] - 0.5, "too low"),
        (..., "not answered"),
        ("twenty", "one number"),
    ]
    for value, message in cases:
        with pytest.raises(AssertionError, match=message) as feedback:
            checks.do_batzoglou_second_e_step(value)
        assert f"{heads[0]:.2f}" not in str(feedback.value)
        assert f"{heads[0]:.1f}" not in str(feedback.value)


# --- Exercise 4: find the bug in a broken EM -------------------------------------------------


def em_with(m_step_denominator, *, e_step_normalized=True, with_coefficient=True, iterations=None):
    """An EM for two equally likely coins whose M-step divides H_k by ``m_step_denominator``."""

    def em(heads, n_tosses, thetas, n_iter=25):
        def e_step(thetas):
            if with_coefficient:
                log_p = coins.log_pmf(heads, n_tosses, thetas)
            else:
                log_p = np.outer(heads, np.log(thetas)) + np.outer(
                    n_tosses - heads, np.log1p(-thetas)
                )
            log_joint = np.log(0.5) + log_p
            log_p_trial = logsumexp(log_joint, axis=1, keepdims=True)
            resp = np.exp(log_joint - log_p_trial) if e_step_normalized else np.exp(log_joint)
            return resp, log_p_trial.sum()

        resp, log_likelihood = e_step(np.asarray(thetas, dtype=float))
        log_likelihoods = [log_likelihood]
        for _ in range(n_iter if iterations is None else iterations(n_iter)):
            thetas = resp.T @ heads / m_step_denominator(resp, n_tosses, heads)
            resp, log_likelihood = e_step(thetas)
            log_likelihoods.append(log_likelihood)
        return thetas, np.array(log_likelihoods)

    return em


def soft_tosses(resp, m, heads):
    return m * resp.sum(axis=0)


def all_tosses(resp, m, heads):  # the bug of the exercise
    return m * len(heads)


def test_two_coins_em_accepts_right_answers_every_time():
    for _ in range(20):
        checks.two_coins_em(em_with(soft_tosses))
        checks.two_coins_em(em_with(soft_tosses, with_coefficient=False))  # l up to a constant


def test_two_coins_em_accepts_lists():
    def as_lists(*args):
        thetas, log_likelihoods = em_with(soft_tosses)(*args)
        return list(thetas), list(log_likelihoods)

    checks.two_coins_em(as_lists)


def test_the_lessons_broken_em_falls_and_the_fixed_one_does_not():
    trials = datasets.coin_trials()
    _, broken = em_with(all_tosses)(trials.heads, trials.n_tosses, [0.8, 0.7])
    thetas, fixed = em_with(soft_tosses)(trials.heads, trials.n_tosses, [0.8, 0.7])
    assert np.any(np.diff(broken) < 0)
    assert np.all(np.diff(fixed) >= -1e-9)
    reference = coins.fit_coins(trials.heads, trials.n_tosses, [0.8, 0.7], tol=0, max_iter=25)
    np.testing.assert_allclose(thetas, reference.params["thetas"], rtol=1e-10)
    np.testing.assert_allclose(fixed, reference.history.log_likelihood, rtol=1e-10)


def swapped_em(*args):
    thetas, log_likelihoods = em_with(soft_tosses)(*args)
    return thetas[::-1], log_likelihoods


def em_without_the_start(*args):
    thetas, log_likelihoods = em_with(soft_tosses)(*args)
    return thetas, log_likelihoods[1:]


def em_with_mean_log_likelihoods(heads, *args):
    thetas, log_likelihoods = em_with(soft_tosses)(heads, *args)
    return thetas, log_likelihoods / len(heads)


def em_calling_fit_coins(heads, n_tosses, thetas, n_iter=25):
    fit = coins.fit_coins(heads, n_tosses, thetas, tol=0, max_iter=n_iter)
    return fit.params["thetas"], np.array(fit.history.log_likelihood)


@pytest.mark.parametrize(
    ("wrong", "message"),
    [
        (em_with(all_tosses), r"still the bug.*overall fraction of heads"),
        (em_with(lambda r, m, h: m * r.sum(axis=1)), r"broadcast.*resp\.sum\(axis=0\)"),
        (em_with(lambda r, m, h: m * r.sum()), "still the bug"),
        (em_with(lambda r, m, h: r.sum(axis=0)), "above 1"),
        (swapped_em, "swapped"),
        # when EM has converged, the thetas of one iteration more or less are the same; then the
        # number of log-likelihoods gives the mistake away
        (em_with(soft_tosses, iterations=lambda n: n - 1), r"one iteration short|n_iter \+ 1"),
        (em_with(soft_tosses, iterations=lambda n: n + 1), r"one iteration too far|n_iter \+ 1"),
        (em_without_the_start, r"n_iter \+ 1"),
        (em_with_mean_log_likelihoods, "not those of EM's iterates"),
        (lambda *args: em_with(soft_tosses)(*args)[0], "two things"),
        (lambda *args: (None, None), "not answered"),
        (em_calling_fit_coins, "emlab's own solution"),
        (..., "not defined"),
    ],
)
def test_two_coins_em_names_what_is_still_wrong(wrong, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.two_coins_em(wrong)


def test_two_coins_em_names_a_falling_log_likelihood_or_the_wrong_thetas():
    """Another bug (an E-step that forgets to normalize) is caught, by one message or the other."""
    for _ in range(5):
        with pytest.raises(AssertionError, match=r"still falls|is not right|between 0 and 1|NaN"):
            checks.two_coins_em(em_with(soft_tosses, e_step_normalized=False))
