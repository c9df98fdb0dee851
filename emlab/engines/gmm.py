r"""The Gaussian-mixture engine: EM in one chunked pass per iteration, two matrix products per chunk.

The lesson-level functions (:func:`emlab.gmm.e_step`, :func:`emlab.gmm.m_step`) follow the
maths line by line. :func:`fit_gmm_fast` gives the same numbers
(``tests/test_engines.py`` proves it, iteration by iteration) and is what
:class:`emlab.GaussianMixture` runs: it fuses the E-step and the M-step's sums into one
pass over the data, in chunks that fit in cache. The ``(n, K)`` responsibility matrix
never exists: beyond the data, memory holds the features (when they take at most
``FEATURE_CACHE_BYTES``) or else a centred copy of the data, and a few chunks' scratch
space (1.6 times the data, measured at 1,000,000 x 2).

**The expansion path (Gaussian mixtures).** With the data centred once,
:math:`y = x - c` (:math:`c` the mean of the data), and :math:`a_k = \mu_k - c`,
:math:`\Lambda_k = \Sigma_k^{-1}`,

.. math::
    \log \pi_k \mathcal N(x \mid \mu_k, \Sigma_k)
    = -\tfrac12 y^\top \Lambda_k y + (\Lambda_k a_k)^\top y + \text{const}_k
    = \theta_k^\top \phi(y),

with the features :math:`\phi(y) = (y_d y_e)_{d \le e}, y_1, \dots, y_D, 1`
(only :math:`y_d^2` for diagonal covariances, :math:`\lVert y\rVert^2` for
spherical ones). So every log-density of a chunk is *one* matrix product
:math:`\Theta \Phi`, and the M-step's sums :math:`\sum_i r_{ik} \phi(y_i)`
(which hold :math:`N_k`, :math:`\sum_i r_{ik} y_i` and
:math:`\sum_i r_{ik} y_i y_i^\top`) are a second one.

*Accuracy.* The expansion adds terms that can be much larger than their sum.
Each term of :math:`\theta_k^\top\phi(y_i)` is at most
:math:`T_k = (R + \lVert a_k\rVert)^2 \operatorname{tr}\Lambda_k` in size, where
:math:`R = \max_i \lVert y_i \rVert`, so with :math:`P` terms the rounding error
is at most :math:`P \epsilon T_k` nats (:math:`\epsilon \approx 2.2 \times
10^{-16}`); the covariance :math:`S_k / N_k - \bar y_k \bar y_k^\top` loses at most
:math:`\epsilon R^2 / \lambda_{\min}(\Sigma_k) \le \epsilon T_k` in relative
accuracy. Before every iteration the engine computes :math:`\max_k P\epsilon T_k`;
when it exceeds ``EXPANSION_TOLERANCE`` (:math:`10^{-8}` nats per point: components
narrow next to their distance from the centre of the data) that iteration takes
the exact path instead. Data far from the origin cost nothing, as the data are
centred first.

**The exact path.** Per component, :math:`\lVert L_k^{-1}(x_i - \mu_k)\rVert^2`
with the Cholesky factor :math:`\Sigma_k = L_k L_k^\top`, as the readable steps
do. Its running sums for component *k* are taken around its current mean
:math:`m_k = \mu_k^{(t)}`:

.. math::
    s_k = \sum_i r_{ik} (x_i - m_k), \qquad
    S_k = \sum_i r_{ik} (x_i - m_k)(x_i - m_k)^\top .

The M-step is :math:`\mu_k^{(t+1)} = m_k + d_k` with :math:`d_k = s_k / N_k` and
:math:`\Sigma_k^{(t+1)} = S_k / N_k - d_k d_k^\top`, exactly the weighted covariance
around the new mean. The subtraction loses about :math:`\epsilon\,\lVert d_k
\rVert^2 / \lambda_{\min}(\Sigma_k)` in relative accuracy: nothing once EM has
settled, since :math:`d_k` is one step's move. Should a component move more than
``1e3`` standard deviations in one step, that iteration's statistics are
recomputed in a second pass around the new means.

**What else makes a pass fast** (each measured on the benchmark machine, each
leaving the answer unchanged, each tested in ``tests/test_engines.py``):

* when the bounds allow, the exponents are taken relative to a *reference component*
  (:func:`_coefficients`): K - 1 rows of products and ``exp`` instead of K, and no
  point's total can underflow; one component's sums are all the points' sums minus the
  others' (the M-step's product has one column fewer: with K = 3, a product with two
  columns took 17 us per chunk against 31 us with three), and the reference's
  responsibilities are the reciprocal of the totals, which the others need anyway, so
  the component left to subtraction is another one and one row fewer is scaled (1-D,
  100,000 points, K = 3: 10-15% less per iteration, a reciprocal and one product per
  point instead of two divisions);
* one-dimensional data: each iteration's coefficients and M-step are computed on
  Python floats (:func:`_component_terms_1d`, :func:`_expansion_m_step_1d`; numpy's
  calls on 3-element arrays cost twice as much), and the passes run on one thread (see
  :func:`_expansion_pass`) in chunks of half the usual working set;
* every other pass takes the chunks in the opposite order (:func:`map_chunks`), so it
  starts on the chunks still in cache (1-D, 100,000 points: 12% less per iteration);
* every chunk's temporaries live in scratch arrays kept for the whole fit
  (:class:`Workspace`), not in fresh allocations the operating system must fault in;
  features kept between iterations are one contiguous block per chunk, and when they
  are too big to keep, the centred points are transposed once per fit, not per pass;
* the quadratic features :math:`y_d y_{d+s}` are built one diagonal *s* at a time,
  each one flat multiplication (:func:`_features`);
* exponents are raised to at least -700 before ``exp`` (``_EXP_FLOOR``): subnormal
  and underflowing results cost ``exp`` up to 100 times more, and the matrix product
  after it 7 times more;
* the log-likelihood takes one log per block of up to 64 points (``_sum_of_logs``);
* the responsibilities' :math:`1 / \sum_k` scales whichever has fewer rows, the
  densities or the features (without a reference component the densities take one
  broadcast division instead);
* the products that end in a small matrix (the M-step's sums) call ``np.dot``:
  ``np.matmul`` keeps the GIL for a result that small, so the other thread waited.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from emlab.em import EMResult, History, Snapshot
from emlab.engines.workspace import (
    CHUNK_VALUES,
    N_THREADS,
    aligned_empty,
    engine_result,
    make_workspaces,
    map_chunks,
    one_blas_thread,
)
from emlab.gmm import (
    _check_covariance_type,
    _check_means,
    _warn_if_collapsed,
    cholesky_factors,
    collapse_floor,
)
from emlab.validation import check_data, check_weights

__all__ = [
    "DataSummary",
    "check_start",
    "expansion_chunk_size",
    "expansion_stats",
    "expansion_sums",
    "fit_gmm_fast",
    "gmm_chunk_size",
    "run_iterations",
]

_LOG_2PI = float(np.log(2 * np.pi))
_EPS = np.finfo(np.float64).eps
_EPS10 = 10 * _EPS
#: Points per chunk of the expansion path at least (see expansion_chunk_size).
MIN_EXPANSION_CHUNK = 4096
#: A component moving more than this many standard deviations in one step triggers the exact pass.
MAX_SHIFT_IN_SDS = 1e3
#: Accuracy asked of the expansion path: at most this error in any point's log-density, in nats.
EXPANSION_TOLERANCE = 1e-8
#: Expansion passes over at most this many features (one-dimensional data) run on one thread.
FEW_FEATURES = 3
#: Keep the features of the whole data set between iterations when they take at most this.
FEATURE_CACHE_BYTES = 32 * 2**20


def gmm_chunk_size(n_samples: int, n_components: int, n_features: int) -> int:
    """Points per chunk so that a chunk's ``K x D x c`` working array stays near ``CHUNK_VALUES``."""
    return int(min(n_samples, max(256, CHUNK_VALUES // max(1, n_components * n_features))))


def expansion_chunk_size(n_samples: int, n_components: int, n_expansion: int) -> int:
    """Points per chunk so that a chunk's features and log-densities stay near ``CHUNK_VALUES``.

    With many features (16-D full covariances: 153) that would be short chunks whose
    matrix products and feature-building steps are too short to run efficiently, so a
    chunk aims at ``MIN_EXPANSION_CHUNK`` points or more while its features take at most
    8 MB (measured: 16-D full, 4,096 points per chunk against 1,628: 1.3-1.5x faster).
    One-dimensional data (at most ``FEW_FEATURES`` features) run on one thread and
    aim at half the working set.
    When there is more than one chunk, their number is rounded up to a multiple of
    ``N_THREADS``, so that every thread gets the same share, and the chunk size up to a
    multiple of ``_LOG_BLOCK`` when that keeps their number (every block of the
    log-likelihood's products is then full).
    """
    longest = max(256, 2**20 // n_expansion)
    # one-dimensional data run on one thread (see _expansion_pass), where half the working
    # set was measured faster: 16,704-point chunks against 25,024, 0.60 against 0.64-0.66 ms
    # per iteration at 100,000 points
    values = CHUNK_VALUES // 2 if n_expansion <= FEW_FEATURES else CHUNK_VALUES
    chunk = max(min(MIN_EXPANSION_CHUNK, longest), values // (n_components + n_expansion))
    if n_samples <= chunk:
        return int(n_samples)
    n_chunks = -(-n_samples // chunk)
    n_chunks = -(-n_chunks // N_THREADS) * N_THREADS
    chunk = -(-n_samples // n_chunks)
    rounded = -(-chunk // _LOG_BLOCK) * _LOG_BLOCK
    return int(rounded if -(-n_samples // rounded) == n_chunks else chunk)


def _whitening(covariances, covariance_type, n_components, n_features):
    """Per-component whitening ``W_k`` (``y = W_k (x - mu_k)`` has identity covariance) and log-dets.

    Returns ``(W, half_log_det)``: ``W`` of shape (K, D, D) (full, tied) or (K, D)
    (diag, spherical: the inverse standard deviations), and
    :math:`\\tfrac12 \\log\\lvert\\Sigma_k\\rvert` of shape (K,).
    """

    factors = cholesky_factors(covariances, covariance_type, n_components, n_features)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / factors, np.log(factors).sum(axis=1)
    identity = np.eye(n_features)
    whitening = np.stack([solve_triangular(L, identity, lower=True) for L in factors])
    half_log_det = np.log(np.diagonal(factors, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        whitening, half_log_det = (
            np.repeat(whitening[:1], n_components, 0),
            np.repeat(half_log_det[:1], n_components),
        )
    return whitening, half_log_det


def _pass(X, weights, means, covariances, covariance_type, chunk, centers=None):
    """One fused E-step over all chunks.

    Returns the total log-likelihood at the given parameters and the sufficient
    statistics ``(N_k, s_k, S_k)`` taken around ``centers`` (default: ``means``).
    ``S_k`` is (K, D, D) for full and tied covariances and (K, D) for diag and spherical.
    """
    n, D = X.shape
    K = means.shape[0]
    whitening, half_log_det = _whitening(covariances, covariance_type, K, D)
    with np.errstate(divide="ignore"):
        constants = np.log(weights) - half_log_det - 0.5 * D * _LOG_2PI
    matrix = covariance_type in ("full", "tied")
    offsets = None if centers is None else (means - centers)[:, :, None]
    log_likelihood = 0.0
    nk, sums = np.zeros(K), np.zeros((K, D))
    scatter = np.zeros((K, D, D)) if matrix else np.zeros((K, D))
    for start in range(0, n, chunk):
        xt = X[start : start + chunk].T  # (D, c): points along the fast axis
        diff = xt[None, :, :] - means[:, :, None]  # (K, D, c)
        whitened = whitening @ diff if matrix else diff * whitening[:, :, None]
        np.square(whitened, out=whitened)
        log_prob = constants[:, None] - 0.5 * whitened.sum(axis=1)  # (K, c)
        top = log_prob.max(axis=0)
        log_prob -= top
        np.maximum(log_prob, _EXP_FLOOR, out=log_prob)
        np.exp(log_prob, out=log_prob)
        total = log_prob.sum(axis=0)
        log_likelihood += float(np.log(total).sum() + top.sum())
        resp = np.divide(log_prob, total, out=log_prob)  # (K, c)
        if offsets is not None:
            diff += offsets
        nk += resp.sum(axis=1)
        weighted = diff * resp[:, None, :]
        sums += weighted.sum(axis=2)
        if matrix:
            scatter += weighted @ diff.transpose(0, 2, 1)
        else:
            scatter += np.einsum("kdc,kdc->kd", weighted, diff)
    return log_likelihood, nk, sums, scatter


def _m_step(nk, sums, scatter, centers, covariance_type, reg_covar):
    """Parameters from the shifted sufficient statistics (see the module's docstring)."""
    n_features = centers.shape[1]
    counts = nk + _EPS10  # as scikit-learn: no division by zero for an empty component
    shift = sums / counts[:, None]
    weights = counts / counts.sum()
    # sum_i r_ik x_i / (N_k + 10 eps), as the readable M-step and scikit-learn: an empty
    # component's mean is 0 there, not the centre (the two engines agree)
    means = centers * (nk / counts)[:, None] + shift
    if covariance_type in ("full", "tied"):
        centred = scatter - nk[:, None, None] * shift[:, :, None] * shift[:, None, :]
        if covariance_type == "tied":
            covariances = centred.sum(axis=0) / counts.sum() + reg_covar * np.eye(n_features)
        else:
            covariances = centred / counts[:, None, None] + reg_covar * np.eye(n_features)
    else:
        variances = (scatter - nk[:, None] * shift**2) / counts[:, None] + reg_covar
        covariances = variances if covariance_type == "diag" else variances.mean(axis=1)
    return weights, means, covariances, shift


def _largest_shift_in_sds(shift, covariances, covariance_type):
    """max_k ||d_k|| / sqrt(smallest variance of component k)."""
    if covariance_type == "full":
        smallest = np.linalg.eigvalsh(covariances)[:, 0]
    elif covariance_type == "tied":
        smallest = np.full(len(shift), np.linalg.eigvalsh(covariances)[0])
    elif covariance_type == "diag":
        smallest = covariances.min(axis=1)
    else:
        smallest = covariances
    return float(np.max(np.linalg.norm(shift, axis=1) / np.sqrt(np.maximum(smallest, 1e-300))))


# ---------------------------------------------------------------------------
# The expansion path: one matrix product per chunk for the E-step, one for the statistics


@functools.lru_cache(maxsize=32)
def _upper_triangle(n_features: int):
    r"""Row and column indices of the entries on and above the diagonal, and their weights.

    The entries come diagonal by diagonal: :math:`(d, d + s)` for :math:`s = 0, 1, \dots`
    and, within a diagonal, :math:`d = 0, 1, \dots` (see :func:`_features`). The weight
    is -1/2 on the diagonal and -1 above it: :math:`-\tfrac12 y^\top \Lambda y
    = \sum_{d \le e} w_{de} \Lambda_{de} y_d y_e`.
    """
    rows = np.concatenate([np.arange(n_features - s) for s in range(n_features)])
    cols = rows + np.repeat(np.arange(n_features), np.arange(n_features, 0, -1))
    return rows, cols, np.where(rows == cols, -0.5, -1.0)


def _n_quadratic(covariance_type: str, n_features: int) -> int:
    """How many quadratic features: D(D+1)/2 (full, tied), D (diag) or 1 (spherical)."""
    if covariance_type in ("full", "tied"):
        return n_features * (n_features + 1) // 2
    return n_features if covariance_type == "diag" else 1


def _features(Y, covariance_type, out=None, center=None):
    r"""The features :math:`\phi(y)` of centred points ``Y`` (n, D), :math:`y = x - c`: shape (P, n).

    Rows: the quadratic terms (:math:`y_d y_e` for :math:`d \le e`, in
    :func:`_upper_triangle`'s order, or :math:`y_d^2`, or :math:`\lVert y \rVert^2`),
    then :math:`y_1, \dots, y_D`, then a row of ones. ``out``, if given, is the (P, n)
    array to fill. The products :math:`y_d y_{d+s}` of one diagonal *s* are one
    multiplication of two blocks of rows of the same shape, which numpy runs as one
    flat loop: twice as fast as multiplying rows by a broadcast row (measured).
    ``center``, if given, is :math:`c`, and ``Y`` holds the points :math:`x` themselves:
    they are centred as they are transposed into the rows of :math:`y`, in one pass (a
    separate subtraction and transposing copy took 3.4 times as long, D = 2, measured).
    """
    n, D = Y.shape
    q = _n_quadratic(covariance_type, D)
    F = aligned_empty((q + D + 1, n)) if out is None else out
    Yt = F[q : q + D]  # (D, n), rows contiguous
    if center is None:
        np.copyto(Yt, Y.T)
    else:
        np.subtract(Y.T, np.asarray(center)[:, np.newaxis], out=Yt)
    if covariance_type in ("full", "tied"):
        row = 0
        for s in range(D):  # the diagonal y_d y_{d+s}, d = 0 .. D-s-1
            np.multiply(Yt[: D - s], Yt[s:], out=F[row : row + D - s])
            row += D - s
    elif covariance_type == "diag":
        np.square(Yt, out=F[:D])
    else:
        np.einsum("dn,dn->n", Yt, Yt, out=F[0])
    F[-1] = 1.0
    return F


def _feature_sums(sums, scatter, n, covariance_type):
    r""":math:`\sum_i \phi(y_i)` from :math:`\sum_i y_i`, :math:`\sum_i y_i y_i^\top` and n."""
    D = len(sums)
    if covariance_type in ("full", "tied"):
        rows, cols, _ = _upper_triangle(D)
        quadratic = scatter[rows, cols]
    elif covariance_type == "diag":
        quadratic = np.diagonal(scatter)
    else:
        quadratic = [np.trace(scatter)]
    return np.concatenate([quadratic, sums, [n]]).astype(float)


class _Expansion(NamedTuple):
    """One iteration's coefficients for :func:`_expansion_pass`, and what the bounds say."""

    theta: np.ndarray  # (M, P): the exponents are theta . phi(x - c); M = K, or K - 1
    reference: bool  # M = K - 1 rows, relative to a reference component (its exps are all one)
    feature_sums: np.ndarray  # (P,): sum_i phi(y_i); one component's sums are these minus the rest
    least_count: float  # the sums by subtraction are accurate while that component's N >= this
    order: list | None  # with a reference: the pass's stats row order[k] holds component k
    log_offset: float  # log-likelihood = log_offset + sum of the logs of the points' totals
    highest: float  # no point's total exceeds this
    floor: float | None  # exponents are raised to at least this (None: none can be lower)
    scale_features: bool  # 1 / total scales the features, not the densities (fewer rows)
    accurate: bool  # whether the rounding-error bound allows the expansion this iteration
    trace_precision: np.ndarray  # (K,): tr(Lambda_k), for the collapse screen


#: A reference component is used while no exponent can exceed this (totals stay finite).
_REFERENCE_SPAN = 600.0


def _component_terms(weights, means, covariances, center, covariance_type, radius):
    r"""Each component's part of :func:`_coefficients`, before the shift.

    Returns ``theta`` (K, P) as a list of rows, whose last entries hold only
    :math:`-\tfrac12 a_k^\top\Lambda_k a_k` (the peak is added by the caller), the peaks
    :math:`p_k` and the bounds :math:`T_k` as lists, and :math:`\operatorname{tr}\Lambda_k`.
    Raises :func:`emlab.gmm.cholesky_factors`' clear ``ValueError`` if a covariance is
    not positive definite.
    """
    K, D = means.shape
    offsets = means - center
    q = _n_quadratic(covariance_type, D)
    theta = np.empty((K, q + D + 1))
    linear = theta[:, q : q + D]  # Lambda_k a_k
    if covariance_type in ("diag", "spherical"):
        if not covariances.min() > 0:  # also NaN: the shared check raises its clear error
            cholesky_factors(covariances, covariance_type, K, D)
        precisions = 1.0 / covariances  # (K, D), or (K,) for spherical
        np.multiply(precisions, -0.5, out=theta[:, :q] if q > 1 else theta[:, 0])
        if covariance_type == "spherical":
            np.multiply(offsets, precisions[:, None], out=linear)
            half_log_det = (0.5 * D) * np.log(covariances)
            trace_precision = D * precisions
        else:
            np.multiply(offsets, precisions, out=linear)
            half_log_det = 0.5 * np.log(covariances).sum(axis=1)
            trace_precision = precisions.sum(axis=1)
        mahalanobis = (linear * offsets).sum(axis=1)  # a_k' Lambda_k a_k
    else:
        inv_L, half_log_det = _whitening(covariances, covariance_type, K, D)  # L_k^-1
        whitened = np.einsum("kde,ke->kd", inv_L, offsets)  # L_k^-1 a_k
        np.einsum("kdj,kd->kj", inv_L, whitened, out=linear)  # L^-T (L^-1 a_k)
        rows, cols, halves = _upper_triangle(D)
        theta[:, :q] = halves * (inv_L.transpose(0, 2, 1) @ inv_L)[:, rows, cols]
        trace_precision = np.einsum("kde,kde->k", inv_L, inv_L)  # tr = ||L^-1||_F^2
        mahalanobis = np.einsum("kd,kd->k", whitened, whitened)
    np.multiply(mahalanobis, -0.5, out=theta[:, -1])
    if weights.min() > 0:  # (np.errstate costs as much as the rest of the arithmetic here)
        peaks = np.log(weights) - half_log_det - 0.5 * D * _LOG_2PI
    else:
        with np.errstate(divide="ignore"):
            peaks = np.log(weights) - half_log_det - 0.5 * D * _LOG_2PI
    spread = (radius + np.sqrt((offsets**2).sum(axis=1))) ** 2 * trace_precision  # T_k
    return theta.tolist(), peaks.tolist(), spread.tolist(), trace_precision


def _component_terms_1d(weights, means, variances, center, radius):
    r""":func:`_component_terms` for one-dimensional data, on Python floats.

    With one feature the features are :math:`(y^2, y, 1)` and
    :math:`\vartheta_k = (-\lambda_k / 2,\ \lambda_k a_k,\ -\lambda_k a_k^2 / 2)`,
    :math:`p_k = \log\pi_k - \tfrac12\log(2\pi\sigma_k^2)`,
    :math:`T_k = (R + \lvert a_k \rvert)^2 \lambda_k` (:math:`\lambda_k = 1/\sigma_k^2`):
    the same operations as the general form, in the same order. With K numbers each,
    Python's arithmetic costs a fraction of numpy's calls on K-element arrays (a 1-D
    fit's iteration on 3,000 points spent a third of its time on those).
    """
    c = float(center[0])
    rows, peaks, spreads, traces = [], [], [], []
    for weight, mean, variance in zip(
        weights.tolist(), means[:, 0].tolist(), variances.tolist(), strict=True
    ):
        if not variance > 0:  # also NaN: the shared check raises its clear error
            cholesky_factors(variances, "spherical", len(variances), 1)
        precision = 1.0 / variance
        a = mean - c
        linear = a * precision
        rows.append([precision * -0.5, linear, (linear * a) * -0.5])
        log_weight = math.log(weight) if weight > 0 else -math.inf
        peaks.append(log_weight - 0.5 * math.log(variance) - 0.5 * _LOG_2PI)
        reach = radius + abs(a)  # (a product, not ** 2: Python's ** raises on overflow)
        spreads.append(reach * reach * precision)
        traces.append(precision)
    return rows, peaks, spreads, np.array(traces)


def _coefficients(
    weights,
    means,
    covariances,
    center,
    covariance_type,
    radius,
    limit,
    feature_sums,
    reference=True,
):
    r"""The coefficients of one E-step's exponents, and what the bounds allow.

    With :math:`a_k = \mu_k - c` and :math:`\Lambda_k = \Sigma_k^{-1}`, each
    :math:`\ell_k(y) = \log \pi_k \mathcal N(x \mid \mu_k, \Sigma_k)` is
    :math:`p_k - \tfrac12 (y - a_k)^\top \Lambda_k (y - a_k)
    = -\tfrac12 y^\top\Lambda_k y + (\Lambda_k a_k)^\top y + p_k - \tfrac12 a_k^\top
    \Lambda_k a_k = \vartheta_k^\top \phi(y)`, with the peak
    :math:`p_k = \log\pi_k - \tfrac12\log\lvert 2\pi\Sigma_k\rvert`.

    *Bounds.* For every point (:math:`\lVert y \rVert \le R`, ``radius``),
    :math:`(y - a_k)^\top \Lambda_k (y - a_k) \le T_k = (R + \lVert a_k \rVert)^2
    \operatorname{tr}\Lambda_k`, so :math:`p_k - T_k/2 \le \ell_k(y) \le p_k`; and each
    term of :math:`\vartheta_k^\top \phi(y)` is at most :math:`T_k` in size, so its
    rounding error is at most :math:`P \epsilon T_k`. ``limit`` is the largest
    :math:`T` the module's accuracy bound allows.

    *The reference component* :math:`r`, the one with the highest floor
    :math:`p_r - T_r/2`: :math:`\log p(x) = \ell_r(y) + \log\bigl(1 + \sum_{k \ne r}
    e^{\ell_k(y) - \ell_r(y)}\bigr)`. Only :math:`K - 1` exponents
    :math:`(\vartheta_k - \vartheta_r)^\top\phi(y)` then need a product and an ``exp``,
    every point's total is at least 1 (none can underflow), and
    :math:`\sum_i \ell_r(y_i) = \vartheta_r^\top \sum_i \phi(y_i)` comes from the
    features' sums (``feature_sums``, taken once per fit). One component's sums, those
    of *j*, come from the others': :math:`G_j = \sum_i \phi(y_i) - \sum_{k \ne j}
    G_k`, as the responsibilities add up to one (one column fewer in the M-step's
    product). Its responsibilities are then needed nowhere, so *j* is the reference
    when the pass scales the features (more components than features, see
    :func:`_expansion_pass`) and otherwise another component: the reference's
    responsibilities :math:`1 / (1 + \sum_{k \ne r} e^{\cdot})` are the factor that
    scales every other row, so they cost nothing, and *j*'s row is spared. That
    difference is off by about :math:`\epsilon \sum_i \lvert\phi(y_i)\rvert`, which is
    up to :math:`n / N_j` times the error of :math:`G_j` summed directly, so the bound
    becomes :math:`P\epsilon \max(T_j, 1)\, n / N_j` (the 1: :math:`N_j` itself):
    ``least_count`` is the smallest :math:`N_j` that keeps it within the limit, checked
    by :func:`_expansion_pass` after the pass; *j* is the other component with the most
    room, the largest :math:`\pi_j / \max(T_j, 1)`. The form is used when ``reference``
    allows it, no exponent can exceed ``_REFERENCE_SPAN`` (:math:`U = \max_k p_k - (p_r
    - T_r / 2)`), the differences' error bound :math:`P\epsilon(\max_k T_k + T_r)` is
    within the limit and :math:`n\pi_j` is at least twice ``least_count``. ``order``
    puts the pass's statistics back in the components' order.

    *Otherwise* every component gets a row, shifted by the highest peak
    :math:`s = \max_k p_k` so that no exponent exceeds 0 (error bound
    :math:`P\epsilon\max_k T_k`; ``accurate`` is whether it is within the limit).

    ``floor`` is what the exponents are raised to before ``exp``, when one may fall below
    it: ``_EXP_FLOOR``, or with a reference whose pass scales the densities by
    :math:`1 / t_i \ge 1 / \text{highest}`, ``_EXP_FLOOR`` + log(highest), so that
    the scaled densities stay normal numbers too (the floor then moves a total by at most
    :math:`K e^{-700}\,\text{highest} \le K e^{-100}` relative, a responsibility by as
    much absolute: nothing a double can hold next to 1). Raises
    :func:`emlab.gmm.cholesky_factors`' clear ``ValueError`` if a covariance is not
    positive definite.
    """
    K, D = means.shape
    if D == 1 and covariance_type == "spherical":  # one-dimensional data
        theta, peak_list, spreads, trace_precision = _component_terms_1d(
            weights, means, covariances, center, radius
        )
    else:
        theta, peak_list, spreads, trace_precision = _component_terms(
            weights, means, covariances, center, covariance_type, radius
        )
    # a few numbers per component: Python's arithmetic costs less than numpy's calls (at
    # most K x P of them, 1,224 for 16-D full covariances with K = 8, still a fraction of
    # a pass; an iteration on 3,000 1-D points spent a fifth of its time on numpy's calls)
    n = float(feature_sums[-1])
    low_list = [p - 0.5 * t for p, t in zip(peak_list, spreads, strict=True)]  # ell_k >= low
    shift, largest, lowest = max(peak_list), max(spreads), min(low_list)
    for row, peak in zip(theta, peak_list, strict=True):
        row[-1] += peak - shift  # theta . phi = ell_k - s <= 0
    r = low_list.index(max(low_list))
    # 1 / total scales the features (a reciprocal and P - 1 products) or the densities (with
    # a reference: a reciprocal and M - 1 products; without one: M divisions), whichever is less
    P = len(theta[0])
    scale_features = P < K - 1
    if scale_features or K == 1:
        subtracted = r
    else:  # the other component whose sums by subtraction have the most room
        room = [w / t if t > 1.0 else w for w, t in zip(weights.tolist(), spreads, strict=True)]
        room[r] = -1.0
        subtracted = room.index(max(room))
    least_count = n * max(1.0, spreads[subtracted]) / limit if limit > 0 else math.inf
    if (
        reference
        and K > 1
        and shift - low_list[r] <= _REFERENCE_SPAN
        and largest + spreads[r] <= limit
        and weights[subtracted] * n >= 2 * least_count
    ):
        # the pass's rows and, in stats' order, whose sums it returns (see _expansion_pass)
        kept = [k for k in range(K) if k != r and k != subtracted]
        if scale_features:  # a row per other component; the reference's sums by subtraction
            rows, layout = kept, [*kept, r]
        else:  # the subtracted component's row last: the pass returns the reference's sums there
            rows, layout = [*kept, subtracted], [*kept, r, subtracted]
        order = [0] * K
        for position, k in enumerate(layout):
            order[k] = position
        reference_row = theta[r]
        exponents = [  # a zero weight gives -inf
            [value - reference for value, reference in zip(theta[k], reference_row, strict=True)]
            for k in rows
        ]
        sums = feature_sums.tolist()
        highest = 1.0 + (K - 1) * math.exp(shift - low_list[r])
        # the pass multiplies the exps by 1 / total >= 1 / highest (unless it scales the
        # features): raised to e^-700 * highest, the products stay normal numbers
        exp_floor = _EXP_FLOOR if scale_features else _EXP_FLOOR + math.log(highest)
        return _Expansion(
            np.array(exponents),
            reference=True,
            feature_sums=feature_sums,
            least_count=least_count,
            order=order,
            log_offset=sum(v * s for v, s in zip(reference_row, sums, strict=True)) + shift * n,
            highest=highest,
            # (r has the highest floor, so the lowest floor of the others is the lowest)
            floor=exp_floor if lowest - peak_list[r] < exp_floor else None,
            scale_features=scale_features,
            accurate=True,
            trace_precision=trace_precision,
        )
    # every log pi_k N(x | mu_k, Sigma_k) is at most its peak, so after subtracting the
    # highest peak no exp can overflow (see _expansion_pass)
    return _Expansion(
        np.array(theta),
        reference=False,
        feature_sums=feature_sums,
        least_count=0.0,
        order=None,
        log_offset=shift * n,
        highest=float(K),
        floor=_EXP_FLOOR if lowest - shift < _EXP_FLOOR else None,
        scale_features=P - 1 < K,
        accurate=largest <= limit,
        trace_precision=trace_precision,
    )


#: Points whose shifted densities add up to less than this are redone with their own maximum.
_TINY = 1e-250
#: Exponents are raised to at least this before ``exp``: :math:`e^{-700} \approx 10^{-304}` is
#: still a normal number. Below about -708 ``exp`` returns subnormal numbers or zero,
#: which this CPU computes up to 100 times slower (and subnormal inputs slow the matrix
#: product that follows 7-fold). The floor moves a point's total density, at least
#: ``_TINY`` (or 1 with the point's own maximum), by at most :math:`K e^{-700}`: a
#: relative change below :math:`10^{-50}`.
_EXP_FLOOR = -700.0
#: At most this many values multiplied together before one log (see _sum_of_logs).
_LOG_BLOCK = 64
#: Fewer values than this get one log each: too few for the reduction's call to pay off.
_LOG_BLOCK_FROM = 8192


@functools.lru_cache(maxsize=16)  # the same for every chunk of a pass with a reference
def _log_block(lowest, highest):
    """The block size of :func:`_sum_of_logs` for values in ``[lowest, highest]``."""
    span = max(-math.log(lowest), math.log(highest), 1.0)
    block = 1
    while block < _LOG_BLOCK and 2 * block * span < 690:
        block *= 2
    return block


def _sum_of_logs(values, lowest, highest):
    r""":math:`\sum_i \log v_i` with one log per block of up to ``_LOG_BLOCK`` values.

    All values lie in ``[lowest, highest]``, so a product of :math:`b` of them lies
    within :math:`e^{\pm b \cdot \text{span}}`, :math:`\text{span} = \max(-\log
    \text{lowest}, \log \text{highest})`: :math:`b` is the largest power of two that
    keeps products inside :math:`e^{\pm 690}` (normal numbers). The values are seen as
    :math:`b` rows, multiplied together column by column (one ``np.multiply.reduce``),
    and the logs of the products are summed. A product of :math:`b` values is off by at
    most :math:`b\epsilon` relative, its log by :math:`b\epsilon` absolute: the same
    :math:`n\epsilon` in all as one log per value, at a fraction of the cost (a log
    costs as much as ten multiplications). ``values``, a 1-D array, may be overwritten.
    """
    n = len(values)
    block = 1 if n < _LOG_BLOCK_FROM else _log_block(lowest, highest)
    if block == 1:  # (below _LOG_BLOCK_FROM values the reduction's call costs more than the logs)
        return float(np.log(values, out=values).sum())
    m = n - n % block
    products = np.multiply.reduce(values[:m].reshape(block, m // block), axis=0)
    rest = float(np.log(values[m:]).sum()) if m < n else 0.0
    return float(np.log(products, out=products).sum()) + rest


def _row_sum(rows, out, plus=0.0):
    """``plus + rows.sum(axis=0)`` into ``out``, one pass per row (``np.sum`` takes one more)."""
    if len(rows) == 1:
        return np.add(rows[0], plus, out=out)
    np.add(rows[0], rows[1], out=out)
    for k in range(2, len(rows)):
        np.add(out, rows[k], out=out)
    if plus:
        np.add(out, plus, out=out)
    return out


def _expansion_pass(features, starts, coefficients, workspaces, backwards=False):
    r"""One fused E-step over the chunks that begin at ``starts``: :func:`expansion_sums`, then
    :func:`expansion_stats`.

    ``features(start, workspace)`` gives a chunk's features :math:`\Phi` (P, c),
    ``coefficients`` is :func:`_coefficients`'s answer and ``workspaces`` holds a
    :class:`Workspace` per thread. Returns the total log-likelihood and ``G`` (K, P),
    the responsibility-weighted sums of the features,
    :math:`G_k = \sum_i r_{ik} \phi(y_i)`; or ``None`` when the sums taken by
    subtraction would not be accurate (that component's :math:`N_j` came out below
    ``coefficients.least_count``): the caller then asks for the shifted form.

    The exponents :math:`\Theta\Phi` are either relative to a reference component
    *r* (which then has no row: its exps are all one, so it needs no product and no
    ``exp``) or shifted by one constant, the highest peak, instead of by each point's
    own maximum: no exponent can overflow, and two passes over the (K, c) block are
    saved. In the second form, points so far from every component that their sum
    underflows (below ``_TINY``) are redone with their own maximum, as
    :func:`scipy.special.logsumexp` does.

    The :math:`1 / \sum_k e^{\cdot}` that turns the densities into responsibilities
    scales the features when there are fewer of them to scale (the last feature is 1,
    so its row is that factor itself), and otherwise the densities. With a reference,
    one component *j*'s sums are :math:`\sum_i \phi(y_i) - \sum_{k \ne j} G_k`
    (:func:`_coefficients` says which): when the features are scaled, *j* = *r*; when
    the densities are, *j* has the last row, which is added into the total
    :math:`t_i = 1 + \sum_{k \ne r} e_{ik}` in place and replaced by :math:`1 / t_i`,
    the reference's responsibilities: a reciprocal and M - 1 products instead of M
    divisions, and the product's last column holds :math:`G_r`. The log-likelihood is
    then :math:`-\sum_i \log(1 / t_i)`, as accurate as the logs of the totals (one
    rounding more per point, :math:`\epsilon` absolute in its log).

    The products that end in a small (M, P) matrix use ``np.dot``: ``np.matmul``
    holds the GIL when its result is that small (measured), and the chunks run in
    threads. Passes over at most ``FEW_FEATURES`` features (one-dimensional data) run on
    one thread: their numpy calls last 5-45 us, less than handing the GIL from one
    thread to the other costs on the benchmark machine (a wake-up of about 40 us), so
    the calling thread waited for the worker's whole share (measured) and two threads
    were slower. ``backwards``: see :func:`map_chunks`.
    """
    return expansion_stats(
        coefficients, *expansion_sums(features, starts, coefficients, workspaces, backwards)
    )


def _expansion_chunk(features, coefficients):
    """``one_chunk(start, workspace)``: one chunk's partial log-likelihood and (P, M) sums."""
    theta, floor, reference = coefficients.theta, coefficients.floor, coefficients.reference
    n_rows = theta.shape[0]
    scale_features = coefficients.scale_features  # (_coefficients chose the rows to match)
    highest = coefficients.highest

    def one_chunk(start, workspace):
        F = features(start, workspace)
        c = F.shape[1]
        exponents = np.matmul(theta, F, out=workspace.array("exponents", (n_rows, c)))
        if floor is not None:  # raised to the floor
            np.maximum(exponents, floor, out=exponents)
        np.exp(exponents, out=exponents)
        if reference and not scale_features:
            # the last row's component gets its sums by subtraction, so its exps are
            # needed only in the total: the row becomes the total, then its reciprocal,
            # which is the reference's responsibilities (its exps are 1)
            inverse = exponents[-1]
            for k in range(n_rows - 1):
                np.add(inverse, exponents[k], out=inverse)
            np.add(inverse, 1.0, out=inverse)
            np.divide(1.0, inverse, out=inverse)
            others = exponents[:-1]
            np.multiply(others, inverse, out=others)
            sums = np.dot(F, exponents.T)  # (P, M)
            # sum_i log(total_i) = -sum_i log(1 / total_i), the totals in [1, highest]
            return -_sum_of_logs(inverse, 1.0 / highest, 1.0), sums
        total = _row_sum(exponents, workspace.array("total", (c,)), 1.0 if reference else 0.0)
        lowest, extra = 1.0, 0.0
        if not reference:
            lowest = float(total.min())
        if lowest < _TINY:
            far = np.flatnonzero(total < _TINY)
            log_prob = theta @ F[:, far]
            top = log_prob.max(axis=0)
            log_prob -= top
            np.maximum(log_prob, _EXP_FLOOR, out=log_prob)
            np.exp(log_prob, out=log_prob)
            exponents[:, far] = log_prob
            total[far] = log_prob.sum(axis=0)
            extra, lowest = float(top.sum()), float(total.min())  # the redone totals are >= 1
        if scale_features:  # the responsibilities are exps * inverse; scale the smaller side
            weighted = workspace.array("scaled", F.shape)
            inverse = np.divide(1.0, total, out=weighted[-1])
            np.multiply(F[:-1], inverse, out=weighted[:-1])
        else:  # (one broadcast division costs less than 1 / total and a multiplication)
            weighted = F
            np.divide(exponents, total, out=exponents)
        log_likelihood = _sum_of_logs(total, lowest, highest) + extra
        return log_likelihood, np.dot(weighted, exponents.T)  # (P, M)

    return one_chunk


def expansion_sums(features, starts, coefficients, workspaces, backwards=False, threads=None):
    r"""The chunks' part of :func:`_expansion_pass`: sums that add up over any split of the data.

    Returns ``(partial_log_likelihood, sums)``: the sum over the chunks' points of
    :math:`\log \sum_k e^{\vartheta_k^\top\phi(y_i)}` (without ``coefficients.log_offset``)
    and the (P, M) sums :math:`\sum_i \phi(y_i) r_{ik}^\top` of the pass's M rows. Both are
    plain sums over points, so the answers for the blocks of a data set, added up, are the
    answer for the whole (:mod:`emlab.engines.distributed` adds them up in a tree);
    :func:`expansion_stats` then turns the totals into the log-likelihood and the
    statistics. ``threads``: as :func:`map_chunks` (by default one for at most
    ``FEW_FEATURES`` features, else every core).
    """
    n_expansion = coefficients.theta.shape[1]
    one_chunk = _expansion_chunk(features, coefficients)
    if threads is None:
        threads = 1 if n_expansion <= FEW_FEATURES else None
    results = map_chunks(one_chunk, starts, workspaces, threads, backwards)
    log_likelihood = sum(r[0] for r in results)
    sums = results[0][1] if len(results) == 1 else sum(r[1] for r in results)  # (P, M)
    return log_likelihood, sums


def expansion_stats(coefficients, log_likelihood, sums):
    r"""The log-likelihood and the (K, P) statistics ``G`` from :func:`expansion_sums`' totals.

    Adds ``coefficients.log_offset`` to the log-likelihood and, with a reference
    component, takes the subtracted component's sums from the features' sums,
    :math:`G_j = \sum_i \phi(y_i) - \sum_{k \ne j} G_k`, and puts the rows in the
    components' order. Returns ``None`` when that subtraction is not accurate enough
    (see :func:`_coefficients`): the caller then asks for the form without a reference.
    """
    n_rows, n_expansion = coefficients.theta.shape
    log_likelihood = log_likelihood + coefficients.log_offset
    if not coefficients.reference:
        return log_likelihood, sums.T
    stats = np.empty((n_rows + 1, n_expansion))  # the pass's columns, then the subtracted's
    stats[:-1] = sums.T
    np.subtract(coefficients.feature_sums, np.add.reduce(sums, axis=1), out=stats[-1])
    if not stats[-1, -1] >= coefficients.least_count:  # its count (also NaN)
        return None
    return log_likelihood, stats[coefficients.order]


def _expansion_m_step(stats, center, covariance_type, reg_covar):
    """Parameters from ``G``, whose columns hold the sums around the centre ``c``.

    ``G`` holds, per component, the sums of the quadratic features, of :math:`y` and
    of 1: the scatter :math:`S_k` (only its diagonal for diag, only its trace for
    spherical), :math:`s_k` and :math:`N_k`. Full and tied covariances go through
    :func:`_m_step`; diag and spherical ones are the same formulas on vectors,
    :math:`\\sigma^2_{kd} = (S_{kd} - N_k d_{kd}^2) / N_k` (and their mean over d).
    """
    D = len(center)
    K, P = stats.shape
    q = P - D - 1
    nk = stats[:, -1]
    if covariance_type in ("full", "tied"):
        rows, cols, _ = _upper_triangle(D)
        scatter = np.empty((K, D, D))
        scatter[:, rows, cols] = stats[:, :q]
        scatter[:, cols, rows] = stats[:, :q]
        centers = np.broadcast_to(center, (K, D))
        return _m_step(nk, stats[:, q : q + D], scatter, centers, covariance_type, reg_covar)[:3]
    counts = nk + _EPS10  # as _m_step
    shift = stats[:, q : q + D] / counts[:, None]
    if covariance_type == "diag":
        covariances = (stats[:, :D] - nk[:, None] * shift**2) / counts[:, None] + reg_covar
    else:
        covariances = (stats[:, 0] - nk * (shift**2).sum(axis=1)) / (D * counts) + reg_covar
    return counts / counts.sum(), center * (nk / counts)[:, None] + shift, covariances


def _expansion_m_step_1d(stats, center, reg_covar):
    r""":func:`_expansion_m_step` for one-dimensional data, on Python floats.

    Per component, from :math:`(S_k, s_k, N_k)`: :math:`d_k = s_k / N_k`,
    :math:`\mu_k = c + d_k`, :math:`\sigma^2_k = (S_k - N_k d_k^2) / N_k` (plus
    ``reg_covar``) and :math:`\pi_k = N_k / \sum_j N_j`, with :math:`N_k` nudged by
    :math:`10\epsilon` as everywhere: the same operations in the same order as the
    general form, without numpy's calls on K-element arrays.
    """
    c = float(center[0])
    counts, means, variances = [], [], []
    for scatter, total, nk in stats.tolist():
        count = nk + _EPS10
        shift = total / count
        counts.append(count)
        means.append(c * (nk / count) + shift)
        variances.append((scatter - nk * (shift * shift)) / count + reg_covar)
    all_counts = sum(counts)
    weights = [count / all_counts for count in counts]
    return np.array(weights), np.array(means)[:, None], np.array(variances)


def _may_have_collapsed(covariances, covariance_type, trace_precision, reg_covar, data_variance):
    """Cheap screen before :func:`emlab.gmm._warn_if_collapsed`'s eigenvalues.

    :math:`\\lambda_{\\min}(\\Sigma_k) \\ge 1 / \\operatorname{tr}(\\Sigma_k^{-1})` and
    :math:`\\lambda_{\\max}(\\Sigma_k) \\le \\operatorname{tr}\\Sigma_k`, so when every
    lower bound clears the collapse floor no component can have collapsed.
    """

    if covariance_type in ("diag", "spherical"):  # the variances are right there
        variances = covariances.ravel().tolist()  # (Python's min and max: no numpy calls)
        return bool(min(variances) <= collapse_floor(reg_covar, max(variances), data_variance))
    trace = np.trace(covariances.reshape(-1, *covariances.shape[-2:]), axis1=1, axis2=2)
    floor = collapse_floor(reg_covar, trace.max(), data_variance)
    return bool(np.any(1.0 / trace_precision <= floor))


def _check_float_data(X):
    """``X`` as a finite 2-D float array; float32 stays float32 (each chunk is computed in float64).

    A float32 data set is not copied to float64 (that copy would double its memory): the
    engine takes each chunk's points, centred, into float64 as it goes.
    """
    if isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2 and X.size:
        if not np.isfinite(X).all():
            check_data(X)  # its clear message
        return X
    return check_data(X)


def fit_gmm_fast(
    X,
    weights,
    means,
    covariances,
    covariance_type="full",
    tol=1e-3,
    max_iter=100,
    reg_covar=1e-6,
    chunk_size=None,
    on_iteration=None,
) -> EMResult:
    """Fit a Gaussian mixture by EM like :func:`emlab.gmm.fit_gmm`, in one chunked pass per iteration.

    Same arguments, same stopping rule, same history of parameters and
    log-likelihoods (responsibilities are not recorded: that is the point), and the
    same numbers to about 1e-10 relative. ``result.resp`` is ``None``. Each
    iteration takes the expansion path when its error bound allows and the exact
    path otherwise (see the module's docstring).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    weights, means, covariances : array-like
        The start, as for :func:`emlab.gmm.fit_gmm`.
    covariance_type : {"full", "tied", "diag", "spherical"}
    tol, max_iter, reg_covar : float, int, float
    chunk_size : int, optional
        Points per chunk; by default chosen so that a chunk's working set is about 2 MB.
    on_iteration : callable, optional
        Called as ``on_iteration(t, log_likelihood)`` as soon as iteration ``t``'s
        log-likelihood :math:`\\ell(\\theta^{(t)})` is known (``t = 0`` is the start): a
        progress report while a long fit runs (the estimators' ``verbose``).

    Returns
    -------
    EMResult
    """

    X = _check_float_data(X)
    n, D = X.shape
    covariance_type, start, requested_shape = check_start(
        weights, means, covariances, covariance_type, D
    )
    K = len(start[0])
    n_features_total = _n_quadratic(covariance_type, D) + D + 1
    exact_chunk = int(chunk_size) if chunk_size else gmm_chunk_size(n, K, D)
    chunk = int(chunk_size) if chunk_size else expansion_chunk_size(n, K, n_features_total)
    # one chunked pass over the data for its spread and sums, keeping either the features
    # of every chunk (one contiguous block per chunk: a column slice of one (P, n) array
    # would have np.dot copy it on every pass) or else the centred points, transposed
    # once (the transposing subtraction cost a quarter of building the features)
    center = X.mean(axis=0, dtype=np.float64)
    starts = list(range(0, n, chunk))
    cache = n_features_total * n * 8 <= FEATURE_CACHE_BYTES
    cached, centred_t = {}, None if cache else aligned_empty((D, n))
    radius, sums, scatter = 0.0, np.zeros(D), np.zeros((D, D))
    for s in starts:
        centred = X[s : s + chunk] - center
        radius = max(radius, float(np.sqrt(np.einsum("nd,nd->n", centred, centred).max())))
        sums += centred.sum(axis=0)
        scatter += centred.T @ centred
        if cache:
            cached[s] = _features(centred, covariance_type)
        else:
            centred_t[:, s : s + chunk] = centred.T
    summary = DataSummary(n, center, radius, sums, scatter)

    workspaces = make_workspaces()

    def features(start, workspace):
        if cache:
            return cached[start]
        points = centred_t[:, start : start + chunk].T
        out = workspace.array("features", (n_features_total, len(points)))
        return _features(points, covariance_type, out=out)

    backwards = False

    def expansion_pass(expansion):  # every other pass takes the chunks backwards (cache)
        nonlocal backwards
        backwards = not backwards
        return _expansion_pass(features, starts, expansion, workspaces, backwards)

    def exact_pass(weights, means, covariances, centers=None):
        return _pass(X, weights, means, covariances, covariance_type, exact_chunk, centers=centers)

    with one_blas_thread(len(starts)):  # the chunks run in parallel
        return run_iterations(
            expansion_pass,
            exact_pass,
            summary,
            *start,
            covariance_type,
            requested_shape,
            tol=tol,
            max_iter=max_iter,
            reg_covar=reg_covar,
            on_iteration=on_iteration,
        )


class DataSummary(NamedTuple):
    r"""What one pass over the data gives every iteration: n and the centred data's moments.

    ``center`` is the data's mean :math:`c`; ``radius`` :math:`R = \max_i \lVert x_i -
    c\rVert`; ``sums`` :math:`\sum_i (x_i - c)` and ``scatter``
    :math:`\sum_i (x_i - c)(x_i - c)^\top`, both over all the points.
    """

    n: int
    center: np.ndarray
    radius: float
    sums: np.ndarray
    scatter: np.ndarray


def check_start(weights, means, covariances, covariance_type, n_features):
    """The start checked, and one-dimensional data's covariances as spherical ones.

    Returns ``(covariance_type, (weights, means, covariances), requested_shape)``: the
    type the passes use, the start as float64 arrays, and the shape of the covariances
    the caller asked for (the history reports them in that shape). Raises the shared
    checks' clear ``ValueError`` for a bad start.
    """
    D = n_features
    covariance_type = _check_covariance_type(covariance_type)
    weights = check_weights(weights)
    K = len(weights)
    means = _check_means(means, K, D)
    covariances = np.asarray(covariances, dtype=float)
    cholesky_factors(covariances, covariance_type, K, D)  # shape and definiteness, clear errors
    requested_shape = covariances.shape
    if D == 1 and covariance_type != "tied":
        # one feature: full, diag and spherical are all one variance per component, and
        # the spherical path (features y^2, y, 1) is the leanest
        covariance_type, covariances = "spherical", covariances.reshape(K)
    return covariance_type, (weights, means, covariances), requested_shape


def run_iterations(
    expansion_pass,
    exact_pass,
    summary,
    weights,
    means,
    covariances,
    covariance_type,
    requested_shape,
    *,
    tol,
    max_iter,
    reg_covar,
    on_iteration=None,
) -> EMResult:
    """EM's iterations, given the two kinds of pass over the data (wherever the data are).

    ``expansion_pass(coefficients)`` returns :func:`_expansion_pass`' answer for the whole
    data set and ``exact_pass(weights, means, covariances, centers=None)`` :func:`_pass`'s;
    ``summary`` is the data's :class:`DataSummary`. :func:`fit_gmm_fast` gives passes over
    chunks in memory; :mod:`emlab.engines.distributed` passes over the blocks of a Dask
    array, each one a map-reduce. Everything else (the choice of path, the M-steps, the
    stopping rule, the history) is here, once, so both give the same iterations.
    ``on_iteration(t, log_likelihood)``, if given, is called as each iteration's
    log-likelihood is known.
    """
    n, D = summary.n, len(summary.center)
    center = summary.center
    one_dimensional = D == 1 and covariance_type == "spherical"
    n_features_total = _n_quadratic(covariance_type, D) + D + 1
    data_variance = float(np.diagonal(summary.scatter).max() / n)
    feature_sums = _feature_sums(summary.sums, summary.scatter, n, covariance_type)
    limit = EXPANSION_TOLERANCE / (n_features_total * _EPS)

    prepare = functools.partial(  # prepare(weights, means, covariances[, reference=False])
        _coefficients,
        center=center,
        covariance_type=covariance_type,
        radius=summary.radius,
        limit=limit,
        feature_sums=feature_sums,
    )

    expansion = prepare(weights, means, covariances)
    history = History()
    previous = None
    converged = False
    for iteration in range(int(max_iter) + 1):
        if expansion.accurate:
            answer = expansion_pass(expansion)
            if answer is None:  # the sums by subtraction: not accurate enough
                expansion = prepare(weights, means, covariances, reference=False)
                answer = expansion_pass(expansion)
            log_likelihood, stats = answer
        else:
            log_likelihood, nk, sums, scatter = exact_pass(weights, means, covariances)
        params = {
            "weights": weights,
            "means": means,
            "covariances": covariances.reshape(requested_shape),
        }
        history.append(Snapshot(iteration, params, log_likelihood))
        if on_iteration is not None:
            on_iteration(iteration, log_likelihood)
        if previous is not None and abs(log_likelihood - previous) / n < tol:
            converged = True
            break
        if iteration == max_iter:
            break
        previous = log_likelihood
        if expansion.accurate:
            if one_dimensional:
                new = _expansion_m_step_1d(stats, center, reg_covar)
            else:
                new = _expansion_m_step(stats, center, covariance_type, reg_covar)
            new_expansion = prepare(*new)
            exact_again = not new_expansion.accurate
        else:
            *new, shift = _m_step(nk, sums, scatter, means, covariance_type, reg_covar)
            exact_again = _largest_shift_in_sds(shift, new[2], covariance_type) > MAX_SHIFT_IN_SDS
        if exact_again:
            # statistics the expansion cannot give accurately, or a big move: redo them
            # exactly, around the new means
            _, nk, sums, scatter = exact_pass(weights, means, covariances, centers=new[1])
            *new, _ = _m_step(nk, sums, scatter, new[1], covariance_type, reg_covar)
        if exact_again or not expansion.accurate:
            new_expansion = prepare(*new)
        if _may_have_collapsed(
            new[2], covariance_type, new_expansion.trace_precision, reg_covar, data_variance
        ):
            _warn_if_collapsed(new[2], covariance_type, reg_covar, data_variance)
        weights, means, covariances = new
        expansion = new_expansion
    return engine_result(history, converged)
