"""Exercise checks: compare a student's answer with emlab's reference and say what is off.

Every check

* builds *fresh* data on each call (an unseeded generator), so that passing means
  the code is right, not that a number was copied;
* compares with emlab's own implementation of the same step, and turns away a
  function that simply calls that implementation (see :func:`_call`);
* on a mismatch raises :class:`AssertionError` with a diagnosis a student can act
  on (wrong shape, rows that do not sum to one, off by a factor of n, the
  unstable version that underflows), and returns ``None`` when all is well.

They are called from otter-grader's test cells in the lesson notebooks, so they
must print nothing: otter's doctest runner would read printed text as a wrong
answer.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "coin_a_theta",
    "compare",
    "do_batzoglou_second_e_step",
    "e_step_responsibilities",
    "e_step_two_components",
    "gaussian_log_likelihood",
    "global_warming_parameters",
    "gmm_1d_misassigned",
    "gmm_e_step_1d",
    "gmm_full_covariances",
    "gmm_parameter_count",
    "gmm_weights_and_means_1d",
    "heights_log_likelihood_at_mle",
    "house_prices_kmeans_ari",
    "kmeans_assign",
    "kmeans_blobs_inertia",
    "kmeans_update",
    "m_step_thetas",
    "mle_sigma",
    "not_answered",
    "responsibilities_from_log_joint",
    "responsibility_of_men_at_180",
]


def not_answered(value) -> bool:
    """Whether ``value`` is still a placeholder (``...`` or ``None``)."""
    return value is Ellipsis or value is None


def _fresh_rng() -> np.random.Generator:
    return np.random.default_rng()


def compare(
    got,
    expected,
    *,
    name: str,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    n: int | None = None,
    sums_to_one_axis: int | None = None,
    reveal: bool = True,
) -> None:
    """Raise an ``AssertionError`` that says how ``got`` differs from ``expected``.

    Parameters
    ----------
    got : array-like
        The student's value.
    expected : array-like
        The reference value.
    name : str
        What the value is called in the exercise (used in the message).
    rtol, atol : float
        Tolerances of :func:`numpy.allclose`.
    n : int, optional
        The number of data points; a result off by a factor of ``n`` (or ``n - 1``
        against ``n``) is named as such.
    sums_to_one_axis : int, optional
        The axis along which ``expected`` sums to one (probabilities); a ``got``
        that does not is named as such.
    reveal : bool
        Whether the message may show the expected value. Code exercises run on fresh
        data, so showing it gives nothing away; a numeric answer must not be revealed.
    """
    if not_answered(got):
        raise AssertionError(f"{name} is not answered yet: replace the ... with your code.")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be numbers, got {type(got).__name__}.") from None
    expected = np.asarray(expected, dtype=float)
    if got.shape != expected.shape:
        hint = ""
        if got.ndim == 2 and got.shape == expected.shape[::-1]:
            hint = " It looks transposed: rows should be data points, columns components."
        elif got.size == 1 and expected.size == 1:
            got, expected = got.reshape(()), expected.reshape(())
        if got.shape != expected.shape:
            raise AssertionError(
                f"{name} has shape {got.shape}, but it should have shape {expected.shape}.{hint}"
            )
    if np.any(np.isnan(got)):
        raise AssertionError(
            f"{name} contains NaN. A 0/0 or inf - inf happened: often exp() of a very negative "
            f"number underflowed to 0. Work in log space (subtract the maximum before exp)."
        )
    if np.allclose(got, expected, rtol=rtol, atol=atol):
        return
    if sums_to_one_axis is not None:
        sums = got.sum(axis=sums_to_one_axis)
        if not np.allclose(sums, 1.0, atol=1e-6):
            other = 1 - sums_to_one_axis if got.ndim == 2 else None
            extra = ""
            if other is not None and np.allclose(got.sum(axis=other), 1.0, atol=1e-6):
                extra = (
                    f" (they sum to 1 along axis {other}: normalize along axis {sums_to_one_axis})"
                )
            raise AssertionError(
                f"{name} should sum to 1 along axis {sums_to_one_axis}, but the sums range "
                f"from {sums.min():.4g} to {sums.max():.4g}{extra}."
            )
    nonzero = np.abs(expected) > 1e-12
    if np.any(nonzero):
        ratio = got[nonzero] / expected[nonzero]
        factor = float(ratio.flat[0])
        if np.allclose(ratio, factor, rtol=1e-6) and not np.isclose(factor, 1.0):
            hint = ""
            if n is not None and (np.isclose(factor, n) or np.isclose(factor, 1 / n)):
                hint = f" That is a factor of n = {n}: a sum where a mean belongs, or the reverse?"
            elif n is not None and np.isclose(factor, np.sqrt(n / (n - 1))):
                hint = " That is sqrt(n / (n - 1)): you divided by n - 1, the MLE divides by n."
            elif n is not None and np.isclose(factor, n / (n - 1)):
                hint = " That is n / (n - 1): you divided by n - 1, the MLE divides by n."
            if hint or (got.size > 1 and reveal):
                raise AssertionError(f"{name} is off by a factor of {factor:.6g}.{hint}")
    if not reveal:
        direction = "too high" if np.mean(got - expected) > 0 else "too low"
        raise AssertionError(
            f"{name} is not right: it is {direction}. Check each step of the formula."
        )
    worst = np.unravel_index(np.argmax(np.abs(got - expected)), expected.shape) if got.ndim else ()
    raise AssertionError(
        f"{name} is not right: at index {tuple(int(i) for i in worst)} it is "
        f"{got[worst]:.6g} but should be {expected[worst]:.6g}."
    )


def _answers_called(function: Callable, answers) -> list[str]:
    """The names of those of ``answers`` that ``function``'s own code calls.

    The calls in ``function``'s source (``kmeans.assign(...)``, ``assign(...)``,
    ``emlab.kmeans.assign(...)``) are looked up in its module's globals, so whatever a
    name was imported as, only the very functions in ``answers`` count. Without a
    source to read (a built-in, a function made by ``exec``) nothing counts.
    """
    import ast
    import builtins
    import inspect
    import textwrap

    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return []
    namespace = getattr(function, "__globals__", {})
    local = {  # names the function binds itself (arguments, assignments) are not the globals
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
    } | {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    called = []
    for node in ast.walk(tree):
        target, path = getattr(node, "func", None) if isinstance(node, ast.Call) else None, []
        while isinstance(target, ast.Attribute):
            path.append(target.attr)
            target = target.value
        if not isinstance(target, ast.Name) or target.id in local:
            continue
        found = namespace.get(target.id, getattr(builtins, target.id, None))
        for attribute in reversed(path):
            found = getattr(found, attribute, None)
        for answer in answers:
            name = f"{answer.__module__}.{answer.__qualname__}"
            if found is answer and name not in called:
                called.append(name)
    return called


def _call(function: Callable, name: str, *args, answers=()):
    """``function(*args)``, with what went wrong as an ``AssertionError`` a student can act on.

    ``answers`` are emlab's own solutions to the exercise: a function that calls one of
    them is turned away before it runs (the check compares with them, so it would pass
    without the student having written the step).
    """
    if not_answered(function) or not callable(function):
        raise AssertionError(f"{name} is not defined yet: write the function first.")
    called = _answers_called(function, answers)
    if called:
        raise AssertionError(
            f"{name} calls {' and '.join(called)}, emlab's own solution to this exercise. "
            f"Write the step yourself with numpy: the check compares your code with that "
            f"function."
        )
    try:
        return function(*args)
    except NotImplementedError:
        raise AssertionError(f"{name} is not implemented yet: replace the stub.") from None
    except Exception as exc:  # the student's code failed: say so plainly
        raise AssertionError(f"{name} raised {type(exc).__name__}: {exc}") from None


def _call_e_step_1d(function: Callable, x, weights, means, sds):
    """A student's 1-D E-step ``function(x, weights, means, sds)`` on copies of the arguments."""
    from emlab.gmm import e_step, e_step_1d

    return _call(
        function,
        "your function",
        x.copy(),
        weights.copy(),
        means.copy(),
        sds.copy(),
        answers=(e_step_1d, e_step),
    )


# --- 00: how exercises work -------------------------------------------------------------------


def _reference_resp(log_joint: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp

    return np.exp(log_joint - logsumexp(log_joint, axis=1, keepdims=True))


def responsibilities_from_log_joint(function: Callable) -> None:
    """Check ``function(log_joint) -> resp`` on fresh data, far-away points included.

    ``log_joint[i, k]`` is :math:`\\log \\pi_k + \\log p(x_i \\mid z_i = k)`; the answer is
    :math:`r_{ik} = \\exp(\\text{log\\_joint}_{ik}) / \\sum_j \\exp(\\text{log\\_joint}_{ij})`.
    """
    rng = _fresh_rng()
    n, k = int(rng.integers(20, 60)), int(rng.integers(2, 5))
    moderate = rng.normal(-3.0, 2.0, size=(n, k))
    compare(
        _call(function, "your function", moderate.copy()),
        _reference_resp(moderate),
        name="resp",
        sums_to_one_axis=1,
    )
    # points far from every component: densities of about exp(-1000) underflow to 0
    far = moderate - 1000.0
    with np.errstate(all="ignore"):
        got = _call(function, "your function", far.copy())
    compare(got, _reference_resp(far), name="resp for far-away points", sums_to_one_axis=1)


def mle_sigma(sigma_hat, x) -> None:
    """Check a numeric answer: the maximum-likelihood standard deviation of ``x``."""
    x = np.asarray(x, dtype=float)
    expected = np.sqrt(np.mean((x - x.mean()) ** 2))
    compare(sigma_hat, expected, name="sigma_hat", n=len(x), reveal=False)


# --- 04: two coins -----------------------------------------------------------------------------


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
    """Check ``function(heads, n_tosses, theta_A, theta_B) -> resp`` (lesson 04).

    ``resp[i]`` is :math:`(r_{iA}, r_{iB})`, the posterior probability of each coin
    for trial :math:`i` with both coins equally likely a priori:
    :math:`r_{iA} \\propto \\theta_A^{h_i} (1 - \\theta_A)^{n - h_i}`. Compared with
    :func:`emlab.coins.e_step` on fresh trials; ``many_tosses=True`` uses 1500 to 2000
    tosses per trial, where a product of probabilities underflows to 0.
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
                "theta**h * (1 - theta)**(n - h) is then a product of thousands of numbers "
                "below 1, which underflows to 0 for both coins, and 0 / 0 is NaN. Work with "
                "log-likelihoods h log(theta) + (n - h) log(1 - theta) and subtract each row's "
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
                "data too: each of the n - h tails multiplies by (1 - theta)."
            )
        if not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
            raise AssertionError(
                f"The responsibilities of a trial should sum to 1 over the two coins, but the row sums "
                f"range from {got.sum(axis=1).min():.4g} to {got.sum(axis=1).max():.4g}. Divide "
                f"each coin's probability of the trial by the sum over both coins (Bayes' rule)."
            )
    compare(got, expected, name="responsibilities", sums_to_one_axis=1)


def m_step_thetas(function: Callable) -> None:
    """Check ``function(heads, n_tosses, resp) -> thetas`` (lesson 04).

    The answer is :math:`\\theta_k = \\sum_i r_{ik} h_i / (n \\sum_i r_{ik})`, the
    fraction of heads among the tosses each coin is responsible for; compared with
    :func:`emlab.coins.m_step` on fresh trials and responsibilities.
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
    """Check a numeric answer: heads attributed to coin A by the second E-step (lesson 04).

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


# --- 05: Gaussian mixtures in 1-D -------------------------------------------------------------

#: The seed of lesson 05's random start: ``rng = np.random.default_rng(24)`` draws the three
#: means uniformly in the data's range, then the three standard deviations uniformly in [1, 10).
GMM_1D_START_SEED = 24


def _gmm_1d_lesson_data_and_start():
    """Lesson 05's data (``three_gaussians()``) and start ``(weights, means, sds)``."""
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
    """Check ``function(x, weights, means, sds) -> resp`` (lesson 05).

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
    """Check ``function(x, resp) -> (weights, means)``, the M-step of lesson 05.

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


#: Lesson 05 numbers the components from left to right: component ``k + 1`` (index ``k``) is
#: the Gaussian with label ``GMM_1D_LEFT_TO_RIGHT[k]`` in ``datasets.three_gaussians()``.
GMM_1D_LEFT_TO_RIGHT = (0, 2, 1)


def gmm_1d_misassigned(n_misassigned) -> None:
    """Check a numeric answer: how many points lesson 05's converged fit puts in the wrong group.

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


# --- 01: maximum likelihood -------------------------------------------------------------------


def _one_number(value, *, name: str) -> float:
    """``value`` as one float, or an AssertionError that says why it is not one."""
    if not_answered(value):
        raise AssertionError(f"{name} is not answered yet: replace the ... with your code.")
    if isinstance(value, (str, bytes)):
        raise AssertionError(f"{name} should be a number, got the text {value!r}.")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{name} should be a number, got {type(value).__name__}.") from None
    if array.size != 1:
        raise AssertionError(f"{name} should be one number, but it has shape {array.shape}.")
    return float(array.reshape(()))


def _same_number(a: float, b: float, rtol: float = 1e-9) -> bool:
    return bool(np.isclose(a, b, rtol=rtol, atol=1e-9))


def _diagnose_log_likelihood(got, x, mu: float, sigma: float, *, name: str, reveal: bool) -> None:
    """Name the usual slips in a Gaussian log-likelihood ``got`` of ``x`` at ``(mu, sigma)``."""
    from emlab.mle import gaussian_log_likelihood, gaussian_mle

    n = len(x)
    expected = gaussian_log_likelihood(x, mu, sigma)
    if not not_answered(got) and np.ndim(got) == 1 and np.size(got) == n > 1:
        raise AssertionError(
            f"{name} has one value per data point (shape ({n},)): those are the log densities "
            f"log p(x_i | mu, sigma). The log-likelihood is their sum, one number."
        )
    value = _one_number(got, name=name)
    if np.isnan(value):
        raise AssertionError(f"{name} is NaN: check for log of a negative number or 0 * inf.")
    if value == 0.0 or value == -np.inf:
        raise AssertionError(
            f"{name} is {value}: the product of the {n} densities underflowed to 0 (it is far "
            f"below the smallest float, about 1e-324). Never multiply the densities: add their "
            f"logs, sum_i log p(x_i | mu, sigma)."
        )
    if value == np.inf:
        raise AssertionError(
            f"{name} is inf: a product of densities overflowed. Add the log densities instead."
        )
    if _same_number(value, expected):
        return
    if value > 0.0 and _same_number(float(np.log(value)), expected):
        raise AssertionError(
            f"{name} is the likelihood itself, the product of the densities: return its log, "
            f"computed as a sum of log densities (the product underflows for large n)."
        )
    constant = 0.5 * n * np.log(2.0 * np.pi)
    sum_of_squares = float(np.sum((np.asarray(x) - mu) ** 2))
    slips = [
        (
            expected / np.log(10.0),
            "it is the log-likelihood in base 10. Use the natural logarithm, np.log, "
            "not np.log10: the formulas of this course (and the constant) assume it.",
        ),
        (
            expected + constant,
            "it is missing the constant -n/2 log(2 pi). The constant does not move the "
            "maximum, but the log-likelihood includes it (and comparing models needs it).",
        ),
        (
            expected + n * np.log(sigma),
            "it is missing the term -n log(sigma), from the 1/sigma in front of each density.",
        ),
        (
            -constant - 0.5 * n * np.log(sigma) - sum_of_squares / (2.0 * sigma),
            "it treats sigma as the variance: the density has sigma**2 in the exponent "
            "and 1/sigma in front.",
        ),
        (-expected, "it has the wrong sign: that is the negative log-likelihood."),
        (expected / n, "it is the mean of the log densities: the log-likelihood is their sum."),
    ]
    if n > 1 and np.ptp(x) > 0:
        slips.append(
            (
                gaussian_log_likelihood(x, *gaussian_mle(x)),
                "it is the log-likelihood at the maximum likelihood estimate of x, not at the "
                "mu and sigma given: use the arguments mu and sigma.",
            )
        )
    for wrong, diagnosis in slips:
        if _same_number(value, wrong):
            raise AssertionError(f"{name} is not right: {diagnosis}")
    compare(value, expected, name=name, n=n, reveal=reveal, rtol=1e-9)


def gaussian_log_likelihood(function: Callable) -> None:
    """Check ``function(x, mu, sigma) -> float``, the Gaussian log-likelihood, on fresh data.

    The reference is :func:`emlab.mle.gaussian_log_likelihood`,
    :math:`\\ell(\\mu, \\sigma) = -\\frac{n}{2}\\log(2\\pi) - n\\log\\sigma
    - \\frac{1}{2\\sigma^2}\\sum_i (x_i - \\mu)^2`. A small sample comes first, then a
    large one whose product of densities underflows to 0.
    """
    from emlab import mle

    rng = _fresh_rng()
    for n, sd_range in ((int(rng.integers(20, 60)), (0.5, 5.0)), (5000, (2.0, 20.0))):
        true_mu, true_sd = rng.uniform(-50.0, 200.0), rng.uniform(*sd_range)
        x = rng.normal(true_mu, true_sd, size=n)
        mu = float(true_mu + true_sd * rng.normal())
        sigma = float(true_sd * rng.uniform(0.7, 1.5))
        with np.errstate(all="ignore"):
            got = _call(
                function,
                "your function",
                x.copy(),
                mu,
                sigma,
                answers=(mle.gaussian_log_likelihood, mle.gaussian_likelihood),
            )
        _diagnose_log_likelihood(
            got, x, mu, sigma, name=f"log_likelihood(x, mu, sigma) with n = {n}", reveal=True
        )


def heights_log_likelihood_at_mle(value) -> None:
    """Check a numeric answer: the log-likelihood of ``datasets.heights()`` at its MLE."""
    from emlab import datasets
    from emlab.mle import gaussian_log_likelihood, gaussian_mle

    x = datasets.heights()
    mu_hat, sigma_hat = gaussian_mle(x)
    name = "ell_hat"
    got = _one_number(value, name=name)
    expected = gaussian_log_likelihood(x, mu_hat, sigma_hat)
    if _same_number(got, expected):
        return
    if _same_number(got, gaussian_log_likelihood(x, mu_hat, float(np.std(x, ddof=1)))):
        raise AssertionError(
            f"{name} is the log-likelihood at sigma computed with n - 1. The maximum is at the "
            f"MLE, which divides by n (np.std(x), ddof=0)."
        )
    if _same_number(got, gaussian_log_likelihood(x, 170.0, 10.0)):
        raise AssertionError(
            f"{name} is the log-likelihood at the true (170, 10), not at the estimates "
            f"(mu_hat, sigma_hat) from the data."
        )
    if _same_number(got, expected, rtol=1e-6):
        raise AssertionError(
            f"{name} is close but not exact: compute it in code rather than typing a rounded "
            f"number."
        )
    _diagnose_log_likelihood(got, x, mu_hat, sigma_hat, name=name, reveal=False)


def coin_a_theta(theta_hat) -> None:
    """Check a numeric answer: the MLE of coin A's heads probability in Do & Batzoglou's trials."""
    from emlab import datasets
    from emlab.mle import bernoulli_mle

    data = datasets.do_batzoglou()
    is_a = data.coins == "A"
    name = "theta_A_hat"
    got = _one_number(theta_hat, name=name)
    expected = bernoulli_mle(data.heads[is_a], data.n_tosses)
    if _same_number(got, expected):
        return
    if not 0.0 <= got <= 1.0:
        raise AssertionError(
            f"{name} = {got:.4g} is not a probability (between 0 and 1). Pool coin A's trials: "
            f"divide its total number of heads by its total number of tosses (n_tosses per "
            f"trial, times its number of trials), not by the number of trials or by n_tosses."
        )
    slips = [
        (1.0 - expected, "it is the fraction of tails, not of heads."),
        (
            bernoulli_mle(data.heads, data.n_tosses),
            "it uses all five trials; use only the trials in which coin A was tossed.",
        ),
        (bernoulli_mle(data.heads[~is_a], data.n_tosses), "it is coin B's estimate, not coin A's."),
    ]
    for wrong, diagnosis in slips:
        if _same_number(got, wrong):
            raise AssertionError(f"{name} is not right: {diagnosis}")
    compare(got, expected, name=name, reveal=False)


# --- 02: latent variables and EM ---------------------------------------------------------------


def _two_component_problem(rng: np.random.Generator):
    """Fresh heights-like data and a two-component 1-D mixture with unequal weights and sds."""
    n = int(rng.integers(20, 60))
    x = rng.normal(170.0, 12.0, size=n)
    low, high = (0.15, 0.35) if rng.random() < 0.5 else (0.65, 0.85)
    first = rng.uniform(low, high)
    weights = np.array([first, 1.0 - first])
    means = np.array([rng.uniform(150.0, 166.0), rng.uniform(172.0, 190.0)])
    sds = np.array([rng.uniform(4.0, 7.0), rng.uniform(8.0, 11.0)])
    return x, weights, means, rng.permutation(sds)


def _first_match(got, candidates, *, rtol: float = 1e-6) -> str | None:
    """The message of the first (value, message) candidate that ``got`` equals, if any."""
    for value, message in candidates:
        if np.shape(got) == np.shape(value) and np.allclose(got, value, rtol=rtol, atol=1e-12):
            return message
    return None


def e_step_two_components(function: Callable) -> None:
    """Check ``function(x, weights, means, sds) -> resp`` for a two-component 1-D mixture.

    ``resp[i, k]`` :math:`= r_{ik} = \\pi_k \\mathcal{N}(x_i \\mid \\mu_k, \\sigma_k^2) / \\sum_j
    \\pi_j \\mathcal{N}(x_i \\mid \\mu_j, \\sigma_j^2)`, compared with
    :func:`emlab.gmm.e_step_1d` on fresh data with unequal weights and standard deviations.
    """
    from scipy.stats import norm

    from emlab.gmm import e_step_1d

    x, weights, means, sds = _two_component_problem(_fresh_rng())
    got = _call_e_step_1d(function, x, weights, means, sds)
    if isinstance(got, tuple):
        raise AssertionError(
            "your function returned a tuple: return only the responsibilities, "
            "an array of shape (n, 2)."
        )
    expected, _ = e_step_1d(x, weights, means, sds)
    densities = norm.pdf(x[:, np.newaxis], means, sds)
    if not not_answered(got):
        try:
            values = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            values = None
        message = None
        if values is not None and values.shape == expected.shape:
            message = _first_match(
                values,
                [
                    (
                        weights * densities,
                        "resp holds the joint densities pi_k N(x_i | mu_k, sigma_k^2), not yet "
                        "normalized: divide each row by its sum, p(x_i).",
                    ),
                    (
                        densities,
                        "resp holds the densities N(x_i | mu_k, sigma_k^2): multiply each by its "
                        "weight pi_k, then divide each row by its sum.",
                    ),
                    (
                        e_step_1d(x, [0.5, 0.5], means, sds)[0],
                        "resp leaves out the mixing weights: r_ik is proportional to "
                        "pi_k N(x_i | mu_k, sigma_k^2), not to the density alone.",
                    ),
                    (
                        e_step_1d(x, weights, means, sds**2)[0],
                        "resp uses the variance sigma_k^2 where the standard deviation sigma_k "
                        "belongs (scipy.stats.norm's scale is the standard deviation).",
                    ),
                    (
                        expected[:, ::-1],
                        "resp has its columns swapped: column k must belong to component k "
                        "(weights[k], means[k], sds[k]).",
                    ),
                ],
            )
        if message is not None:
            raise AssertionError(message)
    compare(got, expected, name="resp", sums_to_one_axis=1)


#: The parameters of lesson 2's numeric exercise: EM's estimates on the heights, rounded.
#: Component 0 is the women, component 1 the men.
HEIGHTS_EXERCISE_PARAMS = {"weights": (0.58, 0.42), "means": (163.6, 178.8), "sds": (7.3, 6.3)}


def responsibility_of_men_at_180(r_men) -> None:
    """Check a numeric answer: the men's responsibility for a person 180 cm tall (lesson 2).

    :math:`r_1 = \\pi_1 \\mathcal{N}(180 \\mid \\mu_1, \\sigma_1^2) / \\sum_k \\pi_k
    \\mathcal{N}(180 \\mid \\mu_k, \\sigma_k^2)` under :data:`HEIGHTS_EXERCISE_PARAMS`;
    answers rounded to three decimals pass.
    """
    from scipy.stats import norm

    from emlab.gmm import e_step_1d

    weights, means, sds = (
        np.array(HEIGHTS_EXERCISE_PARAMS[key]) for key in ("weights", "means", "sds")
    )
    x = np.array([180.0])
    resp = e_step_1d(x, weights, means, sds)[0][0]
    expected = resp[1]
    try:
        value = np.asarray(r_men, dtype=float)
    except (TypeError, ValueError):
        value = np.array([])  # not numbers: compare() below says so
    if value.size == 2 and np.allclose(value.ravel(), resp, atol=1e-3):
        raise AssertionError(
            "r_men holds both responsibilities: store one number, the men's (component 1)."
        )
    if value.size == 1 and not not_answered(r_men):
        value = float(value.reshape(()))
        if np.isclose(value, expected, rtol=1e-3):
            return
        density = norm.pdf(180.0, means[1], sds[1])
        message = _first_match(
            value,
            [
                (
                    resp[0],
                    "r_men is the women's responsibility (component 0); the men are component 1.",
                ),
                (100 * expected, "r_men is a percentage: give it as a probability, 0 to 1."),
                (
                    weights[1] * density,
                    "r_men is pi_1 N(180 | mu_1, sigma_1^2), a joint density, not a "
                    "probability: divide it by p(180), the sum over both components.",
                ),
                (
                    density,
                    "r_men is the density N(180 | mu_1, sigma_1^2), not a probability: "
                    "weight each component's density by pi_k and normalize.",
                ),
                (
                    e_step_1d(x, [0.5, 0.5], means, sds)[0][0, 1],
                    "r_men leaves out the mixing weights pi_k (they are not equal here).",
                ),
                (
                    e_step_1d(x, weights, means, sds**2)[0][0, 1],
                    "r_men uses the variances sigma_k^2 where the standard deviations "
                    "sigma_k belong.",
                ),
            ],
            rtol=1e-3,
        )
        if message is not None:
            raise AssertionError(message)
        if not 0.0 <= value <= 1.0:
            raise AssertionError(
                f"r_men = {value:.4g} is not a probability: a responsibility lies between 0 and 1."
            )
        if abs(value - expected) < 0.01:
            raise AssertionError(
                "r_men is close, but not under the parameters of the task: use exactly the rounded "
                "values it gives, pi = (0.58, 0.42), mu = (163.6, 178.8) cm and sigma = (7.3, 6.3) "
                "cm (not fit.params, whose extra digits change the third decimal)."
            )
    compare(r_men, expected, name="r_men", rtol=1e-3, reveal=False)


def _count_without_hidden(causes: int, outcomes: int) -> int:
    """Binary causes with no parents, each outcome depending on every cause and earlier outcome."""
    return causes + 2**causes * (2**outcomes - 1)


def _count_with_hidden(causes: int, outcomes: int, states: int) -> int:
    """Binary causes -> hidden factor with ``states`` states (a table) -> binary outcomes."""
    return causes + 2**causes * (states - 1) + outcomes * states


def global_warming_parameters(n_full, n_hidden, *, causes=3, outcomes=4, states=3) -> None:
    """Check a numeric answer: the parameter counts of the two global-warming models (lesson 2).

    With ``causes`` binary causes, ``outcomes`` binary outcomes and a hidden factor with
    ``states`` states: :math:`C + 2^C (2^E - 1)` without the hidden factor and
    :math:`C + 2^C (K - 1) + E K` with it.
    """
    C, E, K = causes, outcomes, states
    full = [
        (
            2**C * (2**E - 1),
            "n_full leaves out the causes themselves: each binary cause without parents "
            "needs one number, P(cause = 1).",
        ),
        (
            2 * _count_without_hidden(C, E),
            "n_full counts two numbers per binary distribution: P(= 0 | parents) is "
            "1 - P(= 1 | parents), so only one is free.",
        ),
        (
            2 ** (C + E) - 1,
            "n_full is the size of a table over all C + E variables together; the model in "
            "the lesson keeps the causes independent of each other.",
        ),
        (
            _count_without_hidden(C, E - 1),
            f"n_full counts {E - 1} outcomes; with glacier melt there are {E}.",
        ),
    ]
    hidden = [
        (
            _count_with_hidden(C, E, K) - C,
            "n_hidden leaves out the causes themselves: each binary cause without parents "
            "needs one number, P(cause = 1).",
        ),
        (
            C + 2**C * K + E * K,
            "n_hidden gives the hidden factor K numbers per configuration of the causes; "
            "its K probabilities sum to 1, so K - 1 are free.",
        ),
        (
            C + 2**C * (K - 1) + E * (K - 1),
            "n_hidden gives each outcome K - 1 numbers; a binary outcome needs one number, "
            "P(outcome = 1 | h), for each of the K states h of the hidden factor.",
        ),
        (
            _count_with_hidden(C, E, 2),
            f"n_hidden is the count for a hidden factor with 2 states; here it has K = {K}.",
        ),
        (
            _count_with_hidden(C, E - 1, K),
            f"n_hidden counts {E - 1} outcomes; with glacier melt there are {E}.",
        ),
    ]
    for got, expected, mistakes, name in (
        (n_full, _count_without_hidden(C, E), full, "n_full"),
        (n_hidden, _count_with_hidden(C, E, K), hidden, "n_hidden"),
    ):
        if not not_answered(got):
            try:
                value = float(np.asarray(got, dtype=float).reshape(()))
            except (TypeError, ValueError):
                value = None
            if value is not None and value != expected:
                message = _first_match(value, [(float(v), m) for v, m in mistakes])
                if message is not None:
                    raise AssertionError(message)
        compare(got, expected, name=name, reveal=False)


# --- 03: k-means -------------------------------------------------------------------------------


def _kmeans_problem(rng: np.random.Generator):
    """Fresh points around a few random centroids: (X, centroids, labels), every label used."""
    n, d, k = int(rng.integers(40, 90)), int(rng.integers(2, 5)), int(rng.integers(3, 6))
    centroids = rng.normal(0.0, 3.0, size=(k, d))
    labels = rng.permutation(np.concatenate([np.arange(k), rng.integers(0, k, size=n - k)]))
    X = centroids[labels] + rng.normal(size=(n, d))
    return X, centroids, labels


def _kmeans_as_numbers(got, name: str, what: str) -> np.ndarray:
    if not_answered(got):
        raise AssertionError(
            f"{name} returned nothing: replace the ... with your code and return {what}."
        )
    try:
        return np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None


def kmeans_assign(function: Callable) -> None:
    """Check ``function(X, centroids) -> labels``, the k-means E-step, on fresh data.

    The answer is :math:`z_i = \\arg\\min_k \\lVert x_i - \\mu_k \\rVert^2`, as
    :func:`emlab.kmeans.assign` computes it (Euclidean or squared distances both do).
    """
    from emlab.kmeans import assign, squared_distances

    X, centroids, _ = _kmeans_problem(_fresh_rng())
    (n, _), k = X.shape, len(centroids)
    got = _call(
        function, "your function", X.copy(), centroids.copy(), answers=(assign, squared_distances)
    )
    values = _kmeans_as_numbers(got, "your function", "the labels")
    if values is None:
        raise AssertionError("the labels should be numbers: one cluster index per point.")
    distances = squared_distances(X, centroids)
    if values.shape == (n, k):
        if np.allclose(values, distances) or np.allclose(values, np.sqrt(distances)):
            raise AssertionError(
                f"your function returned the distances, shape (n, K) = {values.shape}. Return "
                f"the index of the nearest centroid of each point instead: the argmin of each "
                f"row (axis=1)."
            )
        raise AssertionError(
            f"the labels have shape (n, K) = {values.shape}, but there should be one label per "
            f"point, shape ({n},): take the argmin over the centroids, axis=1."
        )
    if values.shape == (k,):
        raise AssertionError(
            f"the labels have shape ({k},), one per centroid, but there should be one per point, "
            f"shape ({n},): take the argmin along axis=1 (over the centroids of each point), "
            f"not axis=0."
        )
    if values.shape != (n,):
        raise AssertionError(
            f"the labels have shape {values.shape}, but there should be one per point, "
            f"shape ({n},)."
        )
    nearest = distances.min(axis=1)
    if np.allclose(values, nearest) or np.allclose(values, np.sqrt(nearest)):
        raise AssertionError(
            "your function returned the distance to the nearest centroid (min), not its index: "
            "use argmin instead of min."
        )
    if np.any(values != np.round(values)):
        raise AssertionError(
            "the labels should be whole numbers: the index (0 to K-1) of the nearest centroid."
        )
    labels = values.astype(np.int64)
    expected = assign(X, centroids)
    if np.array_equal(labels, expected):
        return
    if np.array_equal(labels, distances.argmax(axis=1)):
        raise AssertionError(
            "your labels point to the farthest centroid: use argmin, not argmax, of the distances."
        )
    if np.array_equal(labels, expected + 1):
        raise AssertionError(
            "your labels start at 1, but cluster indices start at 0 (the row of the centroid)."
        )
    wrong = np.flatnonzero(labels != expected)
    raise AssertionError(
        f"{wrong.size} of {n} points got the wrong cluster: point {wrong[0]} is nearest to "
        f"centroid {expected[wrong[0]]}, but your label is {labels[wrong[0]]}. Check that you sum "
        f"the squared differences over the coordinates (the last axis)."
    )


def kmeans_update(function: Callable) -> None:
    """Check ``function(X, labels, n_clusters) -> centroids``, the k-means M-step, on fresh data.

    The answer is :math:`\\mu_k = \\frac{1}{n_k} \\sum_{i : z_i = k} x_i`, as
    :func:`emlab.kmeans.update` computes it (every cluster has at least one point).
    """
    from emlab.kmeans import update

    X, centroids, labels = _kmeans_problem(_fresh_rng())
    (n, d), k = X.shape, len(centroids)
    got = _call(function, "your function", X.copy(), labels.copy(), k, answers=(update,))
    values = _kmeans_as_numbers(got, "your function", "the centroids")
    axis_hint = (
        "average the points of each cluster over axis=0 (down the rows, one coordinate at a "
        "time), not over axis=1 (across the coordinates of each point)."
    )
    if values is None:
        raise AssertionError(
            f"your result is not one array of numbers with {k} rows of {d} coordinates; its rows "
            f"seem to have different lengths. To get one centroid per cluster, {axis_hint}"
        )
    if values.shape == (k,):
        raise AssertionError(
            f"the centroids have shape ({k},): one number per cluster, but each centroid has "
            f"{d} coordinates, shape ({k}, {d}). Do not average over all coordinates: {axis_hint}"
        )
    if values.ndim == 2 and values.shape[0] == k and values.shape[1] != d:
        raise AssertionError(
            f"the centroids have shape {values.shape}, but each should have {d} coordinates, "
            f"shape ({k}, {d}): {axis_hint}"
        )
    if values.shape == (d, k) and d != k:
        raise AssertionError(
            f"the centroids have shape ({d}, {k}): transposed. Return one row per centroid, "
            f"shape ({k}, {d})."
        )
    if values.shape != (k, d):
        raise AssertionError(
            f"the centroids have shape {values.shape}, but they should have shape ({k}, {d}): "
            f"one row per cluster, one column per coordinate."
        )
    expected = update(X, labels, centroids)
    if np.allclose(values, expected, rtol=1e-6, atol=1e-9):
        return
    counts = np.bincount(labels, minlength=k)
    if np.allclose(values, expected * counts[:, np.newaxis], rtol=1e-6):
        raise AssertionError(
            "your centroids are the sums of the points of each cluster, not their means: divide "
            "by the number of points n_k in the cluster."
        )
    if np.allclose(values, X.mean(axis=0), rtol=1e-6):
        raise AssertionError(
            "every centroid is the mean of all the points: select the points of cluster k "
            "first, X[labels == k], then average them."
        )
    if d == k and np.allclose(values.T, expected, rtol=1e-6):
        raise AssertionError("your centroids are transposed: return one row per centroid.")
    compare(values, expected, name="centroids", n=n)


def kmeans_blobs_inertia(J_final) -> None:
    """Check the inertia of the lesson's final k-means clustering of ``datasets.blobs()``.

    The reference is refitted here, with the lesson's settings
    (``emlab.KMeans(n_clusters=3, init="k-means++", n_init=10, random_state=0)``).
    """
    from emlab import datasets
    from emlab.kmeans import KMeans

    X, _ = datasets.blobs()
    model = KMeans(n_clusters=3, init="k-means++", n_init=10, random_state=0).fit(X)
    expected = model.inertia_
    if not_answered(J_final):
        raise AssertionError("J_final is not answered yet: replace the ... with your code.")
    try:
        got = np.asarray(J_final, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"J_final should be a number, got {type(J_final).__name__}.") from None
    if got.size > 1:
        raise AssertionError(
            f"J_final has shape {got.shape}, but the inertia is one number: add up the squared "
            f"distances over all points (and all coordinates)."
        )
    got = float(got.reshape(()))
    distances = np.sqrt(((X - model.cluster_centers_[model.labels_]) ** 2).sum(axis=1))
    if np.isclose(got, distances.sum(), rtol=1e-5):
        raise AssertionError(
            "J_final adds up the distances ||x_i - mu_(z_i)||; the inertia adds up their squares."
        )
    if np.isclose(got, np.sqrt(expected), rtol=1e-5):
        raise AssertionError(
            "J_final looks like a square root of the inertia: J is the sum of the squared "
            "distances, with no root taken."
        )
    compare(got, expected, name="J_final", rtol=1e-5, n=X.shape[0], reveal=False)


# --- 06: Gaussian mixtures in many dimensions ---------------------------------------------------


def _weighted_scatter(X: np.ndarray, weights: np.ndarray, centre: np.ndarray) -> np.ndarray:
    """:math:`\\sum_i w_i (x_i - c)(x_i - c)^\\top`, shape (D, D)."""
    diff = X - centre
    return (weights[:, np.newaxis] * diff).T @ diff


def _full_covariance_mistakes(X: np.ndarray, resp: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """Typical wrong covariance updates, each of shape (K, D, D), with what went wrong."""
    n, K = resp.shape
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, np.newaxis]
    ones = np.ones(n)
    scatter = np.stack([_weighted_scatter(X, resp[:, k], means[k]) for k in range(K)])
    new_means = "mu_k = sum_i r_ik x_i / N_k"
    return [
        (
            np.stack([_weighted_scatter(X, resp[:, k], 0.0) for k in range(K)]) / nk[:, None, None],
            f"The data are not centred: use (x_i - mu_k), with the new mean {new_means}.",
        ),
        (
            np.stack([_weighted_scatter(X, resp[:, k], X.mean(axis=0)) for k in range(K)])
            / nk[:, None, None],
            f"You centred the data at the mean of all the points; centre each component at its "
            f"own new mean {new_means}.",
        ),
        (
            scatter / n,
            "You divided by n, the number of points; divide by N_k = sum_i r_ik, the effective "
            "number of points of component k.",
        ),
        (
            scatter / (nk[:, None, None] - 1),
            "You divided by N_k - 1; the maximum-likelihood M-step divides by N_k = sum_i r_ik.",
        ),
        (
            scatter,
            "You did not divide by N_k = sum_i r_ik: the covariance is a weighted average.",
        ),
        (
            np.stack([_weighted_scatter(X, ones, means[k]) for k in range(K)]) / n,
            "The responsibilities are missing: each outer product must be weighted by r_ik.",
        ),
        (
            np.stack([_weighted_scatter(X, ones, means[k]) for k in range(K)]) / nk[:, None, None],
            "The responsibilities are missing: each outer product must be weighted by r_ik.",
        ),
        (
            np.stack([_weighted_scatter(X, resp[:, k] ** 2, means[k]) for k in range(K)])
            / nk[:, None, None],
            "r_ik appears twice (r_ik squared): weight only one of the two factors of the outer "
            "product, e.g. (r * diff).T @ diff.",
        ),
    ]


def gmm_full_covariances(function: Callable) -> None:
    """Check ``function(X, resp) -> covariances`` (shape (K, D, D)), the full-covariance M-step.

    Compares with :func:`emlab.gmm.m_step` on fresh data far from the origin, and accepts the
    answer with or without the ``reg_covar`` floor of ``1e-6`` on the diagonal.
    """
    from emlab.gmm import estimate_covariances, m_step

    rng = _fresh_rng()
    n, D, K = int(rng.integers(40, 90)), int(rng.integers(2, 4)), int(rng.integers(2, 5))
    if K == D:  # keeps the shapes (K, D, D) and (D, D, K) apart
        K += 1
    X = rng.normal(size=(n, D)) @ rng.normal(size=(D, D)) + rng.uniform(-10.0, 10.0, size=D)
    resp = rng.dirichlet(np.full(K, 0.7), size=n)
    expected = m_step(X, resp, "full", reg_covar=0.0)[2]
    got = _call(
        function,
        "full_covariances",
        X.copy(),
        resp.copy(),
        answers=(m_step, estimate_covariances),
    )
    if not_answered(got):
        raise AssertionError("full_covariances returns ...: replace the ... with your code.")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"full_covariances should return an array of numbers, got {type(got).__name__}."
        ) from None
    if got.shape != (K, D, D):
        shape = f"shape (K, D, D) = {(K, D, D)}"
        if got.shape == (D, D):
            hint = f"one D x D matrix; return one per component, stacked into {shape}."
        elif got.shape == (D, D, K):
            hint = f"the component axis last; put it first, {shape} (e.g. np.moveaxis)."
        elif got.shape in ((n, n), (K, n, n)):
            hint = (
                "n x n matrices: the outer product is the wrong way round. With the points as "
                "rows of diff = X - mu_k, the D x D sum of outer products is diff.T @ (r * diff), "
                "not diff @ diff.T."
            )
        elif got.shape == (K, D):
            hint = f"only the variances (the diagonals); full covariances are whole D x D matrices, {shape}."
        else:
            hint = f"the wrong shape; it should have {shape}."
        raise AssertionError(
            f"full_covariances returned shape {got.shape} for K = {K} components in D = {D} "
            f"dimensions: {hint}"
        )
    if np.any(~np.isfinite(got)):
        raise AssertionError(
            "full_covariances returned NaN or infinite values: is some N_k zero, or a division "
            "by an empty sum?"
        )
    for floor in (0.0, 1e-6):  # with or without reg_covar
        if np.allclose(got, expected + floor * np.eye(D), rtol=1e-6, atol=1e-9):
            return
    for wrong, diagnosis in _full_covariance_mistakes(X, resp):
        if np.allclose(got, wrong, rtol=1e-5, atol=1e-8):
            raise AssertionError(diagnosis)
    if not np.allclose(got, got.swapaxes(1, 2), rtol=1e-6, atol=1e-9):
        raise AssertionError(
            "Your covariance matrices are not symmetric, but (x - mu)(x - mu)^T is: check the "
            "two factors of the outer product (the same centred data, one of them weighted)."
        )
    compare(got, expected, name="covariances")


#: The mixture of exercise 2 of lesson 06: K components, D dimensions, full covariances.
_PARAMETER_COUNT_EXERCISE = (5, 3)


def gmm_parameter_count(n_free) -> None:
    """Check a numeric answer: the free parameters of a full-covariance mixture (K=5, D=3)."""
    from emlab.gmm import n_parameters

    if not_answered(n_free):
        raise AssertionError("n_free is not answered yet: replace the ... with your answer.")
    try:
        value = float(n_free)
    except (TypeError, ValueError):
        raise AssertionError(f"n_free should be a number, got {type(n_free).__name__}.") from None
    if not np.isfinite(value) or value != round(value):
        raise AssertionError("n_free should be a whole number: parameters are counted.")
    K, D = _PARAMETER_COUNT_EXERCISE
    expected = n_parameters(K, D, "full")
    if value == expected:
        return
    weights_hint = "The weights sum to one, so only K - 1 of them are free."
    symmetric_hint = (
        "A covariance matrix is symmetric: count the entries on and above the diagonal, "
        "D(D+1)/2 per matrix, not D²."
    )
    mistakes = [
        (K + K * D + K * D * (D + 1) // 2, weights_hint),
        (K - 1 + K * D + K * D * D, symmetric_hint),
        (K + K * D + K * D * D, f"{weights_hint} {symmetric_hint}"),
        (
            K - 1 + K * D + K * D,
            "That counts diagonal covariances (covariance_type='diag'); full covariance "
            "matrices also have entries off the diagonal.",
        ),
        (
            K - 1 + K * D + D * (D + 1) // 2,
            "That counts one covariance matrix shared by all components ('tied'); here every "
            "component has its own.",
        ),
        (K * D + K * D * (D + 1) // 2, "The weights are missing: K - 1 of them are free."),
    ]
    for wrong, diagnosis in mistakes:
        if value == wrong:
            raise AssertionError(f"n_free is not right. {diagnosis}")
    compare(value, expected, name="n_free", reveal=False)


def house_prices_kmeans_ari(ari_kmeans) -> None:
    """Check a numeric answer: the adjusted Rand index of k-means on the standardized houses.

    Recomputes it from :func:`emlab.datasets.house_prices` with
    ``emlab.KMeans(n_clusters=4, random_state=0)``; accepts three decimals.
    """
    from sklearn.metrics import adjusted_rand_score, rand_score

    from emlab import datasets
    from emlab.kmeans import KMeans

    if not_answered(ari_kmeans):
        raise AssertionError("ari_kmeans is not answered yet: replace the ... with your code.")
    try:
        value = float(ari_kmeans)
    except (TypeError, ValueError):
        raise AssertionError(
            f"ari_kmeans should be a number, got {type(ari_kmeans).__name__}."
        ) from None
    if not np.isfinite(value) or value > 1:
        raise AssertionError(
            "ari_kmeans should be an adjusted Rand index, a number of at most 1 (1 for two "
            "identical clusterings)."
        )
    houses = datasets.house_prices()
    X, truth = houses.X, houses.neighbourhood
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    labels = KMeans(n_clusters=4, random_state=0).fit(standardized).labels_
    expected = adjusted_rand_score(truth, labels)
    if abs(value - expected) <= 5e-4:
        return
    raw_labels = KMeans(n_clusters=4, random_state=0).fit(X).labels_
    if abs(value - adjusted_rand_score(truth, raw_labels)) <= 5e-4:
        raise AssertionError(
            "That is k-means on the raw data. Standardize each column first: k-means measures "
            "plain distances, so the prices (in the hundreds) drown the floor areas (tens to a few hundred)."
        )
    if abs(value - rand_score(truth, labels)) <= 5e-4:
        raise AssertionError(
            "That is the plain Rand index; use adjusted_rand_score, which corrects for the "
            "agreement expected by chance."
        )
    compare(value, expected, name="ari_kmeans", atol=5e-4, reveal=False)
