"""The binomial mixture: "two coins" (or any number of coins).

The story of Do & Batzoglou (2008). Coins :math:`1, \\dots, K` show heads with
unknown probabilities :math:`\\theta_1, \\dots, \\theta_K`. Each trial :math:`i`
picks coin :math:`z_i = k` with probability :math:`\\pi_k`, tosses it
:math:`n` times and records the number of heads :math:`h_i` (and tails
:math:`t_i = n - h_i`), but not which coin it was. Then

.. math:: p(h_i \\mid z_i = k) = \\binom{n}{h_i} \\theta_k^{h_i} (1 - \\theta_k)^{t_i},
          \\qquad p(h_i) = \\sum_k \\pi_k \\, p(h_i \\mid z_i = k).

EM alternates

* **E-step** (:func:`e_step`): how much each coin is responsible for each trial,
  :math:`r_{ik} = p(z_i = k \\mid h_i)`;
* **M-step** (:func:`m_step`): each coin's heads probability from the heads and
  tails it is responsible for, :math:`\\theta_k = \\frac{\\sum_i r_{ik} h_i}
  {\\sum_i r_{ik} (h_i + t_i)}` (:func:`expected_counts` gives the table).

Several independent series per trial (``heads`` of shape (n_trials, n_series),
``thetas`` of shape (n_coins, n_series)) multiply their probabilities; that is
what :class:`BinomialMixture` fits, one series per column of ``X``.

Probabilities of exactly 0 or 1 are allowed: in the logarithm of the outcome they
rule out they are moved :data:`THETA_EPS` inside :math:`(0, 1)`, so a coin that
"never" shows heads is treated as one that shows heads once in :math:`10^{12}` tosses,
and nothing becomes NaN. The outcome they allow keeps its exact logarithm
(:math:`\\log 1 = 0`), so the log-likelihood is exact whenever the data are possible at
all, for any number of tosses (moving 1 to :math:`1 - 10^{-12}` there would cost
:math:`n \\cdot 10^{-12}` nats per trial: 10 at :math:`n = 10^{13}`).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import gammaln, logsumexp

from emlab.em import EMResult, run_em
from emlab.validation import (
    check_counts,
    check_probabilities,
    check_resp,
    check_weights,
)

__all__ = [
    "THETA_EPS",
    "e_step",
    "expected_counts",
    "fit_coins",
    "log_pmf",
    "m_step",
    "simulate_trials",
]

THETA_EPS = 1e-12
"""How far inside (0, 1) a heads probability of exactly 0 or 1 is moved for logarithms."""


# ---------------------------------------------------------------------------
# Checks shared by the lesson-level functions
# ---------------------------------------------------------------------------


def _check_heads(heads, n_tosses, *, name="heads"):
    """``heads`` as a float array of whole counts, 1-D or 2-D, and ``n_tosses`` as an int."""
    if np.ndim(n_tosses) != 0:
        raise ValueError(f"n_tosses must be a single whole number, got {n_tosses!r}.")
    heads, _ = check_counts(heads, n_tosses, name=name)
    if heads.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D (one count per trial) or 2-D (trials x series), "
            f"got shape {heads.shape}."
        )
    return heads, int(n_tosses)


def _check_thetas(thetas, heads):
    """``thetas`` of shape (n_coins,) for 1-D heads or (n_coins, n_series) for 2-D heads."""
    thetas = check_probabilities(thetas, name="thetas")
    if thetas.ndim != heads.ndim or thetas.shape[1:] != heads.shape[1:]:
        want = "(n_coins,)" if heads.ndim == 1 else f"(n_coins, {heads.shape[1]})"
        raise ValueError(
            f"thetas must have shape {want} to match heads of shape {heads.shape}, "
            f"got {thetas.shape}."
        )
    return thetas


def _check_or_equal_weights(weights, n_coins):
    if weights is None:
        return np.full(n_coins, 1.0 / n_coins)
    return check_weights(weights, n_coins, name="weights")


def _as_columns(array):
    """A 1-D array as one column, so that one formula serves one or several series."""
    return array.reshape(len(array), -1)


# ---------------------------------------------------------------------------
# Lesson-level functions
# ---------------------------------------------------------------------------


def simulate_trials(thetas, n_trials, n_tosses=10, weights=None, random_state=None):
    """Simulate the coin experiment: pick a coin, toss it ``n_tosses`` times, count heads.

    .. math:: z_i \\sim \\text{Categorical}(\\pi), \\qquad
              h_i \\mid z_i = k \\sim \\text{Binomial}(n, \\theta_k)

    Parameters
    ----------
    thetas : array-like of shape (n_coins,) or (n_coins, n_series)
        Heads probability :math:`\\theta_k` of each coin (for each series).
    n_trials : int
        Number of trials.
    n_tosses : int, default=10
        Tosses per trial (per series) :math:`n`.
    weights : array-like of shape (n_coins,), optional
        Probability :math:`\\pi_k` of picking each coin; equal by default.
    random_state : int, numpy Generator or None
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    heads : ndarray of int, shape (n_trials,) or (n_trials, n_series)
        The number of heads of each trial.
    coins : ndarray of int, shape (n_trials,)
        Which coin each trial used (the latent :math:`z_i`).
    """
    thetas = check_probabilities(thetas, name="thetas")
    if isinstance(n_trials, bool) or not isinstance(n_trials, numbers.Integral) or n_trials < 1:
        raise ValueError(f"n_trials must be a whole number, at least 1; got {n_trials!r}.")
    if isinstance(n_tosses, bool) or not isinstance(n_tosses, numbers.Integral) or n_tosses < 1:
        raise ValueError(f"n_tosses must be a whole number, at least 1; got {n_tosses!r}.")
    weights = _check_or_equal_weights(weights, len(thetas))
    rng = np.random.default_rng(random_state)
    coins = rng.choice(len(thetas), size=n_trials, p=weights)
    heads = rng.binomial(n_tosses, thetas[coins])
    return heads, coins


def log_pmf(heads, n_tosses, thetas):
    """Log-probability of each trial's heads under each coin.

    .. math:: \\log p(h_i \\mid z_i = k) = \\log \\binom{n}{h_i}
              + h_i \\log \\theta_k + t_i \\log(1 - \\theta_k), \\qquad t_i = n - h_i,

    with :math:`\\log \\binom{n}{h} = \\log\\Gamma(n+1) - \\log\\Gamma(h+1)
    - \\log\\Gamma(n-h+1)`, summed over series when there are several.
    ``thetas`` of 0 or 1 are moved :data:`THETA_EPS` inside (0, 1) in the logarithm of
    the outcome they rule out (see the module's docstring).

    Parameters
    ----------
    heads : array-like of shape (n_trials,) or (n_trials, n_series)
    n_tosses : int
    thetas : array-like of shape (n_coins,) or (n_coins, n_series)

    Returns
    -------
    ndarray of shape (n_trials, n_coins)
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    thetas = _check_thetas(thetas, heads)
    heads, thetas = _as_columns(heads), _as_columns(thetas)
    tails = n_tosses - heads
    log_binomial_coef = gammaln(n_tosses + 1) - gammaln(heads + 1) - gammaln(tails + 1)
    return (
        log_binomial_coef.sum(axis=1, keepdims=True)
        + heads @ np.log(np.maximum(thetas, THETA_EPS)).T  # log 1 = 0 stays exact
        + tails @ np.log1p(-np.minimum(thetas, 1 - THETA_EPS)).T
    )


def e_step(heads, n_tosses, thetas, weights=None):
    """E-step: the responsibility of each coin for each trial, and the log-likelihood.

    .. math:: r_{ik} = p(z_i = k \\mid h_i) =
              \\frac{\\pi_k \\, p(h_i \\mid \\theta_k)}{\\sum_j \\pi_j \\, p(h_i \\mid \\theta_j)},
              \\qquad \\ell = \\sum_i \\log \\sum_k \\pi_k \\, p(h_i \\mid \\theta_k)

    computed in log space with ``logsumexp``. The binomial coefficient
    :math:`\\binom{n}{h_i}` is the same for every coin, so it cancels in
    :math:`r_{ik}`; it is kept so that :math:`\\ell` is the true log-likelihood.

    Parameters
    ----------
    heads : array-like of shape (n_trials,) or (n_trials, n_series)
        Heads :math:`h_i` of each trial.
    n_tosses : int
        Tosses per trial :math:`n`.
    thetas : array-like of shape (n_coins,) or (n_coins, n_series)
        Heads probabilities :math:`\\theta_k`.
    weights : array-like of shape (n_coins,), optional
        Probability :math:`\\pi_k` of picking each coin. By default every coin
        is equally likely, as in Do & Batzoglou (2008).

    Returns
    -------
    resp : ndarray of shape (n_trials, n_coins)
        :math:`r_{ik}`; each row sums to 1.
    log_likelihood : float
        :math:`\\ell`.
    """
    log_p = log_pmf(heads, n_tosses, thetas)
    weights = _check_or_equal_weights(weights, log_p.shape[1])
    with np.errstate(divide="ignore"):  # a coin of weight 0: log 0 = -inf, resp 0
        log_joint = np.log(weights) + log_p
    log_p_trial = logsumexp(log_joint, axis=1)
    resp = np.exp(log_joint - log_p_trial[:, None])
    return resp, float(log_p_trial.sum())


def expected_counts(heads, n_tosses, resp):
    """The heads and tails each coin is responsible for: the E-step's table.

    .. math:: H_k = \\sum_i r_{ik} h_i, \\qquad T_k = \\sum_i r_{ik} t_i

    A trial with 8 heads and 2 tails whose responsibility on coin A is 0.564
    gives coin A :math:`0.564 \\times 8 = 4.512` heads and 1.128 tails.

    Parameters
    ----------
    heads : array-like of shape (n_trials,) or (n_trials, n_series)
    n_tosses : int
    resp : array-like of shape (n_trials, n_coins)
        Responsibilities :math:`r_{ik}`, from :func:`e_step`.

    Returns
    -------
    expected_heads, expected_tails : ndarray of shape (n_coins,) or (n_coins, n_series)
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    resp = check_resp(resp, len(heads))
    tails = n_tosses - heads
    return resp.T @ heads, resp.T @ tails


def m_step(heads, n_tosses, resp, learn_weights=True):
    """M-step: each coin's heads probability from the heads and tails it is responsible for.

    .. math:: \\theta_k = \\frac{H_k}{H_k + T_k}
              = \\frac{\\sum_i r_{ik} h_i}{n \\sum_i r_{ik}}, \\qquad
              \\pi_k = \\frac{1}{N} \\sum_i r_{ik}

    the maximizer of the expected complete-data log-likelihood
    :math:`\\sum_i \\sum_k r_{ik} \\log\\big(\\pi_k \\, p(h_i \\mid \\theta_k)\\big)`.
    A coin responsible for no trial at all (:math:`\\sum_i r_{ik} = 0`) learns
    nothing; it gets :math:`\\theta_k = 0.5`.

    Parameters
    ----------
    heads : array-like of shape (n_trials,) or (n_trials, n_series)
    n_tosses : int
    resp : array-like of shape (n_trials, n_coins)
        Responsibilities :math:`r_{ik}`, from :func:`e_step`.
    learn_weights : bool, default=True
        Also re-estimate the coin weights :math:`\\pi_k`.

    Returns
    -------
    thetas : ndarray of shape (n_coins,) or (n_coins, n_series)
    weights : ndarray of shape (n_coins,), or None when ``learn_weights`` is False
    """
    expected_heads, expected_tails = expected_counts(heads, n_tosses, resp)
    expected_tosses = expected_heads + expected_tails
    thetas = np.divide(
        expected_heads,
        expected_tosses,
        out=np.full_like(expected_heads, 0.5),
        where=expected_tosses > 0,
    )
    weights = np.asarray(resp, dtype=np.float64).mean(axis=0) if learn_weights else None
    return thetas, weights


def _parameters_repeat(previous, now):
    return all(np.array_equal(previous.params[name], now.params[name]) for name in now.params)


def fit_coins(
    heads,
    n_tosses,
    thetas,
    weights=None,
    learn_weights=False,
    tol=1e-6,
    max_iter=100,
    hard=False,
    record_resp=False,
) -> EMResult:
    """Run EM for the coin mixture from ``thetas`` through :func:`emlab.em.run_em`.

    Each iteration is an :func:`m_step` followed by an :func:`e_step`; the
    log-likelihood :math:`\\ell = \\sum_i \\log \\sum_k \\pi_k p(h_i \\mid \\theta_k)`
    never decreases. EM stops when the average log-likelihood changes by less
    than ``tol`` per trial, :math:`|\\ell^{(t)} - \\ell^{(t-1)}| / N <` ``tol``.

    With ``hard=True`` it runs *hard* EM: each trial goes wholly to its likelier
    coin, :math:`r_{ik} = [k = \\arg\\max_j \\pi_j p(h_i \\mid \\theta_j)]` (ties to
    the first coin), as k-means does. Hard EM climbs the complete-data
    log-likelihood :math:`\\sum_i \\max_k \\log \\pi_k p(h_i \\mid \\theta_k)`; the
    history still records the true log-likelihood :math:`\\ell`, which it need
    not increase. It stops when the parameters repeat (no trial changed coin).

    Parameters
    ----------
    heads : array-like of shape (n_trials,) or (n_trials, n_series)
        Heads :math:`h_i` of each trial.
    n_tosses : int
        Tosses per trial :math:`n`.
    thetas : array-like of shape (n_coins,) or (n_coins, n_series)
        Starting heads probabilities :math:`\\theta^{(0)}`.
    weights : array-like of shape (n_coins,), optional
        Coin weights :math:`\\pi`: fixed, or the start when ``learn_weights``.
        Equal by default.
    learn_weights : bool, default=False
        Re-estimate the weights at each M-step. False keeps them fixed, as in
        Do & Batzoglou (2008).
    tol : float, default=1e-6
        Convergence threshold on the change in average log-likelihood;
        ``tol=0`` runs exactly ``max_iter`` iterations (soft EM).
    max_iter : int, default=100
        Largest number of iterations.
    hard : bool, default=False
        Hard EM instead of EM.
    record_resp : bool, default=False
        Keep the responsibilities of every iteration in the history.

    Returns
    -------
    EMResult
        ``params["thetas"]``, ``params["weights"]``, ``resp``,
        ``log_likelihood``, ``n_iter``, ``converged`` and ``history``.
    """
    heads, n_tosses = _check_heads(heads, n_tosses)
    thetas = _check_thetas(thetas, heads)
    weights = _check_or_equal_weights(weights, len(thetas))

    def em_e_step(heads, params):
        resp, log_likelihood = e_step(heads, n_tosses, params["thetas"], params["weights"])
        if hard:
            resp = np.eye(resp.shape[1])[resp.argmax(axis=1)]
        return resp, log_likelihood

    def em_m_step(heads, resp):
        new_thetas, new_weights = m_step(heads, n_tosses, resp, learn_weights)
        return {"thetas": new_thetas, "weights": new_weights if learn_weights else weights}

    return run_em(
        heads,
        {"thetas": thetas, "weights": weights},
        em_e_step,
        em_m_step,
        tol=tol,
        max_iter=max_iter,
        record_resp=record_resp,
        stop=_parameters_repeat if hard else None,
    )


def __getattr__(name: str):
    # ``from emlab.coins import BinomialMixture`` keeps working: the estimator lives a floor
    # up (emlab.estimators) and is imported only when asked for (see tests/test_imports.py).
    if name == "BinomialMixture":
        from emlab.estimators.binomial_mixture import BinomialMixture

        return BinomialMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
