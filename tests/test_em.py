"""Tests of the shared EM loop, on a model small enough to write out here.

The model: a two-component 1-D Gaussian mixture with unit variances and equal
weights, whose only parameters are the two means. Its E- and M-steps are written
independently of ``emlab.gmm``.
"""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from emlab.em import History, Snapshot, improves, run_em


def e_step(x, params):
    log_joint = np.log(0.5) + norm.logpdf(x[:, None], loc=params["means"][None, :])
    log_px = logsumexp(log_joint, axis=1)
    return np.exp(log_joint - log_px[:, None]), float(log_px.sum())


def m_step(x, resp):
    return {"means": resp.T @ x / resp.sum(axis=0)}


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(-2, 1, 150), rng.normal(3, 1, 100)])


def test_tol_zero_runs_exactly_max_iter(x):
    result = run_em(x, {"means": np.array([0.0, 1.0])}, e_step, m_step, tol=0, max_iter=7)
    assert result.n_iter == 7
    assert [snap.iteration for snap in result.history] == list(range(8))
    assert not result.converged


def test_log_likelihood_never_decreases_and_matches_history(x):
    result = run_em(x, {"means": np.array([-0.1, 0.1])}, e_step, m_step, tol=0, max_iter=50)
    ll = result.history.log_likelihood
    assert np.all(np.diff(ll) >= -1e-9 * np.abs(ll[1:]))
    assert result.log_likelihood == ll[-1]
    # the recorded value is the log-likelihood of the recorded parameters
    for snap in result.history[::10]:
        assert snap.log_likelihood == pytest.approx(e_step(x, snap.params)[1], rel=1e-12)


def test_converges_on_average_change(x):
    tol = 1e-6
    result = run_em(x, {"means": np.array([-1.0, 1.0])}, e_step, m_step, tol=tol, max_iter=500)
    assert result.converged
    ll = result.history.log_likelihood
    assert abs(ll[-1] - ll[-2]) / len(x) < tol
    assert np.all(np.abs(np.diff(ll[:-1])) / len(x) >= tol)  # it did not stop earlier
    np.testing.assert_allclose(np.sort(result.params["means"]), [-2, 3], atol=0.3)


def test_history_holds_copies(x):
    start = {"means": np.array([-1.0, 1.0])}
    result = run_em(x, start, e_step, m_step, tol=0, max_iter=3)
    start["means"][:] = 99
    assert result.history[0].params["means"].tolist() == [-1.0, 1.0]
    assert result.history.param("means").shape == (4, 2)


def test_record_resp(x):
    quiet = run_em(x, {"means": np.array([-1.0, 1.0])}, e_step, m_step, tol=0, max_iter=2)
    assert all(snap.resp is None for snap in quiet.history)
    with pytest.raises(ValueError, match="record_resp=True"):
        _ = quiet.history.resp
    loud = run_em(
        x, {"means": np.array([-1.0, 1.0])}, e_step, m_step, tol=0, max_iter=2, record_resp=True
    )
    assert loud.history.resp.shape == (3, len(x), 2)
    np.testing.assert_array_equal(loud.history.resp[-1], loud.resp)


def test_stop_hook_replaces_the_default_test(x):
    calls = []

    def stop(previous, current):
        calls.append((previous.iteration, current.iteration))
        return current.iteration == 4

    result = run_em(x, {"means": np.array([-1.0, 1.0])}, e_step, m_step, max_iter=100, stop=stop)
    assert result.n_iter == 4 and result.converged
    assert calls == [(0, 1), (1, 2), (2, 3), (3, 4)]


@pytest.mark.parametrize(
    "kwargs", [{"tol": -1}, {"tol": np.nan}, {"max_iter": -1}, {"max_iter": 2.5}]
)
def test_bad_settings(x, kwargs):
    name = next(iter(kwargs))
    with pytest.raises(ValueError, match=name):
        run_em(x, {"means": np.array([-1.0, 1.0])}, e_step, m_step, **kwargs)


def test_history_is_a_list_of_snapshots():
    history = History([Snapshot(0, {"a": np.zeros(2)}, -1.0), Snapshot(1, {"a": np.ones(2)}, -0.5)])
    np.testing.assert_array_equal(history.log_likelihood, [-1.0, -0.5])
    np.testing.assert_array_equal(history.param("a"), [[0, 0], [1, 1]])


def test_a_restart_improves_only_by_more_than_rounding():
    assert improves(-100.0, -101.0)
    assert not improves(-101.0, -100.0)
    assert not improves(-100.0 + 1e-12, -100.0)  # the same optimum, other rounding
    assert improves(-100.0 + 1e-6, -100.0)
    assert improves(5e-9, 0.0) and not improves(0.0, 0.0)
    assert improves(-1e300, -np.inf) and not improves(-np.inf, -np.inf)
    assert improves(-100.0 + 1e-12, -100.0, rtol=0.0)
