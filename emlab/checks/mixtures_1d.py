"""Checks for the exercises on Gaussian mixtures in 1-D.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _call_e_step_1d, _fresh_rng, compare, not_answered

#: The seed of lesson 07's random start: ``rng = np.random.default_rng(24)`` draws the three
#: means uniformly in the data's range, then the three standard deviations uniformly in [1, 10).
GMM_1D_START_SEED = 24


def _gmm_1d_lesson_data_and_start():
    """Lesson 07's data (``three_gaussians()``) and start ``(weights, means, sds)``."""
    from emlab import datasets

    x, _ = datasets.three_gaussians()
    rng = np.random.default_rng(GMM_1D_START_SEED)
    means = rng.uniform(x.min(), x.max(), 3)
    sds = rng.uniform(1.0, 10.0, 3)
    return x, np.full(3, 1 / 3), means, sds


def _fresh_mixture_1d(rng: np.random.Generator):
    """Fresh 1-D mixture data ``x`` and parameters with clearly unequal weights, sds not near 1."""
    n_components = int(rng.integers(2, 5))
    weights = rng.dirichlet(np.ones(n_components))
    while np.abs(weights - 1 / n_components).max() < 0.1:
        weights = rng.dirichlet(np.ones(n_components))
    sds = rng.uniform(1.5, 4.0, n_components)
    # neighbours 1 to 2 average sds apart: the components overlap, so every responsibility
    # matters (well-separated components give responsibilities of 0 and 1 that hide mistakes)
    gaps = rng.uniform(1.0, 2.0, n_components - 1) * sds.mean()
    means = rng.uniform(-10.0, 0.0) + np.concatenate([[0.0], np.cumsum(gaps)])
    n = int(rng.integers(30, 80))
    z = rng.choice(n_components, size=n, p=weights)
    x = means[z] + sds[z] * rng.standard_normal(n)
    return x, weights, means, sds


def _only_resp(value):
    """The exercise asks for the responsibilities alone, not ``(resp, log_likelihood)``."""
    if isinstance(value, tuple) and len(value) == 2:
        raise AssertionError(
            "Your function returned a pair, like emlab's e_step_1d (resp, log_likelihood). "
            "Return only the responsibilities: one array of shape (n, K)."
        )
    return value


def gmm_e_step_1d(function: Callable) -> None:
    """Check ``function(x, weights, means, sds) -> resp`` (lesson 07).

    ``resp[i, k]`` is :math:`r_{ik} = \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2) /
    \\sum_j \\pi_j \\mathcal{N}(x_i \\mid \\mu_j, \\sigma_j^2)`; compared with
    :func:`emlab.gmm.e_step_1d` on fresh data, then on points so far from every component
    that every density underflows to 0.
    """
    from emlab.gmm import e_step_1d

    rng = _fresh_rng()
    x, weights, means, sds = _fresh_mixture_1d(rng)
    K = len(weights)
    expected, _ = e_step_1d(x, weights, means, sds)
    with np.errstate(all="ignore"):
        got = _only_resp(_call_e_step_1d(function, x, weights, means, sds))
    if not_answered(got):
        compare(got, expected, name="resp")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        compare(got, expected, name="resp")
    if got.shape == expected.shape and not np.any(np.isnan(got)):
        mistakes = [
            (
                e_step_1d(x, np.full(K, 1 / K), means, sds)[0],
                "These are the responsibilities with equal weights: you left out the mixing "
                "weights. r_ik is proportional to weights[k] * N(x_i | means[k], sds[k]**2).",
            ),
            (
                e_step_1d(x, weights, means, sds**2)[0],
                "You used the variance sds**2 where the standard deviation belongs "
                "(scipy.stats.norm's scale is the standard deviation sigma_k).",
            ),
            (
                e_step_1d(x, weights, means, np.sqrt(sds))[0],
                "You treated sds as variances (took their square root): sds holds the standard "
                "deviations sigma_k themselves.",
            ),
            (
                expected[:, ::-1],
                "The components are in reverse order: column k must belong to means[k].",
            ),
        ]
        with np.errstate(divide="ignore"):
            mistakes.append(
                (
                    np.log(expected),
                    "These look like log-responsibilities: take np.exp to get r_ik.",
                )
            )
        for wrong, message in mistakes:
            if np.allclose(got, wrong, rtol=1e-6, atol=1e-9) and not np.allclose(
                wrong, expected, rtol=1e-6, atol=1e-9
            ):
                raise AssertionError(message)
        if not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
            raise AssertionError(
                f"The responsibilities of a point should sum to 1 over the components, but the "
                f"row sums range from {got.sum(axis=1).min():.4g} to {got.sum(axis=1).max():.4g}. "
                f"Divide each row by its sum (Bayes' rule: the denominator is p(x_i))."
            )
    compare(got, expected, name="resp", sums_to_one_axis=1)

    # Points 50 to 80 widest standard deviations away from every component: every density
    # exp(-z**2 / 2) with z >= 50 is 0 in floating point.
    spread = sds.max() * rng.uniform(50.0, 80.0, size=6)
    far = np.concatenate([means.max() + spread[:3], means.min() - spread[3:]])
    expected_far, _ = e_step_1d(far, weights, means, sds)
    with np.errstate(all="ignore"):
        got_far = _only_resp(_call_e_step_1d(function, far, weights, means, sds))
    try:
        compare(got_far, expected_far, name="resp", sums_to_one_axis=1)
    except AssertionError as feedback:
        raise AssertionError(
            f"Right for points near the components, but not for points far from all of them "
            f"(x = {far[0]:.4g}, for instance): {feedback} Their densities underflow to 0, so "
            f"work with log-densities (scipy.stats.norm.logpdf) and scipy.special.logsumexp."
        ) from None


def gmm_weights_and_means_1d(function: Callable) -> None:
    """Check ``function(x, resp) -> (weights, means)``, the M-step of lesson 07.

    :math:`N_k = \\sum_i r_{ik}`, :math:`\\pi_k = N_k / n` and
    :math:`\\mu_k = \\sum_i r_{ik} x_i / N_k`; compared with :func:`emlab.gmm.m_step_1d` on
    fresh data and responsibilities.
    """
    from emlab.gmm import m_step, m_step_1d

    rng = _fresh_rng()
    n, K = int(rng.integers(40, 100)), int(rng.integers(2, 5))
    x = rng.normal(rng.uniform(-5.0, 5.0), rng.uniform(2.0, 6.0), size=n)
    resp = rng.dirichlet(np.full(K, 0.7), size=n)
    # Every mistake below must give an answer of its own: redraw when the hard counts come out
    # all equal (then hard / n is 1/K, and the two diagnoses cannot be told apart).
    while np.ptp(np.bincount(resp.argmax(axis=1), minlength=K)) == 0:
        resp = rng.dirichlet(np.full(K, 0.7), size=n)
    expected_weights, expected_means, _ = m_step_1d(x, resp)
    got = _call(function, "your function", x.copy(), resp.copy(), answers=(m_step_1d, m_step))
    if not_answered(got):
        compare(got, expected_weights, name="weights")
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(
            "Return two arrays, the weights and the means: end with `return weights, means`."
        )
    got_weights, got_means = got
    if not_answered(got_weights):
        compare(got_weights, expected_weights, name="weights")
    if not_answered(got_means):
        compare(got_means, expected_means, name="means")
    nk = resp.sum(axis=0)
    hard = np.bincount(resp.argmax(axis=1), minlength=K)
    weight_mistakes = [
        (
            nk,
            "These weights are the N_k themselves (they sum to n): divide by n so that they "
            "sum to 1.",
        ),
        (  # before the hard counts, which can come out equal by chance
            np.full(K, 1 / K),
            "These are equal weights 1/K: the M-step learns the weights from the "
            "responsibilities, N_k / n.",
        ),
        (
            hard / n,
            "These weights count each point once, for its most likely component (a hard "
            "assignment, as in k-means). Add up the responsibilities instead: N_k / n.",
        ),
        (
            nk / K,
            "You divided N_k by the number of components; divide by the number of points n.",
        ),
    ]
    mean_mistakes = [
        (
            x @ resp / n,
            "You divided by n, the number of all points. Each mean divides by N_k = "
            "sum_i r_ik, the number of points its component is responsible for.",
        ),
        (
            x @ resp,
            "These are the weighted sums sum_i r_ik x_i: divide each by N_k = sum_i r_ik.",
        ),
        (
            np.full(K, x.mean()),
            "Every mean is the overall mean of x: count each x_i with its responsibility r_ik, "
            "sum_i r_ik x_i / N_k.",
        ),
        (
            np.array([x[resp.argmax(axis=1) == k].mean() if hard[k] else np.nan for k in range(K)]),
            "These are the means of the points assigned to each component (hard assignments, "
            "as in k-means). Count every point with its responsibility r_ik instead.",
        ),
    ]
    for value, mistakes in ((got_weights, weight_mistakes), (got_means, mean_mistakes)):
        try:
            value = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            continue
        for wrong, message in mistakes:
            if value.shape == wrong.shape and np.allclose(value, wrong, rtol=1e-6, atol=1e-9):
                raise AssertionError(message)
    compare(got_weights, expected_weights, name="weights", n=n)
    compare(got_means, expected_means, name="means", n=n)


#: Lesson 07 numbers the components from left to right: component ``k + 1`` (index ``k``) is
#: the Gaussian with label ``GMM_1D_LEFT_TO_RIGHT[k]`` in ``datasets.three_gaussians()``.
GMM_1D_LEFT_TO_RIGHT = (0, 2, 1)


def gmm_1d_misassigned(n_misassigned) -> None:
    """Check a numeric answer: how many points lesson 07's converged fit puts in the wrong group.

    EM from the lesson's start (:data:`GMM_1D_START_SEED`) on ``three_gaussians()``, run until
    it converges (``tol=1e-8``); each point goes to the component with its largest
    responsibility, and the answer counts the points whose component is not the Gaussian
    that made them (components matched to labels by :data:`GMM_1D_LEFT_TO_RIGHT`).
    Recomputed here with :func:`emlab.gmm.fit_gmm_1d`; never revealed.
    """
    from emlab import datasets
    from emlab.gmm import e_step_1d, fit_gmm_1d

    x, labels = datasets.three_gaussians()
    _, weights, means, sds = _gmm_1d_lesson_data_and_start()
    n = len(x)
    left_to_right = np.array(GMM_1D_LEFT_TO_RIGHT)

    def misassigned(resp):
        return int(np.sum(left_to_right[resp.argmax(axis=1)] != labels))

    converged = fit_gmm_1d(x, weights, means, sds, tol=1e-8, max_iter=1000).resp
    expected = misassigned(converged)

    name = "n_misassigned"
    if not_answered(n_misassigned):
        raise AssertionError(f"{name} is not answered yet: replace the ... with your code.")
    if isinstance(n_misassigned, str | bytes):
        raise AssertionError(f"{name} should be a number, got the text {n_misassigned!r}.")
    try:
        array = np.asarray(n_misassigned, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{name} should be one number, got {type(n_misassigned).__name__}."
        ) from None
    if array.size == n:
        raise AssertionError(
            f"{name} has one entry per point (shape {array.shape}): add them up (np.sum) to "
            f"get one count."
        )
    if array.size != 1:
        raise AssertionError(f"{name} should be one number, but it has shape {array.shape}.")
    value = float(array.reshape(()))
    if value == expected:
        return
    if np.isclose(value, expected / n, rtol=1e-6, atol=0):
        raise AssertionError(
            f"That is a fraction of the {n} points: store the count, a whole number."
        )
    if np.isclose(value, 100 * expected / n, rtol=1e-6, atol=0):
        raise AssertionError("That is a percentage: store the count of points, a whole number.")
    if not np.isfinite(value) or value != round(value):
        raise AssertionError(
            f"{name} counts points, so it is a whole number (yours has a fractional part or is "
            f"not finite). Count with np.sum or np.count_nonzero."
        )
    if not 0 <= value <= n:
        raise AssertionError(f"{name} counts points: it is between 0 and {n}; got {value:.0f}.")
    truth = e_step_1d(x, np.full(3, 1 / 3), *np.array(datasets.THREE_GAUSSIANS)[left_to_right].T)[0]
    mistakes = [
        (
            n - expected,
            "That is the number of points EM puts in the right component; the question asks "
            "for the others.",
        ),
        (
            int(np.sum(converged.argmax(axis=1) != labels)),
            "You compared the column index of the largest responsibility with the data's "
            "labels directly, but the two number the components differently: column k - 1 is "
            "component k, whose label is left_to_right[k - 1]. Translate the columns into "
            "labels with left_to_right before you compare.",
        ),
        (
            misassigned(fit_gmm_1d(x, weights, means, sds, tol=0, max_iter=20).resp),
            "That is the count after 20 iterations, where EM has not converged yet: run it "
            "until it converges (tol=1e-8, max_iter=1000), or use the lesson's run.",
        ),
        (
            misassigned(fit_gmm_1d(x, weights, means, sds, tol=1e-3).resp),
            "EM stopped too early: with the default tol=1e-3 it stops on a slow stretch after "
            "a few iterations. Use tol=1e-8 and max_iter=1000.",
        ),
        (
            misassigned(e_step_1d(x, weights, means, sds)[0]),
            "That count uses the responsibilities of the starting parameters (resp0): use "
            "those of the converged fit, run.resp.",
        ),
        (
            misassigned(truth),
            "That count uses the true parameters; the question asks about EM's converged fit "
            "(run.resp).",
        ),
    ]
    for wrong, message in mistakes:
        if value == wrong != expected:
            raise AssertionError(message)
    direction = "too high" if value > expected else "too low"
    raise AssertionError(
        f"{name} is not right: it is {direction}. Check that you use the converged fit, take "
        f"the largest responsibility of each point (argmax over axis=1), translate columns "
        f"into labels with left_to_right, and count the points whose label differs."
    )


# --- the whole EM loop

#: The stopping rule of the EM-loop exercise: stop when the change in log-likelihood per point
#: is below ``tol``. The check's ``tol``; its fresh data are on a scale (standard deviations 3 to
#: 10) where the ``reg_covar`` floor of emlab's M-step changes the log-likelihood per point by
#: less than 1e-8, a thousandth of it, so a student's M-step with or without the floor stops at
#: the same iteration.
EM_LOOP_TOL = 1e-5

#: The largest number of M-steps the check allows the loop.
EM_LOOP_MAX_ITER = 300

#: How long the student's loop may run, in seconds, before the check calls it endless.
EM_LOOP_SECONDS = 30


def _fresh_em_problem(rng: np.random.Generator):
    """Fresh data ``x`` and a start ``(weights, means, sds)`` for the EM-loop check.

    Redrawn until emlab's EM from that start stops cleanly: after 5 to 120 M-steps, with the
    changes per point on either side of the stop at least 3% away from
    :data:`EM_LOOP_TOL` (so a right loop that differs from emlab's in the last digits stops
    at the same iteration), and with a loop that tests the total change instead (the
    tolerance divided by ``n``) stopping at least 2 M-steps later, before ``max_iter``, so that
    each mistake has a length of its own.

    Returns
    -------
    x, (weights, means, sds), reference, on_total
        The data, the start, and emlab's runs with the per-point and the total test.
    """
    from emlab.gmm import fit_gmm_1d

    while True:
        n_components = int(rng.integers(2, 4))
        sds = rng.uniform(3.0, 10.0, n_components)
        gaps = rng.uniform(2.0, 4.0, n_components - 1) * sds.mean()
        means = rng.uniform(-20.0, 20.0) + np.concatenate([[0.0], np.cumsum(gaps)])
        weights = rng.dirichlet(np.full(n_components, 5.0))
        n = int(rng.integers(300, 600))
        z = rng.choice(n_components, size=n, p=weights)
        x = means[z] + sds[z] * rng.standard_normal(n)
        start = (
            np.full(n_components, 1 / n_components),
            np.sort(rng.choice(x, n_components, replace=False)),
            x.std() * rng.uniform(0.3, 0.7, n_components),
        )
        reference = fit_gmm_1d(x, *start, tol=EM_LOOP_TOL, max_iter=EM_LOOP_MAX_ITER)
        changes = np.abs(np.diff(reference.history.log_likelihood)) / n
        if not (reference.converged and 5 <= reference.n_iter <= 120):
            continue
        if changes[-1] > 0.97 * EM_LOOP_TOL or changes[-2] < 1.03 * EM_LOOP_TOL:
            continue
        on_total = fit_gmm_1d(x, *start, tol=EM_LOOP_TOL / n, max_iter=EM_LOOP_MAX_ITER)
        if not on_total.converged or on_total.n_iter < reference.n_iter + 2:
            continue
        return x, start, reference, on_total


def _call_with_time_limit(function, *args, seconds: float):
    """``_call(function, *args)``, stopped with an ``AssertionError`` after ``seconds``.

    A loop whose stopping rule never fires and that has no ``max_iter`` runs forever; a
    timer (in the main thread, where signals arrive) turns that into feedback.
    """
    import signal
    import threading

    from emlab.em import run_em
    from emlab.gmm import GaussianMixture, fit_gmm, fit_gmm_1d

    def call():
        return _call(
            function,
            "your function",
            *args,
            answers=(fit_gmm_1d, fit_gmm, run_em, GaussianMixture),
        )

    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        return call()

    class _TimeUp(BaseException):  # not an Exception: _call must not report it as the student's
        pass

    def time_up(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call()
    except _TimeUp:
        raise AssertionError(
            f"Your function was still running after {seconds:.0f} seconds (EM on these "
            f"{len(args[0])} points takes well under one): its loop never stops. Stop when the "
            f"change in log-likelihood per point is below tol, and after max_iter M-steps at "
            f"the latest."
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _same(got: np.ndarray, expected: np.ndarray, rtol: float) -> bool:
    return got.shape == expected.shape and np.allclose(got, expected, rtol=rtol, atol=0)


def gmm_em_loop_1d(function: Callable) -> None:
    r"""Check a whole EM loop ``function(x, weights, means, sds, tol, max_iter)`` (lesson 07).

    It must return ``(weights, means, sds, log_likelihoods)``: the final parameters and the
    log-likelihoods :math:`\ell(\theta^{(0)}), \ell(\theta^{(1)}), \dots, \ell(\theta^{(T)})`,
    start included, one per M-step, stopping after the first M-step :math:`T` with
    :math:`|\ell(\theta^{(T)}) - \ell(\theta^{(T-1)})| / n <` ``tol``, or after ``max_iter``.
    That is :func:`emlab.gmm.fit_gmm_1d`'s rule, and the check compares with it on fresh data
    from a fresh start. Using emlab's ``e_step_1d`` and ``m_step_1d`` inside the loop is
    allowed; calling ``fit_gmm_1d``, ``run_em`` or an estimator is not.

    What it names: a log-likelihood that falls, one off by a constant (a missing term),
    per point instead of total, the start left out, a loop that stops an iteration too early
    or too late or never, a stopping rule on the total change, and final parameters an
    M-step ahead of or behind the last log-likelihood.
    """
    from emlab.gmm import fit_gmm_1d

    rng = _fresh_rng()
    x, start, reference, on_total = _fresh_em_problem(rng)
    n, tol, max_iter = len(x), EM_LOOP_TOL, EM_LOOP_MAX_ITER
    with np.errstate(all="ignore"):
        got = _call_with_time_limit(
            function, x.copy(), *(a.copy() for a in start), tol, max_iter, seconds=EM_LOOP_SECONDS
        )
    if not_answered(got):
        raise AssertionError(
            "Your function returned None: end with `return weights, means, sds, log_likelihoods`."
        )
    if not isinstance(got, tuple | list) or len(got) != 4:
        raise AssertionError(
            "Return four things, the final parameters and the log-likelihoods: end with "
            "`return weights, means, sds, log_likelihoods`."
        )
    try:
        lls = np.asarray(got[3], dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            "log_likelihoods should be numbers, one per iteration (a list or a 1-D array)."
        ) from None
    if lls.ndim != 1 or lls.size < 2:
        raise AssertionError(
            f"log_likelihoods should be a list or 1-D array with one number per iteration, "
            f"the start included; yours has shape {lls.shape}."
        )
    if not np.all(np.isfinite(lls)):
        raise AssertionError(
            "log_likelihoods contains NaN or infinity: compute each log p(x_i) with "
            "logsumexp over the components, in log space."
        )

    expected = reference.history.log_likelihood
    T = reference.n_iter
    # EM run on without a test: the log-likelihoods after the reference stopped
    longer = fit_gmm_1d(x, *start, tol=0, max_iter=min(max_iter, max(T + 2, lls.size)))
    extended = longer.history.log_likelihood
    rtol = 1e-7  # a right loop differs from emlab's by less than 1e-8 relative

    def matches_extended(values):
        return values.size <= extended.size and _same(values, extended[: values.size], rtol)

    steps = np.diff(lls)
    falls = np.flatnonzero(steps < -1e-9 * np.abs(lls).max())
    if falls.size:
        t = int(falls[0]) + 1
        raise AssertionError(
            f"Your log-likelihood falls at iteration {t}: from {lls[t - 1]:.6g} to "
            f"{lls[t]:.6g}. EM's never decreases, so a step is wrong. Check the M-step (the "
            f"variances use the new means; sds are the square roots of the variances) and that "
            f"each log-likelihood is computed with the parameters of the same iteration."
        )
    if _same(lls, expected / n, rtol) or matches_extended(lls * n):
        raise AssertionError(
            "These are log-likelihoods per point, l / n. Record the total log-likelihood "
            "l = sum_i log p(x_i); only the stopping rule divides its change by n."
        )
    if lls.size == expected.size and not _same(lls, expected, rtol):
        offset = lls - expected
        if np.allclose(offset, offset[0], rtol=1e-6, atol=1e-6 * np.abs(expected).max()):
            constant = 0.5 * n * np.log(2 * np.pi)
            hint = ""
            if np.isclose(abs(offset[0]), constant, rtol=1e-4):
                hint = (
                    f" That is n/2 log(2 pi) = {constant:.6g}: your log-density leaves out "
                    f"the term -1/2 log(2 pi) of each point."
                )
            raise AssertionError(
                f"Your log-likelihoods are off by the same amount, {offset[0]:.6g}, at every "
                f"iteration: a term that does not depend on the parameters is missing or "
                f"extra in log p(x_i).{hint} The parameters are unaffected, but the log-"
                f"likelihood is log sum_k pi_k N(x_i | mu_k, sigma_k^2), summed over i."
            )
    if not _same(lls, expected, rtol):
        if _same(lls, expected[1:], rtol):
            raise AssertionError(
                "Your list leaves out the log-likelihood at the start, l(theta^(0)): record it "
                "before the first M-step, so that the list has one entry per iteration from 0."
            )
        if matches_extended(lls):
            steps_taken = lls.size - 1
            if steps_taken == max_iter:
                raise AssertionError(
                    f"Your loop ran all max_iter = {max_iter} iterations: its stopping rule "
                    f"never fired, though the change per point fell below tol = {tol:g} at "
                    f"iteration {T}. Stop when abs(l_new - l_old) / n < tol."
                )
            if steps_taken == on_total.n_iter:
                raise AssertionError(
                    f"Your loop stops after {steps_taken} iterations, where EM's rule stops "
                    f"after {T}: it compares the change in the total log-likelihood with tol. "
                    f"Divide the change by n, the number of points: abs(l_new - l_old) / n < tol."
                )
            if steps_taken == 1 and T > 1:
                raise AssertionError(
                    f"Your loop stops after the first iteration, where EM's rule stops after "
                    f"{T}. Is the test reversed? Stop when the change is *below* tol."
                )
            if steps_taken == T + 1:
                raise AssertionError(
                    f"Your loop runs one iteration too many: the change per point fell below "
                    f"tol at iteration {T}, and your loop took one more M-step. Test the "
                    f"change right after computing each new log-likelihood, and stop there."
                )
            if steps_taken == T - 1:
                raise AssertionError(
                    f"Your list stops one iteration short, at iteration {steps_taken}: the "
                    f"log-likelihood of iteration {T}, the first whose change per point is below "
                    f"tol, is missing. Record each new log-likelihood before you test it (and "
                    f"test it against the one just before it)."
                )
            raise AssertionError(
                f"Your log-likelihoods are right, but your loop stops after {steps_taken} "
                f"iterations, where EM's rule stops after {T}: the first iteration whose "
                f"change per point, abs(l_new - l_old) / n, is below tol."
            )
        common = min(lls.size, extended.size)
        wrong = np.flatnonzero(~np.isclose(lls[:common], extended[:common], rtol=rtol, atol=0))
        t = int(wrong[0]) if wrong.size else common
        if t == 0:
            raise AssertionError(
                f"Your log-likelihood at the start is {lls[0]:.6g}, but it should be "
                f"{expected[0]:.6g}: l = sum_i log sum_k pi_k N(x_i | mu_k, sigma_k^2), with "
                f"the starting parameters, computed with logsumexp."
            )
        raise AssertionError(
            f"Your log-likelihoods agree with EM's up to iteration {t - 1}, but at iteration "
            f"{t} yours is {lls[t]:.6g} and EM's is {extended[t]:.6g}. Check the M-step (each "
            f"formula uses the responsibilities of the E-step just before it) and that the "
            f"E-step uses the new parameters."
        )

    # The log-likelihoods are right; now the final parameters.
    names = ("weights", "means", "sds")
    try:
        params = [np.asarray(value, dtype=float) for value in got[:3]]
    except (TypeError, ValueError):
        raise AssertionError("weights, means and sds should be arrays of numbers.") from None

    def params_match(snapshot):
        return all(
            _same(value.ravel(), np.asarray(snapshot.params[name]).ravel(), 1e-5)
            for value, name in zip(params, names, strict=True)
        )

    history = longer.history
    if params_match(history[T]):
        return
    if T + 1 < len(history) and params_match(history[T + 1]):
        raise AssertionError(
            "Your log-likelihoods are right, but the parameters you return are one M-step "
            "ahead of the last of them: you took an M-step after the last E-step. Return the "
            "parameters whose log-likelihood you recorded last."
        )
    if params_match(history[T - 1]):
        raise AssertionError(
            "Your log-likelihoods are right, but the parameters you return are one M-step "
            "behind the last of them (the ones before the last M-step). Return the parameters "
            "whose log-likelihood you recorded last."
        )
    if _same(params[2].ravel(), history[T].params["sds"] ** 2, 1e-5):
        raise AssertionError(
            "You returned the variances sigma_k^2 where the standard deviations sigma_k belong: "
            "take their square root."
        )
    for value, name in zip(params, names, strict=True):
        compare(value, history[T].params[name], name=name, rtol=1e-5, atol=0)
