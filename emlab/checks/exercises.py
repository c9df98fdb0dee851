"""Checks for the exercises on lesson 00, how the exercises work.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, _reference_resp, compare


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
