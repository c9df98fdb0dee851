"""The fast engine gives the readable steps' answers: same history, same parameters."""

import numpy as np
import pytest

from emlab import fast
from emlab.gmm import COVARIANCE_TYPES, fit_gmm, init_params


def _data(n, D, K, seed, offset=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, size=(K, D))
    labels = rng.integers(0, K, size=n)
    return offset + centres[labels] + scale * rng.normal(size=(n, D))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize(
    ("n", "D", "K", "offset"), [(400, 1, 3, 0.0), (900, 2, 4, 1e4), (600, 5, 3, -50.0)]
)
def test_same_history_and_parameters_as_the_readable_steps(covariance_type, n, D, K, offset):
    X = _data(n, D, K, seed=n + D, offset=offset)
    start = init_params(X, K, "random_from_data", 3, covariance_type)
    slow = fit_gmm(X, *start, covariance_type, tol=0, max_iter=12)
    quick = fast.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=12, chunk_size=97)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-11
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-8, atol=1e-12)


def test_same_stopping_rule():
    X = _data(500, 2, 3, seed=1)
    start = init_params(X, 3, "random_from_data", 0, "full")
    slow = fit_gmm(X, *start, tol=1e-4, max_iter=200)
    quick = fast.fit_gmm_fast(X, *start, tol=1e-4, max_iter=200)
    assert (quick.n_iter, quick.converged) == (slow.n_iter, slow.converged)
    assert quick.resp is None and all(snap.resp is None for snap in quick.history)


def test_a_big_first_move_uses_the_exact_second_pass(monkeypatch):
    # a narrow cluster far from where its component starts: the first step moves ~1e5 sds
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (300, 1)), rng.normal(1000, 1e-3, (300, 1))])
    start = (np.array([0.5, 0.5]), np.array([[0.0], [999.0]]), np.array([1.0, 1e-4]))
    calls = []
    original = fast._pass
    monkeypatch.setattr(
        fast,
        "_pass",
        lambda *a, **k: calls.append(k.get("centers") is not None) or original(*a, **k),
    )
    quick = fast.fit_gmm_fast(X, *start, "spherical", tol=0, max_iter=5, reg_covar=0)
    slow = fit_gmm(X, *start, "spherical", tol=0, max_iter=5, reg_covar=0)
    assert any(calls), "the exact pass ran"
    np.testing.assert_allclose(quick.params["covariances"], slow.params["covariances"], rtol=1e-8)


def test_chunk_size_keeps_the_working_set_small():
    assert fast.gmm_chunk_size(1_000_000, 5, 2) == fast.CHUNK_VALUES // 10
    assert fast.gmm_chunk_size(100, 5, 2) == 100
