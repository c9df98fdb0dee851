"""Checks for the exercises of lesson 06, the two coins (a mixture of binomials).

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, _reference_resp, compare, not_answered


def _two_coins(rng: np.random.Generator, n_tosses: int, *, close: bool = False):
    """Fresh trials of two coins: ``heads`` and the heads probabilities ``theta_a, theta_b``.

    ``close=True`` draws two nearly equal coins near 1/2, so that even with thousands of
    tosses per trial every responsibility stays well inside (0, 1) while each trial's probability,
    a product of ``n_tosses`` factors, underflows to 0.
    """
    from emlab.coins import simulate_trials

    if close:
        theta_a = rng.uniform(0.4, 0.6)
        theta_b = theta_a + rng.choice([-1.0, 1.0]) * rng.uniform(0.003, 0.008)
    else:
        theta_a, theta_b = rng.uniform(0.1, 0.9, size=2)
        while abs(theta_a - theta_b) < 0.2:
            theta_a, theta_b = rng.uniform(0.1, 0.9, size=2)
    n_trials = int(rng.integers(20, 60))
    heads, _ = simulate_trials([theta_a, theta_b], n_trials, n_tosses, random_state=rng)
    return heads, float(theta_a), float(theta_b)


def e_step_responsibilities(function: Callable, *, many_tosses: bool = False) -> None:
    """Check ``function(heads, n_tosses, theta_A, theta_B) -> resp`` (lesson 06).

    ``resp[i]`` is :math:`(r_{iA}, r_{iB})`, the posterior probability of each coin
    for trial :math:`i` with both coins equally likely a priori:
    :math:`r_{iA} \\propto \\theta_A^{h_i} (1 - \\theta_A)^{m - h_i}`, :math:`m` tosses per trial.
    Compared with :func:`emlab.coins.e_step` on fresh trials; ``many_tosses=True`` uses 1500
    to 2000 tosses per trial, where a product of probabilities underflows to 0.
    """
    from emlab.coins import e_step

    rng = _fresh_rng()
    n_tosses = int(rng.integers(1500, 2001)) if many_tosses else int(rng.integers(5, 31))
    heads, theta_a, theta_b = _two_coins(rng, n_tosses, close=many_tosses)
    expected, _ = e_step(heads, n_tosses, [theta_a, theta_b])
    try:
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                heads.copy(),
                n_tosses,
                theta_a,
                theta_b,
                answers=(e_step,),
            )
    except AssertionError as feedback:
        if "OverflowError" not in str(feedback):
            raise
        raise AssertionError(
            f"{feedback}. With thousands of tosses per trial, a binomial coefficient or a "
            f"product of probabilities is too large or too small for a float. The coefficient "
            f"is the same for both coins and cancels; work with logarithms."
        ) from None
    if not_answered(got):
        compare(got, expected, name="responsibilities")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        compare(got, expected, name="responsibilities")
    if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return
    if got.shape == expected.shape:
        zero_rows = np.all(got == 0, axis=1)
        if many_tosses and (np.any(np.isnan(got)) or np.any(zero_rows)):
            raise AssertionError(
                "The responsibilities contain NaN (or rows of zeros) for trials of thousands of tosses: "
                "theta**h * (1 - theta)**(m - h), with m = n_tosses, is then a product of "
                "thousands of numbers below 1, which underflows to 0 for both coins, and 0 / 0 is "
                "NaN. Work with "
                "log-likelihoods h log(theta) + (m - h) log(1 - theta) and subtract each row's "
                "maximum before np.exp (the log-sum-exp trick of lesson 00)."
            )
        if np.allclose(got, expected[:, ::-1], atol=1e-6):
            raise AssertionError(
                "The two columns are swapped: column 0 must be the responsibility of coin A "
                "(theta_A), column 1 that of coin B."
            )
        log_thetas = np.log([theta_a, theta_b])
        heads_only = _reference_resp(heads[:, None] * log_thetas[None, :])
        if np.allclose(got, heads_only, atol=1e-6):
            raise AssertionError(
                "These responsibilities use only theta**h, the probability of the heads. The tails are "
                "data too: each of the m - h tails (m = n_tosses) multiplies by (1 - theta)."
            )
        if not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
            raise AssertionError(
                f"The responsibilities of a trial should sum to 1 over the two coins, but the row sums "
                f"range from {got.sum(axis=1).min():.4g} to {got.sum(axis=1).max():.4g}. Divide "
                f"each coin's probability of the trial by the sum over both coins (Bayes' rule)."
            )
    compare(got, expected, name="responsibilities", sums_to_one_axis=1)


def m_step_thetas(function: Callable) -> None:
    """Check ``function(heads, n_tosses, resp) -> thetas`` (lesson 06).

    The answer is :math:`\\theta_k = \\sum_i r_{ik} h_i / (m \\sum_i r_{ik})`, the
    fraction of heads among the tosses each coin is responsible for (:math:`m` tosses per
    trial); compared with :func:`emlab.coins.m_step` on fresh trials and responsibilities.
    """
    from emlab.coins import e_step, expected_counts, m_step

    rng = _fresh_rng()
    n_tosses = int(rng.integers(5, 31))
    heads, theta_a, theta_b = _two_coins(rng, n_tosses)
    guesses = np.clip(np.array([theta_a, theta_b]) + rng.normal(0.0, 0.1, size=2), 0.05, 0.95)
    resp, _ = e_step(heads, n_tosses, guesses)
    expected, _ = m_step(heads, n_tosses, resp, learn_weights=False)
    got = _call(
        function,
        "your function",
        heads.copy(),
        n_tosses,
        resp.copy(),
        answers=(m_step, expected_counts),
    )
    if not_answered(got):
        compare(got, expected, name="thetas")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        compare(got, expected, name="thetas")
    if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return
    if got.shape == expected.shape and not np.any(np.isnan(got)):
        exp_heads, exp_tails = expected_counts(heads, n_tosses, resp)
        overall = heads.sum() / (n_tosses * len(heads))
        mistakes = [
            (
                expected[::-1],
                "The two coins are swapped: thetas[0] is coin A, the coin of resp[:, 0].",
            ),
            (
                exp_heads,
                "These are the expected heads H_k = sum_i r_ik h_i; theta_k is their fraction "
                "of the tosses coin k is responsible for, H_k / (H_k + T_k).",
            ),
            (
                exp_heads / resp.sum(axis=0),
                f"This is off by a factor of n_tosses = {n_tosses}: you divided by the expected "
                f"number of trials, sum_i r_ik; divide by the expected number of tosses, "
                f"n_tosses * sum_i r_ik = H_k + T_k.",
            ),
            (
                exp_heads / np.where(exp_tails > 0, exp_tails, np.nan),
                "You divided the expected heads by the expected tails; divide by heads plus "
                "tails, H_k / (H_k + T_k).",
            ),
            (
                exp_heads / (n_tosses * len(heads)),
                "You divided by all the tosses of all trials; divide by the tosses coin k is "
                "responsible for, n_tosses * sum_i r_ik.",
            ),
            (
                np.full(2, overall),
                "Both coins got the overall fraction of heads: weight each trial's heads and "
                "tosses by the responsibility r_ik of the coin.",
            ),
        ]
        for wrong, message in mistakes:
            if np.allclose(got, wrong, rtol=1e-6, atol=1e-9, equal_nan=False):
                raise AssertionError(message)
    compare(got, expected, name="thetas")


def _do_batzoglou_e_steps(n_e_steps: int):
    """Expected heads and tails of each coin after each of ``n_e_steps`` E-steps."""
    from emlab import datasets
    from emlab.coins import e_step, expected_counts, m_step

    data = datasets.do_batzoglou()
    thetas = np.array([0.60, 0.50])
    counts = []
    for _ in range(n_e_steps):
        resp, _ = e_step(data.heads, data.n_tosses, thetas)
        counts.append(expected_counts(data.heads, data.n_tosses, resp))
        thetas, _ = m_step(data.heads, data.n_tosses, resp, learn_weights=False)
    return counts, thetas


def _do_batzoglou_rounded_second_heads_a() -> float:
    """Coin A's heads in the second E-step if the first M-step's estimates are rounded."""
    from emlab import datasets
    from emlab.coins import e_step, expected_counts

    data = datasets.do_batzoglou()
    _, thetas = _do_batzoglou_e_steps(1)
    resp, _ = e_step(data.heads, data.n_tosses, np.round(thetas, 2))
    heads, _ = expected_counts(data.heads, data.n_tosses, resp)
    return float(heads[0])


def do_batzoglou_second_e_step(heads_to_a) -> None:
    """Check a numeric answer: heads attributed to coin A by the second E-step (lesson 06).

    Do & Batzoglou's five trials, starting from :math:`\\theta_A = 0.60, \\theta_B = 0.50`:
    E-step, M-step, then the second E-step, whose :math:`H_A = \\sum_i r_{iA} h_i` is the
    answer. Recomputed here with :mod:`emlab.coins`; never revealed.
    """
    counts, _ = _do_batzoglou_e_steps(3)
    (first_heads, _), (second_heads, second_tails), (third_heads, _) = counts
    if not_answered(heads_to_a):
        compare(heads_to_a, second_heads[0], name="heads_to_A")
    try:
        value = float(np.asarray(heads_to_a, dtype=float).reshape(()))
    except (TypeError, ValueError):
        raise AssertionError(
            f"heads_to_A should be one number, got {type(heads_to_a).__name__}."
        ) from None

    def near(target):
        return abs(value - target) < 0.006

    if 0 <= value <= 1:
        raise AssertionError(
            "heads_to_A should be a number of heads (a sum over the five trials), "
            "not a probability."
        )
    if near(first_heads[0]):
        raise AssertionError(
            "That is the count of the first E-step (the table in the lesson). The second "
            "E-step starts from the estimates of the first M-step."
        )
    if near(third_heads[0]):
        raise AssertionError("That is one iteration too many: stop at the second E-step.")
    if near(second_heads[1]):
        raise AssertionError("That is coin B's share of the heads; the exercise asks for coin A.")
    if near(second_tails[0]):
        raise AssertionError("That is coin A's share of the tails; the exercise asks for heads.")
    if near(_do_batzoglou_rounded_second_heads_a()) and not near(second_heads[0]):
        raise AssertionError(
            "That is the count from the first M-step's estimates rounded to 0.71 and 0.58. "
            "Rounding moves the answer: use the estimates in full precision (the array the "
            "M-step returns), not the two decimals printed in the lesson."
        )
    compare(value, second_heads[0], name="heads_to_A", rtol=0.0, atol=0.006, reveal=False)


def _reference_em(heads, n_tosses, thetas, n_iter):
    """EM for two equally likely coins, ``n_iter`` iterations: thetas and every log-likelihood."""
    from emlab.coins import fit_coins

    fit = fit_coins(heads, n_tosses, thetas, tol=0, max_iter=n_iter)
    return fit.params["thetas"], np.array(fit.history.log_likelihood)


def _buggy_em(heads, n_tosses, thetas, n_iter, divide):
    """The thetas of EM whose M-step divides the expected heads by ``divide(resp, tails)``."""
    from emlab.coins import e_step, expected_counts

    thetas = np.asarray(thetas, dtype=float)
    for _ in range(n_iter):
        resp, _ = e_step(heads, n_tosses, np.clip(thetas, 1e-12, 1 - 1e-12))
        expected_heads, expected_tails = expected_counts(heads, n_tosses, resp)
        with np.errstate(all="ignore"):
            thetas = expected_heads / divide(resp, expected_tails)
    return thetas


def two_coins_em(function: Callable) -> None:
    """Check a fixed ``function(heads, n_tosses, thetas, n_iter) -> (thetas, log_likelihoods)``.

    The exercise gives an EM for two equally likely coins whose M-step divides each coin's
    expected heads :math:`H_k` by the tosses of all trials, :math:`m n`, instead of the
    tosses coin :math:`k` is responsible for, :math:`m N_k` with :math:`N_k = \\sum_i r_{ik}`.
    The fixed function must return the :math:`\\theta` s after ``n_iter`` iterations and the
    log-likelihood :math:`\\ell(\\theta^{(t)})` for :math:`t = 0, \\dots,` ``n_iter`` (up to a
    constant: with or without the binomial coefficients). Compared with
    :func:`emlab.coins.fit_coins` on fresh trials from a fresh start (lesson 06).
    """
    from emlab.coins import e_step, expected_counts, fit_coins, m_step

    rng = _fresh_rng()
    n_tosses = int(rng.integers(5, 31))
    heads, _, _ = _two_coins(rng, n_tosses)
    start = np.sort(rng.uniform(0.3, 0.9, size=2))[::-1]
    while abs(start[0] - start[1]) < 0.05:
        start = np.sort(rng.uniform(0.3, 0.9, size=2))[::-1]
    n_iter = int(rng.integers(4, 11))  # few: each iteration still moves the thetas
    expected, expected_ll = _reference_em(heads, n_tosses, start, n_iter)
    try:
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                heads.copy(),
                n_tosses,
                start.copy(),
                n_iter,
                answers=(fit_coins, e_step, m_step, expected_counts),
            )
    except AssertionError as feedback:
        if "could not be broadcast" in str(feedback):
            raise AssertionError(
                f"{feedback}. The soft count N_k = sum_i r_ik sums coin k's column of resp over "
                f"the trials, resp.sum(axis=0): one number per coin, like the expected heads."
            ) from None
        if "must lie between 0 and 1" not in str(feedback):
            raise
        raise AssertionError(
            f"{feedback}. An M-step made a theta above 1 (or below 0), and the next E-step "
            f"refused it. theta_k is a fraction of tosses: divide coin k's expected heads by "
            f"its expected tosses, m N_k (dividing by N_k alone, or by the expected tails, "
            f"gives numbers above 1)."
        ) from None
    if not_answered(got):
        compare(got, expected, name="the result")
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError(
            "Your function should return two things, like em_two_coins: the thetas after the "
            "last iteration and the array of log-likelihoods."
        )
    thetas, log_likelihoods = got
    if not_answered(thetas):
        compare(thetas, expected, name="the returned theta")
    try:
        thetas = np.asarray(thetas, dtype=float).reshape(-1)
        log_likelihoods = np.asarray(log_likelihoods, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise AssertionError(
            "The thetas and the log-likelihoods should be arrays of numbers."
        ) from None
    if thetas.shape != expected.shape:
        compare(thetas, expected, name="the returned theta")
    right_thetas = np.allclose(thetas, expected, rtol=1e-9, atol=1e-12)
    if not right_thetas:
        _name_the_em_mistake(heads, n_tosses, start, n_iter, thetas, log_likelihoods, expected)
    if log_likelihoods.shape != expected_ll.shape:
        raise AssertionError(
            f"The thetas are right, but there are {log_likelihoods.size} log-likelihoods for "
            f"n_iter = {n_iter}: there should be n_iter + 1 = {n_iter + 1}, one for the start "
            f"(iteration 0) and one after each iteration."
        )
    offset = log_likelihoods - expected_ll
    if not np.all(np.isfinite(offset)) or not np.allclose(offset, offset[0], atol=1e-6):
        raise AssertionError(
            "The thetas are right, but the log-likelihoods are not those of EM's iterates: entry "
            "t should be l(theta^(t)) = sum_i log(1/2 p(h_i | theta_A) + 1/2 p(h_i | theta_B)) "
            "at the thetas of iteration t (entry 0 at the start), up to a constant."
        )


def _name_the_em_mistake(heads, n_tosses, start, n_iter, thetas, log_likelihoods, expected):
    """Raise the message that names what is still wrong in a fixed EM whose thetas are off."""
    n_trials = len(heads)
    mistakes = [
        (
            lambda resp, tails: n_tosses * n_trials,
            "This is still the bug: your function gives the same thetas as the broken "
            "em_two_coins. Its two thetas always add up to the overall fraction of heads "
            f"({heads.sum() / (n_tosses * n_trials):.3f} on these trials), as if each coin "
            "had tossed every toss of every trial. Which line of the M-step does that?",
        ),
        (
            lambda resp, tails: resp.sum(axis=0),
            "The M-step now divides by N_k = sum_i r_ik, the expected number of trials of coin "
            "k; theta_k is a fraction of tosses: divide by its expected tosses, m N_k.",
        ),
        (
            lambda resp, tails: tails,
            "The M-step divides the expected heads by the expected tails; divide by heads plus "
            "tails, the expected tosses m N_k.",
        ),
    ]
    for divide, message in mistakes:
        wrong = _buggy_em(heads, n_tosses, start, n_iter, divide)
        if np.allclose(thetas, wrong, rtol=1e-6, atol=1e-9, equal_nan=False):
            raise AssertionError(message)
    if np.allclose(thetas, expected[::-1], rtol=1e-6, atol=1e-9):
        raise AssertionError(
            "The two coins are swapped: thetas[0] must stay the coin that started at thetas[0]."
        )
    one_less, _ = _reference_em(heads, n_tosses, start, n_iter - 1)
    one_more, _ = _reference_em(heads, n_tosses, start, n_iter + 1)
    if np.allclose(thetas, one_less, rtol=1e-9, atol=1e-12):
        raise AssertionError("The thetas are one iteration short: run n_iter M-steps.")
    if np.allclose(thetas, one_more, rtol=1e-9, atol=1e-12):
        raise AssertionError("The thetas are one iteration too far: run n_iter M-steps.")
    finite = log_likelihoods[np.isfinite(log_likelihoods)]
    falls = np.flatnonzero(np.diff(finite) < -1e-9 * max(1.0, np.abs(finite).max(initial=1.0)))
    if falls.size:
        raise AssertionError(
            f"Your log-likelihood still falls (first at iteration {falls[0] + 1}), so a bug is "
            f"still there: EM's log-likelihood never decreases. Compare each step with the "
            f"lesson's formulas: the E-step's r_ik (each trial's row sums to 1) and the "
            f"M-step's theta_k = sum_i r_ik h_i / (m N_k)."
        )
    compare(thetas, expected, name="the returned theta")
