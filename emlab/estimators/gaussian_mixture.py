"""``emlab.GaussianMixture``: a Gaussian mixture fit by EM, with scikit-learn's API.

The estimator floor: it validates as scikit-learn does (``validate_data``, its parameter
constraints and messages), starts from :func:`emlab.engines.gmm.initial_parameters` (the
start of :func:`emlab.gmm.init_params`, in chunks) or the given ``*_init``, and runs the
fast engine :func:`emlab.engines.gmm.fit_gmm_fast` (or, with ``record_resp=True``, the
readable :func:`emlab.gmm.fit_gmm`). A Dask array is fit by
:func:`emlab.engines.distributed.fit_gmm_dask` (one map-reduce pass per iteration), and its
predictions are Dask arrays, computed block by block.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from emlab.em import EMResult, improves, run_em
from emlab.engines.distributed import (
    DaskData,
    fit_gmm_dask,
    gmm_start_dask,
    is_dask_array,
    map_rows,
)
from emlab.engines.gmm import fit_gmm_fast
from emlab.engines.start import initial_parameters
from emlab.gmm import (
    COVARIANCE_TYPES,
    INIT_METHODS,
    CollapseWarning,
    _collapsed_components,
    cholesky_factors,
    e_step,
    log_gaussian,
    m_step,
    n_parameters,
    sample,
)
from emlab.validation import check_n_components, check_weights

__all__ = ["EmptyComponentWarning", "GaussianMixture"]

#: scikit-learn's words for a fit whose covariance stopped being positive definite.
COLLAPSE_MESSAGE = (
    "Fitting the mixture model failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples). Try to decrease "
    "the number of components, increase reg_covar, or scale the input data."
)
#: Data whose spread exceeds this overflow float64 when squared (the covariances).
LARGEST_SPREAD = 1e152


def _largest_variance(X, chunk=65536):
    """The largest variance of X's features, in chunks (no (n, D) temporary)."""
    mean = X.mean(axis=0, dtype=np.float64)
    squares = np.zeros(X.shape[1])
    for start in range(0, len(X), chunk):
        rows = X[start : start + chunk] - mean
        squares += np.einsum("nd,nd->d", rows, rows)
    return float(squares.max() / len(X))


class EmptyComponentWarning(UserWarning):
    """A component ended with (almost) no weight: no point is responsible for it.

    Its mean is then 0 and its covariance ``reg_covar`` times the identity, as in
    scikit-learn (both engines agree); it fits nothing, and fewer components would do.
    """


def _check_shape(value, shape, name, argument):
    if value.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, but got {value.shape}: "
            f"{argument} needs that shape for these n_components and features."
        )


def _as_array(value, name, dtype):
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers: {exc}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _check_weights_init(weights, n_components, dtype):
    weights = _as_array(weights, "weights_init", dtype)
    _check_shape(weights, (n_components,), "weights", "weights_init")
    if np.any(weights < 0) or np.any(weights > 1):
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got max value "
            f"{np.min(weights):.5f}, min value {np.max(weights):.5f}"
        )
    # the tolerance of the weights' own precision: float32 weights normalised in float32
    # sum to 1 within a few float32 epsilons, not within 1e-8
    tolerance = max(1e-8, 4 * n_components * np.finfo(weights.dtype).eps)
    total = float(np.sum(weights, dtype=np.float64))
    if abs(1.0 - total) > tolerance:
        raise ValueError(
            f"The parameter 'weights' should be normalized, but got sum(weights) = {total:.5f} "
            f"(weights_init must sum to 1 within {tolerance:.1g}; got {total!r}: divide "
            f"by the sum)."
        )
    return weights


def _check_means_init(means, n_components, n_features, dtype):
    means = _as_array(means, "means_init", dtype)
    _check_shape(means, (n_components, n_features), "means", "means_init")
    return means


def _precision_shape(covariance_type, n_components, n_features):
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def _covariances_from_precisions(precisions, covariance_type, n_components, n_features, dtype):
    """``precisions_init`` checked as scikit-learn checks it, and turned into covariances."""
    precisions = _as_array(precisions, "precisions_init", dtype)
    shape = _precision_shape(covariance_type, n_components, n_features)
    _check_shape(precisions, shape, f"{covariance_type} precision", "precisions_init")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0):
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return 1.0 / precisions.astype(np.float64)
    matrices = precisions.astype(np.float64).reshape(-1, n_features, n_features)
    symmetric = np.allclose(matrices, matrices.swapaxes(1, 2))
    if not symmetric or np.any(np.linalg.eigvalsh(matrices)[:, 0] <= 0):
        raise ValueError(f"'{covariance_type} precision' should be symmetric, positive-definite")
    covariances = np.linalg.inv(matrices)
    covariances = 0.5 * (covariances + covariances.swapaxes(1, 2))
    return covariances[0] if covariance_type == "tied" else covariances


class GaussianMixture(DensityMixin, BaseEstimator):
    r"""Gaussian mixture fit by EM, with scikit-learn's API and EM Lab's history.

    Same model, parameters, start and M-step as :class:`sklearn.mixture.GaussianMixture`,
    and two additions: the start may be given as covariances (``covariances_init``) as
    well as precisions, and the fit keeps its whole trajectory in ``history_``. The
    deliberate differences from scikit-learn are listed in the README and in the Notes.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    tol : float, default=1e-3
        EM stops when the average log-likelihood per point changes by less than ``tol``.
    reg_covar : float, default=1e-6
        Added to the variances at every M-step; keeps collapsing components
        positive definite (a :class:`emlab.gmm.CollapseWarning` says when it does).
        With ``reg_covar=0`` a component that collapses stops the fit with a ``ValueError``.
    max_iter : int, default=100
        Largest number of M-steps; 0 keeps the initialization.
    n_init : int, default=1
        Number of starts; the one with the highest final log-likelihood is kept (the
        first of those that agree to rounding, :func:`emlab.em.improves`).
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default="kmeans"
        How to start when not every ``*_init`` is given (see :func:`emlab.gmm.init_params`).
    weights_init, means_init : array-like, default=None
        Starting weights and means; each given one overrides ``init_params``.
    precisions_init : array-like, default=None
        Starting precisions (inverse covariances), as scikit-learn takes them.
    covariances_init : array-like, default=None
        Starting covariances; give at most one of ``precisions_init`` and ``covariances_init``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization and :meth:`sample`.
    warm_start : bool, default=False
        Start each :meth:`fit` from the previous fit's parameters (one start, ``n_init``
        ignored), as scikit-learn does.
    verbose : int, default=0
        1 prints each start and its end, 2 also the change of the lower bound every
        ``verbose_interval`` iterations (printed when the start has run).
    verbose_interval : int, default=10
    record_resp : bool, default=False
        Run the readable steps (:func:`emlab.gmm.fit_gmm`) and keep the responsibilities
        of every iteration in ``history_`` (the same numbers as the fast engine).

    Attributes
    ----------
    weights_, means_, covariances_ : ndarray
        The fitted parameters (covariances stored as ``covariance_type`` says), in the
        data's floating-point type (float32 stays float32).
    precisions_ : ndarray
        Inverses of the covariances.
    precisions_cholesky_ : ndarray
        Upper-triangular :math:`U_k` with :math:`\Sigma_k^{-1} = U_k U_k^\top`
        (scikit-learn's convention).
    converged_ : bool
    n_iter_ : int
        Number of M-steps of the best start.
    lower_bound_ : float
        Mean log-likelihood per point at the final parameters,
        :math:`\frac1n \log p(X \mid \hat\theta)`.
    lower_bounds_ : list of float
        The mean log-likelihood per point after each M-step of the best start
        (``history_[1:]`` divided by n), scikit-learn's attribute.
    history_ : emlab.em.History
        Every iteration of the best start, the start included.
    n_features_in_ : int
    feature_names_in_ : ndarray
        Only when ``X`` has feature names.

    Notes
    -----
    How the iterations line up with scikit-learn's: here ``history_[0]`` is the
    start :math:`\theta^{(0)}`, every iteration is an M-step followed by an
    E-step, and ``history_[t].log_likelihood`` is the *total* log-likelihood at
    the parameters :math:`\theta^{(t)}` after :math:`t` M-steps. scikit-learn's
    iteration :math:`t` is an E-step then an M-step, and its lower bound after
    iteration :math:`t` is the *mean* log-likelihood at :math:`\theta^{(t-1)}`.
    With the same start, ``tol=0`` and ``max_iter=N`` both end at
    :math:`\theta^{(N)}`. With ``tol > 0`` this estimator stops one M-step
    earlier than scikit-learn (it tests the change just after the E-step), and
    its ``lower_bound_`` and ``lower_bounds_`` are the mean log-likelihoods of the
    parameters they follow, not of the ones before.
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(COVARIANCE_TYPES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [StrOptions(set(INIT_METHODS))],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "covariances_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "record_resp": ["boolean"],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        covariances_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        record_resp=False,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.covariances_init = covariances_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.record_resp = record_resp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False  # EM needs every coordinate of every point
        tags.input_tags.sparse = False
        tags.transformer_tags = None
        return tags

    def _validate_X(self, X, *, reset):
        try:
            return validate_data(
                self,
                X,
                reset=reset,
                dtype=[np.float64, np.float32],
                ensure_min_samples=2 if reset else 1,
            )
        except ValueError as exc:
            raise ValueError(f"Invalid X: {exc}") from None

    def _check_init(self, X):
        """The given ``*_init`` as (weights, means, covariances), each None if not given."""
        K, D = self.n_components, X.shape[1]
        if X.shape[0] < K:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {K}, n_samples = {X.shape[0]}: each component needs at "
                "least one point; use fewer components or more data."
            )
        if self.precisions_init is not None and self.covariances_init is not None:
            raise ValueError(
                "Give the start's covariances as precisions_init or as covariances_init, "
                "not both (precisions are the covariances' inverses)."
            )
        weights = means = covariances = None
        if self.weights_init is not None:
            weights = _check_weights_init(self.weights_init, K, X.dtype).astype(np.float64)
            weights /= weights.sum()  # (float32 weights sum to 1 in float32 precision only)
        if self.means_init is not None:
            means = _check_means_init(self.means_init, K, D, X.dtype)
        if self.precisions_init is not None:
            covariances = _covariances_from_precisions(
                self.precisions_init, self.covariance_type, K, D, X.dtype
            )
        elif self.covariances_init is not None:
            covariances = _as_array(self.covariances_init, "covariances_init", np.float64)
            cholesky_factors(covariances, self.covariance_type, K, D, name="covariances_init")
        return weights, means, covariances

    def _check_scale(self, X):
        if isinstance(X, DaskData):  # (the first pass: it also finds NaN and inf)
            spread = X.spread()
        else:
            mean = X.mean(axis=0, dtype=np.float64)  # (max and min: no (n, D) temporary)
            spread = float(max(np.max(X.max(axis=0) - mean), np.max(mean - X.min(axis=0))))
        if spread > LARGEST_SPREAD:
            raise ValueError(
                f"X's values lie up to {spread:.3g} from their mean: their squares (the "
                "covariances) overflow 64-bit floats. Rescale X first, for instance divide "
                "it by its standard deviation (sklearn.preprocessing.StandardScaler)."
            )

    def _start(self, X, given, random_state):
        """Starting (weights, means, covariances): the given ``*_init``, else ``init_params``."""
        if all(value is not None for value in given):
            return tuple(np.asarray(value, dtype=np.float64) for value in given)
        starter = gmm_start_dask if isinstance(X, DaskData) else initial_parameters
        start = starter(
            X,
            self.n_components,
            self.init_params,
            random_state,
            self.covariance_type,
            self.reg_covar,
        )
        return tuple(
            s if g is None else np.asarray(g, dtype=np.float64)
            for s, g in zip(start, given, strict=True)
        )

    def _run(self, X, weights, means, covariances, report=None):
        # the fast engine unless the responsibilities are to be recorded (same numbers)
        options = {"tol": self.tol, "max_iter": self.max_iter, "reg_covar": self.reg_covar}
        kind = self.covariance_type
        try:
            if isinstance(X, DaskData):
                return fit_gmm_dask(
                    X, weights, means, covariances, kind, **options, on_iteration=report
                )
            if self.record_resp:
                result = self._run_readable(X, weights, means, covariances, options)
                for snapshot in result.history if report is not None else ():
                    report(snapshot.iteration, snapshot.log_likelihood)
                return result
            return fit_gmm_fast(
                X, weights, means, covariances, kind, **options, on_iteration=report
            )
        except ValueError as exc:
            if "positive definite" in str(exc) or "must be positive" in str(exc):
                raise ValueError(
                    f"{COLLAPSE_MESSAGE} A component collapsed onto too few points, so its "
                    f"covariance is no longer positive definite (reg_covar={self.reg_covar:g})."
                ) from exc
            raise

    def _run_readable(self, X, weights, means, covariances, options):
        """The readable steps (:func:`emlab.gmm.e_step`, :func:`emlab.gmm.m_step`) on centred data.

        As the fast engine does: the points are centred once (far from the origin, sums of
        raw coordinates lose the digits the covariances need), and the parameters live in
        the data's coordinates, so that both engines take every step from the same numbers.
        """
        center = X.mean(axis=0, dtype=np.float64)
        centred = X.astype(np.float64) - center
        covariance_type, reg_covar = self.covariance_type, options["reg_covar"]
        check_weights(weights, self.n_components, name="weights")
        check_n_components(len(weights), len(X), name="len(weights)")

        def readable_e_step(points, params):
            return e_step(
                points,
                params["weights"],
                params["means"] - center,
                params["covariances"],
                covariance_type,
            )

        def readable_m_step(points, resp):
            new_weights, new_means, new_covariances = m_step(
                points, resp, covariance_type, reg_covar
            )
            # sum_i r_ik x_i / (N_k + 10 eps) in the data's coordinates, as the fast engine
            # and scikit-learn: an empty component's mean is 0, not the centre
            nk = resp.sum(axis=0)
            share = nk / (nk + 10 * np.finfo(np.float64).eps)
            return {
                "weights": new_weights,
                "means": new_means + center * share[:, None],
                "covariances": new_covariances,
            }

        start = {"weights": weights, "means": means, "covariances": covariances}
        return run_em(
            centred,
            start,
            readable_e_step,
            readable_m_step,
            tol=options["tol"],
            max_iter=options["max_iter"],
            record_resp=True,
        )

    def _validate_dask(self, X, *, reset):
        """A Dask ``X`` checked without computing it (its values: in the first pass)."""
        data = DaskData(X)
        if reset:
            self.n_features_in_ = data.D
            if hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        elif data.D != self.n_features_in_:
            raise ValueError(
                f"X has {data.D} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )
        return data

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the mixture by EM, ``n_init`` times, keeping the best start.

        Parameters
        ----------
        X : array-like or dask.array.Array of shape (n_samples, n_features)
            A Dask array is fit where its blocks live, one map-reduce pass per
            iteration (:func:`emlab.engines.distributed.fit_gmm_dask`), on the active
            ``dask.distributed`` client if there is one: only parameters and sums travel.
            From the same start (``weights_init``, ``means_init``, ``precisions_init``)
            the fit is the in-memory one; the ``init_params`` starts are computed on the
            blocks (:func:`emlab.engines.distributed.gmm_start_dask`, k-means|| for
            ``"kmeans"`` and ``"k-means++"``), so the same seed gives another start than
            on a NumPy array.
        y : ignored

        Returns
        -------
        self : GaussianMixture
        """
        reset = not (self.warm_start and hasattr(self, "converged_"))
        if is_dask_array(X):
            if self.record_resp:
                raise ValueError(
                    "record_resp=True keeps every point's responsibilities in memory, which a "
                    "Dask X is meant to avoid: fit a Dask X with record_resp=False."
                )
            X = self._validate_dask(X, reset=reset)
            if X.n < 2 and reset:
                raise ValueError(f"Invalid X: n_samples={X.n}, but at least 2 are required.")
        else:
            X = self._validate_X(X, reset=reset)
        given = self._check_init(X)
        self._check_scale(X)
        warm = self.warm_start and hasattr(self, "converged_")
        random_state = check_random_state(self.random_state)
        best = None
        for init in range(1 if warm else self.n_init):
            if warm:
                covariances = self.covariances_.astype(np.float64)
                start = (self.weights_.astype(np.float64), self.means_.astype(np.float64))
                start = (*start, covariances)
            else:
                start = self._start(X, given, random_state)
            result = self._run(X, *start, report=self._progress(init, X.shape[0]))
            self._print_run(result, X.shape[0])
            if best is None or improves(result.log_likelihood, best.log_likelihood):
                best = result
        self._set_params_from(best, X)
        if best.converged and not self.converged_:
            pass  # it collapsed: _set_params_from said so
        elif not best.converged and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _progress(self, init, n_samples):
        """scikit-learn's verbose output while a start runs: a report for the engine, or None.

        ``verbose=1`` names each start; ``verbose=2`` also prints every ``verbose_interval``-th
        iteration's change of the lower bound (the average log-likelihood), as it happens.
        """
        if not self.verbose:
            return None
        previous = [0.0]

        def report(iteration, log_likelihood):
            lower_bound = log_likelihood / n_samples
            if iteration == 0:
                print(f"Initialization {init}", flush=True)
            elif self.verbose >= 2 and iteration % self.verbose_interval == 0:
                change = lower_bound - previous[0]
                print(f"  Iteration {iteration}\t ll change {change:.5f}", flush=True)
            previous[0] = lower_bound

        return report

    def _print_run(self, result, n_samples):
        """scikit-learn's verbose line at the end of a start."""
        if not self.verbose:
            return
        state = "converged" if result.converged else "did not converge"
        lower_bound = result.history.log_likelihood[-1] / n_samples
        print(f"Initialization {state}. lower bound {lower_bound:.5f}.")

    def _set_params_from(self, result: EMResult, X) -> None:
        n_samples, dtype = X.shape[0], X.dtype
        weights = np.asarray(result.params["weights"], dtype=np.float64)
        means = np.asarray(result.params["means"], dtype=np.float64)
        covariances = np.asarray(result.params["covariances"], dtype=np.float64)
        data_variance = X.largest_variance() if isinstance(X, DaskData) else _largest_variance(X)
        converged = bool(result.converged)
        collapsed = self.reg_covar == 0 and _collapsed_components(
            covariances, self.covariance_type, 0.0, data_variance
        )
        if collapsed:
            converged = False  # a likelihood growing without bound has not converged
            warnings.warn(
                f"The fit collapsed: the variance of component(s) {collapsed} fell to "
                "(numerically) zero, where the likelihood has no maximum, and with "
                "reg_covar=0 nothing keeps it positive; the parameters are not a fit "
                "(converged_ is False). Set reg_covar (the default is 1e-6), use fewer "
                "components, or rescale the data.",
                CollapseWarning,
                stacklevel=3,
            )
        empty = np.flatnonzero(weights * n_samples < 1e-8)
        if empty.size:
            warnings.warn(
                f"Component(s) {empty.tolist()} ended with no weight: no point is responsible "
                "for them, so they fit nothing (mean 0, covariance reg_covar). Use fewer "
                "components or another start.",
                EmptyComponentWarning,
                stacklevel=3,
            )
        L = cholesky_factors(covariances, self.covariance_type, *means.shape)
        if self.covariance_type in ("full", "tied"):
            identity = np.eye(means.shape[1])
            inv_L = np.stack([solve_triangular(Lk, identity, lower=True) for Lk in L])
            precisions_cholesky = inv_L.swapaxes(1, 2)  # U_k = L_k^{-T}
            precisions = precisions_cholesky @ inv_L  # L_k^{-T} L_k^{-1}
            if self.covariance_type == "tied":
                precisions_cholesky, precisions = precisions_cholesky[0], precisions[0]
        else:
            precisions_cholesky = 1.0 / np.sqrt(covariances)
            precisions = 1.0 / covariances
        self.weights_ = weights.astype(dtype)
        self.means_ = means.astype(dtype)
        self.covariances_ = covariances.astype(dtype)
        self.precisions_cholesky_ = precisions_cholesky.astype(dtype)
        self.precisions_ = precisions.astype(dtype)
        self.converged_ = converged
        self.n_iter_ = int(result.n_iter)
        self.lower_bound_ = float(result.log_likelihood / n_samples)
        self.lower_bounds_ = [float(v) / n_samples for v in result.history.log_likelihood[1:]]
        self.history_ = result.history

    def _log_prob(self, X):
        """log pi_k + log N(x_i | mu_k, Sigma_k), shape (n_samples, n_components), float64."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return _log_prob_block(X, *self._fitted()), X.dtype

    def _fitted(self):
        """The fitted parameters as float64, and the covariance type (small: sent to blocks)."""
        return (
            self.weights_.astype(np.float64),
            self.means_.astype(np.float64),
            self.covariances_.astype(np.float64),
            self.covariance_type,
        )

    def _on_blocks(self, X, function, n_columns):
        """``function`` of each block of a Dask ``X``: a lazy Dask array (nothing computed)."""
        check_is_fitted(self)
        data = self._validate_dask(X, reset=False)
        dtype = np.int64 if function is _labels_block else data.dtype
        return map_rows(data.X, function, *self._fitted(), n_columns=n_columns, dtype=dtype)

    def fit_predict(self, X, y=None):
        """Fit, then return the most responsible component of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self.fit(X).predict(X)

    def predict(self, X):
        """Most responsible component :math:`\\arg\\max_k r_{ik}` of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            A Dask array, computed block by block, for a Dask ``X``.
        """
        if is_dask_array(X):
            return self._on_blocks(X, _labels_block, None)
        return np.argmax(self._log_prob(X)[0], axis=1)

    def predict_proba(self, X):
        """Responsibilities :math:`r_{ik}` of each component for each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
            In the data's floating-point type; a Dask array for a Dask ``X``.
        """
        if is_dask_array(X):
            return self._on_blocks(X, _resp_block, self.n_components)
        log_prob, dtype = self._log_prob(X)
        return _resp_from_log_prob(log_prob).astype(dtype)

    def score_samples(self, X):
        """Log-density :math:`\\log p(x_i \\mid \\theta)` of each point.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            In the data's floating-point type; a Dask array for a Dask ``X``.
        """
        if is_dask_array(X):
            return self._on_blocks(X, _score_block, None)
        log_prob, dtype = self._log_prob(X)
        return logsumexp(log_prob, axis=1).astype(dtype)

    def score(self, X, y=None):
        """Mean log-likelihood per point, :math:`\\frac1n \\sum_i \\log p(x_i \\mid \\theta)`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples=1):
        """Draw points from the fitted mixture (see :func:`emlab.gmm.sample`).

        The points come in the order they were drawn, each component picked at random
        per point, as the model tells the story; scikit-learn's ``sample`` returns the
        same kind of sample grouped by component (all of component 0 first).

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        labels : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples!r} . The sampling requires at "
                "least one sample (n_samples must be a whole number, at least 1)."
            )
        X, labels = sample(
            self.weights_.astype(np.float64),
            self.means_.astype(np.float64),
            self.covariances_.astype(np.float64),
            n_samples,
            self.covariance_type,
            self.random_state,
        )
        return X.astype(self.means_.dtype), labels

    def _n_parameters(self):
        return n_parameters(self.n_components, self.means_.shape[1], self.covariance_type)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better); see :func:`emlab.gmm.bic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        check_is_fitted(self)
        n = self._n_samples(X)
        return -2 * self.score(X) * n + self._n_parameters() * math.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better); see :func:`emlab.gmm.aic`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        float
        """
        check_is_fitted(self)
        n = self._n_samples(X)
        return -2 * self.score(X) * n + 2 * self._n_parameters()

    def _n_samples(self, X):
        if is_dask_array(X):
            return self._validate_dask(X, reset=False).n
        return self._validate_X(X, reset=False).shape[0]


# Each block of a Dask X's predictions: functions of the block and the fitted parameters
# only (module-level, so that only they and the parameters are sent to the workers).


def _log_prob_block(X, weights, means, covariances, covariance_type):
    with np.errstate(divide="ignore"):
        return np.log(weights) + log_gaussian(
            X.astype(np.float64, copy=False), means, covariances, covariance_type
        )


def _resp_from_log_prob(log_prob):
    return np.exp(log_prob - logsumexp(log_prob, axis=1, keepdims=True))


def _labels_block(X, *params):
    return np.argmax(_log_prob_block(X, *params), axis=1)


def _resp_block(X, *params):
    return _resp_from_log_prob(_log_prob_block(X, *params)).astype(X.dtype)


def _score_block(X, *params):
    return logsumexp(_log_prob_block(X, *params), axis=1).astype(X.dtype)
