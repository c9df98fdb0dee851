"""EM at scale: emlab's Gaussian mixture on Dask against the in-memory engine, and out of core.

Run ``python benchmarks/scale.py`` (the issue's sizes: 10,000,000 x 2, K = 5, on 1 and 2
workers) or ``python benchmarks/scale.py --n 1000000`` for a quick run. Three parts, each
printing one table row per case, side by side in this one process:

* **overhead**: time per EM iteration of the in-memory engine
  (:func:`emlab.engines.gmm.fit_gmm_fast`, which uses up to two threads here) and of the
  Dask path (:func:`emlab.engines.distributed.fit_gmm_dask`) on a ``LocalCluster`` of 1
  and of 2 worker processes (one thread each), the data persisted in the workers'
  memory, from the same start; their ratio, and the largest relative difference between
  the two fits' log-likelihoods, iteration by iteration;
* **out of core** (``--zarr-n``, 0 to skip): the data written block by block to a Zarr
  store (never whole in memory), then fit from the store by two workers whose memory is
  limited (``--memory-limit``, default 1 GB each): every iteration reads the store again.
  Reports the time per iteration and each worker's peak resident memory (the worker
  process's ``ru_maxrss``, asked of each worker after the fit).

Time per iteration is the difference between two fits of different lengths divided by
the difference in iterations, so what a fit costs once (the summary passes, starting
the tasks) cancels. Nothing here is a test; no number is pinned.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time
import warnings

import numpy as np

CENTRES = np.array([[0.0, 0.0], [6.0, 1.0], [1.0, 7.0], [-5.0, 4.0], [3.0, -6.0]])


def blob_block(index, rows, seed=0):
    """Rows of the benchmark's five blobs, drawn per block (the same for any block layout)."""
    rng = np.random.default_rng([seed, index])
    labels = rng.integers(0, len(CENTRES), size=rows)
    return CENTRES[labels] + rng.normal(size=(rows, 2)) * (0.5 + 0.3 * labels[:, None])


def make_data(n, block):
    return np.concatenate(
        [blob_block(i, min(block, n - s)) for i, s in enumerate(range(0, n, block))]
    )


def start_for(K=5):
    """A fixed start near (not at) the blobs: the same for every fit."""
    weights = np.full(K, 1.0 / K)
    means = CENTRES[:K] + 0.7
    covariances = np.repeat(np.eye(2)[None] * 2.0, K, axis=0)
    return weights, means, covariances


def spread_over_workers(client, X, block):
    """``X`` as a Dask array in blocks of ``block`` rows, the blocks spread over the workers.

    One block to each worker in turn, as evenly as they go: a pass waits for the busiest
    worker. (``client.persist(da.from_array(X, ...))`` left 4 and 6 of ten blocks on two
    workers here.)
    """
    import dask
    import dask.array as da

    parts = [X[s : s + block] for s in range(0, len(X), block)]
    futures = client.scatter(parts)  # one block to each worker in turn
    return da.concatenate(
        [
            da.from_delayed(dask.delayed(future), shape=part.shape, dtype=part.dtype)
            for future, part in zip(futures, parts, strict=True)
        ]
    )


def per_iteration(fit, low, high, repeats=2):
    """Seconds per iteration: (best time of ``high`` iterations - best of ``low``) / difference."""
    best = {low: np.inf, high: np.inf}
    results = {}
    for _ in range(repeats):
        for count in (low, high):
            begin = time.perf_counter()
            results[count] = fit(count)
            best[count] = min(best[count], time.perf_counter() - begin)
    return (best[high] - best[low]) / (high - low), results[high]


def relative_difference(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b) / np.abs(a)))


def cluster(workers, memory_limit=None):
    from distributed import Client, LocalCluster

    local = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        memory_limit=memory_limit or "auto",
    )
    return local, Client(local)


def overhead(n, block, iterations, worker_counts):
    from emlab.engines.distributed import fit_gmm_dask
    from emlab.engines.gmm import fit_gmm_fast

    X = make_data(n, block)
    start = start_for()
    low, high = iterations

    def in_memory(count):
        return fit_gmm_fast(X, *start, "full", tol=0, max_iter=count)

    seconds_memory, reference = per_iteration(in_memory, low, high)
    print(
        f"in memory (fit_gmm_fast), n={n:,} D=2 K=5 full: {seconds_memory * 1e3:.1f} ms/iter",
        flush=True,
    )
    rows = []
    for workers in worker_counts:
        local, client = cluster(workers)
        try:
            client.wait_for_workers(workers)
            X_dask = spread_over_workers(client, X, block)

            def on_dask(count, X_dask=X_dask):
                return fit_gmm_dask(X_dask, *start, "full", tol=0, max_iter=count)

            on_dask(1)  # the workers import emlab once
            seconds, result = per_iteration(on_dask, low, high)
            difference = relative_difference(
                reference.history.log_likelihood, result.history.log_likelihood
            )
        finally:
            client.close()
            local.close()
        ratio = seconds / seconds_memory
        rows.append((workers, seconds, ratio, difference))
        print(
            f"Dask, {workers} worker(s), blocks of {block:,}: {seconds * 1e3:.1f} ms/iter, "
            f"{ratio:.2f}x the in-memory engine's time, max rel. diff. in log-lik. "
            f"{difference:.1e}",
            flush=True,
        )
    return seconds_memory, rows


def write_zarr(path, n, block):
    import zarr

    store = zarr.open_array(path, mode="w", shape=(n, 2), chunks=(block, 2), dtype="f8")
    for index, s in enumerate(range(0, n, block)):
        store[s : s + block] = blob_block(index, min(block, n - s))
    return store


def out_of_core(n, block, iterations, memory_limit, directory):
    import dask.array as da

    from emlab.engines.distributed import fit_gmm_dask

    path = os.path.join(directory, "points.zarr")
    begin = time.perf_counter()
    write_zarr(path, n, block)
    print(
        f"wrote {n:,} x 2 ({n * 16 / 1e9:.2f} GB) to a Zarr store in "
        f"{time.perf_counter() - begin:.0f} s",
        flush=True,
    )
    local, client = cluster(2, memory_limit)
    try:
        X = da.from_zarr(path)
        start = start_for()
        low, high = iterations

        def fit(count):
            return fit_gmm_dask(X, *start, "full", tol=0, max_iter=count)

        fit(1)  # the workers import emlab once
        client.run(_start_sampling)
        seconds, result = per_iteration(fit, low, high, repeats=1)
        peaks = client.run(_sampled_peak)
        maxrss = client.run(_maxrss)
    finally:
        client.close()
        local.close()
    print(
        f"out of core, {n:,} x 2 from Zarr (blocks of {block:,}), 2 workers limited to "
        f"{memory_limit} each: {seconds:.2f} s/iter; peak worker memory "
        + ", ".join(f"{p / 2**20:.0f} MiB" for p in peaks.values())
        + " (sampled every 20 ms during the timed fits; ru_maxrss "
        + ", ".join(f"{p / 2**20:.0f}" for p in maxrss.values())
        + " MiB)"
        + f"; final mean log-lik. {result.log_likelihood / n:.6f}",
        flush=True,
    )
    return seconds, peaks


def _start_sampling(dask_worker):
    """On a worker: a thread that records the process's largest resident memory."""
    import threading

    import psutil

    process = psutil.Process()
    state = dask_worker._emlab_memory = {"peak": process.memory_info().rss}

    def sample():
        while True:
            state["peak"] = max(state["peak"], process.memory_info().rss)
            time.sleep(0.02)

    threading.Thread(target=sample, daemon=True).start()


def _sampled_peak(dask_worker):
    return dask_worker._emlab_memory["peak"]


def _maxrss():
    # the process's high-water mark; after fork and exec it may include its parent's
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="points for the overhead part")
    parser.add_argument("--block", type=int, default=1_000_000, help="rows per Dask block")
    parser.add_argument("--iterations", type=int, nargs=2, default=(3, 8), metavar=("LO", "HI"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--zarr-n", type=int, default=0, help="points out of core (0: skip)")
    parser.add_argument("--zarr-block", type=int, default=2_000_000)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--dir", default=None, help="where to write the Zarr store")
    args = parser.parse_args(argv)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    warnings.simplefilter("ignore")
    if args.n:
        overhead(args.n, args.block, tuple(args.iterations), args.workers)
    if args.zarr_n:
        directory = tempfile.mkdtemp(dir=args.dir, prefix="emlab-scale-")
        try:
            out_of_core(args.zarr_n, args.zarr_block, (1, 3), args.memory_limit, directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
