r"""EM from sufficient statistics: map-reduce passes and stepwise (online) EM (lesson 15).

A Gaussian mixture's M-step needs the data only through three sums per component, its
*sufficient statistics*:

.. math::

    N_k = \sum_i r_{ik}, \qquad
    s_k = \sum_i r_{ik}\, x_i, \qquad
    S_k = \sum_i r_{ik}\, x_i x_i^\top,

from which

.. math::

    \pi_k = \frac{N_k}{\sum_j N_j}, \qquad
    \mu_k = \frac{s_k}{N_k}, \qquad
    \Sigma_k = \frac{S_k}{N_k} - \mu_k \mu_k^\top + \varepsilon I.

Sums over the points are sums over the blocks of any split of them, so one iteration of EM
is one map-reduce pass: each block's statistics (:func:`sufficient_statistics`), added up,
then :func:`m_step_from_statistics`.

When even one pass per iteration is too many (a stream, or data far larger than the time
available), **stepwise EM** (Cappé & Moulines 2009; Liang & Klein 2009) updates running
*averages* of the statistics after every mini-batch :math:`B_t` of points:

.. math::

    \bar s^{(t+1)} = (1 - \gamma_t)\, \bar s^{(t)}
        + \gamma_t \frac{1}{|B_t|} \sum_{i \in B_t} s_i(\theta^{(t)}), \qquad
    \theta^{(t+1)} = M\big(\bar s^{(t+1)}\big), \qquad
    \gamma_t = (t + 2)^{-\tau},

where :math:`s_i(\theta)` are point :math:`i`'s statistics (:math:`r_{ik}`,
:math:`r_{ik} x_i`, :math:`r_{ik} x_i x_i^\top` with the responsibilities at
:math:`\theta`) and :math:`M` the M-step above. With :math:`\tfrac12 < \tau \le 1`,
:math:`\sum_t \gamma_t = \infty` and :math:`\sum_t \gamma_t^2 < \infty`, the conditions
under which the running averages converge (Cappé & Moulines 2009). :func:`stepwise_em` runs
it; with ``tau=0`` (every :math:`\gamma_t = 1`) and one mini-batch holding all the data
it is batch EM, iteration by iteration. The papers write the exponent :math:`\alpha`; the
course calls it :math:`\tau`, as its :math:`\alpha` is lesson 11's Dirichlet concentration
(and lesson 13's forward variable).

Full covariances only: the lesson needs no other type.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

from emlab.em import EMResult, History, Snapshot
from emlab.gmm import _check_reg_covar, cholesky_factors, e_step
from emlab.validation import check_data, check_resp, check_weights

__all__ = [
    "check_tau",
    "m_step_from_statistics",
    "start_statistics",
    "step_sizes",
    "stepwise_em",
    "sufficient_statistics",
]


def sufficient_statistics(X, resp):
    r"""One block's sufficient statistics: :math:`N_k`, :math:`s_k`, :math:`S_k`.

    .. math::

        N_k = \sum_i r_{ik}, \qquad
        s_k = \sum_i r_{ik}\, x_i, \qquad
        S_k = \sum_i r_{ik}\, x_i x_i^\top,

    the sums running over the block's points. The statistics of a union of blocks are
    the sums of the blocks' statistics.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The block's points.
    resp : array-like of shape (n_samples, n_components)
        Their responsibilities :math:`r_{ik}`.

    Returns
    -------
    nk : ndarray of shape (n_components,)
        :math:`N_k`.
    sum_x : ndarray of shape (n_components, n_features)
        :math:`s_k`, one row per component.
    sum_xx : ndarray of shape (n_components, n_features, n_features)
        :math:`S_k`.
    """
    X = check_data(X)
    resp = check_resp(resp, len(X))
    nk = resp.sum(axis=0)
    sum_x = resp.T @ X
    sum_xx = np.einsum("ik,id,ie->kde", resp, X, X)
    return nk, sum_x, sum_xx


def m_step_from_statistics(nk, sum_x, sum_xx, reg_covar=1e-6):
    r"""The M-step of a Gaussian mixture (full covariances) from its sufficient statistics.

    .. math::

        \pi_k = \frac{N_k}{\sum_j N_j}, \qquad
        \mu_k = \frac{s_k}{N_k}, \qquad
        \Sigma_k = \frac{S_k}{N_k} - \mu_k \mu_k^\top + \varepsilon I,

    with :math:`\varepsilon` = ``reg_covar``. The statistics may be sums or averages
    (all three divided by the same number): the parameters are the same. As in
    :func:`emlab.gmm.m_step`, :math:`N_k` gets ``10 * eps`` so that an empty component
    does not divide by zero; the parameters equal :func:`emlab.gmm.m_step`'s for the
    same responsibilities up to rounding (that function sums the squares around the
    means, which loses fewer digits for data far from the origin).

    Parameters
    ----------
    nk : array-like of shape (n_components,)
    sum_x : array-like of shape (n_components, n_features)
    sum_xx : array-like of shape (n_components, n_features, n_features)
    reg_covar : float, default=1e-6

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
    """
    nk = check_data(nk, name="nk", ndim=1)
    if np.any(nk < 0):
        raise ValueError(f"nk must be non-negative (soft counts), got a minimum of {nk.min():.3g}.")
    n_components = len(nk)
    sum_x = check_data(sum_x, name="sum_x", ndim=2)
    if sum_x.shape[0] != n_components:
        raise ValueError(
            f"sum_x must have one row per component, {n_components}; got shape {sum_x.shape}."
        )
    n_features = sum_x.shape[1]
    sum_xx = check_data(sum_xx, name="sum_xx", ndim=3)
    if sum_xx.shape != (n_components, n_features, n_features):
        raise ValueError(
            f"sum_xx must have shape (n_components, n_features, n_features) = "
            f"({n_components}, {n_features}, {n_features}); got {sum_xx.shape}."
        )
    reg_covar = _check_reg_covar(reg_covar)
    nk = nk + 10 * np.finfo(float).eps
    weights = nk / nk.sum()
    means = sum_x / nk[:, np.newaxis]
    outer = means[:, :, np.newaxis] * means[:, np.newaxis, :]  # mu_k mu_k^T
    covariances = sum_xx / nk[:, np.newaxis, np.newaxis] - outer + reg_covar * np.eye(n_features)
    return weights, means, covariances


def start_statistics(weights, means, covariances):
    r"""Average statistics per point that a start :math:`\theta^{(0)}` implies.

    .. math::

        \bar N_k = \pi_k, \qquad \bar s_k = \pi_k \mu_k, \qquad
        \bar S_k = \pi_k (\Sigma_k + \mu_k \mu_k^\top),

    the expected statistics of one point drawn from the mixture :math:`\theta^{(0)}`.
    :func:`stepwise_em` starts its running averages here, so that
    :func:`m_step_from_statistics` of them is the start (plus ``reg_covar``).

    Returns
    -------
    nk, sum_x, sum_xx : ndarray
        Shapes (K,), (K, D), (K, D, D).
    """
    weights = check_weights(weights)
    means = check_data(means, name="means", ndim=2)
    if means.shape[0] != len(weights):
        raise ValueError(
            f"means must have one row per component, {len(weights)}; got shape {means.shape}."
        )
    n_components, n_features = means.shape
    cholesky_factors(covariances, "full", n_components, n_features)  # checks them
    covariances = np.asarray(covariances, dtype=float)
    outer = means[:, :, np.newaxis] * means[:, np.newaxis, :]
    return (
        weights.copy(),
        weights[:, np.newaxis] * means,
        weights[:, np.newaxis, np.newaxis] * (covariances + outer),
    )


def check_tau(tau) -> float:
    r"""Check the step-size exponent :math:`\tau`: :math:`\tfrac12 < \tau \le 1`, or 0.

    ``tau=0`` gives :math:`\gamma_t = 1` at every step (no memory: each M-step uses
    only the current mini-batch's statistics).
    """
    if isinstance(tau, bool) or not isinstance(tau, Real) or not np.isfinite(tau):
        raise ValueError(f"tau must be a number, 0.5 < tau <= 1 (or 0); got {tau!r}.")
    if tau != 0 and not 0.5 < tau <= 1:
        raise ValueError(
            f"tau must satisfy 0.5 < tau <= 1 (or be 0, for step sizes of 1); got {tau}. "
            f"Step sizes (t + 2)^-tau then sum to infinity while their squares do not, "
            f"which the running averages need to converge. Try tau=0.6."
        )
    return float(tau)


def step_sizes(n_steps, tau=0.6) -> np.ndarray:
    r"""The step sizes :math:`\gamma_t = (t + 2)^{-\tau}`, :math:`t = 0, \dots,` ``n_steps - 1``.

    Parameters
    ----------
    n_steps : int
        How many, at least 0.
    tau : float, default=0.6
        :math:`\tfrac12 < \tau \le 1`, or 0 (every step size 1).

    Returns
    -------
    ndarray of shape (n_steps,)
    """
    if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 0:
        raise ValueError(f"n_steps must be a whole number, at least 0; got {n_steps!r}.")
    tau = check_tau(tau)
    return (np.arange(n_steps) + 2.0) ** -tau


def stepwise_em(
    X,
    weights,
    means,
    covariances,
    *,
    batch_size,
    n_steps,
    tau=0.6,
    random_state=None,
    reg_covar=1e-6,
    record_every=1,
) -> EMResult:
    r"""Stepwise (online) EM for a Gaussian mixture with full covariances.

    From the running averages :math:`\bar s^{(0)}` of :func:`start_statistics`, each step
    :math:`t = 0, 1, \dots` takes the next mini-batch :math:`B_t` of ``batch_size`` points,
    computes their responsibilities at :math:`\theta^{(t)}` (:func:`emlab.gmm.e_step`) and
    average statistics (:func:`sufficient_statistics` divided by :math:`|B_t|`), and sets

    .. math::

        \bar s^{(t+1)} = (1 - \gamma_t)\, \bar s^{(t)} + \gamma_t\, \bar s_{B_t}, \qquad
        \theta^{(t+1)} = M\big(\bar s^{(t+1)}\big), \qquad \gamma_t = (t + 2)^{-\tau}.

    The mini-batches go through the data in a random order drawn from ``random_state``,
    a new order for each pass; a pass is ``n // batch_size`` mini-batches (the points left
    over go to no batch in that pass). With ``tau=0`` and ``batch_size=n`` each step is
    one iteration of batch EM.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights, means, covariances : array-like
        The start :math:`\theta^{(0)}`: shapes (K,), (K, D), (K, D, D).
    batch_size : int
        Points per mini-batch, from 1 to ``n_samples``.
    n_steps : int
        Mini-batches to take (M-steps), at least 1.
    tau : float, default=0.6
        Step-size exponent, :math:`\tfrac12 < \tau \le 1`, or 0 for step sizes of 1.
    random_state : int, RandomState instance or None
        Seeds the order of the points.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, as in :func:`emlab.gmm.m_step`.
    record_every : int, default=1
        Record :math:`\theta^{(t)}` and the log-likelihood of *all* the data,
        :math:`\ell(\theta^{(t)})`, every ``record_every`` steps (and at the start and the
        end): each record costs an E-step over the whole data, which a real stream would
        not afford.

    Returns
    -------
    EMResult
        ``history[j].iteration`` is the number of steps taken (multiply by
        ``batch_size / n`` for passes over the data), ``history[j].log_likelihood`` the
        total :math:`\ell` there; ``params`` has ``"weights"``, ``"means"``,
        ``"covariances"``; ``converged`` is False (stepwise EM runs its ``n_steps``).
    """
    X = check_data(X)
    n_samples = len(X)
    weights = check_weights(weights)
    means = check_data(means, name="means", ndim=2)
    if means.shape != (len(weights), X.shape[1]):
        raise ValueError(
            f"means must have shape (n_components, n_features) = ({len(weights)}, {X.shape[1]}); "
            f"got {means.shape}."
        )
    for name, value, low, high in [
        ("batch_size", batch_size, 1, n_samples),
        ("n_steps", n_steps, 1, None),
        ("record_every", record_every, 1, None),
    ]:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise ValueError(f"{name} must be a whole number, at least {low}; got {value!r}.")
        if high is not None and value > high:
            raise ValueError(
                f"{name}={value} is more than the {high} data points: use at most {high}."
            )
    gammas = step_sizes(n_steps, tau)
    reg_covar = _check_reg_covar(reg_covar)
    random_state = check_random_state(random_state)

    stats = start_statistics(weights, means, covariances)
    params = {"weights": weights, "means": means, "covariances": np.asarray(covariances, float)}
    batches_per_pass = n_samples // batch_size
    order = random_state.permutation(n_samples)
    history = History()

    def record(step):
        _, log_likelihood = e_step(X, **params)
        snapshot = {name: np.array(value, copy=True) for name, value in params.items()}
        history.append(Snapshot(step, snapshot, log_likelihood))

    # a mini-batch is too small for BLAS threads to pay, and on a busy machine they cost
    # up to 30 times the arithmetic (as in emlab.engines.workspace): one thread
    with threadpool_limits(limits=1, user_api="blas"):
        record(0)
        for t, gamma in enumerate(gammas):
            j = t % batches_per_pass
            if j == 0 and t > 0:
                order = random_state.permutation(n_samples)  # a new pass, a new order
            batch = X[order[j * batch_size : (j + 1) * batch_size]]
            resp, _ = e_step(batch, **params)
            batch_stats = [s / batch_size for s in sufficient_statistics(batch, resp)]
            stats = [
                (1 - gamma) * old + gamma * new for old, new in zip(stats, batch_stats, strict=True)
            ]
            new_params = m_step_from_statistics(*stats, reg_covar=reg_covar)
            params = dict(zip(("weights", "means", "covariances"), new_params, strict=True))
            if (t + 1) % record_every == 0 or t + 1 == n_steps:
                record(t + 1)
    resp, log_likelihood = e_step(X, **params)
    return EMResult(params, resp, log_likelihood, n_steps, False, history)
