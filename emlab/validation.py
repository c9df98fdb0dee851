"""Checks on user input that fail early, name the argument and say what to do.

The lesson-level functions call these in one line each, so that a student who
passes a wrong shape or a NaN gets a clear :class:`ValueError` instead of a
silent NaN or a traceback from deep inside numpy.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "check_counts",
    "check_data",
    "check_n_components",
    "check_positive",
    "check_probabilities",
    "check_resp",
    "check_weights",
]


def check_data(X, *, name: str = "X", ndim: int | None = 2, min_samples: int = 1) -> np.ndarray:
    """Return ``X`` as a finite float64 array, or raise a clear ``ValueError``.

    Parameters
    ----------
    X : array-like
        The data.
    name : str
        The argument's name, used in error messages.
    ndim : {1, 2, None}
        Required number of dimensions. With ``ndim=2`` a 1-D array is *not*
        reshaped silently: the message says how to do it.
    min_samples : int
        Fewest rows accepted.
    """
    try:
        array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be an array of numbers; converting it failed: {exc}"
        ) from None
    if ndim is not None and array.ndim != ndim:
        hint = ""
        if ndim == 2 and array.ndim == 1:
            hint = f" For one feature use {name}.reshape(-1, 1)."
        elif ndim == 1 and array.ndim == 2 and 1 in array.shape:
            hint = f" Use {name}.ravel() for a single column."
        raise ValueError(f"{name} must be {ndim}-D, got an array of shape {array.shape}.{hint}")
    if array.ndim == 0:
        array = array.reshape(1) if ndim is None else array
    if array.size == 0 or array.shape[0] == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}); pass at least {min_samples} data point(s)."
        )
    if array.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {array.shape[0]} data point(s) but at least {min_samples} are needed."
        )
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ValueError(
            f"{name} contains {bad} NaN or infinite value(s); remove or impute them before fitting."
        )
    return array


def check_n_components(n_components, n_samples: int, *, name: str = "n_components") -> int:
    """Check that ``n_components`` is a whole number between 1 and ``n_samples``."""
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {n_components!r}.")
    if n_components < 1:
        raise ValueError(f"{name} must be at least 1, got {n_components}.")
    if n_components > n_samples:
        raise ValueError(
            f"{name}={n_components} is more than the {n_samples} data point(s): "
            f"each component needs at least one point. Use fewer components or more data."
        )
    return int(n_components)


def check_weights(weights, n_components: int | None = None, *, name: str = "weights") -> np.ndarray:
    """Check mixing weights: 1-D, non-negative, finite, summing to one."""
    given = np.asarray(weights).dtype
    weights = check_data(weights, name=name, ndim=1)
    if n_components is not None and weights.shape[0] != n_components:
        raise ValueError(
            f"{name} must have {n_components} entries, one per component; got {weights.shape[0]}."
        )
    if np.any(weights < 0):
        raise ValueError(f"{name} must be non-negative, got {weights}.")
    # within a few rounding errors of the weights' own precision: float32 weights divided
    # by their sum in float32 add up to 1 within about K float32 epsilons, not 1e-8
    precision = np.finfo(given).eps if given.kind == "f" else 0.0
    tolerance = max(1e-8, 4 * len(weights) * precision)
    total = float(weights.sum())
    if not abs(total - 1.0) <= tolerance:
        raise ValueError(
            f"{name} must sum to 1 (within {tolerance:.1g}), got sum {total!r}; divide by the sum."
        )
    return weights


def check_resp(resp, n_samples: int | None = None, *, name: str = "resp") -> np.ndarray:
    """Check responsibilities: shape (n_samples, n_components), rows on the simplex."""
    resp = check_data(resp, name=name, ndim=2)
    if n_samples is not None and resp.shape[0] != n_samples:
        raise ValueError(f"{name} has {resp.shape[0]} rows but the data has {n_samples} points.")
    if np.any(resp < 0):
        raise ValueError(f"{name} must be non-negative: responsibilities are probabilities.")
    sums = resp.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0, atol=1e-6):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise ValueError(
            f"each row of {name} must sum to 1 (row {worst} sums to {sums[worst]:.6g}); "
            f"normalize with {name} / {name}.sum(axis=1, keepdims=True)."
        )
    return resp


def check_probabilities(p, *, name: str, ndim: int | None = None) -> np.ndarray:
    """Check that every entry of ``p`` is a probability in [0, 1]."""
    p = (
        check_data(p, name=name, ndim=ndim)
        if np.ndim(p)
        else check_data(np.atleast_1d(p), name=name, ndim=1)
    )
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"{name} must lie between 0 and 1, got {p}.")
    return p


def check_counts(
    heads, n_tosses, *, name: str = "heads", tosses_name: str = "n_tosses"
) -> tuple[np.ndarray, np.ndarray]:
    """Check coin-flip counts: whole numbers with ``0 <= heads <= n_tosses``."""
    heads = check_data(heads, name=name, ndim=None)
    n_tosses = np.asarray(n_tosses, dtype=np.float64)
    if (
        not np.all(np.isfinite(n_tosses))
        or np.any(n_tosses < 1)
        or np.any(n_tosses != np.round(n_tosses))
    ):
        raise ValueError(
            f"{tosses_name} must be a whole number of tosses, at least 1; got {n_tosses}."
        )
    if np.any(heads != np.round(heads)):
        raise ValueError(f"{name} must hold whole numbers of heads, got fractional values.")
    if np.any(heads < 0):
        raise ValueError(f"{name} must not be negative: a trial cannot have fewer than 0 heads.")
    if np.any(heads > n_tosses):
        raise ValueError(
            f"{name} has a trial with more heads ({heads.max():g}) than tosses ({tosses_name}={n_tosses.max():g})."
        )
    return heads, n_tosses


def check_positive(value, *, name: str, strict: bool = True) -> np.ndarray:
    """Check that ``value`` is finite and positive (or non-negative)."""
    value = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} must be finite, got {value}.")
    if np.any(value <= 0 if strict else value < 0):
        which = "positive" if strict else "non-negative"
        raise ValueError(f"{name} must be {which}, got {value}.")
    return value
