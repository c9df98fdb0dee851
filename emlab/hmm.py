"""Hidden Markov models with categorical emissions: forward-backward, Baum-Welch, Viterbi.

A hidden Markov model (HMM) explains a sequence of symbols :math:`x_1, \\dots, x_S`
(each one of :math:`V` symbols :math:`0, \\dots, V-1`) by a hidden sequence of states
:math:`z_1, \\dots, z_S` (each one of :math:`K` states) that forms a Markov chain:

.. math::
    p(x, z) = \\pi_{z_1} \\, b_{z_1}(x_1) \\prod_{s=2}^{S} A_{z_{s-1} z_s} \\, b_{z_s}(x_s),

with the start probabilities :math:`\\pi_k = p(z_1 = k)` (``startprob``), the transition
matrix :math:`A_{jk} = p(z_s = k \\mid z_{s-1} = j)` (``transmat``, rows sum to 1) and
the emission probabilities :math:`b_k(v) = B_{kv} = p(x_s = v \\mid z_s = k)`
(``emissionprob``, rows sum to 1).

**Notation.** The course's :math:`t` counts EM iterations, so time steps are
:math:`s = 1, \\dots, S` here (``s`` in the code, which counts from 0). :math:`n` is
the number of observations in all sequences together, :math:`K` the number of states,
:math:`V` the alphabet size (hmmlearn's ``n_features``).

EM for an HMM is the Baum-Welch algorithm:

* **E-step** (:func:`posteriors`, built on :func:`forward` and :func:`backward`): the
  state posteriors :math:`\\gamma_s(k) = p(z_s = k \\mid x)`, the course's
  responsibilities, and the expected number of transitions
  :math:`\\sum_s \\xi_s(j, k)`, with :math:`\\xi_s(j, k) = p(z_s = j, z_{s+1} = k \\mid x)`;
* **M-step** (:func:`m_step`): expected counts, normalized.

:func:`fit_hmm` runs them with :func:`emlab.em.run_em`, which records the
log-likelihood :math:`\\ell(\\theta^{(t)}) = \\log p(x \\mid \\theta^{(t)})` of every
iteration; :func:`viterbi` finds the single most probable hidden path.

Several independent sequences are stacked one after another in ``X`` and their lengths
given in ``lengths`` (as hmmlearn does); every function then works on all of them at
once. Everything is computed in log space (with logsumexp), so a sequence of any
length neither underflows nor overflows. The recursions loop over time steps (each step
needs the one before), never over states or sequences: each time step is a few numpy
operations on every sequence that is that long. That costs tens of microseconds per
time step whatever the number of sequences: many short sequences are quick, one very
long sequence is slow next to hmmlearn's compiled loops.

Reference: L. R. Rabiner (1989), A tutorial on hidden Markov models and selected
applications in speech recognition, *Proceedings of the IEEE* 77(2), 257-286;
R. Durbin, S. Eddy, A. Krogh and G. Mitchison (1998), *Biological Sequence Analysis*,
chapter 3.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import logsumexp

from emlab.em import EMResult, run_em
from emlab.validation import check_data, check_probabilities, check_weights

__all__ = [
    "backward",
    "check_lengths",
    "check_symbols",
    "fit_hmm",
    "forward",
    "log_emissions",
    "log_likelihood",
    "m_step",
    "posteriors",
    "viterbi",
]

#: Rows of pair posteriors summed per chunk in :func:`posteriors`: bounds its memory to
#: about this many K x K blocks (8 MB at K = 10).
_PAIR_CHUNK_ENTRIES = 2**20


# ---------------------------------------------------------------------------
# Input checks
# ---------------------------------------------------------------------------


def check_symbols(X, n_features=None, *, name="X"):
    """Return ``X`` as a 1-D int array of symbols in ``0 .. n_features - 1``, or raise.

    Parameters
    ----------
    X : array-like of shape (n,) or (n, 1)
        Symbols, whole numbers (an integer array, or floats with whole values).
    n_features : int, optional
        Alphabet size :math:`V`; by default any non-negative symbol is accepted.
    name : str
        The argument's name, used in error messages.

    Returns
    -------
    ndarray of int64, shape (n,)
    """
    array = np.asarray(X)
    if array.ndim == 2 and array.shape[1] != 1:
        raise ValueError(
            f"{name} must hold one symbol per row, shape (n, 1) or (n,); got shape "
            f"{array.shape}. A categorical HMM emits one symbol at each time step."
        )
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n, 1) or (n,), got shape {array.shape}.")
    if array.dtype.kind in "iu":
        symbols = array.reshape(-1).astype(np.int64)
        if symbols.size == 0:
            raise ValueError(f"{name} is empty; pass at least one symbol.")
    else:
        values = check_data(array.reshape(-1), name=name, ndim=1)  # finite numbers, not empty
        if np.any(values != np.round(values)):
            raise ValueError(
                f"{name} must hold whole numbers (symbols 0, 1, 2, ...), got fractional values."
            )
        symbols = values.astype(np.int64)
    if np.any(symbols < 0):
        raise ValueError(
            f"{name} must hold non-negative symbols 0, 1, 2, ...; got {symbols.min()}."
        )
    if n_features is not None and np.any(symbols >= n_features):
        raise ValueError(
            f"{name} holds the symbol {symbols.max()}, outside the alphabet 0 .. "
            f"{n_features - 1} (n_features={n_features})."
        )
    return symbols


def check_lengths(lengths, n_samples, *, name="lengths"):
    """Return the sequence lengths as an int array that sums to ``n_samples``, or raise.

    Parameters
    ----------
    lengths : array-like of int, shape (n_sequences,), or None
        Length of each sequence stacked in ``X``; ``None`` means one sequence of all
        ``n_samples`` observations.
    n_samples : int
        Number of observations in ``X``.

    Returns
    -------
    ndarray of int64, shape (n_sequences,)
    """
    if lengths is None:
        return np.array([n_samples], dtype=np.int64)
    values = np.asarray(lengths)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a 1-D list of sequence lengths, got shape {values.shape}."
        )
    if values.dtype.kind not in "iu":
        values = check_data(values, name=name, ndim=1)
        if np.any(values != np.round(values)):
            raise ValueError(f"{name} must hold whole numbers, got {values}.")
    values = values.astype(np.int64)
    if np.any(values < 1):
        empty = int(np.flatnonzero(values < 1)[0])
        raise ValueError(
            f"{name}[{empty}] is {values[empty]}: every sequence needs at least one "
            f"observation; drop empty sequences from {name}."
        )
    if values.sum() != n_samples:
        raise ValueError(
            f"{name} sums to {values.sum()} but X has {n_samples} observations; the lengths "
            f"of the sequences stacked in X must add up to len(X)."
        )
    return values


def _check_model(startprob, transmat, emissionprob):
    """The three parameter arrays, checked against each other."""
    startprob = check_weights(startprob, name="startprob")
    n_states = len(startprob)
    transmat = check_probabilities(transmat, name="transmat", ndim=2)
    emissionprob = check_probabilities(emissionprob, name="emissionprob", ndim=2)
    if transmat.shape != (n_states, n_states):
        raise ValueError(
            f"transmat must have shape (K, K) = ({n_states}, {n_states}) for K={n_states} "
            f"states, got {transmat.shape}."
        )
    if emissionprob.shape[0] != n_states:
        raise ValueError(
            f"emissionprob must have one row per state, shape ({n_states}, V); "
            f"got {emissionprob.shape}."
        )
    for name, matrix in (("transmat", transmat), ("emissionprob", emissionprob)):
        sums = matrix.sum(axis=1)
        if not np.allclose(sums, 1.0, rtol=0, atol=1e-8):
            row = int(np.argmax(np.abs(sums - 1)))
            raise ValueError(
                f"each row of {name} must sum to 1 (row {row} sums to {float(sums[row])!r}); "
                f"divide each row by its sum."
            )
    return startprob, transmat, emissionprob


def _log(p):
    with np.errstate(divide="ignore"):  # a probability of 0 is log 0 = -inf, allowed
        return np.log(p)


def _time_steps(lengths):
    """For each time step s, the rows of ``X`` at step s of every sequence longer than s.

    The sequences are ordered longest first, so the rows of step s are those of step
    s - 1 plus one, cut to the sequences still running: ``steps[s] - 1`` are the rows
    one step earlier, in the same order.
    """
    starts = np.cumsum(lengths) - lengths
    order = np.argsort(-lengths, kind="stable")
    starts, lengths = starts[order], lengths[order]
    n_running = np.searchsorted(-lengths, -np.arange(lengths[0]), side="left")
    return [starts[:count] + s for s, count in enumerate(n_running)]


def _prepare(X, startprob, transmat, emissionprob, lengths):
    startprob, transmat, emissionprob = _check_model(startprob, transmat, emissionprob)
    x = check_symbols(X, emissionprob.shape[1])
    lengths = check_lengths(lengths, len(x))
    return x, lengths, startprob, transmat, emissionprob


# ---------------------------------------------------------------------------
# The lesson-level steps
# ---------------------------------------------------------------------------


def log_emissions(X, emissionprob):
    """Log-probability of each observation under each state, :math:`\\log b_k(x_s)`.

    Parameters
    ----------
    X : array-like of int, shape (n,) or (n, 1)
        Symbols :math:`x_s \\in \\{0, \\dots, V-1\\}`.
    emissionprob : array-like of shape (K, V)
        :math:`B_{kv} = b_k(v)`.

    Returns
    -------
    ndarray of shape (n, K)
        ``log(emissionprob[:, x].T)``; :math:`-\\infty` where a state never emits the symbol.
    """
    emissionprob = check_probabilities(emissionprob, name="emissionprob", ndim=2)
    x = check_symbols(X, emissionprob.shape[1])
    return _log(emissionprob[:, x].T)


def forward(X, startprob, transmat, emissionprob, lengths=None):
    """The forward pass: :math:`\\alpha_s(k) = p(x_1, \\dots, x_s, z_s = k)`, in logs.

    .. math::
        \\alpha_1(k) = \\pi_k \\, b_k(x_1), \\qquad
        \\alpha_s(k) = b_k(x_s) \\sum_j \\alpha_{s-1}(j) \\, A_{jk}, \\qquad
        p(x) = \\sum_k \\alpha_S(k),

    computed as :math:`\\log \\alpha_s(k) = \\log b_k(x_s) + \\operatorname{logsumexp}_j
    \\big(\\log \\alpha_{s-1}(j) + \\log A_{jk}\\big)`: :math:`K^2` operations per time
    step instead of the :math:`K^S` paths of the sum over all hidden paths. The logsumexp
    of one time step is ``np.logaddexp.reduce`` (one numpy call, exact to a few ulps,
    :math:`-\\infty` for a probability of 0), not :func:`scipy.special.logsumexp`, whose
    checks cost several times the arithmetic on arrays this small.

    Parameters
    ----------
    X : array-like of int, shape (n,) or (n, 1)
        The symbols of every sequence, one after another.
    startprob : array-like of shape (K,)
        :math:`\\pi`.
    transmat : array-like of shape (K, K)
        :math:`A`, rows sum to 1.
    emissionprob : array-like of shape (K, V)
        :math:`B`, rows sum to 1.
    lengths : array-like of int, optional
        Length of each sequence in ``X``; one sequence by default.

    Returns
    -------
    log_alpha : ndarray of shape (n, K)
        :math:`\\log \\alpha_s(k)`, each sequence's rows where its symbols are.
    log_likelihood : float
        :math:`\\ell = \\sum_{\\text{sequences}} \\log p(x)`.
    """
    x, lengths, startprob, transmat, emissionprob = _prepare(
        X, startprob, transmat, emissionprob, lengths
    )
    log_b = log_emissions(x, emissionprob)
    log_transmat = _log(transmat)
    steps = _time_steps(lengths)

    log_alpha = np.empty_like(log_b)
    log_alpha[steps[0]] = _log(startprob) + log_b[steps[0]]
    for rows in steps[1:]:
        # (rows, j, k): alpha_{s-1}(j) A_jk, summed over the previous state j in log space
        log_alpha[rows] = (
            np.logaddexp.reduce(log_alpha[rows - 1, :, None] + log_transmat, axis=1) + log_b[rows]
        )
    last_rows = np.cumsum(lengths) - 1
    return log_alpha, float(logsumexp(log_alpha[last_rows], axis=1).sum())


def backward(X, startprob, transmat, emissionprob, lengths=None):
    """The backward pass: :math:`\\beta_s(j) = p(x_{s+1}, \\dots, x_S \\mid z_s = j)`, in logs.

    .. math::
        \\beta_S(j) = 1, \\qquad
        \\beta_s(j) = \\sum_k A_{jk} \\, b_k(x_{s+1}) \\, \\beta_{s+1}(k),

    so that :math:`\\alpha_s(k) \\beta_s(k) = p(x, z_s = k)` at every time step.

    Parameters
    ----------
    X, startprob, transmat, emissionprob, lengths
        As in :func:`forward` (``startprob`` is checked but not used).

    Returns
    -------
    log_beta : ndarray of shape (n, K)
        :math:`\\log \\beta_s(j)`; 0 at the last observation of each sequence.
    """
    x, lengths, startprob, transmat, emissionprob = _prepare(
        X, startprob, transmat, emissionprob, lengths
    )
    log_b = log_emissions(x, emissionprob)
    log_transmat = _log(transmat)

    log_beta = np.zeros_like(log_b)
    for rows in reversed(_time_steps(lengths)[1:]):
        # rows are at step s + 1; (rows, j, k): A_jk b_k(x_{s+1}) beta_{s+1}(k), summed over k
        log_beta[rows - 1] = np.logaddexp.reduce(
            log_transmat + (log_b[rows] + log_beta[rows])[:, None, :], axis=2
        )
    return log_beta


def posteriors(X, startprob, transmat, emissionprob, lengths=None):
    """The E-step: state posteriors :math:`\\gamma` and expected transition counts.

    .. math::
        \\gamma_s(k) = p(z_s = k \\mid x) = \\frac{\\alpha_s(k) \\beta_s(k)}{p(x)}, \\qquad
        \\xi_s(j, k) = p(z_s = j, z_{s+1} = k \\mid x)
        = \\frac{\\alpha_s(j) \\, A_{jk} \\, b_k(x_{s+1}) \\, \\beta_{s+1}(k)}{p(x)},

    and the M-step needs only :math:`\\sum_s \\xi_s(j, k)`, the expected number of
    transitions from :math:`j` to :math:`k` over all sequences, which is what is
    returned (summed in chunks, so memory stays small). Each row of
    :math:`\\alpha_s(k) \\beta_s(k)` is divided by its own sum (mathematically that sum
    is :math:`p(x)` at every step; dividing each row keeps the rows' sums at 1 to
    rounding, where the logarithms of a long sequence carry absolute errors of about
    :math:`10^{-16} |\\log p(x)|`).

    Parameters
    ----------
    X, startprob, transmat, emissionprob, lengths
        As in :func:`forward`.

    Returns
    -------
    gamma : ndarray of shape (n, K)
        :math:`\\gamma_s(k)`, the responsibilities :math:`r_{ik}` of the course.
    xi_sum : ndarray of shape (K, K)
        :math:`\\sum_s \\xi_s(j, k)`.
    log_likelihood : float
        :math:`\\ell = \\sum_{\\text{sequences}} \\log p(x)`.

    Raises
    ------
    ValueError
        If a sequence has probability 0 under these parameters (then its posteriors do
        not exist).
    """
    x, lengths, startprob, transmat, emissionprob = _prepare(
        X, startprob, transmat, emissionprob, lengths
    )
    log_alpha, _ = forward(x, startprob, transmat, emissionprob, lengths)
    log_beta = backward(x, startprob, transmat, emissionprob, lengths)
    log_b = log_emissions(x, emissionprob)
    log_transmat = _log(transmat)

    ends = np.cumsum(lengths)
    log_p_sequence = logsumexp(log_alpha[ends - 1], axis=1)  # log p(x) of each sequence
    if not np.all(np.isfinite(log_p_sequence)):
        bad = int(np.flatnonzero(~np.isfinite(log_p_sequence))[0])
        raise ValueError(
            f"sequence {bad} (rows {ends[bad] - lengths[bad]} to {ends[bad] - 1} of X) has "
            "probability 0 under these parameters: it uses a symbol no reachable state "
            "emits or a transition of probability 0. Start from parameters without zeros."
        )

    log_gamma = log_alpha + log_beta
    gamma = np.exp(log_gamma - log_gamma.max(axis=1, keepdims=True))
    gamma /= gamma.sum(axis=1, keepdims=True)

    # xi, for every pair of rows (s, s + 1) inside a sequence: "nxt" are the rows s + 1
    not_first = np.ones(len(x), dtype=bool)
    not_first[ends - lengths] = False
    nxt = np.flatnonzero(not_first)
    log_p_row = np.repeat(log_p_sequence, lengths)
    log_b_beta = log_b + log_beta
    n_states = len(startprob)
    chunk = max(1, _PAIR_CHUNK_ENTRIES // n_states**2)
    log_xi_sum = np.full((n_states, n_states), -np.inf)
    for begin in range(0, len(nxt), chunk):
        rows = nxt[begin : begin + chunk]
        log_xi = (
            log_alpha[rows - 1][:, :, None]
            + log_transmat
            + log_b_beta[rows][:, None, :]
            - log_p_row[rows][:, None, None]
        )
        log_xi_sum = np.logaddexp(log_xi_sum, logsumexp(log_xi, axis=0))
    return gamma, np.exp(log_xi_sum), float(log_p_sequence.sum())


def m_step(X, gamma, xi_sum, lengths=None, n_features=None):
    """The Baum-Welch M-step: expected counts, normalized.

    .. math::
        \\pi_k = \\frac{1}{n_{\\text{seq}}} \\sum_{\\text{sequences}} \\gamma_1(k), \\qquad
        A_{jk} = \\frac{\\sum_s \\xi_s(j, k)}{\\sum_s \\sum_{k'} \\xi_s(j, k')}, \\qquad
        B_{kv} = \\frac{\\sum_{s : x_s = v} \\gamma_s(k)}{\\sum_s \\gamma_s(k)},

    over :math:`n_{\\text{seq}}` sequences (:math:`\\gamma_1` at the first step of each): the
    maximizer of the expected complete-data log-likelihood
    :math:`Q(\\theta, \\theta^{(t)}) = \\sum_k \\gamma_1(k) \\log \\pi_k
    + \\sum_s \\sum_{j,k} \\xi_s(j, k) \\log A_{jk} + \\sum_s \\sum_k \\gamma_s(k)
    \\log b_k(x_s)`. A state with no expected transitions out of it (or no expected
    observations) leaves :math:`Q` unchanged by its row, so any row maximizes; it gets
    the uniform row, which keeps every row a distribution (hmmlearn leaves a row of
    zeros).

    Parameters
    ----------
    X : array-like of int, shape (n,) or (n, 1)
        The symbols.
    gamma : array-like of shape (n, K)
        State posteriors from :func:`posteriors`.
    xi_sum : array-like of shape (K, K)
        Expected transition counts from :func:`posteriors`.
    lengths : array-like of int, optional
        Sequence lengths; one sequence by default.
    n_features : int, optional
        Alphabet size :math:`V`; by default the largest symbol in ``X`` plus one.

    Returns
    -------
    dict
        ``"startprob"`` (K,), ``"transmat"`` (K, K), ``"emissionprob"`` (K, V).
    """
    x = check_symbols(X, n_features)
    lengths = check_lengths(lengths, len(x))
    gamma = check_data(gamma, name="gamma", ndim=2)
    if gamma.shape[0] != len(x):
        raise ValueError(f"gamma has {gamma.shape[0]} rows but X has {len(x)} observations.")
    n_states = gamma.shape[1]
    xi_sum = check_data(xi_sum, name="xi_sum", ndim=2)
    if xi_sum.shape != (n_states, n_states):
        raise ValueError(f"xi_sum must have shape ({n_states}, {n_states}), got {xi_sum.shape}.")
    n_features = int(x.max()) + 1 if n_features is None else n_features

    first_rows = np.cumsum(lengths) - lengths
    startprob = gamma[first_rows].sum(axis=0)
    startprob /= startprob.sum()
    counts = np.zeros((n_features, n_states))
    np.add.at(counts, x, gamma)  # counts[v, k] = sum of gamma_s(k) over s with x_s = v
    return {
        "startprob": startprob,
        "transmat": _normalize_rows(xi_sum),
        "emissionprob": _normalize_rows(counts.T),
    }


def _normalize_rows(counts):
    totals = counts.sum(axis=1, keepdims=True)
    uniform = np.full_like(counts, 1.0 / counts.shape[1])
    return np.divide(counts, totals, out=uniform, where=totals > 0)


def log_likelihood(X, startprob, transmat, emissionprob, lengths=None):
    """:math:`\\ell = \\sum_{\\text{sequences}} \\log p(x)`, by the forward pass.

    :math:`-\\infty` when a sequence is impossible under the parameters.

    Parameters
    ----------
    X, startprob, transmat, emissionprob, lengths
        As in :func:`forward`.

    Returns
    -------
    float
    """
    return forward(X, startprob, transmat, emissionprob, lengths)[1]


def viterbi(X, startprob, transmat, emissionprob, lengths=None):
    """The most probable hidden path, :math:`\\hat z = \\arg\\max_z p(x, z)` (Viterbi).

    The forward pass with the sum replaced by a maximum,

    .. math::
        \\delta_1(k) = \\log \\pi_k + \\log b_k(x_1), \\qquad
        \\delta_s(k) = \\log b_k(x_s) + \\max_j \\big(\\delta_{s-1}(j) + \\log A_{jk}\\big),

    keeping the best previous state :math:`\\psi_s(k)` (the arg max), then
    backtracking from :math:`\\hat z_S = \\arg\\max_k \\delta_S(k)` by
    :math:`\\hat z_{s-1} = \\psi_s(\\hat z_s)`. Ties go to the lowest state.

    Parameters
    ----------
    X, startprob, transmat, emissionprob, lengths
        As in :func:`forward`.

    Returns
    -------
    log_prob : float
        :math:`\\sum_{\\text{sequences}} \\log p(x, \\hat z)`.
    states : ndarray of int, shape (n,)
        :math:`\\hat z_s` for every observation.
    """
    x, lengths, startprob, transmat, emissionprob = _prepare(
        X, startprob, transmat, emissionprob, lengths
    )
    log_b = log_emissions(x, emissionprob)
    log_transmat = _log(transmat)
    steps = _time_steps(lengths)

    delta = np.empty_like(log_b)
    best_previous = np.zeros(log_b.shape, dtype=np.int64)
    delta[steps[0]] = _log(startprob) + log_b[steps[0]]
    for rows in steps[1:]:
        scores = delta[rows - 1, :, None] + log_transmat  # (rows, j, k)
        best_previous[rows] = scores.argmax(axis=1)
        delta[rows] = scores.max(axis=1) + log_b[rows]

    last_rows = np.cumsum(lengths) - 1
    states = np.zeros(len(x), dtype=np.int64)
    states[last_rows] = delta[last_rows].argmax(axis=1)
    for rows in reversed(steps[1:]):
        states[rows - 1] = best_previous[rows, states[rows]]
    return float(delta[last_rows].max(axis=1).sum()), states


# ---------------------------------------------------------------------------
# Baum-Welch
# ---------------------------------------------------------------------------


def fit_hmm(
    X,
    lengths,
    start,
    *,
    n_features=None,
    update="ste",
    tol=1e-2,
    max_iter=10,
    record_resp=False,
    callback=None,
) -> EMResult:
    """Baum-Welch: EM for a categorical HMM from ``start``, through :func:`emlab.em.run_em`.

    Each iteration is an :func:`m_step` followed by the E-step :func:`posteriors`, so
    the history records :math:`\\ell(\\theta^{(t)})` for :math:`t = 0, 1, \\dots`, which
    never decreases (EM's guarantee; the tests assert it). It stops, as hmmlearn does,
    when the log-likelihood (the total, not the average per observation) rises by less
    than ``tol``, :math:`\\ell^{(t)} - \\ell^{(t-1)} <` ``tol``, or after ``max_iter``
    M-steps. Unlike hmmlearn, the test comes after the E-step, so the returned parameters
    are those whose log-likelihood was recorded last (hmmlearn takes one more M-step).

    Parameters
    ----------
    X : array-like of int, shape (n,) or (n, 1)
        The symbols of every sequence, one after another.
    lengths : array-like of int or None
        Length of each sequence; ``None`` for one sequence.
    start : dict
        :math:`\\theta^{(0)}`: ``"startprob"`` (K,), ``"transmat"`` (K, K),
        ``"emissionprob"`` (K, V).
    n_features : int, optional
        Alphabet size :math:`V`; by default the number of columns of
        ``start["emissionprob"]``.
    update : str, default="ste"
        Which parameters the M-step re-estimates: ``"s"`` startprob, ``"t"`` transmat,
        ``"e"`` emissionprob (hmmlearn's ``params``); the others keep their start.
    tol : float, default=1e-2
        Stop when the log-likelihood rises by less than this (hmmlearn's default);
        ``-np.inf`` runs all ``max_iter`` M-steps.
    max_iter : int, default=10
        Largest number of M-steps (hmmlearn's ``n_iter``).
    record_resp : bool, default=False
        Keep :math:`\\gamma` of every iteration in the history.
    callback : callable, optional
        ``callback(iteration, log_likelihood)``, called after each E-step.

    Returns
    -------
    EMResult
        ``params`` (the three arrays), ``resp`` (:math:`\\gamma`), ``log_likelihood``,
        ``n_iter``, ``converged`` and ``history``.
    """
    start_startprob, start_transmat, emissionprob = _check_model(
        start["startprob"], start["transmat"], start["emissionprob"]
    )
    if n_features is not None and n_features != emissionprob.shape[1]:
        raise ValueError(
            f"start['emissionprob'] has {emissionprob.shape[1]} columns but "
            f"n_features={n_features}: it needs one column per symbol."
        )
    x = check_symbols(X, emissionprob.shape[1])
    lengths = check_lengths(lengths, len(x))
    if not isinstance(update, str) or set(update) - set("ste"):
        raise ValueError(f"update must be a string of the letters 's', 't', 'e'; got {update!r}.")
    if not isinstance(tol, numbers.Real) or np.isnan(tol):
        raise ValueError(f"tol must be a number, got {tol!r}.")
    params = {
        "startprob": start_startprob,
        "transmat": start_transmat,
        "emissionprob": emissionprob,
    }
    # run_em hands the E-step's responsibilities (gamma) to the M-step; the M-step also
    # needs the expected transitions, which the E-step leaves here.
    expected = {}

    def e_step(x, params):
        gamma, xi_sum, log_likelihood = posteriors(x, lengths=lengths, **params)
        if callback is not None:
            callback(expected.get("iteration", -1) + 1, log_likelihood)
        expected.update(xi_sum=xi_sum, params=params, iteration=expected.get("iteration", -1) + 1)
        return gamma, log_likelihood

    def em_m_step(x, gamma):
        new = m_step(x, gamma, expected["xi_sum"], lengths, emissionprob.shape[1])
        old = expected["params"]
        names = {"s": "startprob", "t": "transmat", "e": "emissionprob"}
        return {name: (new if letter in update else old)[name] for letter, name in names.items()}

    def small_gain(previous, current):
        return current.log_likelihood - previous.log_likelihood < tol

    return run_em(
        x,
        params,
        e_step,
        em_m_step,
        tol=0.0,
        max_iter=max_iter,
        record_resp=record_resp,
        stop=small_gain,
    )
