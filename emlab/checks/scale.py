"""Checks for the exercises of lesson 15, EM at scale.

See :mod:`emlab.checks` for what every check does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emlab.checks._core import _call, _fresh_rng, compare, not_answered


def _block(rng: np.random.Generator, n: int | None = None):
    """A fresh block of points in 2 or 3 dimensions and responsibilities that are not one-hot."""
    n = int(rng.integers(20, 60)) if n is None else n
    n_components, n_features = int(rng.integers(2, 5)), int(rng.integers(2, 4))
    X = rng.normal(size=(n, n_features)) * rng.uniform(0.5, 3.0, n_features) + rng.normal(
        0, 5, n_features
    )
    resp = rng.dirichlet(np.ones(n_components), size=n)
    return X, resp


def _as_three(got, what: str):
    if not_answered(got):
        raise AssertionError(f"{what} is not answered yet: replace the ... with your code.")
    if not isinstance(got, tuple | list) or len(got) != 3:
        raise AssertionError(
            f"{what} should return three things, (nk, sum_x, sum_xx); got {type(got).__name__}"
            + (f" of length {len(got)}." if isinstance(got, tuple | list) else ".")
        )
    return got


def block_statistics(function: Callable) -> None:
    """Check ``function(X_block, resp_block) -> (nk, sum_x, sum_xx)``, one block's statistics.

    :math:`N_k = \\sum_i r_{ik}`, :math:`s_k = \\sum_i r_{ik} x_i` (shape (K, D)) and
    :math:`S_k = \\sum_i r_{ik} x_i x_i^\\top` (shape (K, D, D)), compared with
    :func:`emlab.online_em.sufficient_statistics` on a fresh block, then on a block of one
    point. The usual slips are named: hard counts, averages for sums, :math:`s_k`
    transposed, outer products not weighted by :math:`r_{ik}` or centred on the mean.
    """
    from emlab.online_em import m_step_from_statistics, sufficient_statistics

    rng = _fresh_rng()
    for X, resp in (_block(rng), _block(rng, n=1)):
        got = _call(
            function,
            "your function",
            X.copy(),
            resp.copy(),
            answers=(sufficient_statistics, m_step_from_statistics),
        )
        nk, sum_x, sum_xx = _as_three(got, "block_statistics")
        ref_nk, ref_x, ref_xx = sufficient_statistics(X, resp)
        n_components, n_features = ref_x.shape
        if (
            np.shape(nk) == ref_nk.shape
            and np.allclose(nk, np.bincount(resp.argmax(1), minlength=n_components))
            and not np.allclose(nk, ref_nk)
        ):
            raise AssertionError(
                "nk counts the points whose largest responsibility is k (hard labels). EM's "
                "soft count adds the responsibilities: nk = resp.sum(axis=0)."
            )
        compare(nk, ref_nk, name="nk (the N_k)")
        if np.shape(sum_x) == (n_features, n_components) and (
            n_features != n_components or np.allclose(sum_x, ref_x.T)
        ):
            raise AssertionError(
                f"sum_x has shape {np.shape(sum_x)}: it is transposed. One row per component: "
                f"resp.T @ X has shape (K, D) = {ref_x.shape}."
            )
        if np.shape(sum_x) == ref_x.shape and np.allclose(sum_x, ref_x / ref_nk[:, None]):
            raise AssertionError(
                "sum_x holds the means s_k / N_k, not the sums s_k. Blocks must send sums: "
                "only sums add up across blocks (the M-step divides once, at the end)."
            )
        compare(sum_x, ref_x, name="sum_x (the s_k)")
        if np.shape(sum_xx) == (n_features, n_features):
            raise AssertionError(
                f"sum_xx has shape {np.shape(sum_xx)}, one matrix for all components: there is "
                f"one S_k per component, shape (K, D, D) = {ref_xx.shape}, each weighted by "
                f"r_ik."
            )
        if np.shape(sum_xx) == ref_xx.shape:
            unweighted = np.repeat((X.T @ X)[None], n_components, axis=0)
            centred = np.stack(
                [
                    (resp[:, k] * (X - ref_x[k] / ref_nk[k]).T) @ (X - ref_x[k] / ref_nk[k])
                    for k in range(n_components)
                ]
            )
            for wrong, message in [
                (
                    unweighted,
                    "sum_xx is X.T @ X for every component: weight each outer product by its "
                    "responsibility, S_k = sum_i r_ik x_i x_i^T.",
                ),
                (
                    centred,
                    "sum_xx is centred on each component's mean: that needs the mean first, a "
                    "second pass. Send the raw S_k = sum_i r_ik x_i x_i^T; the M-step subtracts "
                    "mu_k mu_k^T once the totals are in.",
                ),
                (
                    ref_xx / ref_nk[:, None, None],
                    "sum_xx holds averages S_k / N_k, not sums: send sums, which add up across "
                    "blocks.",
                ),
            ]:
                if len(X) > 1 and np.allclose(sum_xx, wrong) and not np.allclose(wrong, ref_xx):
                    raise AssertionError(message)
        compare(sum_xx, ref_xx, name="sum_xx (the S_k)")


def bytes_sent(function: Callable) -> None:
    """Check ``function(n_block, K, D) -> bytes``: what one worker sends per iteration.

    Its statistics and its log-likelihood, 8 bytes each (float64):
    :math:`K` soft counts, :math:`KD` sums, :math:`K D(D+1)/2` distinct entries of the
    symmetric :math:`S_k`, and one number for :math:`\\ell`, whatever ``n_block``.
    """
    from math import comb

    def expected(n_block, K, D):
        return 8 * (K * (1 + D + D * (D + 1) // 2) + 1)

    cases = [(1_000, 5, 2), (1_000_000, 5, 2), (50_000, 3, 10), (50_000, 20, 1), (7, 1, 3)]
    for n_block, K, D in cases:
        got = _call(function, "your function", n_block, K, D)
        if not_answered(got):
            raise AssertionError("bytes_sent is not answered yet: replace the ... with a formula.")
        try:
            value = float(np.asarray(got, dtype=float))
        except (TypeError, ValueError):
            raise AssertionError("your function should return one number of bytes.") from None
        right = expected(n_block, K, D)
        if np.isclose(value, right):
            continue
        diagnoses = [
            (right / 8, "that is the number of numbers: each float64 takes 8 bytes."),
            (
                8 * (K * (1 + D + D * D) + 1),
                "S_k is symmetric: only D(D+1)/2 of its D^2 entries are distinct, and only "
                "those need to travel.",
            ),
            (
                right - 8,
                "add the block's log-likelihood, one more number (the stopping rule needs it).",
            ),
            (8 * K * (D + D * (D + 1) // 2) + 8, "each component also sends its soft count N_k."),
            (
                8 * n_block * D,
                "that is the block's data: the point of the map-reduce is that the data stay where they are.",
            ),
            (
                8 * (n_block * K),
                "that is the responsibilities, an (n, K) array: they stay on the worker too.",
            ),
        ]
        for wrong, message in diagnoses:
            if np.isclose(value, wrong):
                raise AssertionError(f"For n_block={n_block}, K={K}, D={D}: {message}")
        if n_block > 1_000 and np.isclose(value, expected(1_000, K, D) * n_block / 1_000):
            raise AssertionError("the statistics do not grow with the block: they are sums.")
        raise AssertionError(
            f"For n_block={n_block}, K={K}, D={D} you get {value:g} bytes. Count the numbers: "
            f"N_k, s_k and the distinct entries of S_k for each of the K components (there are "
            f"{comb(D + 1, 2)} distinct entries in a symmetric {D} x {D} matrix), plus the "
            f"log-likelihood; 8 bytes each."
        )


def combine(function: Callable) -> None:
    """Check ``function(block_stats) -> (weights, means)`` on blocks of different sizes.

    ``block_stats`` is a list of ``(nk, sum_x, sum_xx)``, one per block. The right answer
    sums the statistics, then divides: :math:`\\pi_k = \\sum_b N_{kb} / n`,
    :math:`\\mu_k = \\sum_b s_{kb} / \\sum_b N_{kb}` (compared with
    :func:`emlab.online_em.m_step_from_statistics` of the sums). Averaging the blocks' own
    weights and means is named: it is right only when every block has the same soft counts.
    """
    from emlab.gmm import m_step
    from emlab.online_em import m_step_from_statistics, sufficient_statistics

    rng = _fresh_rng()
    X, resp = _block(rng, n=int(rng.integers(200, 400)))
    # sort the points, as data arriving in time order often are, and cut unequal blocks
    order = np.argsort(X[:, 0])
    X, resp = X[order], resp[order]
    resp[: len(X) // 2] = rng.dirichlet(np.full(resp.shape[1], 0.3), size=len(X) // 2)
    cuts = np.sort(rng.choice(np.arange(5, len(X) - 5), size=3, replace=False))
    blocks = [
        sufficient_statistics(x, r)
        for x, r in zip(np.split(X, cuts), np.split(resp, cuts), strict=True)
    ]
    got = _call(
        function,
        "your function",
        [tuple(s.copy() for s in b) for b in blocks],
        answers=(m_step_from_statistics, m_step),
    )
    if not_answered(got):
        raise AssertionError("combine is not answered yet: replace the ... with your code.")
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise AssertionError("your function should return two things, (weights, means).")
    weights, means = got
    totals = [sum(parts) for parts in zip(*blocks, strict=True)]
    ref_weights, ref_means, _ = m_step_from_statistics(*totals)
    averaged_weights = np.mean([nk / nk.sum() for nk, _, _ in blocks], axis=0)
    averaged_means = np.mean([s / nk[:, None] for nk, s, _ in blocks], axis=0)
    if np.shape(means) == ref_means.shape and np.allclose(means, averaged_means):
        raise AssertionError(
            "means is the average of the blocks' means. A block with few points (or few points "
            "of component k) counts as much as a big one: add up the sums s_k and the soft "
            "counts N_k over the blocks first, then divide once."
        )
    if np.shape(weights) == ref_weights.shape and np.allclose(weights, averaged_weights):
        raise AssertionError(
            "weights is the average of the blocks' weights: right only if the blocks are the "
            "same size. Add up the N_k over the blocks, then divide by their total."
        )
    compare(weights, ref_weights, name="weights", sums_to_one_axis=0)
    compare(means, ref_means, name="means")
