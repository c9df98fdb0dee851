"""Checks for the exercises of lesson 14, EM for a model of your own: a Poisson mixture.

The model: day :math:`i` is of hidden kind :math:`z_i = k` with probability :math:`\\pi_k`
and brings :math:`x_i \\sim \\text{Poisson}(\\lambda_k)` counts. A student writes

* ``log_likelihood(x, params) -> float``, :math:`\\ell(\\theta) = \\sum_i \\log \\sum_k \\pi_k
  \\lambda_k^{x_i} e^{-\\lambda_k} / x_i!`;
* ``e_step(x, params) -> (resp, log_likelihood)`` and ``m_step(x, resp) -> params``, the two
  steps :func:`emlab.em.run_em` alternates, with ``params = {"weights": ..., "rates": ...}``.

emlab has no Poisson mixture of its own (the lesson is to write one), so the references the
checks compare with live here, written from the formulas; they agree with
:func:`scipy.stats.poisson.logpmf` and with a direct maximisation by :mod:`scipy.optimize`
(``tests/test_checks_own_model.py``). Each check names the typical mistakes: rows of the
responsibilities that do not sum to 1, probabilities that underflow where log space would not,
the weights left out, means that are not weighted by the responsibilities, weights that are not
normalised, and a log-likelihood that falls while :func:`emlab.em.run_em` runs (with the
iteration and the step that lowered it). See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import gammaln, logsumexp

from emlab.checks._core import _call, _fresh_rng, _where, compare, not_answered

__all__ = [
    "log_likelihood_never_falls",
    "poisson_e_step",
    "poisson_em",
    "poisson_log_likelihood",
    "poisson_m_step",
]

#: Relative drop of the log-likelihood that counts as a fall (more than rounding).
FALL_RTOL = 1e-9

#: Iterations of :func:`poisson_em`'s run (``tol=0``: exactly this many M-steps).
EM_CHECK_ITER = 40


# --------------------------------------------------------------------------- references


def _log_joint(x, params) -> np.ndarray:
    """The (n, K) table :math:`\\log \\pi_k + x_i \\log \\lambda_k - \\lambda_k - \\log x_i!`."""
    x = np.asarray(x, dtype=float)[:, np.newaxis]
    rates = np.asarray(params["rates"], dtype=float)
    return np.log(params["weights"]) + x * np.log(rates) - rates - gammaln(x + 1)


def _reference_log_likelihood(x, params) -> float:
    return float(logsumexp(_log_joint(x, params), axis=1).sum())


def _reference_e_step(x, params):
    log_joint = _log_joint(x, params)
    log_px = logsumexp(log_joint, axis=1, keepdims=True)
    return np.exp(log_joint - log_px), float(log_px.sum())


def _reference_m_step(x, resp) -> dict:
    x = np.asarray(x, dtype=float)
    nk = resp.sum(axis=0)
    return {"weights": nk / len(x), "rates": x @ resp / nk}


_ANSWERS = (_reference_log_likelihood, _reference_e_step, _reference_m_step, _log_joint)


# --------------------------------------------------------------------------- fresh problems


def _fresh_problem(rng: np.random.Generator, *, large: bool = False):
    """Fresh counts ``x`` and parameters ``{"weights", "rates"}`` of a mixture of 2 to 4 kinds.

    Neighbouring rates lie 2 to 4 of their standard deviations apart, so that the kinds overlap
    and every responsibility matters; the weights are clearly unequal. With ``large`` the rates
    are in the hundreds and some days lie far from every kind (0 calls, or three times the
    largest rate): there :math:`\\lambda^x` overflows and :math:`e^{-\\lambda}` underflows.
    """
    n_components = int(rng.integers(2, 5))
    weights = rng.dirichlet(np.ones(n_components))
    while np.abs(weights - 1 / n_components).max() < 0.1 or weights.min() < 0.05:
        weights = rng.dirichlet(np.ones(n_components))
    rates = [rng.uniform(300.0, 500.0) if large else rng.uniform(2.0, 6.0)]
    for _ in range(n_components - 1):
        rates.append(rates[-1] + rng.uniform(2.0, 4.0) * np.sqrt(rates[-1]))
    rates = np.array(rates)
    n = int(rng.integers(40, 120))
    z = rng.choice(n_components, size=n, p=weights)
    x = rng.poisson(rates[z]).astype(float)
    if large:
        x[:2] = [0.0, np.round(3 * rates.max())]
    return x, {"weights": weights, "rates": rates}


def _copy(params) -> dict:
    return {name: np.array(value, dtype=float, copy=True) for name, value in params.items()}


def _as_float(value):
    """``value`` as a float array, or ``None`` if it is not numbers."""
    if not_answered(value):
        return None
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None


def _close(got, wrong, expected) -> bool:
    """Whether ``got`` equals the mistake ``wrong``, which differs from ``expected``."""
    wrong = np.asarray(wrong, dtype=float)
    return (
        got.shape == wrong.shape
        and np.allclose(got, wrong, rtol=1e-6, atol=1e-9)
        and not np.allclose(wrong, expected, rtol=1e-6, atol=1e-9)
    )


# --------------------------------------------------------------------------- diagnoses


def _log_likelihood_mistake(x, params, value: float) -> str | None:
    """The message for a typical wrong log-likelihood equal to ``value``, if any."""
    log_joint = _log_joint(x, params)
    log_factorials = float(gammaln(x + 1).sum())
    expected = _reference_log_likelihood(x, params)
    candidates = [
        (
            expected + log_factorials,
            "the log-likelihood leaves out the term -log x_i! of the Poisson probability: "
            "subtract gammaln(x + 1) (scipy.special), which is log x_i!. It cancels in the "
            "responsibilities but not in l.",
        ),
        (
            expected + 2 * log_factorials,
            "the term log x_i! has the wrong sign: the Poisson probability divides by x_i!, so "
            "subtract gammaln(x + 1).",
        ),
        (
            float(logsumexp(log_joint - np.log(params["weights"]), axis=1).sum()),
            "the log-likelihood leaves out the weights: p(x_i) = sum_k pi_k Poisson(x_i | "
            "lambda_k), so add np.log(weights) to each column before logsumexp.",
        ),
        (
            float(log_joint.sum()),
            "the log-likelihood adds log p(x_i, z_i = k) over the kinds k. But p(x_i) is the "
            "SUM over k of p(x_i, z_i = k), so take logsumexp over axis 1, then sum over i.",
        ),
        (
            float(log_joint.max(axis=1).sum()),
            "the log-likelihood keeps only the most likely kind of each day (the max over k): "
            "p(x_i) sums over every kind, so use logsumexp over axis 1.",
        ),
        (
            float(logsumexp(log_joint, axis=0).sum()),
            "the log-likelihood takes logsumexp over the days (axis 0): the sum inside the log "
            "is over the kinds k, axis 1; the sum over the days comes after, outside the log.",
        ),
        (
            float(logsumexp(log_joint, axis=1).mean()),
            "that is the AVERAGE log-likelihood per day: l sums over the days (np.sum, not "
            "np.mean).",
        ),
    ]
    for candidate, message in candidates:
        if np.isclose(value, candidate, rtol=1e-7, atol=1e-9) and not np.isclose(
            candidate, expected, rtol=1e-7, atol=1e-9
        ):
            return message
    return None


def _resp_mistake(x, params, got: np.ndarray) -> str | None:
    """The message for typical wrong responsibilities ``got``, if any."""
    expected, _ = _reference_e_step(x, params)
    log_joint = _log_joint(x, params)
    rates = np.asarray(params["rates"], dtype=float)
    no_weights = log_joint - np.log(params["weights"])
    no_minus_rate = log_joint + rates
    mistakes = [
        (
            np.exp(no_weights - logsumexp(no_weights, axis=1, keepdims=True)),
            "the responsibilities leave out the weights: r_ik is proportional to pi_k * "
            "Poisson(x_i | lambda_k), so add np.log(weights) to the log table.",
        ),
        (
            np.exp(no_minus_rate - logsumexp(no_minus_rate, axis=1, keepdims=True)),
            "the responsibilities leave out the term -lambda_k of log Poisson(x_i | lambda_k) "
            "= x_i log lambda_k - lambda_k - log x_i!. Unlike log x_i!, it depends on k, so it "
            "does not cancel.",
        ),
        (
            np.exp(log_joint - logsumexp(log_joint, axis=0, keepdims=True)),
            "the responsibilities sum to 1 down each column (over the days, axis 0). Each ROW "
            "sums to 1: normalise over the kinds, logsumexp(..., axis=1, keepdims=True).",
        ),
        (
            np.exp(log_joint),
            "the rows do not sum to 1: these are the joint probabilities pi_k Poisson(x_i | "
            "lambda_k). Divide each row by its sum p(x_i) (in log space: subtract "
            "logsumexp(..., axis=1, keepdims=True)).",
        ),
        (
            expected[:, ::-1],
            "the kinds are in reverse order: column k must belong to rates[k].",
        ),
    ]
    with np.errstate(divide="ignore"):
        mistakes.append(
            (np.log(expected), "these look like log-responsibilities: take np.exp to get r_ik.")
        )
    for wrong, message in mistakes:
        if _close(got, wrong, expected):
            return message
    if got.shape == expected.shape and np.all(np.isfinite(got)):
        sums = got.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-6):
            return (
                f"each row of the responsibilities should sum to 1 over the kinds, but the row "
                f"sums range from {sums.min():.4g} to {sums.max():.4g}. Normalise each row "
                f"(Bayes' rule: divide by p(x_i))."
            )
    return None


def _m_step_mistake(x, resp, weights, rates) -> str | None:
    """The message for typical wrong M-step ``weights`` or ``rates``, if any."""
    n, n_components = resp.shape
    expected = _reference_m_step(x, resp)
    nk = resp.sum(axis=0)
    hard = np.eye(n_components)[resp.argmax(axis=1)]
    hard_counts = hard.sum(axis=0)
    weight_mistakes = [
        (
            nk,
            "the weights are the soft counts N_k themselves (they sum to n): divide by n, the "
            "number of days, so that they sum to 1.",
        ),
        (
            x @ resp / x.sum(),
            "the weights count each day by its number of calls (sum_i r_ik x_i / sum_i x_i, "
            "the share of the CALLS). pi_k is the share of the DAYS: N_k / n.",
        ),
        (
            np.full(n_components, 1 / n_components),
            "the weights are all 1/K: the M-step learns them from the responsibilities, N_k / n.",
        ),
        (
            hard_counts / n,
            "the weights count each day once, for its most likely kind (a hard assignment). "
            "Add up the responsibilities instead: N_k / n.",
        ),
        (nk / n_components, "you divided N_k by the number of kinds K; divide by n, the days."),
    ]
    rate_mistakes = [
        (
            np.full(n_components, x.mean()),
            "every rate is the plain mean of all the counts: the M-step's mean is WEIGHTED, "
            "each day counted with its responsibility, lambda_k = sum_i r_ik x_i / N_k.",
        ),
        (
            x @ resp / n,
            "the rates divide by n, the number of all days. Each rate divides by N_k = "
            "sum_i r_ik, the days its kind is responsible for.",
        ),
        (
            x @ resp,
            "the rates are the weighted sums sum_i r_ik x_i: divide each by N_k = sum_i r_ik.",
        ),
        (
            x @ resp / nk / n,
            "the rates are lambda_k / n: divide sum_i r_ik x_i by N_k only.",
        ),
        (
            np.divide(
                x @ hard, hard_counts, out=np.full(n_components, np.nan), where=hard_counts > 0
            ),
            "the rates are the means of the days assigned to each kind (hard assignments, as in "
            "k-means). Count every day with its responsibility: sum_i r_ik x_i / N_k.",
        ),
    ]
    for value, mistakes, right in (
        (weights, weight_mistakes, expected["weights"]),
        (rates, rate_mistakes, expected["rates"]),
    ):
        got = _as_float(value)
        if got is None:
            continue
        for wrong, message in mistakes:
            if _close(got, wrong, right):
                return message
    got_weights = _as_float(weights)
    if got_weights is not None and got_weights.shape == (n_components,):
        total = got_weights.sum()
        if np.all(np.isfinite(got_weights)) and not np.isclose(total, 1.0, atol=1e-6):
            return (
                f"the weights sum to {total:.6g}, not 1: pi_k = N_k / n is a share of the days. "
                f"(Check that N_k sums the responsibilities over the days, axis 0.)"
            )
    return None


# --------------------------------------------------------------------------- calling student code


def _params_of(value, name: str, n_components: int) -> tuple:
    """``(weights, rates)`` from what a student's M-step returned, or a clear error."""
    if not isinstance(value, dict):
        raise AssertionError(
            f"{name} returned {type(value).__name__}; return a dict of the new parameters, "
            f'{{"weights": ..., "rates": ...}}, the form run_em passes to the E-step.'
        )
    missing = [key for key in ("weights", "rates") if key not in value]
    if missing:
        raise AssertionError(
            f"{name}'s dict has no {' and no '.join(repr(k) for k in missing)} (it has "
            f"{sorted(value)}): return {{'weights': ..., 'rates': ...}}."
        )
    return value["weights"], value["rates"]


def _pair_of(value, name: str) -> tuple:
    """``(resp, log_likelihood)`` from what a student's E-step returned, or a clear error."""
    if not_answered(value):
        raise AssertionError(f"{name} returns nothing yet: replace the ... with your code.")
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise AssertionError(
            f"{name} should return a pair, (resp, log_likelihood), as run_em expects: end "
            f"with `return resp, log_likelihood`."
        )
    return value


def _run_student(function: Callable, name: str, *args):
    """``function(*args)`` inside a check's loop: an error becomes feedback, warnings are quiet."""
    try:
        with np.errstate(all="ignore"):
            return function(*args)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(
            f"{name} raised {type(exc).__name__}{_where(function, exc)}: {exc}. That is an error "
            f"in your own code: fix it, run its cell again, then this check."
        ) from None


# --------------------------------------------------------------------------- the checks


def poisson_log_likelihood(function: Callable) -> None:
    """Check ``function(x, params) -> l``, the log-likelihood of a Poisson mixture.

    :math:`\\ell(\\theta) = \\sum_i \\log \\sum_k \\pi_k \\lambda_k^{x_i} e^{-\\lambda_k} / x_i!`,
    one number; compared with the reference on fresh counts, then on counts in the hundreds
    with days far from every kind, where the probabilities overflow or underflow outside log
    space. Names the usual slips: :math:`\\log x_i!` left out or with its sign flipped, the
    weights left out, a sum of logs where the log of a sum belongs, the max for the sum,
    the average for the total.
    """
    rng = _fresh_rng()
    for large in (False, True):
        x, params = _fresh_problem(rng, large=large)
        with np.errstate(all="ignore"):
            got = _call(function, "your function", x.copy(), _copy(params), answers=_ANSWERS)
        expected = _reference_log_likelihood(x, params)
        values = _as_float(got)
        if values is not None and values.size > 1:
            raise AssertionError(
                f"your function returned {values.size} numbers (shape {values.shape}): return "
                f"one number, the sum over the days of log p(x_i)."
            )
        if values is not None and values.size == 1:
            value = float(values.ravel()[0])
            if large and not np.isfinite(value):
                raise AssertionError(
                    f"the log-likelihood is {value} for counts in the hundreds (rates "
                    f"{np.round(params['rates']).astype(int).tolist()}, and days with 0 and "
                    f"{int(x[1])} calls): outside log space lambda**x overflows and "
                    f"exp(-lambda) underflows. Work with logs: x * log(lambda) - lambda - "
                    f"gammaln(x + 1), then logsumexp over the kinds."
                )
            if not np.isclose(value, expected, rtol=1e-7, atol=1e-9):
                message = _log_likelihood_mistake(x, params, value)
                if message is not None:
                    raise AssertionError(message[0].upper() + message[1:])
        compare(got, expected, name="the log-likelihood")


def _check_resp(got, x, params, *, large: bool) -> None:
    expected, _ = _reference_e_step(x, params)
    values = _as_float(got)
    if values is not None and values.shape == expected.shape:
        if np.isnan(values).any() or (large and not np.isfinite(values).all()):
            raise AssertionError(
                f"The responsibilities contain NaN or inf for counts in the hundreds (rates "
                f"{np.round(params['rates']).astype(int).tolist()}, days with 0 and {int(x[1])} "
                f"calls): outside log space lambda**x overflows and exp(-lambda) underflows, and "
                f"0/0 or inf/inf follows. Compute the log table x log(lambda) - lambda - "
                f"gammaln(x + 1) + log(pi), then subtract logsumexp over axis 1 before np.exp."
            )
        if not np.allclose(values, expected, rtol=1e-6, atol=1e-9):
            message = _resp_mistake(x, params, values)
            if message is not None:
                raise AssertionError(message[0].upper() + message[1:])
    compare(got, expected, name="resp", sums_to_one_axis=1)


def poisson_e_step(function: Callable) -> None:
    """Check ``function(x, params) -> (resp, log_likelihood)``, the E-step of a Poisson mixture.

    :math:`r_{ik} = \\pi_k \\text{Poisson}(x_i \\mid \\lambda_k) / \\sum_j \\pi_j
    \\text{Poisson}(x_i \\mid \\lambda_j)` and :math:`\\ell(\\theta)`, compared with the reference
    on fresh counts, then on counts in the hundreds with days far from every kind (log space).
    Names rows that do not sum to 1 (normalised over the days, or not at all), the weights or
    :math:`-\\lambda_k` left out, log-responsibilities, and the log-likelihood's slips.
    """
    rng = _fresh_rng()
    for large in (False, True):
        x, params = _fresh_problem(rng, large=large)
        with np.errstate(all="ignore"):
            got = _call(function, "your e_step", x.copy(), _copy(params), answers=_ANSWERS)
        resp, log_likelihood = _pair_of(got, "your e_step")
        _check_resp(resp, x, params, large=large)
        expected = _reference_log_likelihood(x, params)
        values = _as_float(log_likelihood)
        if values is not None and values.size == 1:
            value = float(values.ravel()[0])
            if not np.isclose(value, expected, rtol=1e-7, atol=1e-9):
                message = _log_likelihood_mistake(x, params, value)
                if message is not None:
                    raise AssertionError(f"The responsibilities are right, but {message}")
        elif values is not None:
            raise AssertionError(
                f"the log-likelihood your e_step returns has {values.size} numbers: return one, "
                f"the sum over the days of log p(x_i)."
            )
        compare(log_likelihood, expected, name="the log-likelihood your e_step returns")


def poisson_m_step(function: Callable) -> None:
    """Check ``function(x, resp) -> {"weights": ..., "rates": ...}``, the M-step.

    :math:`N_k = \\sum_i r_{ik}`, :math:`\\pi_k = N_k / n` and :math:`\\lambda_k = \\sum_i
    r_{ik} x_i / N_k`, compared with the reference on fresh counts and responsibilities.
    Names weights that are not normalised (the :math:`N_k` themselves, or divided by
    :math:`K`), weights that count the calls instead of the days, equal or hard weights,
    rates that are not weighted by the responsibilities (the plain mean, or hard
    assignments) or divided by :math:`n` or not at all.
    """
    rng = _fresh_rng()
    x, params = _fresh_problem(rng)
    n_components = len(params["rates"])
    resp = rng.dirichlet(np.full(n_components, 0.7), size=len(x))
    while np.ptp(np.eye(n_components)[resp.argmax(axis=1)].sum(axis=0)) == 0:
        resp = rng.dirichlet(np.full(n_components, 0.7), size=len(x))
    got = _call(function, "your m_step", x.copy(), resp.copy(), answers=_ANSWERS)
    if not_answered(got):
        raise AssertionError("your m_step returns nothing yet: replace the ... with your code.")
    weights, rates = _params_of(got, "your m_step", n_components)
    message = _m_step_mistake(x, resp, weights, rates)
    if message is not None:
        raise AssertionError(message[0].upper() + message[1:])
    expected = _reference_m_step(x, resp)
    compare(weights, expected["weights"], name="weights", n=len(x))
    compare(rates, expected["rates"], name="rates", n=len(x))


def _diagnose_fall(x, history, t: int, e_step, m_step) -> str:
    """Which step most likely made the log-likelihood fall from iteration ``t - 1`` to ``t``."""
    before, after = history[t - 1], history[t]
    truth_before = _reference_log_likelihood(x, before.params)
    truth_after = _reference_log_likelihood(x, after.params)
    recorded = after.log_likelihood
    if not np.isclose(recorded, truth_after, rtol=1e-7, atol=1e-9) or not np.isclose(
        before.log_likelihood, truth_before, rtol=1e-7, atol=1e-9
    ):
        wrong = after if not np.isclose(recorded, truth_after, rtol=1e-7, atol=1e-9) else before
        truth = truth_after if wrong is after else truth_before
        message = _log_likelihood_mistake(x, wrong.params, wrong.log_likelihood)
        return (
            f"Likely the log-likelihood your E-step returns: at iteration {wrong.iteration} it "
            f"records {wrong.log_likelihood:.6g}, but l(theta) at those parameters is "
            f"{truth:.6g}. " + (f"It looks as if {message}" if message else "")
        ).rstrip()
    if truth_after >= truth_before - FALL_RTOL * abs(truth_before):
        return "The log-likelihood at these parameters did not fall: the E-step's value is wrong."
    if e_step is None or m_step is None:
        return (
            f"Likely the M-step that made theta^({t}) from the responsibilities at "
            f"theta^({t - 1}), or the E-step that computed those responsibilities. Run the "
            f"checks of your e_step and m_step."
        )
    got = _pair_of(_run_student(e_step, "your e_step", x.copy(), _copy(before.params)), "e_step")
    resp_before, _ = _reference_e_step(x, before.params)
    got_resp = _as_float(got[0])
    if (
        got_resp is None
        or got_resp.shape != resp_before.shape
        or not np.allclose(got_resp, resp_before, rtol=1e-6, atol=1e-9)
    ):
        message = None if got_resp is None else _resp_mistake(x, before.params, got_resp)
        return (
            f"Likely the E-step: at theta^({t - 1}) its responsibilities are not the posterior "
            f"p(z_i = k | x_i), so the M-step that follows maximises the wrong Q. "
            + (f"It looks as if {message}" if message else "Run the check of your e_step.")
        )
    new = _run_student(m_step, "your m_step", x.copy(), resp_before.copy())
    weights, rates = _params_of(new, "your m_step", resp_before.shape[1])
    expected = _reference_m_step(x, resp_before)
    right = (
        _as_float(weights) is not None
        and _as_float(rates) is not None
        and np.shape(weights) == expected["weights"].shape
        and np.shape(rates) == expected["rates"].shape
        and np.allclose(_as_float(weights), expected["weights"], rtol=1e-6, atol=1e-9)
        and np.allclose(_as_float(rates), expected["rates"], rtol=1e-6, atol=1e-9)
    )
    if not right:
        message = _m_step_mistake(x, resp_before, weights, rates)
        return (
            f"Likely the M-step: the E-step at theta^({t - 1}) is right, but the M-step does not "
            f"maximise Q for those responsibilities. "
            + (f"It looks as if {message}" if message else "Run the check of your m_step.")
        )
    return (
        "Your e_step and m_step agree with the reference at this iteration: was the run made "
        "with other functions (or parameters changed between the steps)?"
    )


def log_likelihood_never_falls(x, history, e_step=None, m_step=None) -> None:
    """Check that the log-likelihood of a Poisson-mixture run never falls, and say why it did.

    ``history`` is :attr:`emlab.em.EMResult.history` from :func:`emlab.em.run_em` on the counts
    ``x`` with ``params = {"weights", "rates"}``. EM never lowers :math:`\\ell`; at the first
    iteration :math:`t` where it falls by more than rounding (:data:`FALL_RTOL`), the message
    gives :math:`t`, both values, and the step that is likely wrong: the log-likelihood the
    E-step returns (compared with :math:`\\ell` recomputed at the recorded parameters), else,
    with ``e_step`` and ``m_step`` given, the E-step's responsibilities at
    :math:`\\theta^{(t-1)}` or the M-step from them (each compared with the reference, with
    the typical mistake named).
    """
    x = np.asarray(x, dtype=float)
    values = np.array([snap.log_likelihood for snap in history], dtype=float)
    if np.isnan(values).any():
        t = int(np.argmax(np.isnan(values)))
        raise AssertionError(
            f"The log-likelihood is NaN at iteration {t}: a 0/0 or inf - inf happened, often "
            f"exp() of a large number overflowing or of a very negative one underflowing. Work "
            f"in log space (gammaln, logsumexp)."
        )
    drops = values[1:] < values[:-1] - FALL_RTOL * np.abs(values[:-1])
    if not drops.any():
        return
    t = int(np.argmax(drops)) + 1
    raise AssertionError(
        f"The log-likelihood fell at iteration {t}: from {values[t - 1]:.6g} (iteration "
        f"{t - 1}) to {values[t]:.6g}. EM never lowers it, so a step is wrong. "
        + _diagnose_fall(x, history, t, e_step, m_step)
    )


def poisson_em(e_step: Callable, m_step: Callable) -> None:
    """Check a student's ``e_step`` and ``m_step`` run through :func:`emlab.em.run_em`.

    Runs :func:`emlab.em.run_em` with them for :data:`EM_CHECK_ITER` M-steps (``tol=0``) on
    fresh counts from a fresh start, checks with :func:`log_likelihood_never_falls` that the
    log-likelihood never falls (naming the iteration and the step when it does), then compares
    the final parameters and log-likelihood with the reference's run from the same start.
    """
    from emlab.em import run_em

    rng = _fresh_rng()
    x, truth = _fresh_problem(rng)
    n_components = len(truth["rates"])
    start = {
        "weights": np.full(n_components, 1 / n_components),
        "rates": np.sort(rng.uniform(x.min() + 0.5, x.max(), n_components)),
    }
    first = _call(e_step, "your e_step", x.copy(), _copy(start), answers=_ANSWERS)
    if not_answered(first):
        raise AssertionError(
            "your e_step returns nothing yet: answer Exercises 3 and 4 first (this cell, and the "
            "ones after it, run your e_step and m_step)."
        )
    resp, _ = _pair_of(first, "your e_step")
    if _as_float(resp) is None:
        compare(resp, _reference_e_step(x, start)[0], name="resp")
    new = _call(m_step, "your m_step", x.copy(), _reference_e_step(x, start)[0], answers=_ANSWERS)
    if not_answered(new):
        raise AssertionError(
            "your m_step returns nothing yet: answer Exercise 4 first (this cell, and the ones "
            "after it, run your e_step and m_step)."
        )
    _params_of(new, "your m_step", n_components)

    def student_e_step(X, params):
        return _pair_of(_run_student(e_step, "your e_step", X.copy(), _copy(params)), "e_step")

    def student_m_step(X, resp):
        return _run_student(m_step, "your m_step", X.copy(), np.array(resp, copy=True))

    run = run_em(x, start, student_e_step, student_m_step, tol=0, max_iter=EM_CHECK_ITER)
    log_likelihood_never_falls(x, run.history, e_step, m_step)
    for snap in run.history:
        truth = _reference_log_likelihood(x, snap.params)
        if not np.isclose(snap.log_likelihood, truth, rtol=1e-7, atol=1e-9):
            message = _log_likelihood_mistake(x, snap.params, snap.log_likelihood)
            raise AssertionError(
                f"The log-likelihood your e_step returns is wrong: at iteration {snap.iteration} "
                f"run_em recorded {snap.log_likelihood:.6g}, but l(theta) at those parameters "
                f"is {truth:.6g}. " + (f"It looks as if {message}" if message else "")
            )
    reference = run_em(
        x, start, _reference_e_step, _reference_m_step, tol=0, max_iter=EM_CHECK_ITER
    )
    weights, rates = _params_of(run.params, "your m_step", n_components)
    compare(weights, reference.params["weights"], name="the weights after the run")
    compare(rates, reference.params["rates"], name="the rates after the run")
    compare(run.log_likelihood, reference.log_likelihood, name="the final log-likelihood")
