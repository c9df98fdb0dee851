"""The checks of lesson 03 accept right answers and name what is wrong in typical wrong ones."""

import numpy as np
import pytest
from scipy.stats import norm

from emlab import checks, datasets, gmm

# ---------------------------------------------------- the responsibility of the men at 180 cm


def men_at_180(weights, means, sds):
    joint = np.asarray(weights) * norm.pdf(180.0, means, sds)
    return joint / joint.sum()


PARAMS = checks.latent.HEIGHTS_EXERCISE_PARAMS
RIGHT = men_at_180(PARAMS["weights"], PARAMS["means"], PARAMS["sds"])


def unrounded_answer():
    """The answer under EM's unrounded estimates (the lesson's fit.params), not the task's."""
    heights, _ = datasets.heights_by_sex()
    fit = gmm.fit_gmm_1d(heights, [0.5, 0.5], [150.0, 190.0], [10.0, 10.0], tol=1e-8, max_iter=1000)
    return men_at_180(fit.params["weights"], fit.params["means"], fit.params["sds"])[1]


@pytest.mark.parametrize("answer", [RIGHT[1], round(RIGHT[1], 3), np.float64(RIGHT[1]), [RIGHT[1]]])
def test_responsibility_check_accepts_the_answer_and_its_rounding(answer):
    checks.responsibility_of_men_at_180(answer)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (RIGHT[0], "women's responsibility"),
        (100 * RIGHT[1], "percentage"),
        (PARAMS["weights"][1] * norm.pdf(180.0, PARAMS["means"][1], PARAMS["sds"][1]), "joint"),
        (norm.pdf(180.0, PARAMS["means"][1], PARAMS["sds"][1]), "the density"),
        (men_at_180([0.5, 0.5], PARAMS["means"], PARAMS["sds"])[1], "mixing weights"),
        (men_at_180(PARAMS["weights"], PARAMS["means"], np.square(PARAMS["sds"]))[1], "variances"),
        (RIGHT, "both responsibilities"),
        (1.7, "not a probability"),
        (RIGHT[1] - 0.05, "too low"),
        (unrounded_answer(), "use exactly the rounded values"),
        (..., "not answered"),
        ("abc", "should be numbers"),
    ],
)
def test_responsibility_check_names_typical_mistakes(answer, message):
    with pytest.raises(AssertionError, match=message) as error:
        checks.responsibility_of_men_at_180(answer)
    assert f"{RIGHT[1]:.3f}" not in str(error.value)  # never reveals the answer


# --------------------------------------------------------------------- counting parameters


def test_parameter_count_check_accepts_the_formulas():
    C, E, K = 3, 4, 3
    checks.global_warming_parameters(C + 2**C * (2**E - 1), C + 2**C * (K - 1) + E * K)
    checks.global_warming_parameters(123, 31.0)
    # the counts of the lesson's own example (E = 3 outcomes, K = 2 states)
    checks.global_warming_parameters(59, 17, outcomes=3, states=2)


@pytest.mark.parametrize(
    ("n_full", "n_hidden", "message"),
    [
        (120, 31, "n_full leaves out the causes"),
        (246, 31, "two numbers per binary"),
        (127, 31, "table over all"),
        (59, 31, "counts 3 outcomes"),
        (123, 28, "n_hidden leaves out the causes"),
        (123, 39, "K - 1 are free"),
        (123, 27, "for each of the K states"),
        (123, 19, "2 states"),
        (123, 28 + 0, "leaves out the causes"),
        (123, 40, "n_hidden is not right"),
        (124, 31, "n_full is not right"),
        (..., 31, "n_full is not answered"),
        (123, ..., "n_hidden is not answered"),
    ],
)
def test_parameter_count_check_names_typical_mistakes(n_full, n_hidden, message):
    with pytest.raises(AssertionError, match=message) as error:
        checks.global_warming_parameters(n_full, n_hidden)
    assert "123" not in str(error.value) and "31" not in str(error.value)


# ------------------------------------------------------------- the derivative of l in sigma_1


def grad_sigma_1(x, weights, means, sds):
    resp, _ = gmm.e_step_1d(x, weights, means, sds)
    return np.sum(resp[:, 1] * (-1 / sds[1] + (x - means[1]) ** 2 / sds[1] ** 3))


def test_gradient_formula_matches_a_central_difference():
    """The reference formula is the derivative: the lesson's numerical check, done here."""
    x, _ = datasets.heights_by_sex()
    weights, means, sds = np.array([0.58, 0.42]), np.array([163.6, 178.8]), np.array([7.3, 6.3])
    step = np.array([0.0, 1e-5])
    up = gmm.e_step_1d(x, weights, means, sds + step)[1]
    down = gmm.e_step_1d(x, weights, means, sds - step)[1]
    assert grad_sigma_1(x, weights, means, sds) == pytest.approx((up - down) / 2e-5, rel=1e-6)


def test_gradient_check_accepts_right_answers_every_time():
    for _ in range(30):
        checks.log_likelihood_gradient_sigma(grad_sigma_1)


def test_gradient_check_accepts_a_numerical_derivative():
    def central_difference(x, weights, means, sds):
        step = np.array([0.0, 1e-5])
        up = gmm.e_step_1d(x, weights, means, sds + step)[1]
        return (up - gmm.e_step_1d(x, weights, means, sds - step)[1]) / 2e-5

    checks.log_likelihood_gradient_sigma(central_difference)


def per_point(x, weights, means, sds):
    resp, _ = gmm.e_step_1d(x, weights, means, sds)
    return resp[:, 1] * (-1 / sds[1] + (x - means[1]) ** 2 / sds[1] ** 3)


def wrong_sign(x, weights, means, sds):
    return -grad_sigma_1(x, weights, means, sds)


def in_the_variance(x, weights, means, sds):
    resp, _ = gmm.e_step_1d(x, weights, means, sds)
    v = sds[1] ** 2
    return np.sum(resp[:, 1] * (-1 / (2 * v) + (x - means[1]) ** 2 / (2 * v**2)))


def no_responsibilities(x, weights, means, sds):
    return np.sum(-1 / sds[1] + (x - means[1]) ** 2 / sds[1] ** 3)


def women(x, weights, means, sds):
    resp, _ = gmm.e_step_1d(x, weights, means, sds)
    return np.sum(resp[:, 0] * (-1 / sds[0] + (x - means[0]) ** 2 / sds[0] ** 3))


def no_weights(x, weights, means, sds):
    return grad_sigma_1(x, np.array([0.5, 0.5]), means, sds)


def slightly_off(x, weights, means, sds):
    return 1.01 * grad_sigma_1(x, weights, means, sds) + 0.5


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (per_point, "one per point"),
        (wrong_sign, "wrong sign"),
        (in_the_variance, "with respect to the variance"),
        (no_responsibilities, "responsibility r_i1"),
        (women, "sigma_0"),
        (no_weights, "mixing weights"),
        (slightly_off, "d l / d sigma_1 is not right"),
        (..., "not defined"),
    ],
)
def test_gradient_check_names_typical_mistakes(function, message):
    for _ in range(5):
        with pytest.raises(AssertionError, match=message):
            checks.log_likelihood_gradient_sigma(function)
