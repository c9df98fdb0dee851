"""Checks for the exercises of lesson 04, the EM algorithm.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _call_e_step_1d, _fresh_rng, compare, not_answered


def _two_component_problem(rng: np.random.Generator):
    """Fresh heights-like data and a two-component 1-D mixture with unequal weights and sds."""
    n = int(rng.integers(20, 60))
    x = rng.normal(170.0, 12.0, size=n)
    low, high = (0.15, 0.35) if rng.random() < 0.5 else (0.65, 0.85)
    first = rng.uniform(low, high)
    weights = np.array([first, 1.0 - first])
    means = np.array([rng.uniform(150.0, 166.0), rng.uniform(172.0, 190.0)])
    sds = np.array([rng.uniform(4.0, 7.0), rng.uniform(8.0, 11.0)])
    return x, weights, means, rng.permutation(sds)


def _first_match(got, candidates, *, rtol: float = 1e-6) -> str | None:
    """The message of the first (value, message) candidate that ``got`` equals, if any."""
    for value, message in candidates:
        if np.shape(got) == np.shape(value) and np.allclose(got, value, rtol=rtol, atol=1e-12):
            return message
    return None


def _as_floats(got):
    """``got`` as a float array, or ``None`` if it is not numbers."""
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def e_step_two_components(function: Callable) -> None:
    """Check ``function(x, weights, means, sds) -> resp`` for a two-component 1-D mixture.

    ``resp[i, k]`` :math:`= r_{ik} = \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2) / \\sum_j
    \\pi_j \\mathcal{N}(x_i \\mid \\mu_j, \\sigma_j^2)`, compared with
    :func:`emlab.gmm.e_step_1d` twice: on fresh data with unequal weights and standard
    deviations (where the usual slips are named), then on the same data with some heights
    recorded in millimetres, points so far from both components that their densities
    underflow to 0. Only an E-step computed in log space (log-sum-exp) passes the second.
    """
    from scipy.stats import norm

    from emlab.gmm import e_step_1d

    rng = _fresh_rng()
    x, weights, means, sds = _two_component_problem(rng)
    got = _call_e_step_1d(function, x, weights, means, sds)
    if isinstance(got, tuple):
        raise AssertionError(
            "your function returned a tuple: return only the responsibilities, "
            "an array of shape (n, 2)."
        )
    expected, _ = e_step_1d(x, weights, means, sds)
    densities = norm.pdf(x[:, np.newaxis], means, sds)
    values = None if not_answered(got) else _as_floats(got)
    if values is not None and values.shape == expected.shape:
        message = _first_match(
            values,
            [
                (
                    weights * densities,
                    "resp holds the joint densities pi_k N(x_i | mu_k, sigma_k^2), not yet "
                    "normalized: divide each row by its sum, p(x_i).",
                ),
                (
                    densities,
                    "resp holds the densities N(x_i | mu_k, sigma_k^2): multiply each by its "
                    "weight pi_k, then divide each row by its sum.",
                ),
                (
                    e_step_1d(x, [0.5, 0.5], means, sds)[0],
                    "resp leaves out the mixing weights: r_ik is proportional to "
                    "pi_k N(x_i | mu_k, sigma_k^2), not to the density alone.",
                ),
                (
                    e_step_1d(x, weights, means, sds**2)[0],
                    "resp uses the variance sigma_k^2 where the standard deviation sigma_k "
                    "belongs (scipy.stats.norm's scale is the standard deviation).",
                ),
                (
                    expected[:, ::-1],
                    "resp has its columns swapped: column k must belong to component k "
                    "(weights[k], means[k], sds[k]).",
                ),
            ],
        )
        if message is not None:
            raise AssertionError(message)
    compare(got, expected, name="resp", sums_to_one_axis=1)

    # The same data with a few heights typed in millimetres (1752 for 175.2 cm): each is
    # more than 100 standard deviations from both components, so its densities are 0.0.
    typos = rng.choice(x.size, size=max(2, x.size // 10), replace=False)
    far = x.copy()
    far[typos] *= 10.0
    with np.errstate(all="ignore"):
        got = _call_e_step_1d(function, far, weights, means, sds)
    expected, _ = e_step_1d(far, weights, means, sds)
    values = None if not_answered(got) or isinstance(got, tuple) else _as_floats(got)
    if values is not None and values.shape == expected.shape:
        with np.errstate(all="ignore"):
            bad = ~np.all(np.isfinite(values), axis=1) | ~np.isclose(values.sum(axis=1), 1.0)
        ordinary = np.setdiff1d(np.arange(far.size), typos)
        if np.any(bad[typos]) and not np.any(bad[ordinary]):
            raise AssertionError(
                f"resp is right for ordinary heights but not for the ones typed in millimetres "
                f"(x = {far[typos].min():.0f} and more): there both densities "
                f"N(x_i | mu_k, sigma_k^2) underflow to 0.0, and 0/0 gives NaN. Work in log "
                f"space, as lesson 00 does: log pi_k + norm.logpdf(x_i, mu_k, sigma_k), then "
                f"subtract each row's maximum (or scipy.special.logsumexp) before np.exp."
            )
    compare(got, expected, name="resp for far-away points", sums_to_one_axis=1)


def m_step_shared_sd(function: Callable) -> None:
    """Check ``function(x, resp) -> (weights, means, sd)``: the M-step with one shared sd.

    When every component has the same standard deviation :math:`\\sigma`, maximizing
    :math:`Q` gives :math:`\\pi_k = N_k / n` and :math:`\\mu_k = \\frac{1}{N_k} \\sum_i r_{ik}
    x_i` as before, and :math:`\\sigma^2 = \\frac1n \\sum_i \\sum_k r_{ik} (x_i - \\mu_k)^2`:
    every point's squared distance to every mean, weighted by the responsibility, over all
    :math:`n` points. Compared with :func:`emlab.gmm.m_step` (``covariance_type="tied"``,
    ``reg_covar=0``) on fresh data with unequal components.
    """
    from emlab.gmm import e_step_1d, m_step, m_step_1d

    rng = _fresh_rng()
    n, n_components = int(rng.integers(30, 80)), int(rng.integers(2, 4))
    # components of unequal sizes and widths, so that every wrong way to pool them is off
    true_weights = rng.dirichlet(np.full(n_components, 4.0))
    true_means = np.sort(rng.uniform(150.0, 190.0, n_components))
    true_sds = rng.permutation(np.geomspace(3.0, 12.0, n_components))
    labels = rng.choice(n_components, size=n, p=true_weights)
    x = rng.normal(true_means[labels], true_sds[labels])
    resp = e_step_1d(x, true_weights, true_means, true_sds)[0]
    got = _call(function, "your function", x.copy(), resp.copy(), answers=(m_step, m_step_1d))
    if not isinstance(got, tuple) or len(got) != 3:
        raise AssertionError(
            "your function should return three things, weights, means, sd: "
            "for example `return weights, means, sd`."
        )
    weights, means, covariance = m_step(x[:, np.newaxis], resp, "tied", reg_covar=0.0)
    expected_sd = float(np.sqrt(covariance[0, 0]))
    counts = _as_floats(got[0]) if not not_answered(got[0]) else None
    if counts is not None and counts.shape == weights.shape and np.allclose(counts, n * weights):
        raise AssertionError(
            "weights holds the soft counts N_k = sum_i r_ik: divide them by n to get pi_k."
        )
    compare(got[0], weights, name="weights", sums_to_one_axis=0, n=n)
    compare(got[1], means.ravel(), name="means", n=n)
    sd = None if not_answered(got[2]) else _as_floats(got[2])
    if sd is not None and sd.size == n_components and not np.allclose(sd, sd.flat[0]):
        raise AssertionError(
            f"sd holds {n_components} different numbers, one per component: the model shares "
            f"one standard deviation, so the M-step returns one number."
        )
    if sd is not None and sd.size in (1, n_components):
        value = float(sd.flat[0])
        if np.isclose(value, expected_sd, rtol=1e-6):
            compare(value, expected_sd, name="sd")
            return
        nk = resp.sum(axis=0)
        per_component = np.array(
            [resp[:, k] @ (x - means[k, 0]) ** 2 / nk[k] for k in range(n_components)]
        )
        message = _first_match(
            value,
            [
                (
                    expected_sd**2,
                    "sd is the shared variance sigma^2: take its square root.",
                ),
                (
                    float(np.sqrt(per_component.mean())),
                    "sd averages the components' variances with equal weights 1/K: weight "
                    "each by its share N_k / n (the derivative of Q sums over all points and "
                    "components, then divides by n).",
                ),
                (
                    float(weights @ np.sqrt(per_component)),
                    "sd averages the components' standard deviations: it is the variances "
                    "that average, sigma^2 = sum_k (N_k / n) sigma_k^2, then the square root.",
                ),
                (
                    float(np.sqrt(np.sum(resp * (x[:, None] - means.ravel()) ** 2) / (n - 1))),
                    "sd divides by n - 1: the maximum-likelihood estimate divides by n.",
                ),
                (
                    float(np.sqrt(np.sum(resp * (x[:, None] - means.ravel()) ** 2) / n_components)),
                    "sd divides by K, the number of components: the sum over all points and "
                    "components is divided by n, the number of points.",
                ),
                (
                    float(x.std()),
                    "sd is the standard deviation of all the data around its overall mean: "
                    "measure each point from each component's mean mu_k, weighted by r_ik.",
                ),
            ],
        )
        if message is not None:
            raise AssertionError(message)
        got = got[2] if sd.size == 1 else value
    else:
        got = got[2]
    compare(got, expected_sd, name="sd")
