"""The fast engine gives the readable steps' answers: same history, same parameters."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import norm

from emlab.engines import coins as coins_engine
from emlab.engines import gmm as gmm_engine
from emlab.engines import kmeans as kmeans_engine
from emlab.engines import workspace as shared
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
    quick = gmm_engine.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=12, chunk_size=97)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-11
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-8, atol=1e-12)


def test_same_stopping_rule():
    X = _data(500, 2, 3, seed=1)
    start = init_params(X, 3, "random_from_data", 0, "full")
    slow = fit_gmm(X, *start, tol=1e-4, max_iter=200)
    quick = gmm_engine.fit_gmm_fast(X, *start, tol=1e-4, max_iter=200)
    assert (quick.n_iter, quick.converged) == (slow.n_iter, slow.converged)
    assert quick.resp is None and all(snap.resp is None for snap in quick.history)


def test_a_big_first_move_uses_the_exact_second_pass(monkeypatch):
    # a narrow cluster far from where its component starts: the first step moves ~1e5 sds
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1, (300, 1)), rng.normal(1000, 1e-3, (300, 1))])
    start = (np.array([0.5, 0.5]), np.array([[0.0], [999.0]]), np.array([1.0, 1e-4]))
    calls = []
    original = gmm_engine._pass
    monkeypatch.setattr(
        gmm_engine,
        "_pass",
        lambda *a, **k: calls.append(k.get("centers") is not None) or original(*a, **k),
    )
    quick = gmm_engine.fit_gmm_fast(X, *start, "spherical", tol=0, max_iter=5, reg_covar=0)
    slow = fit_gmm(X, *start, "spherical", tol=0, max_iter=5, reg_covar=0)
    assert any(calls), "the exact pass ran"
    np.testing.assert_allclose(quick.params["covariances"], slow.params["covariances"], rtol=1e-8)


def test_chunk_size_keeps_the_working_set_small():
    assert gmm_engine.gmm_chunk_size(1_000_000, 5, 2) == shared.CHUNK_VALUES // 10
    assert gmm_engine.gmm_chunk_size(100, 5, 2) == 100
    for n, K, D in [(100_000, 3, 2), (1_000_000, 8, 16), (100_000, 5, 7)]:
        chunk = kmeans_engine.kmeans_chunk_size(n, K, D)
        assert chunk % 8 == 0 and chunk * (K + D + 1) <= shared.CHUNK_VALUES // 2 + 8 * (K + D + 1)
    assert kmeans_engine.kmeans_chunk_size(300, 3, 2) == 300


@pytest.mark.parametrize(
    ("n", "K", "P"), [(100_000, 3, 3), (1_000_000, 5, 6), (100_000, 8, 153), (50_000, 4, 1326)]
)
def test_expansion_chunks_are_even_cache_sized_and_not_too_short(n, K, P):
    chunk = gmm_engine.expansion_chunk_size(n, K, P)
    n_chunks = -(-n // chunk)
    assert n_chunks % shared.N_THREADS == 0
    assert P * chunk * 8 <= 9 * 2**20  # the features of a chunk: at most about 8 MB
    if P <= gmm_engine.FEW_FEATURES:  # one-dimensional data, on one thread: half the working set
        assert shared.CHUNK_VALUES / 4 <= (K + P) * chunk <= 0.55 * shared.CHUNK_VALUES
    elif (
        K + P
    ) * gmm_engine.MIN_EXPANSION_CHUNK <= shared.CHUNK_VALUES:  # few features: cache-sized
        assert shared.CHUNK_VALUES / 2 <= (K + P) * chunk <= 1.1 * shared.CHUNK_VALUES
    else:  # many: long enough rows for the matrix products, within the 8 MB
        assert chunk >= min(gmm_engine.MIN_EXPANSION_CHUNK, 2**20 // P) * 0.9
    assert gmm_engine.expansion_chunk_size(500, K, P) == 500


# --- the expansion path and its accuracy bound ----------------------------------------


def _paths(monkeypatch):
    """Count which path each E-step of fit_gmm_fast takes."""
    taken = {"expansion": 0, "exact": 0}
    expansion, exact = gmm_engine._expansion_pass, gmm_engine._pass

    def counted(name, function):
        def wrapper(*args, **kwargs):
            taken[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(gmm_engine, "_expansion_pass", counted("expansion", expansion))
    monkeypatch.setattr(gmm_engine, "_pass", counted("exact", exact))
    return taken


def _coefficients_seen(monkeypatch):
    """Record the coefficients (gmm_engine._Expansion) that each expansion pass is given."""
    seen = []
    original = gmm_engine._expansion_pass

    def recorded(features, starts, coefficients, workspaces, *args):
        seen.append(coefficients)
        return original(features, starts, coefficients, workspaces, *args)

    monkeypatch.setattr(gmm_engine, "_expansion_pass", recorded)
    return seen


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("tolerance", [0.0, np.inf], ids=["always-exact", "always-expansion"])
def test_both_paths_give_the_readable_answer(monkeypatch, covariance_type, tolerance):
    X = _data(700, 3, 3, seed=11, offset=250.0)
    start = init_params(X, 3, "kmeans", 0, covariance_type)
    monkeypatch.setattr(gmm_engine, "EXPANSION_TOLERANCE", tolerance)
    taken = _paths(monkeypatch)
    slow = fit_gmm(X, *start, covariance_type, tol=0, max_iter=15)
    quick = gmm_engine.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=15, chunk_size=128)
    assert taken["expansion" if tolerance else "exact"] >= 15
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-9, atol=1e-12)


def test_ordinary_data_take_the_expansion_path(monkeypatch):
    X = _data(3000, 4, 3, seed=5, offset=1e6)  # far from the origin: centring handles it
    start = init_params(X, 3, "kmeans", 0, "full")
    taken = _paths(monkeypatch)
    gmm_engine.fit_gmm_fast(X, *start, "full", tol=0, max_iter=10)
    assert taken == {"expansion": 11, "exact": 0}


def test_narrow_components_far_from_the_centre_take_the_exact_path(monkeypatch):
    # two tight clusters (sd 0.01) 1e3 apart: the expansion could lose ~1e-4 nats per point
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(0, 0.01, (400, 2)), rng.normal(1e3, 0.01, (400, 2))])
    start = init_params(X, 2, "kmeans", 0, "full", reg_covar=0)
    taken = _paths(monkeypatch)
    quick = gmm_engine.fit_gmm_fast(X, *start, "full", tol=0, max_iter=5, reg_covar=0)
    slow = fit_gmm(X, *start, "full", tol=0, max_iter=5, reg_covar=0)
    assert taken["exact"] == 6 and taken["expansion"] == 0
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )


def test_the_log_likelihood_never_decreases():
    X = _data(2000, 2, 4, seed=21)
    for covariance_type in COVARIANCE_TYPES:
        start = init_params(X, 4, "random_from_data", 1, covariance_type)
        result = gmm_engine.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=60)
        steps = np.diff(result.history.log_likelihood)
        assert steps.min() >= -1e-9 * abs(result.log_likelihood)


def test_the_estimator_uses_the_fast_engine_and_matches_the_readable_steps(monkeypatch):
    from emlab import GaussianMixture

    X = _data(800, 2, 3, seed=4)
    taken = _paths(monkeypatch)
    model = GaussianMixture(3, covariance_type="full", random_state=0, tol=1e-6).fit(X)
    assert taken["expansion"] > 0
    recorded = GaussianMixture(3, random_state=0, tol=1e-6, record_resp=True).fit(X)
    np.testing.assert_allclose(
        model.history_.log_likelihood, recorded.history_.log_likelihood, rtol=1e-12
    )
    np.testing.assert_allclose(model.covariances_, recorded.covariances_, rtol=1e-9)
    assert model.n_iter_ == recorded.n_iter_


def test_a_collapsing_component_still_warns():
    from emlab.gmm import CollapseWarning

    X = np.concatenate([np.random.default_rng(0).normal(size=(50, 2)), np.ones((5, 2)) * 9])
    start = (np.array([0.5, 0.5]), np.array([[0.0, 0.0], [9.0, 9.0]]), np.stack([np.eye(2)] * 2))
    with pytest.warns(CollapseWarning):
        gmm_engine.fit_gmm_fast(X, *start, "full", tol=0, max_iter=3)


def test_a_covariance_that_is_not_positive_definite_is_a_clear_error():
    X = _data(100, 2, 2, seed=1)
    bad = np.stack([np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]])])
    with pytest.raises(ValueError, match=r"covariances\[1\] is not positive definite"):
        gmm_engine.fit_gmm_fast(X, np.full(2, 0.5), X[:2], bad)


# --- k-means ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "D", "K", "offset"), [(600, 1, 3, 0.0), (2000, 2, 5, 1e5), (900, 7, 4, -30.0)]
)
def test_kmeans_engine_gives_the_readable_iterations(n, D, K, offset):
    from emlab.kmeans import fit_kmeans

    X = _data(n, D, K, seed=n, offset=offset)
    centroids = X[np.random.default_rng(n).choice(n, K, replace=False)]
    slow = fit_kmeans(X, centroids, max_iter=50, tol=0)
    quick = kmeans_engine.fit_kmeans_fast(X, centroids, max_iter=50, tol=0, chunk_size=113)
    assert (quick.n_iter, quick.converged) == (slow.n_iter, slow.converged)
    np.testing.assert_allclose(quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-9)
    np.testing.assert_allclose(
        quick.params["centroids"], slow.params["centroids"], rtol=1e-12, atol=1e-9
    )


def test_kmeans_engine_falls_back_on_ties_and_empty_clusters():
    from emlab.kmeans import fit_kmeans

    X = np.array([[0.0], [0.0], [1.0], [1.0], [10.0], [11.0]])
    for centroids in (np.array([[0.0], [0.0], [10.0]]), np.array([[0.5], [100.0], [10.5]])):
        slow = fit_kmeans(X, centroids, max_iter=10, tol=0)
        quick = kmeans_engine.fit_kmeans_fast(X, centroids, max_iter=10, tol=0)
        np.testing.assert_allclose(quick.params["centroids"], slow.params["centroids"])
        np.testing.assert_allclose(quick.history.log_likelihood, slow.history.log_likelihood)


def test_kmeans_estimator_matches_scikit_learn_from_the_same_start():
    from sklearn.cluster import KMeans as SkKMeans

    from emlab import KMeans

    X = _data(5000, 3, 6, seed=8)
    centroids = X[:6].copy()
    ours = KMeans(6, init=centroids, n_init=1, tol=0).fit(X)
    theirs = SkKMeans(6, init=centroids, n_init=1, tol=0, algorithm="lloyd").fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(ours.labels_, theirs.labels_)
    assert ours.inertia_ == pytest.approx(theirs.inertia_, rel=1e-10)


# --- the coin mixture --------------------------------------------------------------------


@pytest.mark.parametrize("learn_weights", [False, True])
@pytest.mark.parametrize("n_series", [None, 3])
def test_coin_engine_gives_the_readable_iterations(learn_weights, n_series):
    from emlab.coins import fit_coins, simulate_trials

    if n_series is None:
        thetas, start = [0.6, 0.2], np.array([0.8, 0.7])
    else:
        thetas = [[0.6, 0.3, 0.5], [0.2, 0.7, 0.5]]
        start = np.array([[0.8, 0.5, 0.4], [0.7, 0.6, 0.3]])
    heads, _ = simulate_trials(thetas, 400, 12, random_state=7)
    slow = fit_coins(heads, 12, start, learn_weights=learn_weights, tol=1e-9, max_iter=200)
    quick = coins_engine.fit_coins_fast(
        heads, 12, start, learn_weights=learn_weights, tol=1e-9, max_iter=200
    )
    assert (quick.n_iter, quick.converged) == (slow.n_iter, slow.converged)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-13
    )
    for name in ("thetas", "weights"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-11)
    assert np.diff(quick.history.log_likelihood).min() >= -1e-9


def test_coin_engine_matches_do_and_batzoglou():
    from emlab.coins import fit_coins
    from emlab.datasets import do_batzoglou

    heads = do_batzoglou()
    heads = getattr(heads, "heads", heads)
    start = np.array([0.6, 0.5])
    quick = coins_engine.fit_coins_fast(heads, 10, start, tol=0, max_iter=10)
    # the published estimates after ten iterations: 0.80 and 0.52
    np.testing.assert_allclose(quick.params["thetas"], [0.80, 0.52], atol=0.005)
    slow = fit_coins(heads, 10, start, tol=0, max_iter=10)
    np.testing.assert_allclose(quick.params["thetas"], slow.params["thetas"], rtol=1e-13)


def test_a_point_far_from_every_component_is_redone_with_its_own_maximum(monkeypatch):
    # 60 sds from both components: every shifted density underflows to 0 for that point
    rng = np.random.default_rng(2)
    X = np.concatenate([rng.normal(0, 1, 300), rng.normal(3, 1, 300), [60.0]])[:, None]
    start = (np.array([0.5, 0.5]), np.array([[0.0], [3.0]]), np.array([[[1.0]], [[1.0]]]))
    taken = _paths(monkeypatch)
    seen = _coefficients_seen(monkeypatch)
    quick = gmm_engine.fit_gmm_fast(X, *start, "full", tol=0, max_iter=3)
    slow = fit_gmm(X, *start, "full", tol=0, max_iter=3)
    assert taken["expansion"] == 4
    # the first E-step (the start's components are narrow) has the exponents shifted by
    # the highest peak, and the point's sum underflows there
    assert seen[0].reference is False
    assert np.isfinite(quick.history.log_likelihood).all()
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )
    np.testing.assert_allclose(quick.params["covariances"], slow.params["covariances"], rtol=1e-9)


# --- the speed-ups inside a pass: they must not change the answer -----------------------


@pytest.mark.parametrize(
    ("n", "low", "high"),
    [(100_003, 1e-3, 3.0), (65_536, 1e-40, 8.0), (20_001, 1e-249, 5.0), (500, 0.2, 2.0)],
)
def test_blocked_sum_of_logs_equals_one_log_per_value(n, low, high):
    # products of up to 64 values, one log each; odd lengths leave a value at some levels
    values = np.exp(np.random.default_rng(n).uniform(np.log(low), np.log(high), n))
    expected = np.log(values).sum()
    got = gmm_engine._sum_of_logs(values.copy(), values.min(), values.max())
    assert got == pytest.approx(expected, rel=1e-13, abs=n * 1e-15)


def test_large_one_dimensional_data_give_the_readable_answer():
    # one chunk of 30,000 points: the blocked logs, and the responsibilities' 1/total
    # applied to the (y^2, y) features rather than to the K = 3 densities
    X = _data(30_000, 1, 3, seed=8)
    start = init_params(X, 3, "random_from_data", 1, "full")
    slow = fit_gmm(X, *start, tol=0, max_iter=8)
    quick = gmm_engine.fit_gmm_fast(X, *start, tol=0, max_iter=8, chunk_size=30_000)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-9)


def test_exponents_below_the_floor_give_the_readable_answer(monkeypatch):
    # components 200 sds apart: a point's density under the other one is e^-20000, which
    # exp would return as 0 (slowly); raised to e^-700 it changes nothing measurable
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(0, 0.5, (500, 2)), rng.normal(100, 0.5, (500, 2))])
    start = init_params(X, 2, "kmeans", 0, "full")
    seen = _coefficients_seen(monkeypatch)
    quick = gmm_engine.fit_gmm_fast(X, *start, "full", tol=0, max_iter=4)
    slow = fit_gmm(X, *start, "full", tol=0, max_iter=4)
    assert seen and all(coefficients.floor is not None for coefficients in seen)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )
    np.testing.assert_allclose(quick.params["means"], slow.params["means"], rtol=1e-12, atol=1e-12)


def test_the_floor_keeps_the_scaled_densities_normal_numbers(monkeypatch):
    # two narrow components and a wide reference (K = 3 in 1-D: the pass scales the
    # densities by 1 / total >= 1 / highest): a point's exponent under the far narrow
    # component is -5000, so the floor must leave e^floor / highest a normal number
    # (subnormal products made a pass twice as slow) and change nothing measurable
    rng = np.random.default_rng(27)
    X = np.concatenate([rng.normal(-5, 0.1, 500), rng.normal(5, 0.1, 500)])[:, None]
    params = (
        np.array([0.45, 0.45, 0.1]),
        np.array([[-5.0], [5.0], [0.0]]),
        np.array([0.01, 0.01, 1e6]),
    )
    coefficients = _coefficients_for(X, *params, "spherical")
    assert coefficients.reference and coefficients.floor is not None
    F = gmm_engine._features(X - X.mean(axis=0), "spherical")
    exponents = coefficients.theta @ F
    assert exponents.min() < coefficients.floor
    lowest = np.exp(np.maximum(exponents, coefficients.floor)).min() / coefficients.highest
    assert lowest >= np.finfo(float).tiny
    (ll_reference, G_reference), (ll_shifted, G_shifted) = _both_forms(
        monkeypatch, X, params, "spherical"
    )
    # both within the expansion's rounding bound, n P eps max_k T_k (7e-9 here), of the
    # log-likelihood summed from scipy's log-densities
    weights, means, variances = params
    log_densities = np.log(weights) + norm.logpdf(X, means[:, 0], np.sqrt(variances))
    exact = logsumexp(log_densities, axis=1).sum()
    reach = np.abs(X - X.mean()).max() + np.abs(means[:, 0] - X.mean())
    bound = len(X) * 3 * np.finfo(float).eps * (reach**2 / variances).max()
    assert abs(ll_reference - exact) <= bound and abs(ll_shifted - exact) <= bound
    np.testing.assert_allclose(G_reference, G_shifted, rtol=1e-9, atol=1e-9)


def test_ordinary_data_need_no_floor():
    X = _data(1000, 2, 3, seed=9)
    weights, means, covariances = init_params(X, 3, "kmeans", 0, "full")
    center = X.mean(axis=0)
    radius = float(np.sqrt(((X - center) ** 2).sum(axis=1).max()))
    feature_sums = gmm_engine._features(X - center, "full").sum(axis=1)
    coefficients = gmm_engine._coefficients(
        weights, means, covariances, center, "full", radius, 1e9, feature_sums
    )
    assert coefficients.floor is None and coefficients.accurate


def test_a_workspace_hands_out_the_same_memory_again():
    workspace = shared.Workspace()
    first = workspace.array("joint", (3, 100))
    again = workspace.array("joint", (3, 100))
    smaller = workspace.array("joint", (2, 50))
    assert again.base is first.base and smaller.base is first.base
    assert smaller.flags.c_contiguous and smaller.shape == (2, 50)
    bigger = workspace.array("joint", (4, 100))
    assert bigger.shape == (4, 100) and bigger.base is not first.base


def _address(array):
    return array.__array_interface__["data"][0]


def test_scratch_arrays_and_features_begin_on_a_cache_line():
    # numpy's own arrays begin at any multiple of 16 bytes (a plain np.empty fails this
    # for dozens of these sizes)
    for size in range(1, 200):
        for dtype in (float, bool):
            array = shared.aligned_empty((2, size), dtype)
            assert _address(array) % shared.ALIGN == 0
            assert array.shape == (2, size) and array.dtype == dtype
            assert array.flags.c_contiguous and array.flags.writeable
    workspace = shared.Workspace()
    for size in (3, 100, 16_704):
        assert _address(workspace.array("rows", (2, size))) % shared.ALIGN == 0
        assert _address(workspace.array("flags", (size,), bool)) % shared.ALIGN == 0
    Y = np.random.default_rng(0).normal(size=(37, 3))
    for covariance_type in COVARIANCE_TYPES:
        assert _address(gmm_engine._features(Y, covariance_type)) % shared.ALIGN == 0


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_feature_sums_are_the_sums_of_the_features(covariance_type):
    X = _data(300, 3, 2, seed=10, offset=40.0)
    center = X.mean(axis=0)
    Y = X - center
    expected = gmm_engine._features(Y, covariance_type).sum(axis=1)
    got = gmm_engine._feature_sums(Y.sum(axis=0), Y.T @ Y, len(X), covariance_type)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_features_centred_as_they_are_transposed_are_the_features_of_the_centred_points(
    covariance_type, dtype
):
    X = _data(300, 3, 2, seed=11, offset=40.0).astype(dtype)
    center = X.mean(axis=0, dtype=np.float64)
    expected = gmm_engine._features(X - center, covariance_type)
    got = gmm_engine._features(X, covariance_type, center=center)
    np.testing.assert_array_equal(got, expected)  # the same subtraction: bit for bit


def _both_forms(monkeypatch, X, params, covariance_type):
    """The pass's answer with a reference component and with the highest-peak shift."""
    center = X.mean(axis=0)
    radius = float(np.sqrt(((X - center) ** 2).sum(axis=1).max()))
    F = gmm_engine._features(X - center, covariance_type)
    answers = []
    for span in (gmm_engine._REFERENCE_SPAN, -np.inf):
        monkeypatch.setattr(gmm_engine, "_REFERENCE_SPAN", span)
        coefficients = gmm_engine._coefficients(
            *params, center, covariance_type, radius, 1e9, F.sum(axis=1)
        )
        assert coefficients.reference == np.isfinite(span)
        starts = list(range(0, len(X), 250))  # several chunks, on the worker threads
        answers.append(
            gmm_engine._expansion_pass(
                lambda s, _: F[:, s : s + 250], starts, coefficients, shared.make_workspaces()
            )
        )
    return answers


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_reference_component_gives_the_same_e_step(monkeypatch, covariance_type):
    # K - 1 exponents relative to one component, or K shifted by the highest peak
    X = _data(1000, 3, 4, seed=12, offset=-30.0)
    params = init_params(X, 4, "kmeans", 1, covariance_type)
    (ll_reference, G_reference), (ll_shifted, G_shifted) = _both_forms(
        monkeypatch, X, params, covariance_type
    )
    assert ll_reference == pytest.approx(ll_shifted, rel=1e-13)
    np.testing.assert_allclose(G_reference, G_shifted, rtol=1e-10, atol=1e-9)
    # the responsibilities add up to one per point: the counts add up to n
    assert G_reference[:, -1].sum() == pytest.approx(len(X), rel=1e-12)


def test_ordinary_fits_use_a_reference_component_and_far_apart_ones_do_not(monkeypatch):
    seen = _coefficients_seen(monkeypatch)
    X = _data(2000, 2, 3, seed=13)
    gmm_engine.fit_gmm_fast(X, *init_params(X, 3, "kmeans", 0, "full"), tol=0, max_iter=5)
    assert [coefficients.reference for coefficients in seen] == [True] * 6
    # 200 sds apart: an exponent relative to either component could overflow
    seen.clear()
    rng = np.random.default_rng(4)
    X = np.concatenate([rng.normal(0, 0.5, (500, 2)), rng.normal(100, 0.5, (500, 2))])
    gmm_engine.fit_gmm_fast(X, *init_params(X, 2, "kmeans", 0, "full"), tol=0, max_iter=2)
    assert [coefficients.reference for coefficients in seen] == [False] * 3


@pytest.mark.parametrize("K", [3, 5])
def test_one_dimensional_data_give_the_same_e_step_in_both_forms(monkeypatch, K):
    # 1-D: the coefficients from Python floats, the pass on one thread, the reference's
    # sums by subtraction; against K shifted rows, every sum taken directly (K = 5: the
    # features are scaled instead of the densities)
    X = _data(3000, 1, K, seed=21, offset=250.0)
    params = init_params(X, K, "kmeans", 2, "spherical")
    (ll_reference, G_reference), (ll_shifted, G_shifted) = _both_forms(
        monkeypatch, X, params, "spherical"
    )
    assert ll_reference == pytest.approx(ll_shifted, rel=1e-13)
    np.testing.assert_allclose(G_reference, G_shifted, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("threads", [1, 2])
def test_chunks_taken_backwards_give_the_same_results_in_chunk_order(threads):
    taken = []

    def chunk(start, workspace):
        taken.append(start)
        return start * start

    starts = list(range(0, 70, 10))
    forwards = shared.map_chunks(chunk, starts, shared.make_workspaces(), threads)
    forwards_order, taken[:] = list(taken), []
    backwards = shared.map_chunks(chunk, starts, shared.make_workspaces(), threads, backwards=True)
    assert forwards == backwards == [start * start for start in starts]
    if threads == 1 or shared.N_THREADS == 1:
        assert forwards_order == starts and taken == starts[::-1]
    else:  # each thread takes its share the other way round
        assert sorted(taken) == starts
        assert [s for s in taken if s % 20 == 0] == [60, 40, 20, 0]


def test_a_fit_takes_the_chunks_backwards_every_other_pass(monkeypatch):
    directions = []
    original = gmm_engine._expansion_pass

    def recorded(features, starts, coefficients, workspaces, backwards=False):
        directions.append(backwards)
        return original(features, starts, coefficients, workspaces, backwards)

    monkeypatch.setattr(gmm_engine, "_expansion_pass", recorded)
    X = _data(3000, 1, 3, seed=26)
    start = init_params(X, 3, "kmeans", 0, "spherical")
    quick = gmm_engine.fit_gmm_fast(X, *start, "spherical", tol=0, max_iter=5, chunk_size=500)
    assert directions == [True, False] * 3
    slow = fit_gmm(X, *start, "spherical", tol=0, max_iter=5)
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )


def _coefficients_for(X, weights, means, covariances, covariance_type):
    center = X.mean(axis=0)
    radius = float(np.sqrt(((X - center) ** 2).sum(axis=1).max()))
    feature_sums = gmm_engine._features(X - center, covariance_type).sum(axis=1)
    limit = gmm_engine.EXPANSION_TOLERANCE / (len(feature_sums) * np.finfo(float).eps)
    return gmm_engine._coefficients(
        weights, means, covariances, center, covariance_type, radius, limit, feature_sums
    )


def test_one_dimensional_coefficients_from_floats_equal_numpys():
    # the scalar terms (D = 1) against the general numpy ones for spherical covariances
    X = _data(500, 1, 4, seed=22, offset=-40.0)
    _, means, variances = init_params(X, 4, "kmeans", 0, "spherical")
    weights = np.array([0.5, 0.3, 0.2, 0.0])  # a zero weight: log 0 = -inf, no warning
    center, radius = X.mean(axis=0), float(np.abs(X - X.mean()).max())
    scalar = gmm_engine._component_terms_1d(weights, means, variances, center, radius)
    general = gmm_engine._component_terms(weights, means, variances, center, "spherical", radius)
    for got, expected in zip(scalar, general, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-14)
    for bad in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="covariances"):
            gmm_engine._component_terms_1d(weights, means, np.array([1.0, bad, 1, 1]), center, 1.0)


def test_one_dimensional_m_step_from_floats_equals_numpys():
    # G's rows (sum r y^2, sum r y, N) around the centre, one with N = 0
    rng = np.random.default_rng(25)
    stats = np.column_stack([rng.uniform(50, 90, 4), rng.normal(0, 20, 4), [30, 0, 45.5, 24.5]])
    center = np.array([-7.25])
    scalar = gmm_engine._expansion_m_step_1d(stats, center, 1e-6)
    general = gmm_engine._expansion_m_step(stats, center, "spherical", 1e-6)
    for got, expected in zip(scalar, general, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-15)


def test_sums_by_subtraction_are_taken_only_for_a_component_with_enough_weight():
    # two narrow components and a very wide one, which has the highest floor (the
    # reference); a component's sums taken as all the points' minus the others' are off
    # by about eps * n / N_k relative, so they must belong to one with enough weight
    rng = np.random.default_rng(23)
    X = np.concatenate([rng.normal(-5, 1, 500), rng.normal(5, 1, 500)])[:, None]
    means, variances = np.array([[-5.0], [5.0], [0.0]]), np.array([1.0, 1.0, 1e6])
    # K = 3: the densities are scaled, the reference's responsibilities come from the pass
    # and a narrow component's sums by subtraction, whatever the reference's weight
    for weights, taken in (
        ([0.5, 0.5 - 1e-9, 1e-9], True),
        ([0.3, 0.6, 0.1], True),
        ([1e-9, 1e-9, 1 - 2e-9], False),  # no other component has the weight
    ):
        coefficients = _coefficients_for(X, np.array(weights), means, variances, "spherical")
        assert coefficients.reference is taken and coefficients.accurate
        if taken:  # the pass's rows: the narrow components, the heavier one last
            assert coefficients.order == ([0, 2, 1] if weights[1] > weights[0] else [2, 0, 1])
    # K = 5 (more components than features: the features are scaled): the reference's
    # sums come by subtraction, so a reference with a weight of 1e-9 is not taken
    means = np.array([[-5.0], [-4.0], [4.0], [5.0], [0.0]])
    variances = np.array([1.0, 1.0, 1.0, 1.0, 1e6])
    for wide, taken in ((1e-9, False), (0.1, True)):
        weights = np.array([0.25, 0.25, 0.25, 0.25 - wide, wide])
        coefficients = _coefficients_for(X, weights, means, variances, "spherical")
        assert coefficients.reference is taken and coefficients.accurate
        assert coefficients.order is None or coefficients.order[-1] == 4


def test_a_pass_whose_reference_count_comes_out_too_small_is_redone_without_it(monkeypatch):
    # the check after the pass: N_r below least_count sends the E-step to the shifted form
    X = _data(2000, 2, 3, seed=24)
    start = init_params(X, 3, "kmeans", 0, "full")
    coefficients = gmm_engine._coefficients

    def demanding(*args, **kwargs):
        answer = coefficients(*args, **kwargs)
        return answer._replace(least_count=np.inf) if answer.reference else answer

    monkeypatch.setattr(gmm_engine, "_coefficients", demanding)
    seen = _coefficients_seen(monkeypatch)
    quick = gmm_engine.fit_gmm_fast(X, *start, tol=0, max_iter=4)
    slow = fit_gmm(X, *start, tol=0, max_iter=4)
    assert [c.reference for c in seen] == [True, False] * 5  # each pass tried, then redone
    np.testing.assert_allclose(
        quick.history.log_likelihood, slow.history.log_likelihood, rtol=1e-12
    )
    for name in ("weights", "means", "covariances"):
        np.testing.assert_allclose(quick.params[name], slow.params[name], rtol=1e-9)


@pytest.mark.parametrize("D", [1, 2, 5])
def test_quadratic_features_come_diagonal_by_diagonal(D):
    # y_d y_{d+s} for s = 0, 1, ..., each diagonal one product of two blocks of rows
    X = _data(50, D, 2, seed=D)
    center = X.mean(axis=0)
    Y = X - center
    rows, cols, halves = gmm_engine._upper_triangle(D)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [
        (d, e) for d in range(D) for e in range(d, D)
    ]
    np.testing.assert_array_equal(halves, np.where(rows == cols, -0.5, -1.0))
    F = gmm_engine._features(Y, "full")
    np.testing.assert_allclose(F[: len(rows)], (Y[:, rows] * Y[:, cols]).T, rtol=1e-15)
    np.testing.assert_allclose(F[len(rows) : -1], Y.T, rtol=1e-15)
    np.testing.assert_array_equal(F[-1], 1.0)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_features_built_per_chunk_equal_the_kept_ones(monkeypatch, covariance_type):
    # data too big to keep the features: each pass builds them from the centred points
    X = _data(1500, 4, 3, seed=14, offset=500.0)
    start = init_params(X, 3, "kmeans", 0, covariance_type)
    kept = gmm_engine.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=6, chunk_size=256)
    monkeypatch.setattr(gmm_engine, "FEATURE_CACHE_BYTES", 0)
    built = gmm_engine.fit_gmm_fast(X, *start, covariance_type, tol=0, max_iter=6, chunk_size=256)
    np.testing.assert_array_equal(built.history.log_likelihood, kept.history.log_likelihood)
    slow = fit_gmm(X, *start, covariance_type, tol=0, max_iter=6)
    np.testing.assert_allclose(
        built.history.log_likelihood, slow.history.log_likelihood, rtol=1e-11
    )
