"""EM at scale: emlab's Gaussian mixture against Spark MLlib's, side by side on the same data.

Two requirements that emlab's extras do not install (Spark is large, and it needs Java):

* Java 17 or newer: ``apt-get install -y openjdk-17-jre-headless`` (Debian, as root);
* pyspark: ``python -m pip install pyspark`` (from PyPI, in emlab's environment).

Without either, the script prints what is missing and exits (status 0). Run
``python benchmarks/spark.py`` (1,000,000 x 2, K = 5) or ``python benchmarks/spark.py --n
100000`` for a quick run. In this one process, one after the other, on the same points
(``benchmarks/scale.py``'s five blobs), full covariances, ``tol = 0``:

* ``emlab.GaussianMixture`` in memory (NumPy), from scale.py's fixed start;
* ``emlab.GaussianMixture`` on a Dask array persisted on a ``LocalCluster`` of 2 worker
  processes (one thread each), from the same start;
* Spark MLlib's RDD API, ``pyspark.mllib.clustering.GaussianMixture.train``, from the same
  start (its ``initialModel``), Spark in local mode, ``local[2]``;
* Spark ML's DataFrame API, ``pyspark.ml.clustering.GaussianMixture``, from its own random
  start (it takes no start: no initial-model parameter, in Python or Scala), ``seed=0``.

Time per iteration is the difference between two fits of different lengths (``--iterations
LO HI``) divided by the difference in iterations, as in ``run.py`` and ``scale.py``, so what
a fit costs once (Spark's job set-up and its conversion of the points to JVM objects, which
every fit repeats) cancels. Every fitted model, Spark's too, is scored by emlab's own
log-likelihood (:func:`emlab.gmm.e_step`) on the same points. emlab runs with ``reg_covar=0``,
since Spark adds nothing to the covariances' diagonals: from the same start the two do the same
arithmetic. Last, the "on paper" estimate for a real cluster. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import subprocess
import sys
import warnings

import numpy as np
from scale import cluster, make_data, per_iteration, spread_over_workers, start_for

K = 5


def missing_requirements():
    """What is missing to run Spark, as sentences (empty if nothing is)."""
    missing = []
    java_home = os.environ.get("JAVA_HOME")
    if not (shutil.which("java") or (java_home and os.path.exists(f"{java_home}/bin/java"))):
        missing.append("Java (apt-get install -y openjdk-17-jre-headless)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark (python -m pip install pyspark)")
    return missing


def java_version():
    java = shutil.which("java") or f"{os.environ.get('JAVA_HOME', '')}/bin/java"
    answer = subprocess.run([java, "-version"], capture_output=True, text=True)
    return (answer.stderr or answer.stdout).splitlines()[0]


def score(X, weights, means, covariances):
    """emlab's mean log-likelihood per point of a fitted mixture, whoever fitted it."""
    from emlab.gmm import e_step

    return e_step(X, weights, means, covariances, "full")[1] / len(X)


def emlab_fit(X, start, count):
    import emlab

    weights, means, covariances = start
    model = emlab.GaussianMixture(
        n_components=K,
        covariance_type="full",
        weights_init=weights,
        means_init=means,
        covariances_init=covariances,
        tol=0,
        max_iter=count,
        reg_covar=0,
    )
    model.fit(X)
    return model.weights_, model.means_, model.covariances_


def time_emlab(X, start, iterations):
    seconds, fitted = per_iteration(lambda count: emlab_fit(X, start, count), *iterations)
    return seconds, fitted


def time_dask(X, start, iterations, block, workers=2):
    local, client = cluster(workers)
    try:
        client.wait_for_workers(workers)
        X_dask = spread_over_workers(client, X, block)
        emlab_fit(X_dask, start, 1)  # the workers import emlab once
        seconds, fitted = per_iteration(lambda count: emlab_fit(X_dask, start, count), *iterations)
    finally:
        client.close()
        local.close()
    return seconds, fitted


def spark_session(n, cores):
    from pyspark.sql import SparkSession

    # local mode: the driver's JVM is the executor; room for the points several times over
    # (JVM objects, the cached copy, the Python side's pickles), at least 2 GB
    memory_gb = max(2, math.ceil(n * 2 * 8 * 12 / 2**30))
    spark = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("emlab-vs-spark")
        .config("spark.driver.memory", f"{memory_gb}g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(cores))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark, memory_gb


class _StartModel:
    """What ``pyspark.mllib``'s ``train(initialModel=...)`` reads: k, weights, gaussians."""

    def __init__(self, weights, means, covariances):
        from pyspark.mllib.linalg import DenseMatrix, DenseVector
        from pyspark.mllib.stat.distribution import MultivariateGaussian

        self.k = len(weights)
        self.weights = [float(w) for w in weights]
        D = means.shape[1]
        # DenseMatrix is column-major; a covariance is symmetric, so either order will do
        self.gaussians = [
            MultivariateGaussian(DenseVector(m), DenseMatrix(D, D, c.T.ravel().tolist()))
            for m, c in zip(means, covariances, strict=True)
        ]


def _parameters(model, D):
    weights = np.asarray(model.weights, dtype=float)
    # pyspark.mllib's MultivariateGaussian has mu and sigma, pyspark.ml's mean and cov
    pairs = [(g.mu, g.sigma) if hasattr(g, "mu") else (g.mean, g.cov) for g in model.gaussians]
    means = np.array([mean.toArray() for mean, _ in pairs])
    covariances = np.array([cov.toArray().reshape(D, D) for _, cov in pairs])
    return weights, means, covariances


def time_spark(spark, X, start, iterations, partitions):
    """Spark MLlib's RDD API from the same start, and Spark ML's from its own."""
    from pyspark.ml.clustering import GaussianMixture as MLGaussianMixture
    from pyspark.ml.linalg import DenseVector
    from pyspark.mllib.clustering import GaussianMixture as MLlibGaussianMixture

    D = X.shape[1]
    rows = spark.sparkContext.parallelize(np.array_split(X, partitions), partitions).flatMap(
        lambda block: list(block)
    )
    rows.cache().count()
    initial = _StartModel(*start)

    def mllib_fit(count):
        model = MLlibGaussianMixture.train(
            rows, K, convergenceTol=0.0, maxIterations=count, initialModel=initial
        )
        return _parameters(model, D)

    mllib_fit(1)  # the JVM and the Python workers warm up once
    seconds_mllib, fitted_mllib = per_iteration(mllib_fit, *iterations)
    rows.unpersist()

    frame = spark.createDataFrame(
        spark.sparkContext.parallelize(np.array_split(X, partitions), partitions).flatMap(
            lambda block: [(DenseVector(x),) for x in block]
        ),
        ["features"],
    )
    frame.cache().count()
    spark_log_likelihood = {}

    def ml_fit(count):
        model = MLGaussianMixture(k=K, maxIter=count, tol=0.0, seed=0).fit(frame)
        spark_log_likelihood[count] = model.summary.logLikelihood
        return _parameters(model, D)

    ml_fit(1)
    seconds_ml, fitted_ml = per_iteration(ml_fit, *iterations)
    frame.unpersist()
    return (seconds_mllib, fitted_mllib), (seconds_ml, fitted_ml), spark_log_likelihood


def on_paper(seconds_memory, n, D, threads, machines, points, cores, hop_ms, dask_fixed_ms):
    """The "on paper" estimate for a real cluster, as a paragraph."""
    numbers = K * (1 + D + D * (D + 1) // 2) + 1
    per_point_core = seconds_memory * threads / n
    compute = per_point_core * points / (machines * cores)
    levels = math.ceil(math.log2(machines))
    tree = 2 * levels * hop_ms / 1e3  # parameters down the tree, statistics up it
    total = compute + tree
    return (
        f"On paper: each worker sends its statistics once per iteration, "
        f"K(1 + D + D(D+1)/2) + 1 = {numbers} float64 numbers ({numbers * 8} bytes) for K = {K}, "
        f"D = {D}, whatever the number of its points, and receives the parameters "
        f"(about as many). Measured here, the in-memory engine takes {seconds_memory * 1e3:.1f} ms "
        f"per iteration on {n:,} points with {threads} threads, "
        f"{per_point_core * 1e9:.1f} ns per point per core. Assume {machines} machines with "
        f"{cores} cores each, as fast per core as this one, the {points:.0e} points "
        f"({points * D * 8 / 1e9:,.0f} GB) spread evenly and held in memory "
        f"({points * D * 8 / 1e9 / machines:,.1f} GB a machine), one block per core, and a "
        f"binary-tree reduction of depth ceil(log2 {machines}) = {levels} with {hop_ms:g} ms per "
        f"level (a datacenter round trip plus a task's start; a {numbers * 8}-byte message "
        f"takes 0.2 us at 10 Gb/s), paid twice (parameters down, statistics up). Then an "
        f"iteration takes {per_point_core * 1e9:.1f} ns x {points:.0e} / ({machines} x {cores}) "
        f"= {compute * 1e3:.0f} ms of computing plus {tree * 1e3:.0f} ms of reduction, "
        f"about {total * 1e3:.0f} ms ({total * 100:.0f} s for 100 iterations). "
        f"Not modelled: the scheduler's cost per task (here, on one machine with 2 workers, "
        f"the Dask path's fixed cost was about {dask_fixed_ms:.0f} ms per iteration over the "
        f"in-memory engine's, and a scheduler handing out {machines * cores:,} tasks per pass "
        f"pays more), stragglers, and reading the data when it is not in memory."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="points (D = 2, K = 5)")
    parser.add_argument("--block", type=int, default=None, help="rows per Dask block (n / 4)")
    parser.add_argument("--iterations", type=int, nargs=2, default=(3, 8), metavar=("LO", "HI"))
    parser.add_argument("--cores", type=int, default=2, help="Spark's local[cores]")
    parser.add_argument("--partitions", type=int, default=4, help="Spark's partitions")
    parser.add_argument("--machines", type=int, default=100, help="on paper: machines")
    parser.add_argument("--points", type=float, default=1e10, help="on paper: points")
    parser.add_argument("--cores-per-machine", type=int, default=16, help="on paper")
    parser.add_argument("--hop-ms", type=float, default=1.0, help="on paper: ms per tree level")
    args = parser.parse_args(argv)
    missing = missing_requirements()
    if missing:
        print(
            "benchmarks/spark.py skipped: it needs " + " and ".join(missing) + ".",
            file=sys.stderr,
        )
        return 0
    import pyspark

    n, D = args.n, 2
    block = args.block or -(-n // 4)
    iterations = tuple(args.iterations)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pyspark {pyspark.__version__}, {java_version()}, "
        f"load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    warnings.simplefilter("ignore")
    X = make_data(n, min(block, 1_000_000))
    start = start_for(K)
    rows = []

    seconds_memory, fitted = time_emlab(X, start, iterations)
    rows.append(("emlab, in memory (NumPy)", "fixed", seconds_memory, score(X, *fitted)))
    print(f"emlab in memory: {seconds_memory * 1e3:.1f} ms/iter", flush=True)

    seconds_dask, fitted = time_dask(X, start, iterations, block)
    rows.append(("emlab on Dask, 2 workers", "fixed", seconds_dask, score(X, *fitted)))
    print(f"emlab on Dask: {seconds_dask * 1e3:.1f} ms/iter", flush=True)

    spark, memory_gb = spark_session(n, args.cores)
    try:
        (s_mllib, f_mllib), (s_ml, f_ml), spark_ll = time_spark(
            spark, X, start, iterations, args.partitions
        )
    finally:
        spark.stop()
    rows.append((f"Spark MLlib RDD API, local[{args.cores}]", "fixed", s_mllib, score(X, *f_mllib)))
    rows.append((f"Spark ML DataFrame API, local[{args.cores}]", "its own", s_ml, score(X, *f_ml)))
    load = os.getloadavg()

    print()
    print(
        f"{n:,} x {D}, K = {K}, full covariances, tol = 0, ms/iteration from fits of "
        f"{iterations[0]} and {iterations[1]} iterations; Spark with driver memory "
        f"{memory_gb} GB, {args.partitions} partitions; Dask blocks of {block:,}; "
        f"load average {load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} at the end"
    )
    print()
    print(
        "| library | start | ms/iteration | final log-lik. per point (emlab's scorer) "
        "| time / emlab in memory |"
    )
    print("|---|---|---:|---:|---:|")
    for name, kind, seconds, log_likelihood in rows:
        print(
            f"| {name} | {kind} | {seconds * 1e3:.1f} | {log_likelihood:.6f} "
            f"| {seconds / seconds_memory:.1f}x |"
        )
    print()
    reference = rows[0][3]
    print(
        f"Per iteration, Spark MLlib (same start) takes {s_mllib / seconds_memory:.0f}x emlab in "
        f"memory's time and {s_mllib / seconds_dask:.1f}x emlab on Dask's; Spark ML (its own "
        f"start) {s_ml / seconds_memory:.0f}x and {s_ml / seconds_dask:.1f}x (goal: at least 10x). "
        f"Final log-likelihoods from the same start, relative difference Spark MLlib - emlab: "
        f"{abs(rows[2][3] - reference) / abs(reference):.1e}. Spark ML's own summary "
        f"logLikelihood after {iterations[1]} iterations: {spark_ll[iterations[1]] / n:.6f} "
        f"per point (of the parameters before its last M-step)."
    )
    print()
    print(
        on_paper(
            seconds_memory,
            n,
            D,
            os.cpu_count(),
            args.machines,
            args.points,
            args.cores_per_machine,
            args.hop_ms,
            (seconds_dask - seconds_memory) * 1e3,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
