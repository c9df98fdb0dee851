"""Tests of emlab.hmm and emlab.CategoricalHMM: closed forms, hmmlearn, and the errors.

The references: brute-force enumeration of every hidden path on tiny problems (the
definition of p(x), the posteriors and the best path, with no recursion at all), and
hmmlearn's CategoricalHMM from the same start (log-likelihood at every iteration, final
parameters, Viterbi path, posteriors, samples).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM as ReferenceHMM
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from emlab import CategoricalHMM, datasets, hmm

RTOL = 1e-8  # the agreement asked of every log-likelihood against hmmlearn


def random_model(n_states, n_symbols, seed):
    rng = np.random.default_rng(seed)
    return {
        "startprob": rng.dirichlet(np.ones(n_states)),
        "transmat": rng.dirichlet(np.ones(n_states), size=n_states),
        "emissionprob": rng.dirichlet(np.ones(n_symbols), size=n_states),
    }


def reference(model, **kwargs):
    """hmmlearn's model, started at ``model`` (init_params="")."""
    ref = ReferenceHMM(
        n_components=len(model["startprob"]),
        n_features=model["emissionprob"].shape[1],
        init_params="",
        **kwargs,
    )
    ref.startprob_ = model["startprob"].copy()
    ref.transmat_ = model["transmat"].copy()
    ref.emissionprob_ = model["emissionprob"].copy()
    return ref


def ours(model, **kwargs):
    """emlab's model, started at ``model`` (init_params="")."""
    est = CategoricalHMM(n_components=len(model["startprob"]), init_params="", **kwargs)
    est.startprob_ = model["startprob"].copy()
    est.transmat_ = model["transmat"].copy()
    est.emissionprob_ = model["emissionprob"].copy()
    return est


@pytest.fixture(scope="module")
def casino_runs():
    """Two casino sequences, 300 and 200 rolls, and a rough start away from the truth."""
    first, second = datasets.casino(300, random_state=1), datasets.casino(200, random_state=2)
    X = np.concatenate([first.X, second.X])
    start = {
        "startprob": np.array([0.5, 0.5]),
        "transmat": np.array([[0.8, 0.2], [0.3, 0.7]]),
        "emissionprob": np.array(
            [[0.2, 0.2, 0.15, 0.15, 0.15, 0.15], [0.1, 0.1, 0.1, 0.1, 0.2, 0.4]]
        ),
    }
    return X, [300, 200], start


# ------------------------------------------------------------------ closed forms


def enumerate_paths(x, model):
    """p(x, z) for every hidden path z of one sequence, by the definition."""
    pi, A, B = model["startprob"], model["transmat"], model["emissionprob"]
    paths = np.array(list(itertools.product(range(len(pi)), repeat=len(x))))
    joint = pi[paths[:, 0]] * B[paths[:, 0], x[0]]
    for s in range(1, len(x)):
        joint = joint * A[paths[:, s - 1], paths[:, s]] * B[paths[:, s], x[s]]
    return paths, joint


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_forward_backward_and_viterbi_equal_enumerating_every_path(seed):
    model = random_model(3, 4, seed)
    rng = np.random.default_rng(10 + seed)
    lengths = [5, 1, 4]
    x = rng.integers(0, 4, size=sum(lengths))

    log_p, gamma, xi_sum, best_log_p, best = 0.0, [], np.zeros((3, 3)), 0.0, []
    for seq in np.split(x, np.cumsum(lengths)[:-1]):
        paths, joint = enumerate_paths(seq, model)
        p = joint.sum()
        log_p += np.log(p)
        gamma.append(
            np.array(
                [[joint[paths[:, s] == k].sum() / p for k in range(3)] for s in range(len(seq))]
            )
        )
        for s in range(len(seq) - 1):
            for j, k in itertools.product(range(3), repeat=2):
                xi_sum[j, k] += joint[(paths[:, s] == j) & (paths[:, s + 1] == k)].sum() / p
        best_log_p += np.log(joint.max())
        best.append(paths[joint.argmax()])

    log_alpha, forward_log_p = hmm.forward(x, lengths=lengths, **model)
    log_beta = hmm.backward(x, lengths=lengths, **model)
    our_gamma, our_xi_sum, our_log_p = hmm.posteriors(x, lengths=lengths, **model)
    viterbi_log_p, path = hmm.viterbi(x, lengths=lengths, **model)

    np.testing.assert_allclose(forward_log_p, log_p, rtol=1e-13)
    np.testing.assert_allclose(our_log_p, log_p, rtol=1e-13)
    assert hmm.log_likelihood(x, lengths=lengths, **model) == forward_log_p
    np.testing.assert_allclose(our_gamma, np.concatenate(gamma), rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(our_xi_sum, xi_sum, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(viterbi_log_p, best_log_p, rtol=1e-13)
    np.testing.assert_array_equal(path, np.concatenate(best))
    # alpha_s . beta_s = p(x) at every step of a sequence (here the first, rows 0..4)
    np.testing.assert_allclose(
        np.exp(log_alpha[:5] + log_beta[:5]).sum(axis=1), np.exp(log_p_first(x[:5], model))
    )


def log_p_first(seq, model):
    return np.log(enumerate_paths(seq, model)[1].sum())


def test_the_first_alpha_and_the_last_beta_are_the_definitions():
    model = random_model(2, 3, 4)
    x = np.array([2, 0, 1])
    log_alpha, _ = hmm.forward(x, **model)
    log_beta = hmm.backward(x, **model)
    np.testing.assert_allclose(
        log_alpha[0], np.log(model["startprob"] * model["emissionprob"][:, 2])
    )
    np.testing.assert_array_equal(log_beta[-1], 0.0)
    np.testing.assert_array_equal(
        hmm.log_emissions(x, model["emissionprob"]), np.log(model["emissionprob"][:, x].T)
    )


def test_sequences_stacked_give_what_each_gives_alone():
    model = random_model(3, 5, 7)
    rng = np.random.default_rng(3)
    lengths = [7, 1, 30, 2, 12]
    x = rng.integers(0, 5, size=sum(lengths))
    pieces = np.split(x, np.cumsum(lengths)[:-1])
    gamma, xi_sum, log_p = hmm.posteriors(x, lengths=lengths, **model)
    alone = [hmm.posteriors(piece, **model) for piece in pieces]
    np.testing.assert_allclose(
        gamma, np.concatenate([g for g, _, _ in alone]), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(xi_sum, sum(xs for _, xs, _ in alone), rtol=1e-12)
    np.testing.assert_allclose(log_p, sum(lp for _, _, lp in alone), rtol=1e-13)
    _, path = hmm.viterbi(x, lengths=lengths, **model)
    np.testing.assert_array_equal(
        path, np.concatenate([hmm.viterbi(p, **model)[1] for p in pieces])
    )


def test_log_space_survives_a_sequence_whose_probability_underflows():
    model = random_model(2, 6, 1)
    x = datasets.casino(3000, random_state=0).X
    log_p = hmm.log_likelihood(x, **model)
    assert np.isfinite(log_p) and log_p < -3000  # p(x) itself is far below 1e-308
    gamma, _, _ = hmm.posteriors(x, **model)
    np.testing.assert_allclose(gamma.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_m_step_is_normalized_expected_counts_and_an_unvisited_state_gets_a_uniform_row():
    x = np.array([0, 1, 1, 2])
    gamma = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    xi_sum = np.array([[0.5, 0.5, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    params = hmm.m_step(x, gamma, xi_sum, n_features=4)
    np.testing.assert_allclose(params["startprob"], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(
        params["transmat"], [[0.5, 0.5, 0], [0, 1, 0], [1 / 3, 1 / 3, 1 / 3]]
    )
    np.testing.assert_allclose(
        params["emissionprob"], [[1 / 1.5, 0.5 / 1.5, 0, 0], [0, 1.5 / 2.5, 1 / 2.5, 0], [0.25] * 4]
    )


# ------------------------------------------------------------------ hmmlearn, same start


def test_every_iteration_and_the_fit_agree_with_hmmlearn(casino_runs):
    X, lengths, start = casino_runs
    n_iter = 25
    ref = reference(start, n_iter=n_iter, tol=-np.inf).fit(X, lengths)
    est = ours(start, n_iter=n_iter, tol=-np.inf).fit(X, lengths)
    # hmmlearn records the log-likelihood before each of its M-steps; emlab also the last
    ref_history = np.array(ref.monitor_.history)
    assert len(ref_history) == n_iter and len(est.monitor_.history) == n_iter + 1
    np.testing.assert_allclose(est.monitor_.history[:-1], ref_history, rtol=RTOL)
    np.testing.assert_allclose(est.history_.log_likelihood, est.monitor_.history, rtol=0)
    for name in ("startprob_", "transmat_", "emissionprob_"):
        np.testing.assert_allclose(getattr(est, name), getattr(ref, name), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(est.score(X, lengths), ref.score(X, lengths), rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X, lengths), ref.predict(X, lengths))
    np.testing.assert_allclose(
        est.predict_proba(X, lengths), ref.predict_proba(X, lengths), atol=1e-10
    )
    ref_log_p, ref_path = ref.decode(X, lengths)
    log_p, path = est.decode(X, lengths)
    np.testing.assert_array_equal(path, ref_path)
    np.testing.assert_allclose(log_p, ref_log_p, rtol=1e-12)
    np.testing.assert_array_equal(
        est.decode(X, lengths, algorithm="map")[1], ref.decode(X, lengths, algorithm="map")[1]
    )
    # the tests' premise: the fit moved, and Viterbi finds both dice
    assert ref_history[-1] - ref_history[0] > 5 and set(path) == {0, 1}


def test_the_log_likelihood_never_decreases():
    for seed in range(3):
        model = random_model(3, 4, 20 + seed)
        x = np.random.default_rng(seed).integers(0, 4, size=150)
        result = hmm.fit_hmm(x, [50, 70, 30], model, tol=-np.inf, max_iter=40)
        ll = result.history.log_likelihood
        assert len(ll) == 41
        # the rises, to rounding (a few ulps of the log-likelihood)
        assert np.all(np.diff(ll) >= -1e-12 * np.abs(ll[1:])), np.diff(ll).min()
        assert ll[-1] > ll[0]


def test_the_default_stop_is_hmmlearns_test_one_m_step_earlier(casino_runs):
    X, lengths, start = casino_runs
    ref = reference(start, n_iter=500).fit(X, lengths)  # tol=1e-2 for both
    est = ours(start, n_iter=500).fit(X, lengths)
    assert est.converged_ and est.monitor_.converged
    # the same log-likelihoods up to the stop, which both make at the same iteration ...
    np.testing.assert_allclose(est.monitor_.history, ref.monitor_.history, rtol=RTOL)
    assert est.n_iter_ == ref.monitor_.iter - 1
    # ... where emlab returns the parameters it scored last, hmmlearn one M-step further
    earlier = reference(start, n_iter=est.n_iter_, tol=-np.inf).fit(X, lengths)
    np.testing.assert_allclose(est.transmat_, earlier.transmat_, rtol=1e-9)
    np.testing.assert_allclose(est.emissionprob_, earlier.emissionprob_, rtol=1e-9)


@pytest.mark.parametrize("params", ["e", "st", "t"])
def test_params_updates_only_its_letters_as_hmmlearn(casino_runs, params):
    X, lengths, start = casino_runs
    ref = reference(start, n_iter=8, tol=-np.inf, params=params).fit(X, lengths)
    est = ours(start, n_iter=8, tol=-np.inf, params=params).fit(X, lengths)
    np.testing.assert_allclose(est.monitor_.history[:-1], ref.monitor_.history, rtol=RTOL)
    for letter, name in (("s", "startprob_"), ("t", "transmat_"), ("e", "emissionprob_")):
        np.testing.assert_allclose(getattr(est, name), getattr(ref, name), rtol=1e-9, atol=1e-12)
        if letter not in params:
            np.testing.assert_array_equal(getattr(est, name), start[name[:-1]])


def test_the_random_start_and_the_samples_are_hmmlearns_for_the_same_seed(casino_runs):
    X, lengths, _ = casino_runs
    ref = ReferenceHMM(n_components=2, random_state=5, n_iter=12, tol=-np.inf).fit(X, lengths)
    est = CategoricalHMM(n_components=2, random_state=5, n_iter=12, tol=-np.inf).fit(X, lengths)
    np.testing.assert_allclose(est.monitor_.history[:-1], ref.monitor_.history, rtol=RTOL)
    np.testing.assert_allclose(est.transmat_, ref.transmat_, rtol=1e-9)
    assert est.n_features_ == 6 and est.n_features is None  # the parameter is not overwritten
    symbols, states = est.sample(200, random_state=9)
    ref_symbols, ref_states = ref.sample(200, random_state=9)
    np.testing.assert_array_equal(symbols, ref_symbols)
    np.testing.assert_array_equal(states, ref_states)
    assert symbols.shape == (200, 1)
    _, ref_states = ref.sample(5, random_state=1, currstate=1)
    np.testing.assert_array_equal(est.sample(5, random_state=1, currstate=1)[1], ref_states)


def test_fit_recovers_the_casino():
    data = datasets.casino(1000, random_state=0)
    truth = ours(datasets.CASINO, n_iter=10, tol=1e-3).fit(data.X)
    # from the truth, EM moves only as far as 1,000 rolls allow
    np.testing.assert_allclose(truth.emissionprob_, data.emissionprob, atol=0.06)
    np.testing.assert_allclose(truth.transmat_, data.transmat, atol=0.06)
    # Viterbi names the die of most rolls: better than always guessing "fair" (60% here)
    assert np.mean(truth.predict(data.X) == data.dice) > np.mean(data.dice == 0) + 0.1


def test_fit_hmm_records_the_posteriors_and_validates(casino_runs):
    X, lengths, start = casino_runs
    result = hmm.fit_hmm(X, lengths, start, max_iter=3, tol=-np.inf, record_resp=True)
    assert result.history.resp.shape == (4, len(X), 2)
    np.testing.assert_allclose(result.history.resp.sum(axis=2), 1.0)
    with pytest.raises(ValueError, match="update"):
        hmm.fit_hmm(X, lengths, start, update="sx")
    with pytest.raises(ValueError, match="n_features=4"):
        hmm.fit_hmm(X, lengths, start, n_features=4)


def test_verbose_prints_each_iteration(casino_runs, capsys):
    X, lengths, start = casino_runs
    ours(start, n_iter=3, tol=-np.inf, verbose=True).fit(X, lengths)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4 and lines[0].split()[0] == "0" and lines[0].endswith("nan")


# ------------------------------------------------------------------ errors


@pytest.fixture(scope="module")
def fitted(casino_runs):
    X, lengths, start = casino_runs
    return ours(start, n_iter=2).fit(X, lengths)


@pytest.mark.parametrize(
    "X, lengths, match",
    [
        (np.array([[0], [1], [7]]), None, r"outside the alphabet 0 \.\. 5"),
        (np.array([[0.0], [1.5]]), None, "whole numbers"),
        (np.array([[0], [-1]]), None, "non-negative"),
        (np.array([[0.0], [np.nan]]), None, "X contains NaN"),
        (np.array([[0.0], [np.inf]]), None, "X contains infinity"),
        (np.array([[0], [1], [2]]), [2, 2], "lengths sums to 4 but X has 3"),
        (np.array([[0], [1], [2]]), [3, 0], r"lengths\[1\] is 0"),
        (np.array([[0], [1], [2]]), [1.5, 1.5], "whole numbers"),
        (np.array([[0, 1], [1, 2]]), None, "one symbol per row"),
        (np.zeros((0, 1), dtype=int), None, "0 sample"),
        (np.array([0, 1, 2]), None, "Reshape your data"),
    ],
)
def test_bad_input_gets_an_error_naming_it(fitted, X, lengths, match):
    with pytest.raises(ValueError, match=match):
        fitted.score(X, lengths)


def test_fit_errors_name_the_argument(casino_runs):
    X, lengths, _ = casino_runs
    with pytest.raises(ValueError, match=r"outside the alphabet 0 \.\. 3"):
        CategoricalHMM(2, n_features=4).fit(X, lengths)
    with pytest.raises(ValueError, match="lengths sums to"):
        CategoricalHMM(2).fit(X, [10, 10])
    with pytest.raises(ValueError, match="init_params"):
        CategoricalHMM(2, init_params="sx").fit(X)
    with pytest.raises(ValueError, match="params"):
        CategoricalHMM(2, params=None).fit(X)
    with pytest.raises(ValueError, match="algorithm"):
        CategoricalHMM(2, algorithm="forward").fit(X)
    with pytest.raises(ValueError, match="n_components"):
        CategoricalHMM(0).fit(X)
    with pytest.raises(ValueError, match="currstate"):
        CategoricalHMM(2).fit(X).sample(3, currstate=2)
    est = ours(random_model(2, 4, 0), n_features=6)
    with pytest.raises(
        ValueError, match=r"emissionprob_ must have shape .* \(2, 6\), got \(2, 4\)"
    ):
        est.fit(X)
    est = ours(random_model(2, 6, 0), n_iter=1)
    est.transmat_ = np.array([[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"row 0 sums to 1\.1"):
        est.fit(X)


def test_the_steps_say_what_is_wrong():
    model = random_model(2, 3, 0)
    x = np.array([0, 1, 2])
    with pytest.raises(ValueError, match="transmat must have shape"):
        hmm.forward(x, model["startprob"], np.eye(3), model["emissionprob"])
    with pytest.raises(ValueError, match="one row per state"):
        hmm.forward(x, model["startprob"], model["transmat"], model["emissionprob"].T)
    with pytest.raises(ValueError, match="startprob must sum to 1"):
        hmm.forward(x, [0.5, 0.6], model["transmat"], model["emissionprob"])
    with pytest.raises(ValueError, match="outside the alphabet"):
        hmm.viterbi([0, 3], **model)
    impossible = dict(model, emissionprob=np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))
    assert hmm.log_likelihood(x, **impossible) == -np.inf
    with pytest.raises(ValueError, match=r"sequence 0 \(rows 0 to 2 of X\) has probability 0"):
        hmm.posteriors(x, **impossible)
    with pytest.raises(ValueError, match="gamma has 2 rows"):
        hmm.m_step(x, np.full((2, 2), 0.5), np.ones((2, 2)))


# ------------------------------------------------------------------ scikit-learn

#: check_estimator's checks that cannot apply to a model of symbol sequences, each with
#: why (hmmlearn's estimators do not pass them either). All of them feed X with several
#: columns of real numbers; a categorical HMM reads one column of symbols.
NOT_FOR_SEQUENCES = {
    name: "feeds X with several columns of real numbers; a categorical HMM reads one column of symbols"
    for name in [
        "check_fit_score_takes_y",
        "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_fit2d_1sample",
        "check_dict_unchanged",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
    ]
}
NOT_FOR_SEQUENCES |= {
    "check_methods_sample_order_invariance": "a sequence's states depend on its order (the Markov chain)",
    "check_methods_subset_invariance": "a time step's state depends on its neighbours, so a subset decodes differently",
    "check_fit2d_1feature": "passes y as fit's second argument, which is lengths (hmmlearn's signature)",
}


def test_check_estimator():
    results = check_estimator(
        CategoricalHMM(), expected_failed_checks=NOT_FOR_SEQUENCES, on_fail=None
    )
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert not failed
    passed = [r["check_name"] for r in results if r["status"] == "passed"]
    assert len(passed) >= 15, passed


class OneColumn(CategoricalHMM):
    """The estimator behind an adapter that turns scikit-learn's test data into symbols.

    The checks skipped above test the API (fit returns self, does not change its
    parameters, pickles, refits the same, keeps ``n_features_in_``...) with data of
    several real columns, and pass y where fit and score take ``lengths``. Reading each
    row's first value as a symbol (its integer part, modulo 4) and dropping y lets them
    run on the estimator's own code.
    """

    def fit(self, X, y=None):
        return super().fit(X)

    def score(self, X, y=None):
        return super().score(X)

    def _validate_X(self, X, *, reset):
        X = np.asarray(X)
        if X.ndim == 2 and X.dtype.kind in "fiu" and np.all(np.isfinite(X)):
            X = (np.abs(np.floor(X[:, :1])) % 4).astype(np.int64)
        return super()._validate_X(X, reset=reset)


API_CHECKS = [
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_pipeline_consistency",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
]


def test_the_api_checks_pass_on_symbols_made_from_their_data():
    results = check_estimator(
        OneColumn(n_features=4),
        expected_failed_checks={
            name: reason for name, reason in NOT_FOR_SEQUENCES.items() if name not in API_CHECKS
        },
        on_fail=None,
    )
    status = {r["check_name"]: r["status"] for r in results}
    assert all(status[name] == "passed" for name in API_CHECKS), {
        name: status[name] for name in API_CHECKS
    }


def test_clone_and_params():
    est = CategoricalHMM(3, n_features=5, params="te", init_params="e", random_state=0)
    assert clone(est).get_params() == est.get_params()
    assert set(est.get_params()) == {
        "n_components", "n_features", "algorithm", "random_state", "n_iter", "tol",
        "verbose", "params", "init_params",
    }  # fmt: skip


# ------------------------------------------------------------------ the data set


def test_casino_is_seeded_and_follows_its_parameters():
    first, again = datasets.casino(random_state=3), datasets.casino(random_state=3)
    assert first.rolls.tobytes() == again.rolls.tobytes()
    assert first.dice.tobytes() == again.dice.tobytes()
    np.testing.assert_array_equal(
        datasets.casino(random_state=np.random.default_rng(3)).rolls, first.rolls
    )
    assert not np.array_equal(datasets.casino(random_state=4).rolls, first.rolls)
    assert first.rolls.shape == (300,) and first.X.shape == (300, 1)
    np.testing.assert_array_equal(first.X[:, 0], first.rolls - 1)
    assert set(np.unique(first.rolls)) <= set(range(1, 7)) and set(np.unique(first.dice)) == {0, 1}

    big = datasets.casino(40_000, random_state=0)
    for die in (0, 1):
        frequencies = np.bincount(big.X[big.dice == die, 0], minlength=6) / np.sum(big.dice == die)
        np.testing.assert_allclose(frequencies, datasets.CASINO["emissionprob"][die], atol=0.015)
    switches = (
        np.mean(big.dice[1:][big.dice[:-1] == 0] == 1),
        np.mean(big.dice[1:][big.dice[:-1] == 1] == 0),
    )
    np.testing.assert_allclose(switches, [0.05, 0.10], atol=0.01)
    with pytest.raises(ValueError, match="n_rolls"):
        datasets.casino(0)
