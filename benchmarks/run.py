"""EM Lab benchmarks: emlab's engines against scikit-learn and the articles' naive loops.

Run ``python benchmarks/run.py`` (or ``make bench``). Every comparison runs in this one
process, side by side on the same data and the same start, and prints one table row:
what was timed, emlab's time per iteration, the reference's, their ratio, and the largest
relative difference between the two per-iteration log-likelihoods. Nothing here is a test
and no number is pinned: the tests prove the engines right, this script shows them fast.

``--quick`` uses smaller data (a smoke run for CI); ``--markdown`` prints the table in
Markdown for the README.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

ROWS = []


def per_iteration(ours, theirs, iterations=((4, 24), (4, 24)), repeats=5):
    """Seconds per iteration of ``ours`` and of ``theirs``, measured side by side.

    Each is (best time of ``hi`` iterations - best time of ``lo``) / (hi - lo): the
    difference cancels what a fit costs once (validation, set-up, the final E-step).
    The two are timed in turn, ``repeats`` times, and the best of each is kept, so
    both get the same chances at a quiet moment of a busy (or virtual) machine.
    """
    runs = list(zip((ours, theirs), iterations, strict=True))
    best = [{count: np.inf for count in counts} for _, counts in runs]
    for _ in range(repeats):
        for (run, counts), times in zip(runs, best, strict=True):
            for count in counts:
                start = time.perf_counter()
                run(count)
                times[count] = min(times[count], time.perf_counter() - start)
    return [
        max((times[hi] - times[lo]) / (hi - lo), 1e-9)
        for (_, (lo, hi)), times in zip(runs, best, strict=True)
    ]


def enough_iterations(run, low, seconds=0.25, most=2000):
    """``(low, high)`` with ``high - low`` iterations of ``run`` taking about ``seconds``.

    A fast engine needs many iterations for the difference between two fits to stand
    clear of what a fit costs once (whose time varies from run to run on a busy machine).
    """
    start = time.perf_counter()
    run(low)
    middle = time.perf_counter()
    run(low + 10)
    each = max((time.perf_counter() - middle) - (middle - start), 1e-6) / 10
    return low, low + int(min(most, max(20, seconds / each)))


def row(what, ours, reference_name, theirs, difference, target):
    ratio = theirs / ours
    ROWS.append((what, ours, reference_name, theirs, ratio, difference, target))
    print(
        f"{what:<44} {ours * 1e3:9.3f} ms {reference_name:>8} {theirs * 1e3:9.3f} ms "
        f"{ratio:6.1f}x  {difference:8.1e}  {target}",
        flush=True,
    )


def blobs(n, D, K, rng, offset=0.0):
    centres = rng.normal(0, 6, size=(K, D)) + offset
    labels = rng.integers(0, K, size=n)
    scales = rng.uniform(0.5, 2.0, size=K)
    return centres[labels] + rng.normal(size=(n, D)) * scales[labels, None]


def bench_gmm(n, D, K, covariance_type, target, rng):
    from sklearn.mixture import GaussianMixture as SkGMM

    from emlab import GaussianMixture
    from emlab.gmm import init_params

    X = blobs(n, D, K, rng)
    weights, means, covariances = init_params(X, K, "random_from_data", 0, covariance_type)
    if covariance_type in ("full", "tied"):
        precisions = np.linalg.inv(covariances)
    else:
        precisions = 1.0 / covariances

    def ours(iterations):
        model = GaussianMixture(
            K,
            covariance_type=covariance_type,
            tol=0,
            max_iter=iterations,
            weights_init=weights,
            means_init=means,
            covariances_init=covariances,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    def theirs(iterations):
        model = SkGMM(
            K,
            covariance_type=covariance_type,
            tol=0,
            max_iter=iterations,
            init_params="random_from_data",
            weights_init=weights,
            means_init=means,
            precisions_init=precisions,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    # same start, same per-iteration log-likelihood (scikit-learn's iteration t is our t - 1)
    ll_ours = ours(8).history_.log_likelihood[:8] / n
    ll_theirs = theirs(8).lower_bounds_
    difference = float(np.max(np.abs(ll_ours - ll_theirs) / np.abs(ll_theirs)))
    low = 2 if n >= 500_000 else 4
    theirs_iterations = (low, low + 4) if n >= 500_000 else (low, low + 20)
    mine, reference = per_iteration(ours, theirs, (enough_iterations(ours, low), theirs_iterations))
    row(
        f"GaussianMixture {covariance_type:<9} n={n:,} D={D} K={K}",
        mine,
        "sklearn",
        reference,
        difference,
        target,
    )


def bench_gmm_memory(n, D, K):
    """Peak memory of a fit beyond the data, as a multiple of the data's size, from each start.

    Returns ``{start: multiple}`` for the default start (``init_params="kmeans"``), the
    other ``init_params`` and every ``*_init`` given: the start is part of the fit.
    """
    from emlab import GaussianMixture
    from emlab.gmm import INIT_METHODS, init_params

    rng = np.random.default_rng(1)
    X = blobs(n, D, K, rng)
    given = init_params(X[:10_000], K, "random_from_data", 0, "full")
    starts = {method: {"init_params": method} for method in INIT_METHODS}
    starts["given"] = dict(
        zip(("weights_init", "means_init", "covariances_init"), given, strict=True)
    )
    peaks = {}
    for name, start in starts.items():
        model = GaussianMixture(K, tol=0, max_iter=2, random_state=0, **start)
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peaks[name] = peak / X.nbytes
    return peaks


def bench_kmeans(n, D, K, target, rng):
    from sklearn.cluster import KMeans as SkKMeans

    from emlab import KMeans

    # overlapping clusters, so that Lloyd's algorithm is still moving after 33 iterations
    X = rng.normal(size=(n, D)) + rng.normal(0, 1.5, size=(K, D))[rng.integers(0, K, n)]
    centroids = X[rng.choice(n, K, replace=False)]

    def ours(iterations):
        model = KMeans(K, init=centroids, n_init=1, max_iter=iterations, tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    def theirs(iterations):
        model = SkKMeans(K, init=centroids, n_init=1, max_iter=iterations, tol=0, algorithm="lloyd")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    a, b = ours(10), theirs(10)
    difference = abs(a.inertia_ - b.inertia_) / b.inertia_
    # time only iterations that both still take (small data converge sooner)
    high = max(5, min(33, ours(33).n_iter_, theirs(33).n_iter_))
    if high < 13:
        print(f"  (warning: k-means converged after {high} iterations; the timing is rough)")
    mine, reference = per_iteration(ours, theirs, ((3, high), (3, high)))
    row(f"KMeans n={n:,} D={D} K={K}", mine, "sklearn", reference, difference, target)


def naive_gmm_1d(x, weights, means, sds, iterations):
    """The articles' loop: one scipy.stats distribution per component, in Python."""
    from scipy.stats import norm

    history = []
    for _ in range(iterations):
        densities = np.zeros((len(x), len(means)))
        for k in range(len(means)):
            densities[:, k] = weights[k] * norm(means[k], sds[k]).pdf(x)
        history.append(np.log(densities.sum(axis=1)).sum())
        resp = densities / densities.sum(axis=1, keepdims=True)
        nk = resp.sum(axis=0)
        weights = nk / len(x)
        means = np.array([np.sum(resp[:, k] * x) / nk[k] for k in range(len(means))])
        sds = np.array(
            [np.sqrt(np.sum(resp[:, k] * (x - means[k]) ** 2) / nk[k]) for k in range(len(means))]
        )
    return np.array(history)


def bench_gmm_1d(n, target, rng):
    from emlab import GaussianMixture

    parts = [
        rng.normal(-10, 3, n // 3),
        rng.normal(30, 7, n // 3),
        rng.normal(3, 5, n - 2 * (n // 3)),
    ]
    x = np.concatenate(parts)
    weights, means, sds = np.full(3, 1 / 3), np.array([-5.0, 10.0, 20.0]), np.array([3.0, 5.0, 8.0])
    X = x[:, None]

    def ours(iterations):
        model = GaussianMixture(
            3,
            tol=0,
            max_iter=iterations,
            reg_covar=0,
            weights_init=weights,
            means_init=means[:, None],
            covariances_init=sds[:, None, None] ** 2,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X)

    def theirs(iterations):
        return naive_gmm_1d(x, weights, means, sds, iterations)

    ll_ours = ours(6).history_.log_likelihood[:6]
    difference = float(np.max(np.abs(ll_ours - theirs(6)) / np.abs(ll_ours)))
    # ours is fast: many iterations, for a measurable difference
    mine, reference = per_iteration(ours, theirs, (enough_iterations(ours, 4), (4, 24)))
    row(f"GaussianMixture 1-D n={n:,} K=3", mine, "naive", reference, difference, target)


def naive_coins(heads, n_tosses, thetas, iterations):
    from scipy.stats import binom

    history = []
    for _ in range(iterations):
        likelihoods = np.stack([0.5 * binom(n_tosses, t).pmf(heads) for t in thetas], axis=1)
        history.append(np.log(likelihoods.sum(axis=1)).sum())
        resp = likelihoods / likelihoods.sum(axis=1, keepdims=True)
        thetas = [
            np.sum(resp[:, k] * heads) / np.sum(resp[:, k] * n_tosses) for k in range(len(thetas))
        ]
    return np.array(history)


def bench_coins(n, target, rng):
    from emlab import BinomialMixture
    from emlab.coins import simulate_trials

    heads, _ = simulate_trials([0.6, 0.2], n, 10, random_state=rng)
    start = np.array([0.8, 0.7])

    def ours(iterations):
        model = BinomialMixture(
            2,
            n_tosses=10,
            learn_weights=False,
            thetas_init=start[:, None],
            tol=0,
            max_iter=iterations,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(heads[:, None])

    def theirs(iterations):
        return naive_coins(heads, 10, start, iterations)

    ll_ours = ours(6).history_.log_likelihood[:6]
    difference = float(np.max(np.abs(ll_ours - theirs(6)) / np.abs(ll_ours)))
    # ours is fast: many iterations, for a measurable difference
    mine, reference = per_iteration(ours, theirs, (enough_iterations(ours, 4), (4, 24)))
    row(f"BinomialMixture n={n:,} trials", mine, "naive", reference, difference, target)


def import_time():
    code = "import time; t = time.perf_counter(); import emlab; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(5)
    ]
    return min(times)


def machine():
    try:
        from threadpoolctl import threadpool_info

        blas = ", ".join(
            f"{i['internal_api']} {i.get('architecture', '')}".strip() for i in threadpool_info()
        )
    except Exception:  # pragma: no cover - informational only
        blas = "unknown BLAS"
    import sklearn

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, {blas}"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data: a smoke run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    args = parser.parse_args(argv)
    scale = 0.05 if args.quick else 1.0
    rng = np.random.default_rng(2026)
    print(machine())
    print(
        f"{'benchmark':<44} {'emlab':>12} {'vs':>8} {'reference':>12} {'ratio':>7}  {'max rel':>8}  target"
    )
    for n, D, K in [(3_000, 1, 3), (100_000, 2, 3), (1_000_000, 2, 5), (100_000, 16, 8)]:
        n = max(300, int(n * scale))
        for covariance_type in ("full", "diag", "spherical"):
            target = ">= 8x" if covariance_type == "full" else ">= 4x"
            bench_gmm(n, D, K, covariance_type, target, rng)
    for n, D, K in [(100_000, 2, 3), (1_000_000, 16, 8)]:
        bench_kmeans(max(300, int(n * scale)), D, K, ">= 0.67x", rng)
    for n in (500, 100_000):
        bench_gmm_1d(max(300, int(n * scale)), ">= 20x", rng)
        bench_coins(max(300, int(n * scale)), ">= 20x", rng)
    n_memory = max(10_000, int(5_000_000 * scale))
    peaks = bench_gmm_memory(n_memory, 2, 5)
    memory = max(peaks.values())
    seconds = import_time()
    print(
        f"peak memory of a fit on {n_memory:,} x 2 with K=5, beyond the data, from each start: "
        + ", ".join(f"{name} {peak:.2f}" for name, peak in peaks.items())
        + " x the data (target <= 1.5 at 5,000,000; a fit's fixed scratch space weighs more"
        " on smaller data)"
    )
    print(f"import emlab: {seconds * 1e3:.0f} ms (target < 500 ms)")
    if args.markdown:
        print()
        print(
            "| benchmark | emlab (ms/iter) | reference | reference (ms/iter) | ratio "
            "| max rel. diff. in log-lik. | target | met |"
        )
        print("|---|---:|---|---:|---:|---:|---|---|")
        for what, ours, name, theirs, ratio, difference, target in ROWS:
            met = "yes" if ratio >= float(target.strip(">= x")) else "**no**"
            print(
                f"| {' '.join(what.split())} | {ours * 1e3:.3f} | {name} | {theirs * 1e3:.3f} "
                f"| {ratio:.1f}x | {difference:.1e} | {target} | {met} |"
            )
        print(
            f"| peak memory, {n_memory:,} x 2, K=5, from every start (default: "
            f"{peaks['kmeans']:.2f}) | {memory:.2f} x data | | | | | <= 1.5 x "
            f"| {'yes' if memory <= 1.5 else '**no**'} |"
        )
        print(
            f"| `import emlab` | {seconds * 1e3:.0f} ms | | | | | < 500 ms "
            f"| {'yes' if seconds < 0.5 else '**no**'} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
