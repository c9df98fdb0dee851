"""Lesson 15's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest

from emlab import online_em
from emlab.checks import scale as checks

# --- block_statistics ---------------------------------------------------------------------


def my_block_statistics(X_block, resp_block):
    nk = resp_block.sum(axis=0)
    sum_x = resp_block.T @ X_block
    sum_xx = np.einsum("ik,id,ie->kde", resp_block, X_block, X_block)
    return nk, sum_x, sum_xx


def with_a_loop(X_block, resp_block):
    K = resp_block.shape[1]
    sum_xx = np.stack([(resp_block[:, k] * X_block.T) @ X_block for k in range(K)])
    return resp_block.sum(axis=0), resp_block.T @ X_block, sum_xx


def test_block_statistics_accepts_right_answers_every_time():
    for _ in range(20):
        checks.block_statistics(my_block_statistics)
        checks.block_statistics(with_a_loop)


def hard_counts(X, resp):
    _, sum_x, sum_xx = my_block_statistics(X, resp)
    return np.bincount(resp.argmax(1), minlength=resp.shape[1]).astype(float), sum_x, sum_xx


def transposed(X, resp):
    nk, sum_x, sum_xx = my_block_statistics(X, resp)
    return nk, sum_x.T, sum_xx


def means_for_sums(X, resp):
    nk, sum_x, sum_xx = my_block_statistics(X, resp)
    return nk, sum_x / nk[:, None], sum_xx


def unweighted(X, resp):
    nk, sum_x, _ = my_block_statistics(X, resp)
    return nk, sum_x, np.repeat((X.T @ X)[None], resp.shape[1], axis=0)


def one_matrix(X, resp):
    nk, sum_x, _ = my_block_statistics(X, resp)
    return nk, sum_x, X.T @ X


def centred(X, resp):
    nk, sum_x, _ = my_block_statistics(X, resp)
    means = sum_x / nk[:, None]
    return (
        nk,
        sum_x,
        np.stack([(resp[:, k] * (X - means[k]).T) @ (X - means[k]) for k in range(resp.shape[1])]),
    )


def averages(X, resp):
    nk, sum_x, sum_xx = my_block_statistics(X, resp)
    return nk, sum_x, sum_xx / nk[:, None, None]


def two_things(X, resp):
    return my_block_statistics(X, resp)[:2]


def calls_emlab(X, resp):
    return online_em.sufficient_statistics(X, resp)


def stub(X, resp):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (hard_counts, "hard labels"),
        (transposed, "transposed"),
        (means_for_sums, "holds the means"),
        (unweighted, "weight each outer product"),
        (one_matrix, "one matrix for all components"),
        (centred, "centred on each component's mean"),
        (averages, "averages S_k / N_k"),
        (two_things, "three things"),
        (calls_emlab, "emlab's own solution"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_block_statistics_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.block_statistics(function)


def test_block_statistics_rejects_a_small_error():
    def off(X, resp):
        nk, sum_x, sum_xx = my_block_statistics(X, resp)
        return nk, sum_x + 0.1, sum_xx

    with pytest.raises(AssertionError, match=r"sum_x .* is not right"):
        checks.block_statistics(off)


# --- bytes_sent ---------------------------------------------------------------------------


def my_bytes(n_block, K, D):
    return 8 * (K * (1 + D + D * (D + 1) // 2) + 1)


def test_bytes_sent_accepts_the_right_formula():
    checks.bytes_sent(my_bytes)
    checks.bytes_sent(lambda n, K, D: 8.0 * (K * (1 + D + D * (D + 1) / 2) + 1))


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (lambda n, K, D: K * (1 + D + D * (D + 1) // 2) + 1, "8 bytes"),
        (lambda n, K, D: 8 * (K * (1 + D + D * D) + 1), "symmetric"),
        (lambda n, K, D: 8 * K * (1 + D + D * (D + 1) // 2), "log-likelihood"),
        (lambda n, K, D: 8 * (K * (D + D * (D + 1) // 2) + 1), "soft count"),
        (lambda n, K, D: 8 * n * D, "the block's data"),
        (lambda n, K, D: 8 * n * K, "responsibilities"),
        (lambda n, K, D: n / 1000 * my_bytes(n, K, D), "do not grow"),
        (lambda n, K, D: 42, "Count the numbers"),
        (lambda n, K, D: ..., "bytes_sent is not answered yet"),
        (lambda n, K, D: None, "bytes_sent is not answered yet"),
        (lambda n, K, D: "many", "one number of bytes"),
    ],
)
def test_bytes_sent_names_typical_mistakes(function, message):
    with pytest.raises(AssertionError, match=message):
        checks.bytes_sent(function)


# --- combine --------------------------------------------------------------------------------


def my_combine(block_stats):
    nk = sum(b[0] for b in block_stats)
    sum_x = sum(b[1] for b in block_stats)
    return nk / nk.sum(), sum_x / nk[:, None]


def averaging_combine(block_stats):
    weights = np.mean([nk / nk.sum() for nk, _, _ in block_stats], axis=0)
    means = np.mean([s / nk[:, None] for nk, s, _ in block_stats], axis=0)
    return weights, means


def averaged_weights_only(block_stats):
    weights = np.mean([nk / nk.sum() for nk, _, _ in block_stats], axis=0)
    return weights, my_combine(block_stats)[1]


def combine_calls_emlab(block_stats):
    totals = [sum(parts) for parts in zip(*block_stats, strict=True)]
    weights, means, _ = online_em.m_step_from_statistics(*totals)
    return weights, means


def test_combine_accepts_the_right_answer_every_time():
    for _ in range(20):
        checks.combine(my_combine)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (averaging_combine, "average of the blocks' means"),
        (averaged_weights_only, "average of the blocks' weights"),
        (combine_calls_emlab, "emlab's own solution"),
        (lambda block_stats: my_combine(block_stats)[0], "two things"),
        (lambda block_stats: None, "combine is not answered yet"),
        (
            lambda block_stats: (my_combine(block_stats)[0] * 2, my_combine(block_stats)[1]),
            "sum to 1",
        ),
    ],
)
def test_combine_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.combine(function)


def test_the_checks_print_nothing(capsys):
    checks.block_statistics(my_block_statistics)
    checks.bytes_sent(my_bytes)
    checks.combine(my_combine)
    assert capsys.readouterr().out == ""
