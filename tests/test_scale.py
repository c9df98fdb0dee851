"""EM at scale: the estimators on Dask arrays, on a two-worker ``dask.distributed`` cluster.

From the same start, a fit on a Dask array (one map-reduce pass over the blocks per
iteration, :mod:`emlab.engines.distributed`) must give the in-memory engine's iterations:
the log-likelihood (k-means: the inertia) to 1e-10 relative at every iteration, and the
same parameters; from a Zarr store too, and when a worker is killed in the middle of a fit.
Skipped without the ``[scale]`` extra (Dask, distributed, Zarr).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from sklearn.base import clone

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import emlab  # noqa: E402
from emlab.engines import distributed as engine  # noqa: E402

# fits stopped after a fixed number of iterations (tol=0) say they did not converge
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
N, D, K = 6000, 2, 3
BLOCK = 1000


@pytest.fixture(scope="module")
def client():
    """Two worker processes (each under a nanny that restarts it), one thread each."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        worker_dashboard_address=None,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _points(n=N, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]]) + 50.0
    labels = rng.integers(0, K, size=n)
    scales = np.array([0.6, 1.0, 1.5])
    return centres[labels] + rng.normal(size=(n, D)) * scales[labels, None]


@pytest.fixture(scope="module")
def X():
    return _points()


@pytest.fixture(scope="module")
def X_dask(client, X):
    """``X`` in blocks of 1,000 rows, held by the workers (persisted once)."""
    return client.persist(da.from_array(X, chunks=(BLOCK, D)))


def _start(X, covariance_type):
    """A start in scikit-learn's parameters: fitted to a different sample, a few iterations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rough = emlab.GaussianMixture(
            K, covariance_type=covariance_type, max_iter=2, random_state=1
        ).fit(_points(500, seed=5))
    return {
        "weights_init": rough.weights_,
        "means_init": rough.means_,
        "precisions_init": rough.precisions_,
    }


def _same_history(a, b, rtol=1e-10):
    assert len(a) == len(b)
    np.testing.assert_allclose(b.log_likelihood, a.log_likelihood, rtol=rtol, atol=0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_dask_fit_is_the_in_memory_fit(client, X, X_dask, covariance_type):
    model = emlab.GaussianMixture(
        K, covariance_type=covariance_type, tol=0, max_iter=10, **_start(X, covariance_type)
    )
    in_memory = clone(model).fit(X)
    on_dask = clone(model).fit(X_dask)
    assert len(in_memory.history_) == 11
    _same_history(in_memory.history_, on_dask.history_)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(
            getattr(on_dask, name), getattr(in_memory, name), rtol=1e-8, atol=1e-10
        )
    assert on_dask.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-10)
    assert on_dask.n_features_in_ == D


def test_a_dask_fit_stops_where_the_in_memory_fit_stops(client, X, X_dask):
    model = emlab.GaussianMixture(K, tol=1e-6, max_iter=500, **_start(X, "full"))
    in_memory, on_dask = clone(model).fit(X), clone(model).fit(X_dask)
    assert in_memory.converged_ and on_dask.converged_
    assert on_dask.n_iter_ == in_memory.n_iter_
    _same_history(in_memory.history_, on_dask.history_)


def test_kmeans_on_dask_is_kmeans_in_memory(client, X, X_dask):
    init = X[[0, 1, 2]]
    in_memory = emlab.KMeans(K, init=init, n_init=1, tol=0).fit(X)
    on_dask = emlab.KMeans(K, init=init, n_init=1, tol=0).fit(X_dask)
    assert in_memory.n_iter_ > 2
    _same_history(in_memory.history_, on_dask.history_)
    np.testing.assert_allclose(on_dask.cluster_centers_, in_memory.cluster_centers_, rtol=1e-12)
    assert on_dask.inertia_ == pytest.approx(in_memory.inertia_, rel=1e-12)
    assert isinstance(on_dask.labels_, da.Array)
    np.testing.assert_array_equal(on_dask.labels_.compute(), in_memory.labels_)


def test_kmeans_with_an_empty_cluster_refills_it_as_in_memory(client, X, X_dask):
    # a centroid far from every point gets none on the first step: update()'s refill
    init = np.array([[50.0, 50.0], [54.0, 51.0], [1e4, 1e4]])
    in_memory = emlab.KMeans(K, init=init, n_init=1).fit(X)
    on_dask = emlab.KMeans(K, init=init, n_init=1).fit(X_dask)
    _same_history(in_memory.history_, on_dask.history_)
    np.testing.assert_allclose(on_dask.cluster_centers_, in_memory.cluster_centers_, rtol=1e-12)


def test_predictions_on_dask_are_lazy_and_equal(client, X, X_dask):
    model = emlab.GaussianMixture(K, tol=0, max_iter=10, **_start(X, "full")).fit(X)
    for method, rtol in [("predict", 0), ("predict_proba", 1e-9), ("score_samples", 1e-12)]:
        lazy = getattr(model, method)(X_dask)
        assert isinstance(lazy, da.Array), method
        np.testing.assert_allclose(
            lazy.compute(), getattr(model, method)(X), rtol=rtol, atol=1e-12, err_msg=method
        )
    assert model.score(X_dask) == pytest.approx(model.score(X), rel=1e-12)
    assert model.bic(X_dask) == pytest.approx(model.bic(X), rel=1e-12)
    kmeans = emlab.KMeans(K, random_state=0).fit(X)
    for method in ("predict", "transform"):
        lazy = getattr(kmeans, method)(X_dask)
        assert isinstance(lazy, da.Array), method
        np.testing.assert_allclose(lazy.compute(), getattr(kmeans, method)(X), rtol=1e-12)
    assert kmeans.score(X_dask) == pytest.approx(kmeans.score(X), rel=1e-12)


def _zarr_array(X, path):
    zarr = pytest.importorskip("zarr")
    store = zarr.open_array(str(path), mode="w", shape=X.shape, chunks=(BLOCK, D), dtype="f8")
    store[:] = X
    return da.from_zarr(str(path))


def test_a_fit_from_a_zarr_store_is_the_in_memory_fit(client, X, tmp_path):
    X_zarr = _zarr_array(X, tmp_path / "points.zarr")
    assert X_zarr.numblocks == (N // BLOCK, 1)
    model = emlab.GaussianMixture(K, tol=0, max_iter=6, **_start(X, "full"))
    _same_history(clone(model).fit(X).history_, clone(model).fit(X_zarr).history_)


def test_a_worker_killed_mid_fit_does_not_change_the_answer(client, X, tmp_path, monkeypatch):
    X_zarr = _zarr_array(X, tmp_path / "points.zarr")
    model = emlab.GaussianMixture(
        K, covariance_type="diag", tol=0, max_iter=10, **_start(X, "diag")
    )
    expected = clone(model).fit(X_zarr)

    pids = client.run(os.getpid)  # worker address -> its process
    victim = sorted(pids)[0]
    passes = []
    original = engine.DaskData.map_reduce

    def counted(self, *args, **kwargs):
        passes.append(1)
        if len(passes) == 5:  # after the summary's 2 passes and 2 iterations
            # killed from another thread while this pass's tasks run
            threading.Timer(0.02, os.kill, (pids[victim], signal.SIGKILL)).start()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(engine.DaskData, "map_reduce", counted)
    got = clone(model).fit(X_zarr)
    assert len(passes) > 8
    client.wait_for_workers(2, timeout=60)
    deadline = time.monotonic() + 60
    while pids[victim] in client.run(os.getpid).values() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pids[victim] not in client.run(os.getpid).values(), "the worker was killed"
    # the nanny started a new worker, the lost tasks ran again: the same bits
    np.testing.assert_array_equal(got.history_.log_likelihood, expected.history_.log_likelihood)
    np.testing.assert_array_equal(got.means_, expected.means_)


def test_kmeans_parallel_is_seeded_and_a_good_start(client, X, X_dask):
    first = engine.kmeans_parallel(X_dask, K, random_state=3)
    again = engine.kmeans_parallel(X_dask, K, random_state=3)
    np.testing.assert_array_equal(first, again)
    # the same start from another split into blocks and without the cluster: the blocks'
    # generators are seeded by the block's index, so the split matters, not the workers
    with _threads():
        local = engine.kmeans_parallel(da.from_array(X, chunks=(BLOCK, D)), K, random_state=3)
    np.testing.assert_array_equal(first, local)
    # near the three true centres (50, 50), (54, 51), (51, 55), each taken once
    centres = np.array([[0.0, 0.0], [4.0, 1.0], [1.0, 5.0]]) + 50.0
    distances = np.linalg.norm(first[:, None] - centres[None], axis=2)
    assert sorted(distances.argmin(axis=1).tolist()) == [0, 1, 2]
    assert distances.min(axis=1).max() < 0.5
    # the estimators' default starts on Dask input reach the in-memory fit's optimum
    on_dask = emlab.GaussianMixture(K, random_state=0).fit(X_dask)
    in_memory = emlab.GaussianMixture(K, random_state=0).fit(X)
    assert on_dask.lower_bound_ == pytest.approx(in_memory.lower_bound_, rel=1e-5)
    km = emlab.KMeans(K, random_state=0, n_init=1).fit(X_dask)
    assert km.inertia_ == pytest.approx(emlab.KMeans(K, random_state=0).fit(X).inertia_, rel=1e-4)


class _threads:
    """Dask's threaded scheduler for a block of code, whatever client is active."""

    def __enter__(self):
        import dask

        self._config = dask.config.set(scheduler="threads")
        self._config.__enter__()

    def __exit__(self, *exc):
        self._config.__exit__(*exc)


@pytest.mark.parametrize("make", [emlab.GaussianMixture, emlab.KMeans])
def test_bad_dask_input_gets_a_clear_error(client, X, make):
    with_nan = X.copy()
    with_nan[4321, 1] = np.nan  # in the fifth block
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value"):
        make(2).fit(da.from_array(with_nan, chunks=(BLOCK, D)))
    with pytest.raises(ValueError, match=r"X must be 2-D.*X\.reshape\(-1, 1\)"):
        make(2).fit(da.from_array(X[:, 0], chunks=BLOCK))
    unknown = da.from_array(X, chunks=(BLOCK, D))
    unknown = unknown[unknown[:, 0] > 0]
    with pytest.raises(ValueError, match=r"unknown size.*compute_chunk_sizes"):
        make(2).fit(unknown)
    fitted = make(2).fit(X)
    with pytest.raises(ValueError, match="X has 3 features"):
        fitted.predict(da.ones((10, 3), chunks=5))


def test_numpy_users_do_not_import_dask():
    code = (
        "import sys, numpy as np, emlab\n"
        "X = np.random.default_rng(0).normal(size=(200, 2))\n"
        "emlab.GaussianMixture(2, random_state=0).fit(X).predict(X)\n"
        "emlab.KMeans(2, random_state=0).fit(X).predict(X)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'zarr')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"
