"""``emlab.CategoricalHMM``: a hidden Markov model of symbols, fitted by Baum-Welch.

The estimator floor over :mod:`emlab.hmm`: hmmlearn's names and conventions
(``n_components``, ``n_features``, ``params``, ``init_params``, ``startprob_``,
``transmat_``, ``emissionprob_``, ``monitor_``, ``fit(X, lengths)``), scikit-learn's
validation. The same random start as hmmlearn for the same integer ``random_state``.
"""

from __future__ import annotations

import numbers
import sys
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from emlab.hmm import check_lengths, check_symbols, fit_hmm, posteriors, viterbi
from emlab.hmm import log_likelihood as hmm_log_likelihood

__all__ = ["CategoricalHMM", "ConvergenceMonitor"]

_LETTERS = {"s": "startprob_", "t": "transmat_", "e": "emissionprob_"}


@dataclass
class ConvergenceMonitor:
    """What :attr:`CategoricalHMM.monitor_` holds, with hmmlearn's attribute names.

    Attributes
    ----------
    tol : float
        The convergence threshold on the rise of the log-likelihood.
    n_iter : int
        The largest number of M-steps allowed.
    verbose : bool
        Whether each iteration was printed to ``sys.stderr``.
    history : list of float
        The log-likelihood :math:`\\ell(\\theta^{(t)})` at every iteration
        :math:`t = 0, \\dots,` ``iter``, the final parameters' included (hmmlearn's
        history stops one short: it holds the log-likelihood before each M-step).
    iter : int
        Number of M-steps taken.
    converged : bool
        Whether the rise fell below ``tol`` (hmmlearn also says True when ``n_iter``
        M-steps ran out).
    """

    tol: float
    n_iter: int
    verbose: bool
    history: list = field(default_factory=list)
    iter: int = 0
    converged: bool = False


def _whole(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number, at least {minimum}; got {value!r}.")
    return int(value)


class CategoricalHMM(BaseEstimator):
    """Hidden Markov model with categorical emissions, fitted by Baum-Welch (EM).

    A hidden chain of states :math:`z_s \\in \\{0, \\dots, K-1\\}` starts with
    probabilities :math:`\\pi` (:attr:`startprob_`), moves by the transition matrix
    :math:`A` (:attr:`transmat_`), and emits at each time step :math:`s` one symbol
    :math:`x_s \\in \\{0, \\dots, V-1\\}` with probabilities :math:`B_{z_s, x_s}`
    (:attr:`emissionprob_`):

    .. math::
        p(x) = \\sum_z \\pi_{z_1} B_{z_1 x_1} \\prod_{s \\ge 2} A_{z_{s-1} z_s} B_{z_s x_s}.

    The steps are those of :mod:`emlab.hmm` (log space, vectorized over states and
    sequences); the names and conventions are hmmlearn's ``CategoricalHMM``.

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states :math:`K`.
    n_features : int, optional
        Alphabet size :math:`V` (symbols ``0 .. n_features - 1``); by default the largest
        symbol seen by :meth:`fit` plus one (stored in :attr:`n_features_`).
    algorithm : {"viterbi", "map"}, default="viterbi"
        Decoder of :meth:`predict` and :meth:`decode`: the most probable path, or the
        most probable state at each time step.
    random_state : int, RandomState or None, default=None
        Seed of the random start (the same start as hmmlearn's for the same int).
    n_iter : int, default=10
        Largest number of EM iterations (M-steps).
    tol : float, default=1e-2
        Stop when the log-likelihood (total, over all observations) rises by less;
        ``-np.inf`` runs all ``n_iter`` iterations.
    verbose : bool, default=False
        Print each iteration's log-likelihood and rise to ``sys.stderr``.
    params : str, default="ste"
        Parameters the M-step updates: ``"s"`` startprob, ``"t"`` transmat,
        ``"e"`` emissionprob.
    init_params : str, default="ste"
        Parameters drawn at random before fitting. A letter left out keeps the
        attribute you set before :meth:`fit` (``model.startprob_ = ...``), as in
        hmmlearn; an attribute not set is drawn anyway.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
        :math:`\\pi`.
    transmat_ : ndarray of shape (n_components, n_components)
        :math:`A`, rows sum to 1.
    emissionprob_ : ndarray of shape (n_components, n_features_)
        :math:`B`, rows sum to 1.
    n_features_ : int
        The alphabet size used (``n_features``, or inferred from the data).
    monitor_ : ConvergenceMonitor
        ``history`` (the log-likelihood at every iteration), ``iter``, ``converged``.
    history_ : emlab.em.History
        Every iteration's parameters and log-likelihood, for plots and explorers.
    n_iter_ : int
        M-steps taken.
    converged_ : bool
        Whether EM stopped on ``tol`` before ``n_iter`` ran out.
    n_features_in_ : int
        Columns of ``X`` seen by :meth:`fit` (always 1).

    Notes
    -----
    hmmlearn's Dirichlet priors (``startprob_prior``, ``transmat_prior``,
    ``emissionprob_prior``) are left out: with their default of 1 they do nothing, and
    MAP estimation is lesson 2's subject. ``implementation`` is left out too: every
    computation is in log space.
    """

    def __init__(
        self,
        n_components=1,
        *,
        n_features=None,
        algorithm="viterbi",
        random_state=None,
        n_iter=10,
        tol=1e-2,
        verbose=False,
        params="ste",
        init_params="ste",
    ):
        self.n_components = n_components
        self.n_features = n_features
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_iter = n_iter
        self.tol = tol
        self.verbose = verbose
        self.params = params
        self.init_params = init_params

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = None
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ checks

    def _validate_X(self, X, *, reset):
        shape = np.shape(X) if not hasattr(X, "toarray") else ()  # not sparse: sklearn says
        if len(shape) == 2 and shape[0] > 0 and shape[1] > 1:
            check_symbols(np.asarray(X), name="X")  # says: one symbol per row, shape (n, 1)
        X = validate_data(
            self, X, reset=reset, dtype=None, ensure_min_samples=1, ensure_all_finite=True
        )
        if X.dtype.kind not in "iuf":
            raise ValueError(f"X must hold whole-number symbols, got dtype {X.dtype}.")
        n_features = None if reset else self.n_features_
        if reset and self.n_features is not None:
            n_features = _whole(self.n_features, "n_features", 1)
        return check_symbols(X, n_features, name="X")

    def _check_hyperparameters(self):
        _whole(self.n_components, "n_components", 1)
        _whole(self.n_iter, "n_iter", 0)
        if not isinstance(self.tol, numbers.Real) or np.isnan(self.tol):
            raise ValueError(f"tol must be a number, got {self.tol!r}.")
        for name in ("params", "init_params"):
            value = getattr(self, name)
            if not isinstance(value, str) or set(value) - set(_LETTERS):
                raise ValueError(
                    f"{name} must be a string of the letters 's' (startprob), 't' (transmat) "
                    f"and 'e' (emissionprob); got {value!r}."
                )
        if self.algorithm not in ("viterbi", "map"):
            raise ValueError(f"algorithm must be 'viterbi' or 'map', got {self.algorithm!r}.")

    def _start(self, n_features):
        """Starting parameters: hmmlearn's random draws, or the attributes already set."""
        n_states = self.n_components
        concentration = np.full(n_states, 1.0 / n_states)
        start = {}
        # hmmlearn draws startprob and transmat from one RandomState made from the seed,
        # then the emissions from another one made from the same seed: so do we.
        rng = check_random_state(self.random_state)
        if "s" in self.init_params or not hasattr(self, "startprob_"):
            start["startprob"] = rng.dirichlet(concentration)
        if "t" in self.init_params or not hasattr(self, "transmat_"):
            start["transmat"] = rng.dirichlet(concentration, size=n_states)
        rng = check_random_state(self.random_state)
        if "e" in self.init_params or not hasattr(self, "emissionprob_"):
            emissionprob = rng.rand(n_states, n_features)
            start["emissionprob"] = emissionprob / emissionprob.sum(axis=1, keepdims=True)
        for attribute in _LETTERS.values():
            name = attribute[:-1]
            if name not in start:
                start[name] = np.asarray(getattr(self, attribute), dtype=np.float64)
        if np.ndim(start["emissionprob"]) != 2 or start["emissionprob"].shape[1] != n_features:
            raise ValueError(
                f"emissionprob_ must have shape (n_components, n_features) = ({n_states}, "
                f"{n_features}), got {np.shape(start['emissionprob'])}."
            )
        return start

    # ------------------------------------------------------------------ fitting

    def fit(self, X, lengths=None):
        """Estimate the parameters by Baum-Welch from the start set by ``init_params``.

        Parameters
        ----------
        X : array-like of int, shape (n_samples, 1)
            The symbols of every sequence, one after another.
        lengths : array-like of int, shape (n_sequences,), optional
            Length of each sequence; they must add up to ``n_samples``. One sequence
            by default.

        Returns
        -------
        self
        """
        self._check_hyperparameters()
        x = self._validate_X(X, reset=True)
        lengths = check_lengths(lengths, len(x))
        if self.n_features is not None:
            n_features = int(self.n_features)
        elif "e" not in self.init_params and hasattr(self, "emissionprob_"):
            n_features = np.shape(self.emissionprob_)[1]
        else:
            n_features = int(x.max()) + 1
        check_symbols(x, n_features, name="X")
        start = self._start(n_features)

        monitor = ConvergenceMonitor(self.tol, self.n_iter, bool(self.verbose))

        def report(iteration, log_likelihood):
            if self.verbose:
                rise = log_likelihood - monitor.history[-1] if monitor.history else np.nan
                print(f"{iteration:>10d} {log_likelihood:>16.8f} {rise:>+16.8f}", file=sys.stderr)
            monitor.history.append(log_likelihood)

        result = fit_hmm(
            x,
            lengths,
            start,
            n_features=n_features,
            update=self.params,
            tol=self.tol,
            max_iter=self.n_iter,
            callback=report,
        )
        monitor.iter, monitor.converged = result.n_iter, result.converged
        self.startprob_ = result.params["startprob"]
        self.transmat_ = result.params["transmat"]
        self.emissionprob_ = result.params["emissionprob"]
        self.n_features_ = n_features
        self.monitor_ = monitor
        self.history_ = result.history
        self.n_iter_ = result.n_iter
        self.converged_ = result.converged
        return self

    # ------------------------------------------------------------------ using a fit

    def _model(self):
        check_is_fitted(self, "history_")
        return self.startprob_, self.transmat_, self.emissionprob_

    def _prepare(self, X, lengths):
        model = self._model()
        x = self._validate_X(X, reset=False)
        return x, check_lengths(lengths, len(x)), model

    def score(self, X, lengths=None):
        """Log-likelihood of ``X``, :math:`\\sum_{\\text{sequences}} \\log p(x)` (a total).

        Parameters
        ----------
        X : array-like of int, shape (n_samples, 1)
        lengths : array-like of int, optional

        Returns
        -------
        float
        """
        x, lengths, model = self._prepare(X, lengths)
        return hmm_log_likelihood(x, *model, lengths)

    def score_samples(self, X, lengths=None):
        """Log-likelihood of ``X`` and the state posteriors, as hmmlearn.

        Returns
        -------
        log_prob : float
            :math:`\\sum_{\\text{sequences}} \\log p(x)`.
        posteriors : ndarray of shape (n_samples, n_components)
            :math:`\\gamma_s(k) = p(z_s = k \\mid x)`.
        """
        x, lengths, model = self._prepare(X, lengths)
        gamma, _, log_prob = posteriors(x, *model, lengths)
        return log_prob, gamma

    def predict_proba(self, X, lengths=None):
        """State posteriors :math:`\\gamma_s(k) = p(z_s = k \\mid x)`, shape (n_samples, n_components)."""
        return self.score_samples(X, lengths)[1]

    def decode(self, X, lengths=None, algorithm=None):
        """The hidden states that best explain ``X``.

        Parameters
        ----------
        X : array-like of int, shape (n_samples, 1)
        lengths : array-like of int, optional
        algorithm : {"viterbi", "map"}, optional
            ``"viterbi"``: the most probable path, with its log-probability
            :math:`\\log p(x, \\hat z)`. ``"map"``: the most probable state at each
            step, :math:`\\arg\\max_k \\gamma_s(k)`, with :math:`\\sum_s \\log
            \\max_k \\gamma_s(k)` (hmmlearn returns :math:`\\sum_s \\max_k \\gamma_s(k)`).
            By default :attr:`algorithm`.

        Returns
        -------
        log_prob : float
        state_sequence : ndarray of int, shape (n_samples,)
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        if algorithm not in ("viterbi", "map"):
            raise ValueError(f"algorithm must be 'viterbi' or 'map', got {algorithm!r}.")
        x, lengths, model = self._prepare(X, lengths)
        if algorithm == "viterbi":
            return viterbi(x, *model, lengths)
        gamma, _, _ = posteriors(x, *model, lengths)
        best = gamma.max(axis=1)
        return float(np.log(best).sum()), gamma.argmax(axis=1)

    def predict(self, X, lengths=None):
        """The decoded hidden state of each observation (Viterbi by default)."""
        return self.decode(X, lengths)[1]

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Draw a sequence from the model: the same draws as hmmlearn for the same seed.

        Parameters
        ----------
        n_samples : int, default=1
            Length of the sequence.
        random_state : int, RandomState or None
            Seed; by default :attr:`random_state`.
        currstate : int, optional
            The first state; drawn from :attr:`startprob_` by default.

        Returns
        -------
        X : ndarray of int, shape (n_samples, 1)
        state_sequence : ndarray of int, shape (n_samples,)
        """
        startprob, transmat, emissionprob = self._model()
        n_samples = _whole(n_samples, "n_samples", 1)
        rng = check_random_state(self.random_state if random_state is None else random_state)
        if currstate is not None:
            currstate = _whole(currstate, "currstate", 0)
            if currstate >= self.n_components:
                raise ValueError(
                    f"currstate must be a state 0 .. {self.n_components - 1}, got {currstate}."
                )
        transmat_cdf = np.cumsum(transmat, axis=1)
        emission_cdf = np.cumsum(emissionprob, axis=1)
        states = np.empty(n_samples, dtype=np.int64)
        symbols = np.empty(n_samples, dtype=np.int64)
        # one uniform number per draw, in hmmlearn's order: the first state (unless
        # given), then for each step its symbol and the next state
        state = (np.cumsum(startprob) > rng.rand()).argmax() if currstate is None else currstate
        for s in range(n_samples):
            if s > 0:
                state = (transmat_cdf[state] > rng.rand()).argmax()
            states[s] = state
            symbols[s] = (emission_cdf[state] > rng.rand()).argmax()
        return symbols[:, None], states
