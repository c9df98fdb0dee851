r"""The lower bound EM climbs, exactly: :math:`\ell(\theta) = \mathcal{L}(q, \theta) + \mathrm{KL}`.

For a 1-D Gaussian mixture and any distribution :math:`q_i` over each hidden label
(``resp``, an :math:`n \times K` array whose rows sum to one),

.. math::

    \ell(\theta) = \underbrace{\sum_{i,k} q_{ik}
        \log \frac{p(x_i, z_i = k \mid \theta)}{q_{ik}}}_{\mathcal{L}(q, \theta)}
    \; + \; \underbrace{\sum_{i,k} q_{ik}
        \log \frac{q_{ik}}{p(z_i = k \mid x_i, \theta)}}_{\mathrm{KL}(q \,\|\, p(z \mid x, \theta))}.

The E-step sets :math:`q` to the posterior, which makes the KL term zero; the M-step
raises :math:`\mathcal{L}` over :math:`\theta`. EM is coordinate ascent on
:math:`\mathcal{L}` (Neal & Hinton 1998). Lesson 10 shows these functions:

* :func:`log_joint_1d` -- :math:`\log p(x_i, z_i = k \mid \theta)` for every point and component;
* :func:`entropy`, :func:`elbo`, :func:`kl_to_posterior` -- the two terms, in log space;
* :func:`m_step`, :func:`damped_m_step` -- an exact M-step and a *generalized* one
  that only improves :math:`\mathcal{L}`;
* :func:`best_point_mass` -- the best :math:`q` among point masses (hard EM), a
  restricted family for which the gap no longer closes;
* :func:`half_steps` -- EM one half-step at a time, with :math:`\ell`,
  :math:`\mathcal{L}` and the KL term after each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import logsumexp, xlogy

from emlab.gmm import _check_1d_params, e_step_1d, m_step_1d
from emlab.validation import check_data, check_positive, check_resp

__all__ = [
    "HalfSteps",
    "best_point_mass",
    "damped_m_step",
    "elbo",
    "entropy",
    "half_steps",
    "kl_to_posterior",
    "log_joint_1d",
    "m_step",
    "posterior",
]


def log_joint_1d(x, weights, means, sds) -> np.ndarray:
    r"""The log joint :math:`\log p(x_i, z_i = k \mid \theta)` for every point and component.

    .. math::

        \log p(x_i, z_i = k \mid \theta) = \log \pi_k + \log \mathcal{N}(x_i \mid \mu_k, \sigma_k^2)
        = \log \pi_k - \log \sigma_k - \tfrac12 \log 2\pi
          - \tfrac12 \left(\frac{x_i - \mu_k}{\sigma_k}\right)^2.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    weights, means, sds : array-like of shape (n_components,)
        :math:`\pi_k`, :math:`\mu_k` and :math:`\sigma_k > 0`.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        ``-inf`` where a weight is 0.
    """

    x, weights, means, sds = _check_1d_params(x, weights, means, sds)
    z = (x[:, np.newaxis] - means) / sds
    with np.errstate(divide="ignore"):  # a weight of 0: log 0 = -inf
        return np.log(weights) - np.log(sds) - 0.5 * (np.log(2 * np.pi) + z**2)


def _check_q(x, resp, weights) -> np.ndarray:
    resp = check_resp(resp, len(np.atleast_1d(x)))
    if resp.shape[1] != len(np.atleast_1d(weights)):
        raise ValueError(
            f"resp has {resp.shape[1]} columns but there are {len(np.atleast_1d(weights))} "
            f"components: one column per component."
        )
    return resp


def entropy(resp) -> float:
    r"""The entropy of :math:`q`, :math:`H(q) = -\sum_{i,k} q_{ik} \log q_{ik}`, with :math:`0 \log 0 = 0`.

    Parameters
    ----------
    resp : array-like of shape (n_samples, n_components)
        :math:`q_{ik}`, each row a distribution over the :math:`K` labels.

    Returns
    -------
    float
        In nats, between 0 (every :math:`q_i` a point mass) and :math:`n \log K`.
    """
    resp = check_resp(resp)
    return float(-np.sum(xlogy(resp, resp)))


def elbo(x, resp, weights, means, sds) -> float:
    r"""The evidence lower bound :math:`\mathcal{L}(q, \theta)` of a 1-D Gaussian mixture.

    .. math::

        \mathcal{L}(q, \theta) = \sum_{i=1}^n \sum_{k=1}^K q_{ik}
            \log \frac{p(x_i, z_i = k \mid \theta)}{q_{ik}}
        = \sum_{i,k} q_{ik} \log p(x_i, z_i = k \mid \theta) + H(q),

    an expected log joint plus the entropy :math:`H(q)` of :func:`entropy`. Terms with
    :math:`q_{ik} = 0` contribute 0. :math:`\mathcal{L}(q, \theta) \le \ell(\theta)`
    for every :math:`q`, with equality when :math:`q` is the posterior.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    resp : array-like of shape (n_samples, n_components)
        :math:`q_{ik}`, any distribution over each label (not only the posterior).
    weights, means, sds : array-like of shape (n_components,)

    Returns
    -------
    float
    """
    log_joint = log_joint_1d(x, weights, means, sds)
    q = _check_q(x, resp, weights)
    with np.errstate(invalid="ignore"):  # 0 * (-inf) where a weight is 0: counts as 0
        expected = np.sum(np.where(q > 0, q * log_joint, 0.0))
    return float(expected + entropy(q))


def posterior(x, weights, means, sds) -> np.ndarray:
    r"""The exact E-step: :math:`q_{ik} = p(z_i = k \mid x_i, \theta)`, in log space.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        The responsibilities :math:`r_{ik}` (:func:`emlab.gmm.e_step_1d`).
    """
    return e_step_1d(x, weights, means, sds)[0]


def kl_to_posterior(x, resp, weights, means, sds) -> float:
    r"""The gap :math:`\mathrm{KL}(q \,\|\, p(z \mid x, \theta)) = \ell(\theta) - \mathcal{L}(q, \theta)`.

    .. math::

        \mathrm{KL}(q \,\|\, p(z \mid x, \theta)) = \sum_{i=1}^n \sum_{k=1}^K q_{ik}
            \log \frac{q_{ik}}{p(z_i = k \mid x_i, \theta)}, \qquad
        \log p(z_i = k \mid x_i, \theta) = \log p(x_i, z_i = k \mid \theta)
            - \operatorname{logsumexp}_j \log p(x_i, z_i = j \mid \theta).

    Computed from its own definition (not as :math:`\ell - \mathcal{L}`), so that the
    identity can be checked. It is :math:`\ge 0`, and 0 exactly when :math:`q` is the
    posterior (Gibbs' inequality); ``inf`` if :math:`q` puts mass where the posterior
    has none.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    resp : array-like of shape (n_samples, n_components)
        :math:`q_{ik}`.
    weights, means, sds : array-like of shape (n_components,)

    Returns
    -------
    float
    """
    log_joint = log_joint_1d(x, weights, means, sds)
    q = _check_q(x, resp, weights)
    log_post = log_joint - logsumexp(log_joint, axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        terms = np.where(q > 0, xlogy(q, q) - q * log_post, 0.0)
    return float(np.sum(terms))


def m_step(x, resp, weights=None, means=None, sds=None):
    r"""The exact M-step: :math:`\theta = \arg\max_\theta \mathcal{L}(q, \theta)`.

    The weighted MLE of lesson 04 (:func:`emlab.gmm.m_step_1d` without a variance
    floor); the current parameters are accepted, and ignored, so that it has the
    signature of :func:`damped_m_step`.

    Returns
    -------
    weights, means, sds : ndarray of shape (n_components,)
    """
    return m_step_1d(x, resp, reg_covar=0.0)


def damped_m_step(x, resp, weights, means, sds, step=0.5):
    r"""A generalized M-step: each parameter moves only part of the way to the M-step's value.

    With :math:`N_k = \sum_i q_{ik}`, :math:`\bar x_k = \sum_i q_{ik} x_i / N_k` and
    :math:`0 < \eta \le 1` (``step``), in this order:

    .. math::

        \pi_k' = \pi_k + \eta\,(N_k / n - \pi_k), \qquad
        \mu_k' = \mu_k + \eta\,(\bar x_k - \mu_k), \qquad
        \sigma_k' = \sigma_k + \eta\,(s_k - \sigma_k), \quad
        s_k^2 = \frac{1}{N_k} \sum_i q_{ik} (x_i - \mu_k')^2.

    The mean's move is one gradient-ascent step on :math:`\mathcal{L}(q, \cdot)`,
    :math:`\mu_k' = \mu_k + \eta\, \frac{\sigma_k^2}{N_k}\,
    \partial \mathcal{L} / \partial \mu_k`. Each move stays between the current value
    and the maximum of a function with a single peak (concave in :math:`\pi` and in
    :math:`\mu_k`; rising then falling in :math:`\sigma_k`), so
    :math:`\mathcal{L}(q, \theta') \ge \mathcal{L}(q, \theta)`: it improves the
    bound without maximizing it. ``step=1`` is the exact M-step.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    resp : array-like of shape (n_samples, n_components)
    weights, means, sds : array-like of shape (n_components,)
        The current :math:`\theta`.
    step : float, default=0.5
        :math:`\eta`, the fraction of the way to go, in (0, 1].

    Returns
    -------
    weights, means, sds : ndarray of shape (n_components,)
    """

    x, weights, means, sds = _check_1d_params(x, weights, means, sds)
    resp = _check_q(x, resp, weights)
    step = float(check_positive(step, name="step"))
    if step > 1:
        raise ValueError(f"step must be at most 1 (1 is the exact M-step), got {step}.")
    nk = resp.sum(axis=0) + 10 * np.finfo(float).eps  # N_k
    new_weights = weights + step * (nk / len(x) - weights)
    new_means = means + step * (x @ resp / nk - means)
    best_sds = np.sqrt(np.sum(resp * (x[:, np.newaxis] - new_means) ** 2, axis=0) / nk)
    new_sds = sds + step * (best_sds - sds)
    return new_weights / new_weights.sum(), new_means, new_sds


def best_point_mass(x, weights, means, sds) -> np.ndarray:
    r"""The best :math:`q` among point masses: all of :math:`q_i` on the likeliest label.

    If every :math:`q_i` must put all its mass on one label (:math:`H(q) = 0`), then
    :math:`\mathcal{L}(q, \theta) = \sum_i \log p(x_i, z_i = k_i \mid \theta)` is
    largest for :math:`k_i = \arg\max_k p(x_i, z_i = k \mid \theta)`: the hard E-step.
    Inside this family the KL term cannot reach 0 unless the posterior is a point mass.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        One 1 in each row.
    """
    log_joint = log_joint_1d(x, weights, means, sds)
    return np.eye(log_joint.shape[1])[np.argmax(log_joint, axis=1)]


@dataclass
class HalfSteps:
    """What :func:`half_steps` returns: one entry per half-step, the start first.

    Attributes
    ----------
    step : list of str
        ``"start"``, then ``"E"`` and ``"M"`` alternately.
    log_likelihood, elbo, kl : ndarray
        :math:`\\ell(\\theta)`, :math:`\\mathcal{L}(q, \\theta)` and
        :math:`\\mathrm{KL}(q \\,\\|\\, p(z \\mid x, \\theta))` after each half-step.
    params : list of tuple
        :math:`(\\pi, \\mu, \\sigma)` after each half-step.
    """

    step: list = field(default_factory=list)
    log_likelihood: np.ndarray = field(default_factory=lambda: np.empty(0))
    elbo: np.ndarray = field(default_factory=lambda: np.empty(0))
    kl: np.ndarray = field(default_factory=lambda: np.empty(0))
    params: list = field(default_factory=list)


def half_steps(
    x,
    resp,
    weights,
    means,
    sds,
    n_iter: int,
    *,
    e_step: Callable = posterior,
    m_step: Callable = m_step,
) -> HalfSteps:
    r"""Run ``n_iter`` iterations of EM from :math:`(q^{(0)}, \theta^{(0)})`, recording each half-step.

    Coordinate ascent on :math:`\mathcal{L}(q, \theta)`: the E-step
    ``e_step(x, weights, means, sds) -> resp`` replaces :math:`q` (with the exact
    posterior, the KL term becomes 0), the M-step
    ``m_step(x, resp, weights, means, sds) -> (weights, means, sds)`` replaces
    :math:`\theta`. After every half-step :math:`\ell`, :math:`\mathcal{L}` and the KL
    term are computed, each from its own definition.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
    resp : array-like of shape (n_samples, n_components)
        :math:`q^{(0)}`, any distribution over each label.
    weights, means, sds : array-like of shape (n_components,)
        :math:`\theta^{(0)}`.
    n_iter : int
        Number of (E, M) pairs.
    e_step, m_step : callable
        Default: the exact :func:`posterior` and :func:`m_step`.

    Returns
    -------
    HalfSteps
        :math:`2\,` ``n_iter`` :math:`+ 1` entries.
    """
    x = check_data(x, name="x", ndim=1)
    if isinstance(n_iter, bool) or int(n_iter) != n_iter or n_iter < 0:
        raise ValueError(f"n_iter must be a non-negative whole number, got {n_iter!r}.")
    q, theta = np.array(resp, dtype=float), (weights, means, sds)
    steps, values, params = [], [], []
    for step in ["start"] + ["E", "M"] * int(n_iter):
        if step == "E":
            q = e_step(x, *theta)
        elif step == "M":
            theta = tuple(np.asarray(p, dtype=float) for p in m_step(x, q, *theta))
        log_likelihood = float(logsumexp(log_joint_1d(x, *theta), axis=1).sum())
        values.append((log_likelihood, elbo(x, q, *theta), kl_to_posterior(x, q, *theta)))
        steps.append(step)
        params.append(theta)
    log_likelihood, lower_bound, kl = (np.array(column) for column in zip(*values, strict=True))
    return HalfSteps(steps, log_likelihood, lower_bound, kl, params)
