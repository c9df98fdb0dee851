"""Tests of emlab.coins: the binomial mixture ("two coins")."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import check_estimator

from emlab.coins import (
    BinomialMixture,
    e_step,
    expected_counts,
    fit_coins,
    log_pmf,
    m_step,
    simulate_trials,
)
from emlab.engines import coins as coins_engine

# --- Do & Batzoglou (2008), Nature Biotechnology 26, 897-899, Figure 1b -----------

# Five trials of ten tosses: HTTTHHTHTH, HHHHTHHHHH, HTHHHHHTHH, HTHTTTHHTT, THHHTHHHTH.
PAPER_HEADS = np.array([5, 9, 8, 4, 7])
PAPER_START = [0.60, 0.50]  # theta_A, theta_B; each coin picked with probability 1/2


def test_paper_first_e_step():
    resp, _ = e_step(PAPER_HEADS, 10, PAPER_START)
    # the weights of coin A printed in the figure, trial by trial
    np.testing.assert_array_equal(resp[:, 0].round(2), [0.45, 0.80, 0.73, 0.35, 0.65])
    np.testing.assert_array_equal(resp[0].round(2), [0.45, 0.55])
    # the table of expected heads and tails, trial by trial, then in total
    tails = 10 - PAPER_HEADS
    np.testing.assert_array_equal((resp[:, 0] * PAPER_HEADS).round(1), [2.2, 7.2, 5.9, 1.4, 4.5])
    np.testing.assert_array_equal((resp[:, 0] * tails).round(1), [2.2, 0.8, 1.5, 2.1, 1.9])
    np.testing.assert_array_equal((resp[:, 1] * PAPER_HEADS).round(1), [2.8, 1.8, 2.1, 2.6, 2.5])
    np.testing.assert_array_equal((resp[:, 1] * tails).round(1), [2.8, 0.2, 0.5, 3.9, 1.1])
    expected_heads, expected_tails = expected_counts(PAPER_HEADS, 10, resp)
    np.testing.assert_array_equal(expected_heads.round(1), [21.3, 11.7])
    np.testing.assert_array_equal(expected_tails.round(1), [8.6, 8.4])


def test_paper_first_m_step_and_ten_iterations():
    result = fit_coins(PAPER_HEADS, 10, PAPER_START, tol=0, max_iter=10)
    thetas = result.history.param("thetas")
    np.testing.assert_array_equal(thetas[1].round(2), [0.71, 0.58])
    np.testing.assert_array_equal(thetas[10].round(2), [0.80, 0.52])
    assert result.n_iter == 10
    np.testing.assert_array_equal(result.params["weights"], [0.5, 0.5])  # fixed, as in the paper


def test_paper_complete_data_mle():
    coins = np.array([1, 0, 0, 1, 0])  # B, A, A, B, A
    thetas, _ = m_step(PAPER_HEADS, 10, np.eye(2)[coins])
    np.testing.assert_array_equal(thetas.round(2), [0.80, 0.45])


def test_expected_counts_split_a_trial_by_its_weights():
    # a trial with 8 heads and weight 0.564 on coin A gives 4.512 heads to A
    expected_heads, expected_tails = expected_counts([8], 10, [[0.564, 0.436]])
    np.testing.assert_allclose(expected_heads, [4.512, 3.488])
    np.testing.assert_allclose(expected_tails, [1.128, 0.872])


# --- E- and M-steps against naive versions ---------------------------------------


def naive_e_step(heads, n_tosses, thetas, weights):
    """One trial and one coin at a time, with scipy's binomial."""
    n_trials, n_coins = len(heads), len(thetas)
    joint = np.zeros((n_trials, n_coins))
    for i in range(n_trials):
        for k in range(n_coins):
            joint[i, k] = weights[k] * np.prod(binom.pmf(heads[i], n_tosses, thetas[k]))
    return joint / joint.sum(axis=1, keepdims=True), np.log(joint.sum(axis=1)).sum()


@pytest.mark.parametrize("n_series", [None, 3])
def test_e_step_equals_a_naive_scipy_loop(n_series):
    rng = np.random.default_rng(0)
    shape = (40,) if n_series is None else (40, n_series)
    heads = rng.integers(0, 13, size=shape)
    thetas = rng.uniform(0.05, 0.95, size=(3, *shape[1:]))
    weights = np.array([0.2, 0.5, 0.3])
    resp, log_likelihood = e_step(heads, 12, thetas, weights)
    naive_resp, naive_log_likelihood = naive_e_step(heads, 12, thetas, weights)
    np.testing.assert_allclose(resp, naive_resp, rtol=1e-10)
    assert log_likelihood == pytest.approx(naive_log_likelihood, rel=1e-12)
    # equal weights by default
    np.testing.assert_allclose(
        e_step(heads, 12, thetas)[0], naive_e_step(heads, 12, thetas, np.full(3, 1 / 3))[0]
    )
    naive_log_pmf = np.array([[binom.logpmf(h, 12, t).sum() for t in thetas] for h in heads])
    np.testing.assert_allclose(log_pmf(heads, 12, thetas), naive_log_pmf, rtol=1e-12)


def test_m_step_equals_the_closed_form():
    rng = np.random.default_rng(1)
    heads = rng.integers(0, 21, size=30)
    resp = rng.dirichlet(np.ones(3), size=30)
    thetas, weights = m_step(heads, 20, resp)
    for k in range(3):
        closed_form = np.sum(resp[:, k] * heads) / (20 * np.sum(resp[:, k]))
        assert thetas[k] == pytest.approx(closed_form, rel=1e-12)
        assert weights[k] == pytest.approx(resp[:, k].sum() / 30, rel=1e-12)
    thetas_fixed, no_weights = m_step(heads, 20, resp, learn_weights=False)
    assert no_weights is None
    np.testing.assert_array_equal(thetas_fixed, thetas)


def test_m_step_gives_a_coin_with_no_trials_one_half():
    thetas, weights = m_step([3, 7], 10, [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(thetas, [0.5, 0.5])  # coin A: 10 of 20; coin B: no trials
    np.testing.assert_array_equal(weights, [1.0, 0.0])


def test_thetas_of_zero_and_one_give_no_nan():
    heads = np.array([0, 10, 5])
    resp, log_likelihood = e_step(heads, 10, [0.0, 1.0])
    assert np.all(np.isfinite(resp)) and np.isfinite(log_likelihood)
    np.testing.assert_allclose(resp.sum(axis=1), 1)
    np.testing.assert_allclose(resp[:2], [[1, 0], [0, 1]], atol=1e-12)
    # trials that are possible keep their exact probability (up to the epsilon)
    assert e_step([0, 0], 10, [0.0])[1] == pytest.approx(0.0, abs=1e-9)
    result = fit_coins(heads, 10, [0.0, 1.0], learn_weights=True)
    assert np.all(np.isfinite(result.history.log_likelihood))


# --- properties of EM ------------------------------------------------------------


@st.composite
def coin_problems(draw):
    n_tosses = draw(st.integers(1, 20))
    n_coins = draw(st.integers(1, 3))
    n_trials = draw(st.integers(n_coins, 25))
    heads = np.array(draw(st.lists(st.integers(0, n_tosses), min_size=n_trials, max_size=n_trials)))
    probability = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))
    thetas = np.array(draw(st.lists(probability, min_size=n_coins, max_size=n_coins)))
    raw_weights = np.array(draw(st.lists(st.floats(0.05, 1), min_size=n_coins, max_size=n_coins)))
    learn_weights = draw(st.booleans())
    return heads, n_tosses, thetas, raw_weights / raw_weights.sum(), learn_weights


@settings(deadline=None, max_examples=100)
@given(coin_problems())
def test_em_never_lowers_the_log_likelihood(problem):
    heads, n_tosses, thetas, weights, learn_weights = problem
    result = fit_coins(
        heads, n_tosses, thetas, weights, learn_weights, tol=0, max_iter=15, record_resp=True
    )
    log_likelihood = result.history.log_likelihood
    assert np.all(np.isfinite(log_likelihood))
    assert np.all(np.diff(log_likelihood) >= -1e-9 * (1 + np.abs(log_likelihood[1:])))
    np.testing.assert_allclose(result.history.resp.sum(axis=2), 1, atol=1e-12)
    all_thetas = result.history.param("thetas")
    assert np.all((all_thetas >= 0) & (all_thetas <= 1))
    all_weights = result.history.param("weights")
    np.testing.assert_allclose(all_weights.sum(axis=1), 1, atol=1e-12)


def test_equal_starting_thetas_stay_equal():
    for learn_weights in (False, True):
        result = fit_coins(PAPER_HEADS, 10, [0.6, 0.6], learn_weights=learn_weights)
        thetas = result.history.param("thetas")
        np.testing.assert_array_equal(thetas[:, 0], thetas[:, 1])
        np.testing.assert_allclose(thetas[-1], PAPER_HEADS.sum() / 50)  # the pooled MLE
        np.testing.assert_allclose(result.resp, 0.5)


def test_swapped_starts_swap_the_labels():
    forward = fit_coins(PAPER_HEADS, 10, [0.6, 0.5], learn_weights=True)
    backward = fit_coins(PAPER_HEADS, 10, [0.5, 0.6], learn_weights=True)
    np.testing.assert_allclose(backward.params["thetas"], forward.params["thetas"][::-1])
    np.testing.assert_allclose(backward.params["weights"], forward.params["weights"][::-1])
    np.testing.assert_allclose(backward.resp, forward.resp[:, ::-1])
    assert backward.log_likelihood == pytest.approx(forward.log_likelihood, rel=1e-12)


def test_hard_em_assigns_whole_trials_and_stops_at_a_fixed_point():
    result = fit_coins(PAPER_HEADS, 10, PAPER_START, hard=True, record_resp=True)
    assert result.converged
    assert set(np.unique(result.history.resp)) <= {0.0, 1.0}
    coins = result.resp.argmax(axis=1)
    complete_data_mle, _ = m_step(PAPER_HEADS, 10, np.eye(2)[coins])
    np.testing.assert_allclose(result.params["thetas"], complete_data_mle)

    # hard EM climbs the complete-data log-likelihood sum_i max_k log(pi_k p(h_i | theta_k))
    def complete_data_log_likelihood(snap):
        log_joint = np.log(snap.params["weights"]) + log_pmf(PAPER_HEADS, 10, snap.params["thetas"])
        return log_joint.max(axis=1).sum()

    climbed = [complete_data_log_likelihood(snap) for snap in result.history]
    assert np.all(np.diff(climbed) >= -1e-12)


# --- simulation and recovery -----------------------------------------------------


def test_simulate_trials():
    heads, coins = simulate_trials([0.9, 0.1], 2000, 10, weights=[0.25, 0.75], random_state=0)
    assert heads.shape == coins.shape == (2000,)
    assert set(np.unique(coins)) == {0, 1}
    assert np.all((heads >= 0) & (heads <= 10))
    assert np.mean(coins == 0) == pytest.approx(0.25, abs=0.03)
    assert heads[coins == 0].mean() == pytest.approx(9, abs=0.1)
    assert heads[coins == 1].mean() == pytest.approx(1, abs=0.1)
    again, _ = simulate_trials([0.9, 0.1], 2000, 10, weights=[0.25, 0.75], random_state=0)
    np.testing.assert_array_equal(heads, again)
    series, _ = simulate_trials([[0.9, 0.2], [0.1, 0.5]], 50, 10, random_state=0)
    assert series.shape == (50, 2)


def test_em_recovers_simulated_coins():
    heads, _ = simulate_trials([0.6, 0.2], 500, 10, random_state=0)
    result = fit_coins(heads, 10, [0.7, 0.1], learn_weights=True)
    assert result.converged
    np.testing.assert_allclose(result.params["thetas"], [0.6, 0.2], atol=0.03)
    model = BinomialMixture(2, n_tosses=10, n_init=3, random_state=0).fit(heads.reshape(-1, 1))
    np.testing.assert_allclose(np.sort(model.thetas_.ravel()), [0.2, 0.6], atol=0.03)


def test_binomial_mixture_recovers_several_series():
    thetas = np.array([[0.8, 0.3], [0.2, 0.6]])
    X, coins = simulate_trials(thetas, 400, 12, weights=[0.3, 0.7], random_state=1)
    model = BinomialMixture(2, n_tosses=12, n_init=2, random_state=0).fit(X)
    order = np.argsort(model.thetas_[:, 0])[::-1]
    np.testing.assert_allclose(model.thetas_[order], thetas, atol=0.04)
    np.testing.assert_allclose(model.weights_[order], [0.3, 0.7], atol=0.05)
    true_coin_of_component = np.argsort(order)
    assert np.mean(true_coin_of_component[model.predict(X)] == coins) > 0.95


# --- the estimator ---------------------------------------------------------------


def test_binomial_mixture_with_one_column_equals_fit_coins():
    model = BinomialMixture(
        2, n_tosses=10, thetas_init=[[0.6], [0.5]], learn_weights=False, tol=0, max_iter=10
    )
    with pytest.warns(ConvergenceWarning):  # tol=0: it runs all ten iterations
        model.fit(PAPER_HEADS.reshape(-1, 1))
    result = fit_coins(PAPER_HEADS, 10, PAPER_START, tol=0, max_iter=10)
    np.testing.assert_array_equal(model.thetas_.ravel(), result.params["thetas"])
    np.testing.assert_array_equal(model.weights_, result.params["weights"])
    assert model.lower_bound_ == result.log_likelihood / 5
    np.testing.assert_array_equal(model.predict_proba(PAPER_HEADS.reshape(-1, 1)), result.resp)
    assert model.n_iter_ == result.n_iter


def test_binomial_mixture_methods_agree():
    heads, _ = simulate_trials([0.7, 0.3, 0.5], 200, 10, random_state=2)
    X = heads.reshape(-1, 1)
    model = BinomialMixture(3, random_state=0).fit(X)
    resp, log_likelihood = e_step(heads, 10, model.thetas_.ravel(), model.weights_)
    np.testing.assert_allclose(model.predict_proba(X), resp)
    np.testing.assert_array_equal(model.predict(X), resp.argmax(axis=1))
    np.testing.assert_array_equal(model.fit_predict(X), model.predict(X))
    assert model.score_samples(X).sum() == pytest.approx(log_likelihood)
    assert model.score(X) == pytest.approx(log_likelihood / 200)
    assert model.score(X) == pytest.approx(model.lower_bound_)
    assert model.history_.log_likelihood[-1] == pytest.approx(log_likelihood)
    assert model.n_features_in_ == 1 and model.converged_


def test_same_random_state_gives_the_same_fit_bit_for_bit():
    X, _ = simulate_trials([[0.7, 0.2], [0.3, 0.5]], 100, 10, random_state=3)
    first = BinomialMixture(2, n_init=3, random_state=5).fit(X)
    second = BinomialMixture(2, n_init=3, random_state=5).fit(X)
    np.testing.assert_array_equal(first.thetas_, second.thetas_)
    np.testing.assert_array_equal(first.weights_, second.weights_)
    assert first.lower_bound_ == second.lower_bound_


def test_restarts_keep_the_highest_log_likelihood():
    X, _ = simulate_trials([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9]], 60, 10, random_state=4)
    model = BinomialMixture(3, n_init=5, random_state=0).fit(X)
    rng = check_random_state(0)  # replay the five random starts
    runs = []
    for _ in range(5):
        random_resp = rng.uniform(size=(60, 3))
        start, _ = m_step(X, 10, random_resp / random_resp.sum(axis=1, keepdims=True))
        runs.append(coins_engine.fit_coins_fast(X, 10, start, learn_weights=True))
    log_likelihoods = [run.log_likelihood for run in runs]
    assert model.lower_bound_ == max(log_likelihoods) / 60
    best = runs[int(np.argmax(log_likelihoods))]
    np.testing.assert_array_equal(model.thetas_, best.params["thetas"])


def test_passes_sklearn_estimator_checks():
    # The tags (categorical, positive_only) make the checks feed whole non-negative
    # counts; none of them exceeds the default n_tosses=10.
    check_estimator(BinomialMixture())


# --- bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heads", "pattern"),
    [
        ([3, 11, 5], "heads.*n_tosses"),
        ([3, -1, 5], "heads"),
        ([3, 2.5, 5], "heads"),
        ([3, np.nan, 5], "heads"),
        ([], "heads"),
    ],
    ids=["too-many-heads", "negative", "fractional", "nan", "empty"],
)
def test_bad_heads_raise_naming_them(heads, pattern):
    for call in (
        lambda: e_step(heads, 10, [0.6, 0.5]),
        lambda: m_step(heads, 10, np.full((3, 2), 0.5)),
        lambda: fit_coins(heads, 10, [0.6, 0.5]),
    ):
        with pytest.raises(ValueError, match=pattern):
            call()


@pytest.mark.parametrize(
    ("X", "pattern"),
    [
        ([[3], [11], [5]], "X.*n_tosses"),
        ([[3], [-1], [5]], "Negative values.*X.*n_tosses"),
        ([[3], [2.5], [5]], "X"),
        ([[3], [np.nan], [5]], "X"),
    ],
    ids=["too-many-heads", "negative", "fractional", "nan"],
)
def test_bad_X_raises_naming_it(X, pattern):
    with pytest.raises(ValueError, match=pattern):
        BinomialMixture(2, n_tosses=10).fit(X)
    model = BinomialMixture(2, n_tosses=10, random_state=0).fit([[3], [4], [5]])
    with pytest.raises(ValueError, match=pattern):
        model.predict(X)


def test_impossible_probabilities_raise_naming_the_argument():
    with pytest.raises(ValueError, match="thetas"):
        e_step(PAPER_HEADS, 10, [1.2, 0.5])
    with pytest.raises(ValueError, match="thetas"):
        e_step(PAPER_HEADS, 10, [-0.1, 0.5])
    with pytest.raises(ValueError, match="thetas"):
        e_step(PAPER_HEADS, 10, [[0.6], [0.5]])  # 2-D thetas for 1-D heads
    with pytest.raises(ValueError, match="weights"):
        e_step(PAPER_HEADS, 10, [0.6, 0.5], [0.5, 0.6])
    with pytest.raises(ValueError, match="weights"):
        e_step(PAPER_HEADS, 10, [0.6, 0.5], [0.5, 0.3, 0.2])
    with pytest.raises(ValueError, match="weights"):
        simulate_trials([0.6, 0.5], 10, weights=[0.9, 0.9])
    with pytest.raises(ValueError, match="thetas"):
        simulate_trials([0.6, 1.5], 10)
    with pytest.raises(ValueError, match="n_tosses"):
        e_step(PAPER_HEADS, 0, [0.6, 0.5])
    with pytest.raises(ValueError, match="thetas_init"):
        BinomialMixture(2, thetas_init=[[0.6], [1.5]]).fit(PAPER_HEADS.reshape(-1, 1))
    with pytest.raises(ValueError, match="thetas_init"):
        BinomialMixture(2, thetas_init=[0.6, 0.5]).fit(PAPER_HEADS.reshape(-1, 1))
    with pytest.raises(ValueError, match="weights_init"):
        BinomialMixture(2, weights_init=[0.6, 0.6]).fit(PAPER_HEADS.reshape(-1, 1))
    with pytest.raises(ValueError, match="n_components"):
        BinomialMixture(6).fit(PAPER_HEADS.reshape(-1, 1))
    with pytest.raises(ValueError, match="reshape"):
        BinomialMixture(2).fit(PAPER_HEADS)  # 1-D: one column needs reshape(-1, 1)
