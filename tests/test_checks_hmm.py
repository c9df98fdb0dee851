"""Lesson 13's checks accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp

from emlab import hmm
from emlab.checks import hmm as checks_hmm

# ------------------------------------------------------------------ the forward pass


def my_forward(x, startprob, transmat, emissionprob):
    """The model answer: log space, logsumexp over the previous state."""
    log_a, log_b = np.log(transmat), np.log(emissionprob[:, x].T)
    log_alpha = np.empty((len(x), len(startprob)))
    log_alpha[0] = np.log(startprob) + log_b[0]
    for i in range(1, len(x)):
        log_alpha[i] = logsumexp(log_alpha[i - 1][:, None] + log_a, axis=0) + log_b[i]
    return log_alpha, logsumexp(log_alpha[-1])


def forward_with_max_trick(x, startprob, transmat, emissionprob):
    """Another right answer: subtract the maximum by hand, and return a list."""
    log_alpha = [np.log(startprob) + np.log(emissionprob[:, x[0]])]
    for symbol in x[1:]:
        top = log_alpha[-1].max()
        alpha = np.exp(log_alpha[-1] - top) @ transmat
        log_alpha.append(top + np.log(alpha) + np.log(emissionprob[:, symbol]))
    last = log_alpha[-1]
    return log_alpha, float(last.max() + np.log(np.exp(last - last.max()).sum()))


def probability_space(x, startprob, transmat, emissionprob):
    alpha = np.empty((len(x), len(startprob)))
    alpha[0] = startprob * emissionprob[:, x[0]]
    for i in range(1, len(x)):
        alpha[i] = (alpha[i - 1] @ transmat) * emissionprob[:, x[i]]
    return np.log(alpha), np.log(alpha[-1].sum())


def returns_alpha(x, startprob, transmat, emissionprob):
    log_alpha, log_p = my_forward(x, startprob, transmat, emissionprob)
    return np.exp(log_alpha), log_p


def max_not_sum(x, startprob, transmat, emissionprob):
    log_a, log_b = np.log(transmat), np.log(emissionprob[:, x].T)
    log_alpha = np.empty((len(x), len(startprob)))
    log_alpha[0] = np.log(startprob) + log_b[0]
    for i in range(1, len(x)):
        log_alpha[i] = (log_alpha[i - 1][:, None] + log_a).max(axis=0) + log_b[i]
    return log_alpha, logsumexp(log_alpha[-1])


def transposed(x, startprob, transmat, emissionprob):
    return my_forward(x, startprob, transmat.T, emissionprob)


def no_first_emission(x, startprob, transmat, emissionprob):
    log_a, log_b = np.log(transmat), np.log(emissionprob[:, x].T)
    log_alpha = np.empty((len(x), len(startprob)))
    log_alpha[0] = np.log(startprob)
    for i in range(1, len(x)):
        log_alpha[i] = logsumexp(log_alpha[i - 1][:, None] + log_a, axis=0) + log_b[i]
    return log_alpha, logsumexp(log_alpha[-1])


def likelihood_from_max(x, startprob, transmat, emissionprob):
    log_alpha, _ = my_forward(x, startprob, transmat, emissionprob)
    return log_alpha, log_alpha[-1].max()


def likelihood_from_sum_of_logs(x, startprob, transmat, emissionprob):
    log_alpha, _ = my_forward(x, startprob, transmat, emissionprob)
    return log_alpha, log_alpha[-1].sum()


def likelihood_over_every_step(x, startprob, transmat, emissionprob):
    log_alpha, _ = my_forward(x, startprob, transmat, emissionprob)
    return log_alpha, logsumexp(log_alpha)


def one_output(x, startprob, transmat, emissionprob):
    return my_forward(x, startprob, transmat, emissionprob)[0]


def calls_emlab_forward(x, startprob, transmat, emissionprob):
    return hmm.forward(x, startprob, transmat, emissionprob)


def stub(x, startprob, transmat, emissionprob):
    raise NotImplementedError


def unanswered(x, startprob, transmat, emissionprob):
    return ...


def test_the_forward_check_accepts_right_answers_every_time():
    for _ in range(8):
        checks_hmm.forward_log_space(my_forward)
        checks_hmm.forward_log_space(forward_with_max_trick)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (probability_space, "underflowed to 0"),
        (returns_alpha, "holds alpha itself"),
        (max_not_sum, "Viterbi"),
        (transposed, "transposed"),
        (no_first_emission, "first row leaves out"),
        (likelihood_from_max, "largest log alpha"),
        (likelihood_from_sum_of_logs, "sum the alphas, not their logs"),
        (likelihood_over_every_step, "LAST step only"),
        (one_output, "should return two things"),
        (calls_emlab_forward, "emlab's own solution"),
        (stub, "not implemented yet"),
        (unanswered, "returns nothing yet"),
    ],
)
def test_the_forward_check_names_each_typical_mistake(function, message):
    with pytest.raises(AssertionError, match=message):
        for _ in range(3):
            checks_hmm.forward_log_space(function)


# ------------------------------------------------------------------ the transition M-step


def my_transition_m_step(x, log_alpha, log_beta, transmat, emissionprob):
    """The model answer: log xi, summed over i with logsumexp, rows normalized."""
    log_p = logsumexp(log_alpha[-1])
    log_b = np.log(emissionprob[:, x[1:]].T)
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + (log_b + log_beta[1:])[:, None, :] - log_p
    counts = np.exp(logsumexp(log_xi, axis=0))
    return counts / counts.sum(axis=1, keepdims=True)


def transition_loop(x, log_alpha, log_beta, transmat, emissionprob):
    """Another right answer: a loop, each xi_i normalized to sum to 1 on its own."""
    counts = np.zeros_like(transmat)
    for i in range(len(x) - 1):
        log_xi = (
            log_alpha[i][:, None]
            + np.log(transmat)
            + np.log(emissionprob[:, x[i + 1]])
            + log_beta[i + 1]
        )
        counts += np.exp(log_xi - logsumexp(log_xi))
    return counts / counts.sum(axis=1, keepdims=True)


def unnormalized(x, log_alpha, log_beta, transmat, emissionprob):
    log_p = logsumexp(log_alpha[-1])
    log_b = np.log(emissionprob[:, x[1:]].T)
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + (log_b + log_beta[1:])[:, None, :] - log_p
    return np.exp(logsumexp(log_xi, axis=0))


def by_column(x, log_alpha, log_beta, transmat, emissionprob):
    counts = unnormalized(x, log_alpha, log_beta, transmat, emissionprob)
    return counts / counts.sum(axis=0, keepdims=True)


def by_total(x, log_alpha, log_beta, transmat, emissionprob):
    counts = unnormalized(x, log_alpha, log_beta, transmat, emissionprob)
    return counts / counts.sum()


def emission_of_this_step(x, log_alpha, log_beta, transmat, emissionprob):
    log_b = np.log(emissionprob[:, x[:-1]].T)
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + (log_b + log_beta[1:])[:, None, :]
    counts = np.exp(logsumexp(log_xi, axis=0) - logsumexp(log_alpha[-1]))
    return counts / counts.sum(axis=1, keepdims=True)


def no_emission(x, log_alpha, log_beta, transmat, emissionprob):
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + log_beta[1:, None, :]
    counts = np.exp(logsumexp(log_xi, axis=0) - logsumexp(log_alpha[-1]))
    return counts / counts.sum(axis=1, keepdims=True)


def no_beta(x, log_alpha, log_beta, transmat, emissionprob):
    log_b = np.log(emissionprob[:, x[1:]].T)
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + log_b[:, None, :]
    counts = np.exp(logsumexp(log_xi, axis=0) - logsumexp(log_alpha[-1]))
    return counts / counts.sum(axis=1, keepdims=True)


def transition_in_probabilities(x, log_alpha, log_beta, transmat, emissionprob):
    alpha, beta = np.exp(log_alpha), np.exp(log_beta)
    b = emissionprob[:, x[1:]].T
    xi = alpha[:-1, :, None] * transmat * (b * beta[1:])[:, None, :]
    counts = xi.sum(axis=0)
    return counts / counts.sum(axis=1, keepdims=True)


def calls_emlab_m_step(x, log_alpha, log_beta, transmat, emissionprob):
    startprob = np.full(len(transmat), 1 / len(transmat))
    gamma, xi_sum, _ = hmm.posteriors(x, startprob, transmat, emissionprob)
    return hmm.m_step(x, gamma, xi_sum)["transmat"]


def test_the_transition_check_accepts_right_answers_every_time():
    for _ in range(8):
        checks_hmm.transition_m_step(my_transition_m_step)
        checks_hmm.transition_m_step(transition_loop)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (unnormalized, "divide each row by its sum"),
        (by_column, "column sums"),
        (by_total, "joint probability"),
        (emission_of_this_step, "emission of x_i where"),
        (no_emission, "leaves out the emission"),
        (no_beta, "leaves out beta"),
        (transition_in_probabilities, "underflow to 0"),
        (calls_emlab_m_step, "emlab's own solution"),
    ],
)
def test_the_transition_check_names_each_typical_mistake(function, message):
    with pytest.raises(AssertionError, match=message):
        for _ in range(3):
            checks_hmm.transition_m_step(function)


# ------------------------------------------------------------------ the find-the-bug fix


def scaled_forward(x, startprob, transmat, emissionprob):
    """A right answer without logs inside the loop: Rabiner's scaling."""
    alpha = startprob * emissionprob[:, x[0]]
    log_p = np.log(alpha.sum())
    alpha = alpha / alpha.sum()
    for symbol in x[1:]:
        alpha = (alpha @ transmat) * emissionprob[:, symbol]
        log_p += np.log(alpha.sum())
        alpha = alpha / alpha.sum()
    return log_p


def log_space_fix(x, startprob, transmat, emissionprob):
    return my_forward(x, startprob, transmat, emissionprob)[1]


def the_bug(x, startprob, transmat, emissionprob):
    return probability_space(x, startprob, transmat, emissionprob)[1]


def returns_probability(x, startprob, transmat, emissionprob):
    return np.exp(log_space_fix(x, startprob, transmat, emissionprob))


def scaled_without_first_factor(x, startprob, transmat, emissionprob):
    alpha = startprob * emissionprob[:, x[0]]
    alpha = alpha / alpha.sum()
    log_p = 0.0
    for symbol in x[1:]:
        alpha = (alpha @ transmat) * emissionprob[:, symbol]
        log_p += np.log(alpha.sum())
        alpha = alpha / alpha.sum()
    return log_p


def calls_emlab_log_likelihood(x, startprob, transmat, emissionprob):
    return hmm.log_likelihood(x, startprob, transmat, emissionprob)


def test_the_long_sequence_check_accepts_right_answers_every_time():
    for _ in range(8):
        checks_hmm.long_sequence_log_likelihood(scaled_forward)
        checks_hmm.long_sequence_log_likelihood(log_space_fix)


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (the_bug, "still underflows"),
        (returns_probability, "returns p\\(x\\)"),
        (scaled_without_first_factor, "first scale factor"),
        (calls_emlab_log_likelihood, "emlab's own solution"),
        (stub, "not implemented yet"),
    ],
)
def test_the_long_sequence_check_names_each_typical_mistake(function, message):
    with pytest.raises(AssertionError, match=message):
        for _ in range(3):
            checks_hmm.long_sequence_log_likelihood(function)
