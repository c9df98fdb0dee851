"""Lesson 10's check accepts right answers and names what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp, xlogy
from scipy.stats import norm

from emlab import bound, checks


def my_elbo(x, q, weights, means, sds):
    """The model answer: log space, and 0 log 0 = 0."""
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    return np.sum(q * log_joint) - np.sum(xlogy(q, q))


def with_where(x, q, weights, means, sds):
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    safe = np.where(q > 0, q, 1.0)
    return float(np.sum(q * (log_joint - np.log(safe))))


def test_the_check_accepts_right_answers_every_time():
    for _ in range(30):
        checks.elbo_1d(my_elbo)
        checks.elbo_1d(with_where)


def no_entropy(x, q, weights, means, sds):
    return np.sum(q * (np.log(weights) + norm.logpdf(x[:, None], means, sds)))


def entropy_sign_flipped(x, q, weights, means, sds):
    return no_entropy(x, q, weights, means, sds) + np.sum(xlogy(q, q))


def raw_joint_densities(x, q, weights, means, sds):
    return np.sum(q * weights * norm.pdf(x[:, None], means, sds)) - np.sum(xlogy(q, q))


def raw_densities(x, q, weights, means, sds):
    return np.sum(q * (np.log(weights) + norm.pdf(x[:, None], means, sds))) - np.sum(xlogy(q, q))


def no_weights(x, q, weights, means, sds):
    return np.sum(q * norm.logpdf(x[:, None], means, sds)) - np.sum(xlogy(q, q))


def variance_for_sd(x, q, weights, means, sds):
    return my_elbo(x, q, weights, means, np.asarray(sds) ** 2)


def ignores_q(x, q, weights, means, sds):
    return logsumexp(np.log(weights) + norm.logpdf(x[:, None], means, sds), axis=1).sum()


def per_point(x, q, weights, means, sds):
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    return np.sum(q * log_joint - xlogy(q, q), axis=1)


def naive_q_log_q(x, q, weights, means, sds):
    log_joint = np.log(weights) + norm.logpdf(x[:, None], means, sds)
    return np.sum(q * (log_joint - np.log(q)))


def log_of_densities(x, q, weights, means, sds):
    joint = weights * norm.pdf(x[:, None], means, sds)
    return np.sum(q * np.log(joint)) - np.sum(xlogy(q, q))


def calls_emlab(x, q, weights, means, sds):
    return bound.elbo(x, q, weights, means, sds)


def stub(x, q, weights, means, sds):
    raise NotImplementedError


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (no_entropy, "leaves out the entropy term"),
        (entropy_sign_flipped, "wrong sign"),
        (raw_joint_densities, "densities pi_k N.*where their logarithms belong"),
        (raw_densities, "norm.logpdf, not norm.pdf"),
        (no_weights, "leaves out the mixing weights"),
        (variance_for_sd, "variance"),
        (ignores_q, "ignores q"),
        (per_point, "return one number"),
        (naive_q_log_q, "0 \\* log\\(0\\).*xlogy"),
        (log_of_densities, "millimetres.*log space"),
        (calls_emlab, "emlab's own solution"),
        (stub, "not implemented"),
        (..., "not defined"),
    ],
)
def test_the_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.elbo_1d(function)


def test_the_check_rejects_a_small_error_without_a_named_cause():
    def slightly_off(x, q, weights, means, sds):
        return my_elbo(x, q, weights, np.asarray(means) + 0.5, sds)

    with pytest.raises(AssertionError, match="L is not right"):
        checks.elbo_1d(slightly_off)


def test_the_check_prints_nothing(capsys):
    checks.elbo_1d(my_elbo)
    assert capsys.readouterr().out == ""
