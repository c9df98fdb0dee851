"""Run scikit-learn's own test files against emlab's estimators (see ``_suite.py``).

What is excluded, and why, is listed below, by the kinds issue 18 allows: tests of
scikit-learn's private helpers (functions and methods emlab does not have, or mocks of
them), of its array-API dispatch (emlab computes with numpy), and of differences that
are deliberate and documented (the README's "Deliberate differences from scikit-learn").
At the end of the run the terminal shows the closing numbers: collected, excluded by
kind, passed, and how many of the passed tests fitted one of emlab's estimators (the
others exercise scikit-learn's own ``MiniBatchKMeans``, ``k_means`` or
``kmeans_plusplus``, which the files test alongside).

Fixtures the files take from scikit-learn's ``conftest.py`` are given here too.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest

PRIVATE = "scikit-learn's private helpers"
ARRAY_API = "scikit-learn's array-API dispatch"
DELIBERATE = "deliberate, documented differences"

#: test function -> (kind, reason). One line each.
EXCLUDED = {
    # sklearn/mixture/tests/test_gaussian_mixture.py
    "test_suffstat_sk_full": (PRIVATE, "_estimate_gaussian_covariances_full, no estimator"),
    "test_suffstat_sk_tied": (PRIVATE, "_estimate_gaussian_covariances_tied, no estimator"),
    "test_suffstat_sk_diag": (PRIVATE, "_estimate_gaussian_covariances_diag, no estimator"),
    "test_gaussian_suffstat_sk_spherical": (PRIVATE, "_estimate_gaussian_covariances_spherical"),
    "test_compute_log_det_cholesky": (PRIVATE, "_compute_log_det_cholesky, no estimator"),
    "test_gaussian_mixture_log_probabilities": (PRIVATE, "_estimate_log_gaussian_prob"),
    "test_gaussian_mixture_precisions_init_diag": (
        PRIVATE,
        "calls the private method _set_parameters and _estimate_gaussian_parameters",
    ),
    "test_gaussian_mixture_precisions_init": (
        PRIVATE,
        "calls the private methods _initialize and _set_parameters (precisions_init is "
        "tested through fit in tests/test_estimators.py)",
    ),
    "test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters": (
        PRIVATE,
        "mocks _estimate_gaussian_parameters, which emlab's engine does not call",
    ),
    "test_gaussian_mixture_array_api_compliance": (ARRAY_API, "array namespaces and devices"),
    "test_gaussian_mixture_raises_where_array_api_not_implemented": (
        ARRAY_API,
        "errors of the array-API dispatch",
    ),
    # sklearn/cluster/tests/test_k_means.py
    "test_relocate_empty_clusters": (PRIVATE, "_relocate_empty_clusters_dense and _sparse"),
    "test_euclidean_distance": (PRIVATE, "_euclidean_dense_dense_wrapper and sparse twin"),
    "test_inertia": (PRIVATE, "_inertia_dense and _inertia_sparse"),
    "test_is_same_clustering": (PRIVATE, "_is_same_clustering"),
    "test_minibatch_update_consistency": (PRIVATE, "_mini_batch_step and _labels_inertia"),
    "test_minibatch_reassign": (PRIVATE, "_mini_batch_step and _labels_inertia"),
    "test_sample_weight_init": (PRIVATE, "calls the private method _init_centroids"),
    "test_sample_weight_zero": (PRIVATE, "calls the private method _init_centroids"),
}


def pytest_collection_modifyitems(config, items):
    kept, deselected = [], []
    counts = {PRIVATE: 0, ARRAY_API: 0, DELIBERATE: 0}
    for item in items:
        if "sklearn_parity" not in str(item.path):
            kept.append(item)
            continue
        name = item.originalname if hasattr(item, "originalname") else item.name
        excluded = EXCLUDED.get(name)
        callspec = getattr(item, "callspec", None)
        if excluded is None and callspec is not None and "array_namespace" in callspec.params:
            excluded = (ARRAY_API, "parametrized over array namespaces")
        if excluded is None:
            kept.append(item)
        else:
            counts[excluded[0]] += 1
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept
    config._emlab_parity = {
        "collected": len(kept)
        + len(deselected)
        - sum(1 for item in kept if "sklearn_parity" not in str(item.path)),
        "excluded": counts,
        "passed": 0,
        "passed_with_emlab": 0,
    }


@pytest.fixture(autouse=True)
def _count_emlab_fits(request, monkeypatch):
    """Record whether the test fitted one of emlab's estimators."""
    from emlab import GaussianMixture, KMeans

    calls = []
    for cls in (GaussianMixture, KMeans):
        original = cls.fit

        @functools.wraps(original)
        def counted(self, *args, _original=original, **kwargs):
            calls.append(type(self).__name__)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "fit", counted)
    yield
    request.node.user_properties.append(("emlab_fits", len(calls)))


def pytest_runtest_logreport(report):
    config = pytest_runtest_logreport.config
    if "sklearn_parity" not in report.nodeid or not hasattr(config, "_emlab_parity"):
        return
    numbers = config._emlab_parity
    if report.when == "call" and report.passed:
        numbers["passed"] += 1
        numbers.setdefault("passed_ids", set()).add(report.nodeid)
    # the fixture records its count at teardown, after the call's report
    elif report.when == "teardown" and report.nodeid in numbers.get("passed_ids", ()):
        if dict(report.user_properties).get("emlab_fits", 0):
            numbers["passed_with_emlab"] += 1


pytest_runtest_logreport.config = None


def pytest_configure(config):
    pytest_runtest_logreport.config = config


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    numbers = getattr(config, "_emlab_parity", None)
    if not numbers:
        return
    excluded = numbers["excluded"]
    terminalreporter.write_sep("=", "scikit-learn's own tests with emlab's estimators")
    terminalreporter.write_line(f"collected: {numbers['collected']}")
    for kind, count in excluded.items():
        terminalreporter.write_line(f"excluded, {kind}: {count}")
    terminalreporter.write_line(
        f"passed: {numbers['passed']} of {numbers['collected'] - sum(excluded.values())} run "
        f"({numbers['passed_with_emlab']} of them fit emlab's GaussianMixture or KMeans)"
    )


def pytest_generate_tests(metafunc):
    # scikit-learn's default: seed 42, or SKLEARN_TESTS_GLOBAL_RANDOM_SEED (e.g. "0-99", "all")
    if "global_random_seed" in metafunc.fixturenames:
        value = os.environ.get("SKLEARN_TESTS_GLOBAL_RANDOM_SEED")
        if value is None:
            seeds = [42]
        elif value == "all":
            seeds = list(range(100))
        elif "-" in value:
            start, stop = value.split("-")
            seeds = list(range(int(start), int(stop) + 1))
        else:
            seeds = [int(value)]
        metafunc.parametrize("global_random_seed", seeds)


@pytest.fixture(params=[np.float32, np.float64])
def global_dtype(request):
    return request.param
