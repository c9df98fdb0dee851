"""The checks of lesson 04 accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from emlab import checks, gmm

# --------------------------------------------------------------------------- the E-step


def e_step_two(x, weights, means, sds):
    """The model answer: in log space, so points far from both components are fine."""
    log_joint = np.log(weights) + norm.logpdf(np.asarray(x)[:, None], means, sds)
    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def raw_densities(x, weights, means, sds):
    """Right on ordinary data, 0/0 where both densities underflow."""
    joint = np.asarray(weights) * norm.pdf(np.asarray(x)[:, None], means, sds)
    return joint / joint.sum(axis=1, keepdims=True)


def raw_with_guard(x, weights, means, sds):
    """Hides the NaN instead of avoiding it: far-away rows come out 0, 0."""
    with np.errstate(all="ignore"):
        return np.nan_to_num(raw_densities(x, weights, means, sds))


def max_shift_only_in_the_numerator(x, weights, means, sds):
    log_joint = np.log(weights) + norm.logpdf(np.asarray(x)[:, None], means, sds)
    shifted = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    return shifted / np.exp(log_joint).sum(axis=1, keepdims=True)


def test_e_step_check_accepts_right_answers_every_time():
    for _ in range(30):  # fresh random data on every call
        checks.e_step_two_components(e_step_two)


def unnormalized(x, weights, means, sds):
    return np.asarray(weights) * norm.pdf(np.asarray(x)[:, None], means, sds)


def densities_only(x, weights, means, sds):
    return norm.pdf(np.asarray(x)[:, None], means, sds)


def no_weights(x, weights, means, sds):
    return e_step_two(x, [0.5, 0.5], means, sds)


def variance_for_sd(x, weights, means, sds):
    return e_step_two(x, weights, means, np.asarray(sds) ** 2)


def swapped(x, weights, means, sds):
    return e_step_two(x, weights, means, sds)[:, ::-1]


def transposed(x, weights, means, sds):
    return e_step_two(x, weights, means, sds).T


def wrong_axis(x, weights, means, sds):
    joint = unnormalized(x, weights, means, sds)
    return joint / joint.sum(axis=0, keepdims=True)


def with_log_likelihood(x, weights, means, sds):  # the pair emlab's e_step_1d returns
    log_joint = np.log(weights) + norm.logpdf(np.asarray(x)[:, None], means, sds)
    return e_step_two(x, weights, means, sds), float(logsumexp(log_joint, axis=1).sum())


def stub(x, weights, means, sds):
    raise NotImplementedError


def crashes(x, weights, means, sds):
    return x[:, None] @ weights  # a shape error


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (unnormalized, "not yet normalized"),
        (densities_only, "multiply each by its weight"),
        (no_weights, "leaves out the mixing weights"),
        (variance_for_sd, "variance"),
        (swapped, "columns swapped"),
        (transposed, "transposed"),
        (wrong_axis, "normalize along axis 1"),
        (with_log_likelihood, "returned a tuple"),
        (stub, "not implemented"),
        (crashes, "raised ValueError"),
        (..., "not defined"),
        (raw_densities, "millimetres.*underflow to 0.0.*log space"),
        (raw_with_guard, "millimetres.*log space"),
        (max_shift_only_in_the_numerator, "should sum to 1 along axis 1"),
    ],
)
def test_e_step_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.e_step_two_components(function)


def test_e_step_check_passes_the_raw_density_version_on_ordinary_data():
    """The first half of the check alone would accept the raw version: the far points catch it."""
    from emlab.checks import em_algorithm

    rng = np.random.default_rng(0)
    x, weights, means, sds = em_algorithm._two_component_problem(rng)
    np.testing.assert_allclose(
        raw_densities(x, weights, means, sds), e_step_two(x, weights, means, sds), rtol=1e-12
    )


def test_e_step_check_rejects_a_small_error_without_a_named_cause():
    def slightly_off(x, weights, means, sds):
        return e_step_two(x, weights, np.asarray(means) + 0.5, sds)

    with pytest.raises(AssertionError, match="resp is not right"):
        checks.e_step_two_components(slightly_off)


def test_e_step_check_names_an_error_only_on_the_far_away_points():
    def far_points_to_component_0(x, weights, means, sds):
        resp = e_step_two(x, weights, means, sds)
        resp[np.asarray(x) > 1000] = [1.0, 0.0]  # rows sum to one, but the wrong component
        return resp

    with pytest.raises(AssertionError, match="resp for far-away points is not right"):
        for _ in range(20):  # right whenever component 0 is the wider one
            checks.e_step_two_components(far_points_to_component_0)


# --------------------------------------------------------------------------- the M-step, one sd


def m_step_shared(x, resp):
    nk = resp.sum(axis=0)
    means = x @ resp / nk
    sd = np.sqrt(np.sum(resp * (x[:, None] - means) ** 2) / len(x))
    return nk / len(x), means, sd


def per_component_parts(x, resp):
    nk = resp.sum(axis=0)
    means = x @ resp / nk
    variances = np.sum(resp * (x[:, None] - means) ** 2, axis=0) / nk
    return nk / len(x), means, variances


def test_m_step_check_accepts_right_answers_every_time():
    for _ in range(30):
        checks.m_step_shared_sd(m_step_shared)


def test_m_step_check_accepts_a_list_and_a_0_d_array():
    def as_list(x, resp):
        weights, means, sd = m_step_shared(x, resp)
        return list(weights), list(means), np.array(sd)

    checks.m_step_shared_sd(as_list)


def variance_not_sd(x, resp):
    weights, means, sd = m_step_shared(x, resp)
    return weights, means, sd**2


def equal_weights_average(x, resp):
    weights, means, variances = per_component_parts(x, resp)
    return weights, means, np.sqrt(variances.mean())


def average_of_sds(x, resp):
    weights, means, variances = per_component_parts(x, resp)
    return weights, means, weights @ np.sqrt(variances)


def one_sd_per_component(x, resp):
    weights, means, variances = per_component_parts(x, resp)
    return weights, means, np.sqrt(variances)


def n_minus_1(x, resp):
    weights, means, _ = m_step_shared(x, resp)
    return weights, means, np.sqrt(np.sum(resp * (x[:, None] - means) ** 2) / (len(x) - 1))


def overall_sd(x, resp):
    weights, means, _ = m_step_shared(x, resp)
    return weights, means, x.std()


def counts_not_weights(x, resp):
    _, means, sd = m_step_shared(x, resp)
    return resp.sum(axis=0), means, sd


def unweighted_means(x, resp):
    weights, _, sd = m_step_shared(x, resp)
    return weights, np.full(resp.shape[1], x.mean()), sd


def two_things(x, resp):
    return m_step_shared(x, resp)[:2]


def calls_emlab(x, resp):
    weights, means, covariance = gmm.m_step(x[:, None], resp, "tied")
    return weights, means.ravel(), np.sqrt(covariance[0, 0])


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (variance_not_sd, "square root"),
        (equal_weights_average, "equal weights 1/K"),
        (average_of_sds, "averages the components' standard deviations"),
        (one_sd_per_component, "one per component"),
        (n_minus_1, "n - 1"),
        (overall_sd, "overall mean"),
        (counts_not_weights, "soft counts N_k"),
        (unweighted_means, "means is not right"),
        (two_things, "three things"),
        (calls_emlab, "emlab's own solution"),
        (..., "not defined"),
    ],
)
def test_m_step_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.m_step_shared_sd(function)
