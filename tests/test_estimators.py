"""The estimators as a scikit-learn user meets them: issue 18's cases, one test each.

scikit-learn's own test files run against them in ``tests/sklearn_parity/``; these are
the cases the fuzzing found, and the two Gaussian-mixture engines' agreement.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError

from emlab import BinomialMixture, GaussianMixture, KMeans, datasets
from emlab.estimators.gaussian_mixture import EmptyComponentWarning
from emlab.gmm import COVARIANCE_TYPES, CollapseWarning, e_step

RNG = np.random.RandomState(0)
X_TWO = np.vstack([RNG.normal(0, 1, (200, 2)), RNG.normal(5, 1, (200, 2))])


def _mixture(seed, n_components, n_features, offset, scale, n=300):
    rng = np.random.RandomState(seed)
    labels = rng.randint(n_components, size=n)
    centers = rng.normal(0, 4, (n_components, n_features))
    spreads = rng.uniform(0.3, 2, (n_components, 1))
    return offset + scale * (centers[labels] + rng.normal(size=(n, n_features)) * spreads[labels])


# --- the two engines agree (issue 18: 1e-11 relative) --------------------------------


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**16),
    n_components=st.integers(1, 3),
    n_features=st.integers(1, 3),
    log_offset=st.floats(-2, 9),
    log_scale=st.floats(-3, 3),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
)
def test_the_fast_engine_and_the_readable_steps_agree(
    seed, n_components, n_features, log_offset, log_scale, covariance_type
):
    scale = 10.0**log_scale
    X = _mixture(seed, n_components, n_features, 10.0**log_offset, scale)
    options = dict(
        covariance_type=covariance_type,
        random_state=seed,
        tol=0,
        max_iter=15,
        reg_covar=1e-6 * scale**2,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # collapses and empty components are allowed here
        fast = GaussianMixture(n_components, **options).fit(X)
        readable = GaussianMixture(n_components, record_resp=True, **options).fit(X)
    quick, slow = fast.history_.log_likelihood, readable.history_.log_likelihood
    np.testing.assert_allclose(quick, slow, rtol=1e-11, atol=1e-11 * len(X))
    np.testing.assert_allclose(fast.weights_, readable.weights_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.means_, readable.means_, rtol=1e-11, atol=1e-9 * scale)
    # and both are exact EM: the log-likelihood of the parameters each reports
    params = readable.history_[-1].params
    center = X.mean(axis=0)
    exact = e_step(
        X - center,
        params["weights"],
        params["means"] - center,
        params["covariances"],
        covariance_type,
    )[1]
    assert slow[-1] == pytest.approx(exact, rel=1e-11, abs=1e-11 * len(X))


def test_an_empty_component_warns_and_both_engines_give_it_mean_zero():
    means = []
    for record_resp in (False, True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = GaussianMixture(2, weights_init=[1.0, 0.0], record_resp=record_resp)
            model.fit(X_TWO)
        kinds = {w.category for w in caught}
        assert EmptyComponentWarning in kinds
        assert RuntimeWarning not in kinds  # nothing escapes from numpy
        means.append(model.means_)
    np.testing.assert_allclose(means[0], means[1], atol=1e-12)
    np.testing.assert_allclose(means[1][1], 0.0, atol=1e-12)


# --- GaussianMixture as scikit-learn's -------------------------------------------------


def test_precisions_init_and_covariances_init_give_the_same_fit():
    start = GaussianMixture(2, random_state=0, max_iter=1).fit(X_TWO)
    by_precisions = GaussianMixture(
        2, means_init=start.means_, weights_init=start.weights_, precisions_init=start.precisions_
    ).fit(X_TWO)
    by_covariances = GaussianMixture(
        2,
        means_init=start.means_,
        weights_init=start.weights_,
        covariances_init=start.covariances_,
    ).fit(X_TWO)
    np.testing.assert_allclose(by_precisions.means_, by_covariances.means_, rtol=1e-9)
    with pytest.raises(ValueError, match="not both"):
        GaussianMixture(
            2, precisions_init=start.precisions_, covariances_init=start.covariances_
        ).fit(X_TWO)


def test_lower_bounds_follow_the_history():
    model = GaussianMixture(2, random_state=0).fit(X_TWO)
    np.testing.assert_allclose(model.lower_bounds_, model.history_.log_likelihood[1:] / len(X_TWO))
    assert model.lower_bound_ == model.lower_bounds_[-1]


def test_warm_start_continues_from_the_last_fit():
    cold = GaussianMixture(2, random_state=0, max_iter=4, tol=0).fit(X_TWO)
    warm = GaussianMixture(2, random_state=0, max_iter=2, tol=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warm.fit(X_TWO).fit(X_TWO)
    np.testing.assert_allclose(warm.means_, cold.means_, rtol=1e-10)


def test_float32_stays_float32_and_float32_weights_are_accepted():
    X = X_TWO.astype(np.float32)
    weights = np.array([0.3, 0.7], dtype=np.float32)
    weights /= weights.sum()
    model = GaussianMixture(2, weights_init=weights, random_state=0).fit(X)
    for attribute in ("weights_", "means_", "covariances_", "precisions_"):
        assert getattr(model, attribute).dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32
    double = GaussianMixture(2, weights_init=weights, random_state=0).fit(X_TWO)
    np.testing.assert_allclose(model.means_, double.means_, rtol=1e-5)


def test_a_collapse_without_reg_covar_is_not_called_converged():
    X = datasets.old_faithful(standardize=True).X
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = GaussianMixture(5, covariance_type="diag", reg_covar=0, random_state=0)
            model.fit(X)
        except ValueError as error:  # the covariance stopped being positive definite
            assert "ill-defined empirical covariance" in str(error)
            return
    if any(issubclass(w.category, CollapseWarning) for w in caught):
        assert not model.converged_


@pytest.mark.parametrize("Estimator", [GaussianMixture, KMeans])
def test_data_whose_squares_overflow_get_a_clear_error(Estimator):
    with pytest.raises(ValueError, match="Rescale X"):
        Estimator(2).fit(X_TWO * 1e154)


def test_data_at_1e150_fit():
    model = GaussianMixture(2, random_state=0).fit(X_TWO * 1e150)
    assert np.all(np.isfinite(model.means_))


# --- KMeans as scikit-learn's ----------------------------------------------------------


def test_kmeans_defaults_are_scikit_learns_where_the_lessons_allow():
    model = KMeans()
    assert model.n_clusters == 8
    assert model.n_init == 10  # scikit-learn's "auto" is accepted; the lessons use 10


def test_kmeans_stops_at_duplicate_centroids_as_scikit_learn_does():
    X = np.array([[0, 0], [1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(4\)"):
        model = KMeans(5, init=X, n_init=1).fit(X)
    assert model.n_iter_ == 1
    np.testing.assert_array_equal(model.cluster_centers_, X)


def test_kmeans_inertia_is_never_negative():
    rng = np.random.RandomState(1)
    for _ in range(20):
        X = rng.normal(size=(12, 2))
        assert KMeans(12, n_init=1, random_state=0).fit(X).inertia_ >= 0


def test_kmeans_sample_weight_counts_like_repeated_points():
    X = X_TWO[::8]
    weights = np.arange(len(X)) % 3 + 1
    start = X[:3]
    weighted = KMeans(3, init=start, n_init=1).fit(X, sample_weight=weights)
    repeated = KMeans(3, init=start, n_init=1).fit(np.repeat(X, weights, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_)


def test_kmeans_takes_sparse_callable_and_auto():
    from scipy import sparse

    dense = KMeans(3, random_state=0, n_init="auto").fit(X_TWO)
    sparse_fit = KMeans(3, random_state=0, n_init="auto").fit(sparse.csr_matrix(X_TWO))
    np.testing.assert_allclose(dense.cluster_centers_, sparse_fit.cluster_centers_)
    model = KMeans(2, init=lambda X, k, random_state: X[:k], n_init=1).fit(X_TWO)
    assert model.cluster_centers_.shape == (2, 2)


def test_kmeans_rejects_a_negative_seed_by_name():
    with pytest.raises(InvalidParameterError, match="random_state"):
        KMeans(random_state=-1).fit(X_TWO)


# --- BinomialMixture -------------------------------------------------------------------


def test_binomial_mixture_checks_its_parameters():
    counts = np.array([[3], [5], [7], [9]])
    with pytest.raises(InvalidParameterError, match="learn_weights"):
        BinomialMixture(learn_weights="no").fit(counts)
    as_float = BinomialMixture(n_tosses=10.0, random_state=0).fit(counts)
    as_int = BinomialMixture(n_tosses=10, random_state=0).fit(counts)
    np.testing.assert_array_equal(as_float.thetas_, as_int.thetas_)


@pytest.mark.parametrize("function", ["heights", "blobs", "three_gaussians"])
@pytest.mark.parametrize("seed", [-1, 2**70])
def test_datasets_name_a_bad_seed(function, seed):
    with pytest.raises(ValueError, match="random_state must be an int seed between 0"):
        getattr(datasets, function)(random_state=seed)


# --- the figures and explorers name a bad argument (issue 18's fuzzing) ----------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: __import__("emlab").plots.parameter_trajectories([1, 2], "weights"), "history"),
        (lambda: __import__("emlab").plots.graphical_model(["a", "b"]), "nodes"),
        (lambda: __import__("emlab").plots.hist_with_densities(X_TWO[:, 0], bins=-1), "bins"),
        (lambda: __import__("emlab").widgets.gmm_explorer(X_TWO[:2], n_components=3), "n_comp"),
    ],
    ids=["trajectories", "graphical_model", "bins", "explorer"],
)
def test_figures_name_a_bad_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("n_tosses", [10, 10**13, 10**15])
def test_binomial_mixture_likelihood_is_exact_at_certain_coins(n_tosses):
    # two coins that always (never) show heads, half the trials each: log(1/2) per trial,
    # whatever the number of tosses (clipping 1 to 1 - 1e-12 cost n * 1e-12 nats)
    X = np.array([[n_tosses], [n_tosses], [0], [0]], dtype=float)
    model = BinomialMixture(n_tosses=n_tosses, thetas_init=[[1.0], [0.0]]).fit(X)
    assert model.lower_bound_ == pytest.approx(np.log(0.5), rel=1e-12)
    np.testing.assert_allclose(model.score_samples(X), np.log(0.5), rtol=1e-12)


def test_verbose_reports_each_iteration_while_the_fit_runs(capsys):
    """verbose=2 prints scikit-learn's lines, from the engine's on_iteration as each happens."""
    from emlab.engines.gmm import fit_gmm_fast

    X = datasets.blobs(200, random_state=4)[0]
    model = GaussianMixture(3, verbose=2, verbose_interval=2, tol=0, max_iter=7, random_state=0)
    model.fit(X)
    lines = capsys.readouterr().out.splitlines()
    bounds = np.array([snap.log_likelihood for snap in model.history_]) / len(X)
    assert lines[0] == "Initialization 0"
    assert lines[1:-1] == [
        f"  Iteration {t}\t ll change {bounds[t] - bounds[t - 1]:.5f}" for t in (2, 4, 6)
    ]
    assert lines[-1] == f"Initialization did not converge. lower bound {bounds[-1]:.5f}."

    # the reports come while the fit runs: a report that stops the fit stops it there
    seen = []

    def stop_at_three(iteration, log_likelihood):
        seen.append(iteration)
        if iteration == 3:
            raise KeyboardInterrupt

    start = (model.weights_, model.means_, model.covariances_)
    with pytest.raises(KeyboardInterrupt):
        fit_gmm_fast(X, *start, tol=0, max_iter=50, on_iteration=stop_at_three)
    assert seen == [0, 1, 2, 3]
