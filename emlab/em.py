"""The EM loop that every model in EM Lab shares.

Every model supplies two functions:

* ``e_step(X, params) -> (resp, log_likelihood)``: the posterior over the
  latent variable for each data point (the *responsibilities*) and the total
  log-likelihood of the data under ``params``;
* ``m_step(X, resp) -> params``: the parameters that maximize the expected
  complete-data log-likelihood for those responsibilities.

:func:`run_em` alternates them and records every iteration in a
:class:`History`, which plots and widgets replay without refitting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EMResult", "History", "Snapshot", "improves", "run_em"]

#: A restart must beat the best so far by more than this, relative: more than rounding.
RESTART_RTOL = 1e-9


@dataclass(frozen=True)
class Snapshot:
    """The state of EM after one iteration.

    Attributes
    ----------
    iteration : int
        How many M-steps have been taken; 0 is the starting point.
    params : dict of str to ndarray
        The parameters :math:`\\theta^{(t)}` after ``iteration`` M-steps.
    log_likelihood : float
        :math:`\\log p(X \\mid \\theta^{(t)}) = \\sum_i \\log p(x_i \\mid \\theta^{(t)})`,
        the total log-likelihood of the data at ``params``.
    resp : ndarray of shape (n_samples, n_components) or None
        The responsibilities :math:`r_{ik} = p(z_i = k \\mid x_i, \\theta^{(t)})`
        computed from ``params`` (the E-step that follows the M-step), or
        ``None`` when they were not recorded.
    """

    iteration: int
    params: dict
    log_likelihood: float
    resp: np.ndarray | None = None


class History(list):
    """A list of :class:`Snapshot`, one per iteration, with column accessors.

    ``history[0]`` is the starting point and ``history[-1]`` the final fit.
    """

    @property
    def log_likelihood(self) -> np.ndarray:
        """Total log-likelihood at each iteration, shape (n_iterations + 1,)."""
        return np.array([snap.log_likelihood for snap in self])

    def param(self, name: str) -> np.ndarray:
        """Stack parameter ``name`` over iterations (first axis = iteration)."""
        return np.stack([np.asarray(snap.params[name]) for snap in self])

    @property
    def resp(self) -> np.ndarray:
        """Responsibilities at each iteration, shape (n_iterations + 1, n, K)."""
        if any(snap.resp is None for snap in self):
            raise ValueError("Responsibilities were not recorded; fit again with record_resp=True.")
        return np.stack([snap.resp for snap in self])


@dataclass
class EMResult:
    """What :func:`run_em` returns.

    Attributes
    ----------
    params : dict
        The final parameters.
    resp : ndarray
        Responsibilities computed from the final parameters.
    log_likelihood : float
        Total log-likelihood at the final parameters.
    n_iter : int
        Number of M-steps taken.
    converged : bool
        Whether the convergence test passed before ``max_iter`` M-steps.
    history : History
        One :class:`Snapshot` per iteration, starting point included.
    """

    params: dict
    resp: np.ndarray
    log_likelihood: float
    n_iter: int
    converged: bool
    history: History = field(default_factory=History)


def improves(log_likelihood: float, best: float, rtol: float = RESTART_RTOL) -> bool:
    r"""Whether a restart's final log-likelihood beats the best so far by more than rounding.

    Restarts (``n_init``) that reach the same optimum, often with the components in
    another order, end at log-likelihoods that differ only in their last digits,
    and which of them is "higher" depends on the order in which the engine happened
    to add its terms. So a restart replaces the best only when

    .. math::
        \ell > \ell_{\text{best}} + \text{rtol} \, \lvert \ell_{\text{best}} \rvert,

    and among restarts that tie the first one is kept: the same fit, whatever the
    rounding. (scikit-learn's ``KMeans`` also keeps the first of restarts that find the
    same clusters.) k-means passes minus its inertia.

    Parameters
    ----------
    log_likelihood : float
        The restart's final log-likelihood :math:`\ell`.
    best : float
        The best so far, :math:`\ell_{\text{best}}`.
    rtol : float, default=RESTART_RTOL
        How much higher, relative to :math:`\lvert \ell_{\text{best}} \rvert`, counts as better.

    Returns
    -------
    bool
    """
    if not math.isfinite(best):
        return log_likelihood > best
    return log_likelihood > best + rtol * abs(best)


def _copy_params(params: dict) -> dict:
    return {name: np.array(value, copy=True) for name, value in params.items()}


def run_em(
    X: Any,
    params: dict,
    e_step: Callable[[Any, dict], tuple[np.ndarray, float]],
    m_step: Callable[[Any, np.ndarray], dict],
    *,
    tol: float = 1e-3,
    max_iter: int = 100,
    record_resp: bool = False,
    n_samples: int | None = None,
    stop: Callable[[Snapshot, Snapshot], bool] | None = None,
) -> EMResult:
    """Run expectation-maximization from ``params`` until it converges.

    Starting from :math:`\\theta^{(0)}` = ``params``, repeat for
    :math:`t = 1, 2, \\dots`:

    * **M-step** :math:`\\theta^{(t)} = \\arg\\max_\\theta \\sum_i \\sum_k r_{ik}
      \\log p(x_i, z_i = k \\mid \\theta)`, with the responsibilities
      :math:`r_{ik}` of the previous E-step;
    * **E-step** :math:`r_{ik} = p(z_i = k \\mid x_i, \\theta^{(t)})` and
      :math:`\\ell^{(t)} = \\sum_i \\log p(x_i \\mid \\theta^{(t)})`;

    and stop when :math:`|\\ell^{(t)} - \\ell^{(t-1)}| / n <` ``tol`` (the change
    in *average* log-likelihood, as scikit-learn uses) or after ``max_iter``
    M-steps. With exact M-steps EM guarantees :math:`\\ell^{(t)} \\ge \\ell^{(t-1)}`;
    an M-step that is altered on purpose (a ``reg_covar`` floor on variances that
    matters next to the data's scale) can lose a tiny amount, which is why the
    lessons standardize small-scale data first.

    Unlike scikit-learn, which tests convergence before its last M-step, the test
    here comes after the E-step, so the final parameters and the recorded
    log-likelihood always belong together (scikit-learn's ``n_iter_`` is one more).

    Parameters
    ----------
    X : array-like
        The data, passed unchanged to ``e_step`` and ``m_step``.
    params : dict of str to array-like
        Starting parameters :math:`\\theta^{(0)}`.
    e_step : callable
        ``e_step(X, params) -> (resp, log_likelihood)``.
    m_step : callable
        ``m_step(X, resp) -> params``.
    tol : float, default=1e-3
        Convergence threshold on the change in average log-likelihood.
        ``tol=0`` runs exactly ``max_iter`` M-steps.
    max_iter : int, default=100
        Largest number of M-steps.
    record_resp : bool, default=False
        Keep the responsibilities of every iteration in the history (memory
        ``n_samples * n_components`` floats per iteration).
    n_samples : int, optional
        Number of data points used to average the log-likelihood; by default
        ``len(X)``.
    stop : callable, optional
        ``stop(previous, current) -> bool`` replaces the default convergence
        test (k-means, for instance, stops when no assignment changes).

    Returns
    -------
    EMResult
    """
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a non-negative number, got {tol!r}.")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative whole number, got {max_iter!r}.")
    n = len(X) if n_samples is None else n_samples

    params = _copy_params(params)
    resp, log_likelihood = e_step(X, params)
    history = History([Snapshot(0, params, float(log_likelihood), resp if record_resp else None)])
    converged = False
    for iteration in range(1, int(max_iter) + 1):
        params = _copy_params(m_step(X, resp))
        resp, new_log_likelihood = e_step(X, params)
        history.append(
            Snapshot(iteration, params, float(new_log_likelihood), resp if record_resp else None)
        )
        change = (new_log_likelihood - log_likelihood) / n
        log_likelihood = new_log_likelihood
        done = stop(history[-2], history[-1]) if stop is not None else abs(change) < tol
        if done:
            converged = True
            break
    return EMResult(
        params=params,
        resp=resp,
        log_likelihood=float(log_likelihood),
        n_iter=len(history) - 1,
        converged=converged,
        history=history,
    )
