"""Checks for the exercises of lesson 13, hidden Markov models and Baum-Welch.

See :mod:`emlab.checks` for what every check does. Each check draws a fresh hidden Markov
model (2 or 3 states, 3 to 6 symbols) and a sequence from it, runs the student's function
and compares it with :mod:`emlab.hmm`; a long sequence, whose probability is far below
the smallest float, catches a computation in probability space.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

import numpy as np
from scipy.special import logsumexp

from emlab.checks._core import _call, _fresh_rng, compare, not_answered

#: Rolls in the long sequence: its probability is about exp(-1.5 n), far below 1e-308.
_LONG = 2000


def _model_and_sequence(rng: np.random.Generator, n: int):
    """A random HMM with sticky states and distinct emissions, and a sequence of length n."""
    n_states, n_symbols = int(rng.integers(2, 4)), int(rng.integers(3, 7))
    startprob = rng.dirichlet(np.full(n_states, 2.0))
    transmat = rng.dirichlet(np.ones(n_states), size=n_states) + 3 * np.eye(n_states)
    transmat /= transmat.sum(axis=1, keepdims=True)
    emissionprob = rng.dirichlet(np.ones(n_symbols), size=n_states)
    draws = rng.random(n)
    transmat_cdf = np.cumsum(transmat, axis=1).tolist()
    states = [min(bisect.bisect_right(np.cumsum(startprob).tolist(), draws[0]), n_states - 1)]
    for draw in draws[1:].tolist():  # a Markov chain: each state depends on the one before
        states.append(min(bisect.bisect_right(transmat_cdf[states[-1]], draw), n_states - 1))
    states = np.array(states, dtype=np.int64)
    symbol_cdf = np.cumsum(emissionprob, axis=1)
    x = (rng.random(n)[:, None] >= symbol_cdf[states]).sum(axis=1)
    x = np.minimum(x, n_symbols - 1).astype(np.int64)
    return x, startprob, transmat, emissionprob


def _as_array(got):
    """``got`` as a float array, or ``None`` if it is not numbers."""
    if not_answered(got):
        return None
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def _forward_variant(x, startprob, transmat, emissionprob, *, reduce="sum", a=None, first=True):
    """Wrong (or right) forward passes in log space, to recognise a student's slip."""
    log_a = np.log(transmat if a is None else a)
    log_b = np.log(emissionprob[:, x].T)
    log_alpha = np.empty_like(log_b)
    log_alpha[0] = np.log(startprob) + (log_b[0] if first else 0.0)
    for i in range(1, len(x)):
        scores = log_alpha[i - 1][:, None] + log_a
        combined = np.logaddexp.reduce(scores, axis=0) if reduce == "sum" else scores.max(axis=0)
        log_alpha[i] = combined + log_b[i]
    return log_alpha


def _diagnose_log_alpha(values, x, startprob, transmat, emissionprob) -> str | None:
    """The message for a typical wrong log alpha, if ``values`` is one."""
    from emlab.hmm import forward

    expected = forward(x, startprob, transmat, emissionprob)[0]
    if values.shape != expected.shape:
        return None
    with np.errstate(divide="ignore"):
        if np.allclose(values, np.exp(expected), rtol=1e-7, atol=1e-300):
            return (
                "log_alpha holds alpha itself, the probabilities: return the logarithms, "
                "log alpha_i(k), computed in log space throughout."
            )
    candidates = [
        (
            _forward_variant(x, startprob, transmat, emissionprob, reduce="max"),
            "log_alpha takes the maximum over the previous state j where the forward pass "
            "SUMS (in log space: logsumexp over j). The maximum is Viterbi's recursion.",
        ),
        (
            _forward_variant(x, startprob, transmat, emissionprob, a=transmat.T),
            "log_alpha uses the transition matrix transposed: A[j, k] is the probability of "
            "going from state j to state k, so alpha_i(k) sums alpha_{i-1}(j) A[j, k] over j "
            "(the rows of A), i.e. log_alpha[i - 1][:, None] + log A, reduced over axis 0.",
        ),
        (
            _forward_variant(x, startprob, transmat, emissionprob, first=False),
            "log_alpha's first row leaves out the first symbol's emission: "
            "log alpha_1(k) = log pi_k + log B[k, x_1].",
        ),
    ]
    for candidate, message in candidates:
        if np.allclose(values, candidate, rtol=1e-9, atol=1e-9):
            return message
    return None


def forward_log_space(function: Callable) -> None:
    """Check ``function(x, startprob, transmat, emissionprob) -> (log_alpha, log_likelihood)``.

    The forward pass in log space, :math:`\\log \\alpha_i(k) = \\log B_{k x_i} +
    \\operatorname{logsumexp}_j(\\log \\alpha_{i-1}(j) + \\log A_{jk})` with
    :math:`\\log \\alpha_1(k) = \\log \\pi_k + \\log B_{k x_1}`, and
    :math:`\\ell = \\operatorname{logsumexp}_k \\log \\alpha_n(k)`, compared with
    :func:`emlab.hmm.forward` on a fresh short sequence (where the usual slips are named:
    alpha instead of its log, a maximum for the sum, the transition matrix transposed, the
    first emission left out, the log-likelihood from a maximum or a plain sum) and on a
    sequence of 2,000 symbols whose probability underflows in probability space.
    """
    from emlab.hmm import backward, forward, log_likelihood, posteriors

    rng = _fresh_rng()
    for n in (int(rng.integers(6, 15)), _LONG):
        x, startprob, transmat, emissionprob = _model_and_sequence(rng, n)
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                x.copy(),
                startprob.copy(),
                transmat.copy(),
                emissionprob.copy(),
                answers=(forward, backward, posteriors, log_likelihood),
            )
        if not_answered(got):
            raise AssertionError("your function returns nothing yet: replace the ... with code.")
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise AssertionError(
                "your function should return two things, (log_alpha, log_likelihood): the "
                "(n, K) array of log alpha_i(k) and one number, log p(x)."
            )
        log_alpha, log_lik = _as_array(got[0]), _as_array(got[1])
        expected_alpha, expected_lik = forward(x, startprob, transmat, emissionprob)
        long = n == _LONG
        where = f" on a sequence of {n} symbols" if long else ""
        if long and log_alpha is not None and log_alpha.shape == expected_alpha.shape:
            if not np.all(np.isfinite(log_alpha)):
                step = int(np.argmax(~np.isfinite(log_alpha).all(axis=1)))
                raise AssertionError(
                    f"log_alpha is -inf or NaN from step {step} of a sequence of {n} symbols: "
                    f"alpha itself underflowed to 0 (p(x) is about 1e{expected_lik / np.log(10):.0f} "
                    f"here). Stay in log space: add logs, and sum with logsumexp, never "
                    f"np.exp then np.log."
                )
        if (
            log_alpha is not None
            and np.all(np.isfinite(log_alpha))
            and not (
                log_alpha.shape == expected_alpha.shape
                and np.allclose(log_alpha, expected_alpha, rtol=1e-7, atol=1e-9)
            )
        ):
            message = _diagnose_log_alpha(log_alpha, x, startprob, transmat, emissionprob)
            if message is not None:
                raise AssertionError(message)
        compare(got[0], expected_alpha, name=f"log_alpha{where}", rtol=1e-7, atol=1e-9)
        if log_lik is not None and log_lik.size != 1:
            raise AssertionError(
                f"log_likelihood has {log_lik.size} numbers (shape {log_lik.shape}): return "
                f"one number, log p(x) = logsumexp over k of log alpha_n(k)."
            )
        if log_lik is not None and np.isfinite(log_lik).all():
            value = float(log_lik.ravel()[0])
            if not np.isclose(value, expected_lik, rtol=1e-9):
                last = expected_alpha[-1]
                if np.isclose(value, last.max(), rtol=1e-9):
                    raise AssertionError(
                        "log_likelihood is the largest log alpha_n(k): p(x) is the SUM over the "
                        "last state, log p(x) = logsumexp(log_alpha[-1])."
                    )
                if np.isclose(value, last.sum(), rtol=1e-9):
                    raise AssertionError(
                        "log_likelihood adds the log alpha_n(k): sum the alphas, not their logs, "
                        "log p(x) = logsumexp(log_alpha[-1])."
                    )
                if np.isclose(value, logsumexp(expected_alpha), rtol=1e-9):
                    raise AssertionError(
                        "log_likelihood sums alpha over every step: p(x) is the sum over the "
                        "states at the LAST step only, logsumexp(log_alpha[-1])."
                    )
        compare(got[1], expected_lik, name=f"log_likelihood{where}", rtol=1e-9, atol=1e-9)


def _xi_sum_variant(x, log_alpha, log_beta, transmat, emissionprob, *, emit="next", beta=True):
    """The logs of the expected transition counts, computed right or with a typical slip."""
    log_b = np.log(emissionprob[:, x].T)
    log_p = logsumexp(log_alpha[-1])
    emission = log_b[1:] if emit == "next" else log_b[:-1] if emit == "this" else 0.0 * log_b[1:]
    after = log_beta[1:] if beta else 0.0 * log_beta[1:]
    log_xi = log_alpha[:-1, :, None] + np.log(transmat) + (emission + after)[:, None, :] - log_p
    return logsumexp(log_xi, axis=0)


def _rows(log_counts):
    """Counts given by their logs, each row divided by its sum (in log space)."""
    return np.exp(log_counts - logsumexp(log_counts, axis=1, keepdims=True))


def transition_m_step(function: Callable) -> None:
    """Check ``function(x, log_alpha, log_beta, transmat, emissionprob) -> new transmat``.

    Baum-Welch's transition update, :math:`A_{jk} = \\sum_i \\xi_i(j, k) / \\sum_i
    \\sum_{k'} \\xi_i(j, k')` with :math:`\\xi_i(j, k) = \\alpha_i(j) A_{jk} B_{k x_{i+1}}
    \\beta_{i+1}(k) / p(x)`, compared with :func:`emlab.hmm.posteriors` and
    :func:`emlab.hmm.m_step` on a fresh short sequence (the usual slips are named: the
    counts not normalized, or normalized by column or by their total, the emission of
    :math:`x_i` for that of :math:`x_{i+1}`, the emission or :math:`\\beta` left out) and on
    a sequence of 2,000 symbols, where :math:`\\alpha` and :math:`\\beta` themselves
    underflow (log space).
    """
    from emlab.hmm import backward, forward, m_step, posteriors

    rng = _fresh_rng()
    for n in (int(rng.integers(8, 20)), _LONG):
        x, startprob, transmat, emissionprob = _model_and_sequence(rng, n)
        log_alpha, _ = forward(x, startprob, transmat, emissionprob)
        log_beta = backward(x, startprob, transmat, emissionprob)
        gamma, xi_sum, _ = posteriors(x, startprob, transmat, emissionprob)
        expected = m_step(x, gamma, xi_sum, n_features=emissionprob.shape[1])["transmat"]
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                x.copy(),
                log_alpha.copy(),
                log_beta.copy(),
                transmat.copy(),
                emissionprob.copy(),
                answers=(posteriors, m_step),
            )
        values = _as_array(got)
        where = f" on a sequence of {n} symbols" if n == _LONG else ""
        right = values is not None and values.shape == expected.shape
        right = right and np.allclose(values, expected, rtol=1e-7, atol=1e-10)
        if values is not None and values.shape == expected.shape and not right:
            if n == _LONG and not np.all(np.isfinite(values)):
                raise AssertionError(
                    f"your transition matrix has NaN or inf{where}: np.exp(log_alpha) and "
                    f"np.exp(log_beta) underflow to 0 there. Add the logs first, subtract "
                    f"log p(x), and take np.exp only of log xi_i(j, k), which is at most 0."
                )
            candidates = [
                (
                    xi_sum,
                    "these are the expected transition counts sum_i xi_i(j, k): divide each "
                    "row by its sum to make them probabilities.",
                ),
                (
                    xi_sum / xi_sum.sum(axis=0, keepdims=True),
                    "the counts are divided by their column sums: A[j, k] is p(next = k | "
                    "this = j), so each ROW j must sum to 1 (divide by the expected number of "
                    "transitions out of j).",
                ),
                (
                    xi_sum / xi_sum.sum(),
                    "the counts are divided by their total: that is p(this = j, next = k), a "
                    "joint probability. Divide each row j by its own sum instead.",
                ),
                (
                    _rows(
                        _xi_sum_variant(x, log_alpha, log_beta, transmat, emissionprob, emit="this")
                    ),
                    "xi_i(j, k) uses the emission of x_i where that of x_{i+1} belongs: the new "
                    "state k at step i + 1 emits x_{i+1}, B[k, x[i + 1]].",
                ),
                (
                    _rows(
                        _xi_sum_variant(x, log_alpha, log_beta, transmat, emissionprob, emit="none")
                    ),
                    "xi_i(j, k) leaves out the emission B[k, x_{i+1}] of the next symbol: "
                    "alpha_i(j) A[j, k] B[k, x_{i+1}] beta_{i+1}(k) / p(x).",
                ),
                (
                    _rows(
                        _xi_sum_variant(x, log_alpha, log_beta, transmat, emissionprob, beta=False)
                    ),
                    "xi_i(j, k) leaves out beta_{i+1}(k), the probability of the rest of the "
                    "sequence: alpha_i(j) A[j, k] B[k, x_{i+1}] beta_{i+1}(k) / p(x).",
                ),
            ]
            for candidate, message in candidates:
                if np.all(np.isfinite(candidate)) and np.allclose(
                    values, candidate, rtol=1e-7, atol=1e-10
                ):
                    raise AssertionError(message)
        compare(got, expected, name=f"the new transmat{where}", rtol=1e-7, atol=1e-10)


def long_sequence_log_likelihood(function: Callable) -> None:
    """Check ``function(x, startprob, transmat, emissionprob) -> log p(x)`` on long sequences.

    The fixed forward pass of the find-the-bug exercise: in log space, or in probability
    space with each :math:`\\alpha_i` rescaled to sum to 1 and the logs of the scale
    factors added up (Rabiner's scaling). Compared with :func:`emlab.hmm.log_likelihood`
    on a short sequence and on one of 2,000 symbols, whose probability is far below the
    smallest float; the slips named: :math:`-\\infty` (the underflow left in),
    :math:`p(x)` instead of its log, and a scaled pass that drops the first scale factor.
    """
    from emlab.hmm import forward, log_likelihood, posteriors

    rng = _fresh_rng()
    for n in (int(rng.integers(6, 15)), _LONG):
        x, startprob, transmat, emissionprob = _model_and_sequence(rng, n)
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                x.copy(),
                startprob.copy(),
                transmat.copy(),
                emissionprob.copy(),
                answers=(forward, log_likelihood, posteriors),
            )
        expected = log_likelihood(x, startprob, transmat, emissionprob)
        values = _as_array(got)
        where = f" on a sequence of {n} symbols" if n == _LONG else ""
        if values is not None and values.size == 1:
            value = float(values.ravel()[0])
            if n == _LONG and not np.isfinite(value):
                raise AssertionError(
                    f"log p(x) is {value}{where}: alpha still underflows to 0 (p(x) is about "
                    f"1e{expected / np.log(10):.0f}). Work in log space, or rescale alpha to sum "
                    f"to 1 at every step and add up the logs of the scale factors."
                )
            if np.isclose(value, np.exp(expected), rtol=1e-7, atol=1e-300) and n != _LONG:
                raise AssertionError("your function returns p(x): return its logarithm, log p(x).")
            first = logsumexp(np.log(startprob) + np.log(emissionprob[:, x[0]]))
            if np.isclose(value, expected - first, rtol=1e-9):
                raise AssertionError(
                    "log p(x) leaves out the first scale factor: the sum of alpha_1 = pi B[:, x_1] "
                    "is a factor of p(x) too; add its log before rescaling."
                )
        compare(got, expected, name=f"log p(x){where}", rtol=1e-9, atol=1e-9)
