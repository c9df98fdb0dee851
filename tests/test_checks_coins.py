"""The checks of lesson 04 (two coins) accept right answers and name typical mistakes."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emlab import checks, datasets
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
