"""Checks for the exercises of lesson 03, latent variables.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _first_match(got, candidates, *, rtol: float = 1e-6) -> str | None:
    """The message of the first (value, message) candidate that ``got`` equals, if any."""
    for value, message in candidates:
        if np.shape(got) == np.shape(value) and np.allclose(got, value, rtol=rtol, atol=1e-12):
            return message
    return None


#: The parameters of lesson 03's numeric exercise: EM's estimates on the heights, rounded.
#: Component 0 is the women, component 1 the men.
HEIGHTS_EXERCISE_PARAMS = {"weights": (0.58, 0.42), "means": (163.6, 178.8), "sds": (7.3, 6.3)}


def responsibility_of_men_at_180(r_men) -> None:
    """Check a numeric answer: the men's responsibility for a person 180 cm tall (lesson 03).

    :math:`r_1 = \\pi_1 \\mathcal{N}(180 \\mid \\mu_1, \\sigma_1^2) / \\sum_k \\pi_k
    \\mathcal{N}(180 \\mid \\mu_k, \\sigma_k^2)` under :data:`HEIGHTS_EXERCISE_PARAMS`;
    answers rounded to three decimals pass.
    """
    from scipy.stats import norm

    from emlab.gmm import e_step_1d

    weights, means, sds = (
        np.array(HEIGHTS_EXERCISE_PARAMS[key]) for key in ("weights", "means", "sds")
    )
    x = np.array([180.0])
    resp = e_step_1d(x, weights, means, sds)[0][0]
    expected = resp[1]
    try:
        value = np.asarray(r_men, dtype=float)
    except (TypeError, ValueError):
        value = np.array([])  # not numbers: compare() below says so
    if value.size == 2 and np.allclose(value.ravel(), resp, atol=1e-3):
        raise AssertionError(
            "r_men holds both responsibilities: store one number, the men's (component 1)."
        )
    if value.size == 1 and not not_answered(r_men):
        value = float(value.reshape(()))
        if np.isclose(value, expected, rtol=1e-3):
            return
        density = norm.pdf(180.0, means[1], sds[1])
        message = _first_match(
            value,
            [
                (
                    resp[0],
                    "r_men is the women's responsibility (component 0); the men are component 1.",
                ),
                (100 * expected, "r_men is a percentage: give it as a probability, 0 to 1."),
                (
                    weights[1] * density,
                    "r_men is pi_1 N(180 | mu_1, sigma_1^2), a joint density, not a "
                    "probability: divide it by p(180), the sum over both components.",
                ),
                (
                    density,
                    "r_men is the density N(180 | mu_1, sigma_1^2), not a probability: "
                    "weight each component's density by pi_k and normalize.",
                ),
                (
                    e_step_1d(x, [0.5, 0.5], means, sds)[0][0, 1],
                    "r_men leaves out the mixing weights pi_k (they are not equal here).",
                ),
                (
                    e_step_1d(x, weights, means, sds**2)[0][0, 1],
                    "r_men uses the variances sigma_k^2 where the standard deviations "
                    "sigma_k belong.",
                ),
            ],
            rtol=1e-3,
        )
        if message is not None:
            raise AssertionError(message)
        if not 0.0 <= value <= 1.0:
            raise AssertionError(
                f"r_men = {value:.4g} is not a probability: a responsibility lies between 0 and 1."
            )
        if abs(value - expected) < 0.01:
            raise AssertionError(
                "r_men is close, but not under the parameters of the task: use exactly the rounded "
                "values it gives, pi = (0.58, 0.42), mu = (163.6, 178.8) cm and sigma = (7.3, 6.3) "
                "cm (not fit.params, whose extra digits change the third decimal)."
            )
    compare(r_men, expected, name="r_men", rtol=1e-3, reveal=False)


def _count_without_hidden(causes: int, outcomes: int) -> int:
    """Binary causes with no parents, each outcome depending on every cause and earlier outcome."""
    return causes + 2**causes * (2**outcomes - 1)


def _count_with_hidden(causes: int, outcomes: int, states: int) -> int:
    """Binary causes -> hidden factor with ``states`` states (a table) -> binary outcomes."""
    return causes + 2**causes * (states - 1) + outcomes * states


def global_warming_parameters(n_full, n_hidden, *, causes=3, outcomes=4, states=3) -> None:
    """Check a numeric answer: the parameter counts of the two global-warming models (lesson 03).

    With ``causes`` binary causes, ``outcomes`` binary outcomes and a hidden factor with
    ``states`` states: :math:`C + 2^C (2^E - 1)` without the hidden factor and
    :math:`C + 2^C (K - 1) + E K` with it.
    """
    C, E, K = causes, outcomes, states
    full = [
        (
            2**C * (2**E - 1),
            "n_full leaves out the causes themselves: each binary cause without parents "
            "needs one number, P(cause = 1).",
        ),
        (
            2 * _count_without_hidden(C, E),
            "n_full counts two numbers per binary distribution: P(= 0 | parents) is "
            "1 - P(= 1 | parents), so only one is free.",
        ),
        (
            2 ** (C + E) - 1,
            "n_full is the size of a table over all C + E variables together; the model in "
            "the lesson keeps the causes independent of each other.",
        ),
        (
            _count_without_hidden(C, E - 1),
            f"n_full counts {E - 1} outcomes; with glacier melt there are {E}.",
        ),
    ]
    hidden = [
        (
            _count_with_hidden(C, E, K) - C,
            "n_hidden leaves out the causes themselves: each binary cause without parents "
            "needs one number, P(cause = 1).",
        ),
        (
            C + 2**C * K + E * K,
            "n_hidden gives the hidden factor K numbers per configuration of the causes; "
            "its K probabilities sum to 1, so K - 1 are free.",
        ),
        (
            C + 2**C * (K - 1) + E * (K - 1),
            "n_hidden gives each outcome K - 1 numbers; a binary outcome needs one number, "
            "P(outcome = 1 | state), for each of the K states of the hidden factor.",
        ),
        (
            _count_with_hidden(C, E, 2),
            f"n_hidden is the count for a hidden factor with 2 states; here it has K = {K}.",
        ),
        (
            _count_with_hidden(C, E - 1, K),
            f"n_hidden counts {E - 1} outcomes; with glacier melt there are {E}.",
        ),
    ]
    for got, expected, mistakes, name in (
        (n_full, _count_without_hidden(C, E), full, "n_full"),
        (n_hidden, _count_with_hidden(C, E, K), hidden, "n_hidden"),
    ):
        if not not_answered(got):
            try:
                value = float(np.asarray(got, dtype=float).reshape(()))
            except (TypeError, ValueError):
                value = None
            if value is not None and value != expected:
                message = _first_match(value, [(float(v), m) for v, m in mistakes])
                if message is not None:
                    raise AssertionError(message)
        compare(got, expected, name=name, reveal=False)


def log_likelihood_gradient_sigma(function: Callable) -> None:
    """Check ``function(x, weights, means, sds) -> float``: the derivative of l in sigma_1.

    For a two-component 1-D mixture,

    .. math::

        \\frac{\\partial \\ell}{\\partial \\sigma_1}
        = \\sum_{i=1}^n r_{i1} \\left(-\\frac{1}{\\sigma_1}
          + \\frac{(x_i - \\mu_1)^2}{\\sigma_1^3}\\right),

    compared on fresh data with unequal weights and standard deviations (and with a central
    difference of :func:`emlab.gmm.e_step_1d`'s log-likelihood in the tests).
    """
    from emlab.gmm import e_step_1d

    rng = _fresh_rng()
    n = int(rng.integers(20, 60))
    x = rng.normal(170.0, 12.0, size=n)
    first = rng.uniform(0.15, 0.35) if rng.random() < 0.5 else rng.uniform(0.65, 0.85)
    weights = np.array([first, 1.0 - first])
    means = np.array([rng.uniform(150.0, 166.0), rng.uniform(172.0, 190.0)])
    sds = rng.permutation([rng.uniform(4.0, 7.0), rng.uniform(8.0, 11.0)])
    got = _call(function, "your function", x.copy(), weights.copy(), means.copy(), sds.copy())

    def gradient(resp, k=1, power=1):
        """d l / d sigma_k (power 1) or d l / d sigma_k^2 (power 2), given responsibilities."""
        if power == 2:
            return np.sum(
                resp[:, k] * (-1 / (2 * sds[k] ** 2) + (x - means[k]) ** 2 / (2 * sds[k] ** 4))
            )
        return np.sum(resp[:, k] * (-1 / sds[k] + (x - means[k]) ** 2 / sds[k] ** 3))

    resp = e_step_1d(x, weights, means, sds)[0]
    expected = gradient(resp)
    if not not_answered(got):
        try:
            values = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            values = None
        if values is not None and values.shape == (n,):
            raise AssertionError(
                f"your function returned {n} numbers, one per point: return their sum over i, "
                f"one number."
            )
        if values is not None and values.size == 1:
            value = float(values.reshape(()))
            if not np.isclose(value, expected, rtol=1e-6):
                message = _first_match(
                    value,
                    [
                        (
                            -expected,
                            "your derivative has the wrong sign: the log-density falls with "
                            "sigma_1 when (x_i - mu_1)^2 < sigma_1^2 and rises otherwise.",
                        ),
                        (
                            gradient(resp, power=2),
                            "that is the derivative with respect to the variance sigma_1^2; "
                            "the exercise asks for the standard deviation sigma_1 (chain rule: "
                            "multiply by d sigma_1^2 / d sigma_1 = 2 sigma_1).",
                        ),
                        (
                            gradient(np.ones_like(resp)),
                            "every point counts fully: weight each point's term by its "
                            "responsibility r_i1 (the derivative of the log of a sum).",
                        ),
                        (
                            gradient(resp, k=0),
                            "that is the derivative for sigma_0, the women's component: "
                            "use column 1 and means[1], sds[1].",
                        ),
                        (
                            gradient(e_step_1d(x, [0.5, 0.5], means, sds)[0]),
                            "your responsibilities leave out the mixing weights pi_k.",
                        ),
                    ],
                )
                if message is not None:
                    raise AssertionError(message)
    compare(got, expected, name="d l / d sigma_1")
