"""Tests of emlab.datasets: shapes, seeds, the stated parameters and the shipped real data."""

import numpy as np
import pytest

from emlab import datasets

# Each synthetic generator, called with a seed, returning a tuple of arrays to compare.
GENERATORS = {
    "heights": lambda seed: (datasets.heights(random_state=seed),),
    "heights_by_sex": lambda seed: datasets.heights_by_sex(random_state=seed),
    "blobs": lambda seed: datasets.blobs(random_state=seed),
    "coin_trials": lambda seed: tuple(datasets.coin_trials(random_state=seed)[:3]),
    "three_gaussians": lambda seed: datasets.three_gaussians(random_state=seed),
    "house_prices": lambda seed: tuple(datasets.house_prices(random_state=seed)[:3]),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_is_bit_identical(name):
    first, second = GENERATORS[name](7), GENERATORS[name](7)
    for a, b in zip(first, second, strict=True):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_default_seed_is_fixed(name):
    function = getattr(datasets, name)
    first, second = function(), function()
    first = first if isinstance(first, tuple) else (first,)
    second = second if isinstance(second, tuple) else (second,)
    for a, b in zip(first, second, strict=True):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_different_seeds_differ(name):
    first, second = GENERATORS[name](0), GENERATORS[name](1)
    assert not np.array_equal(first[0], second[0])


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_generator_equals_its_seed(name):
    by_seed = GENERATORS[name](3)
    by_generator = GENERATORS[name](np.random.default_rng(3))
    if name == "blobs":  # make_blobs needs an int: a generator first draws one
        assert by_generator[0].shape == by_seed[0].shape
        return
    for a, b in zip(by_seed, by_generator, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["0", 1.5, True, np.random.RandomState(0)])
def test_bad_random_state(bad):
    with pytest.raises(ValueError, match="random_state"):
        datasets.heights(random_state=bad)


def test_heights():
    x = datasets.heights()
    assert x.shape == (1000,) and x.dtype == np.float64
    # the sample mean is within 4 standard errors of 170, the sd within 5%
    assert abs(x.mean() - 170.0) < 4 * 10 / np.sqrt(1000)
    assert x.std() == pytest.approx(10.0, rel=0.05)
    y = datasets.heights(n=50, mean=160.0, sd=5.0, random_state=1)
    assert y.shape == (50,)
    assert abs(y.mean() - 160.0) < 4 * 5 / np.sqrt(50)


@pytest.mark.parametrize(
    "kwargs, word",
    [({"n": 0}, "n"), ({"n": 2.5}, "n"), ({"sd": 0}, "sd"), ({"mean": np.nan}, "mean")],
)
def test_heights_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        datasets.heights(**kwargs)


def test_heights_by_sex():
    heights, sex = datasets.heights_by_sex()
    assert heights.shape == sex.shape == (1000,)
    assert np.issubdtype(sex.dtype, np.integer)
    np.testing.assert_array_equal(np.bincount(sex), [500, 500])
    for label, (_, mean, sd) in datasets.HEIGHTS_BY_SEX.items():
        group = heights[sex == label]
        assert abs(group.mean() - mean) < 4 * sd / np.sqrt(group.size)
        assert group.std() == pytest.approx(sd, rel=0.1)
    assert datasets.HEIGHTS_BY_SEX[0][1] == 163.0 and datasets.HEIGHTS_BY_SEX[1][1] == 177.0
    # the labels are shuffled, not sorted
    assert 0 < np.count_nonzero(np.diff(sex)) < sex.size - 1
    _, odd = datasets.heights_by_sex(n=7)
    np.testing.assert_array_equal(np.bincount(odd), [3, 4])


def test_blobs():
    X, y = datasets.blobs()
    assert X.shape == (600, 2) and y.shape == (600,)
    np.testing.assert_array_equal(np.bincount(y), [200, 200, 200])
    for k, center in enumerate(datasets.BLOB_CENTERS):
        np.testing.assert_allclose(X[y == k].mean(axis=0), center, atol=4 / np.sqrt(200))
        np.testing.assert_allclose(X[y == k].std(axis=0), 1.0, rtol=0.15)


def test_blobs_is_make_blobs():
    from sklearn.datasets import make_blobs

    X, y = datasets.blobs(random_state=5)
    X_ref, y_ref = make_blobs(
        n_samples=[200] * 3, centers=datasets.BLOB_CENTERS, cluster_std=1.0, random_state=5
    )
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)


def test_coin_trials():
    trials = datasets.coin_trials()
    assert trials.tosses.shape == (500, 10)
    assert set(np.unique(trials.tosses)) <= {0, 1}
    np.testing.assert_array_equal(trials.heads, trials.tosses.sum(axis=1))
    assert trials.coins.shape == trials.heads.shape == (500,)
    assert trials.n_tosses == 10
    np.testing.assert_array_equal(trials.thetas, [0.6, 0.2])
    # the coin is chosen uniformly: 250 of each, give or take 4 standard deviations
    assert abs(np.count_nonzero(trials.coins == 0) - 250) < 4 * np.sqrt(500 * 0.25)
    for k, theta in enumerate(trials.thetas):
        tosses = trials.tosses[trials.coins == k]
        assert abs(tosses.mean() - theta) < 4 * np.sqrt(theta * (1 - theta) / tosses.size)


def test_coin_trials_other_settings():
    trials = datasets.coin_trials(thetas=(0.1, 0.5, 0.9), n_trials=30, n_tosses=4, random_state=2)
    assert trials.tosses.shape == (30, 4)
    assert set(np.unique(trials.coins)) <= {0, 1, 2}
    certain = datasets.coin_trials(thetas=(0.0, 1.0), n_trials=40, random_state=0)
    np.testing.assert_array_equal(certain.heads, 10 * certain.coins)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"thetas": (0.5, 1.5)}, "thetas"),
        ({"thetas": (0.5, np.nan)}, "thetas"),
        ({"n_trials": 0}, "n_trials"),
        ({"n_tosses": -1}, "n_tosses"),
    ],
)
def test_coin_trials_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        datasets.coin_trials(**kwargs)


def test_three_gaussians():
    x, labels = datasets.three_gaussians()
    assert x.shape == labels.shape == (3000,)
    np.testing.assert_array_equal(np.bincount(labels), [1000, 1000, 1000])
    for k, (mean, sd) in enumerate(datasets.THREE_GAUSSIANS):
        assert abs(x[labels == k].mean() - mean) < 4 * sd / np.sqrt(1000)
        assert x[labels == k].std() == pytest.approx(sd, rel=0.08)
    assert datasets.THREE_GAUSSIANS == ((-10.0, 3.0), (30.0, 7.0), (3.0, 5.0))


def test_house_prices():
    houses = datasets.house_prices()
    n = 400
    assert houses.X.shape == (n, 2)
    np.testing.assert_array_equal(houses.X[:, 0], houses.floor_area)
    np.testing.assert_array_equal(houses.X[:, 1], houses.price)
    assert houses.names == tuple(datasets.HOUSE_PRICE_NEIGHBOURHOODS)
    spec = list(datasets.HOUSE_PRICE_NEIGHBOURHOODS.values())
    np.testing.assert_array_equal(
        np.bincount(houses.neighbourhood), [round(n * s["share"]) for s in spec]
    )
    for k, s in enumerate(spec):
        mine = houses.neighbourhood == k
        size = np.count_nonzero(mine)
        assert abs(houses.floor_area[mine].mean() - s["area"]) < 4 * s["area_sd"] / np.sqrt(size)
        assert abs(houses.price[mine].mean() - s["price"]) < 4 * s["price_sd"] / np.sqrt(size)
        correlation = np.corrcoef(houses.floor_area[mine], houses.price[mine])[0, 1]
        assert abs(correlation - s["corr"]) < 0.2
    assert sum(s["share"] for s in spec) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", range(5))
def test_house_prices_are_positive(seed):
    houses = datasets.house_prices(n=2000, random_state=seed)
    assert houses.floor_area.min() > 0 and houses.price.min() > 0


def test_old_faithful_summary():
    X, names = datasets.old_faithful()
    assert names == ("eruptions", "waiting")
    assert X.shape == (272, 2) and X.dtype == np.float64
    # R: colMeans(faithful); sapply(faithful, sd); summary(faithful)
    assert X[:, 0].mean() == pytest.approx(3.487783, abs=5e-7)
    assert X[:, 1].mean() == pytest.approx(70.89706, abs=5e-6)
    np.testing.assert_allclose(X.std(axis=0, ddof=1), [1.141371, 13.59497], atol=5e-6)
    np.testing.assert_array_equal(X.min(axis=0), [1.6, 43])
    np.testing.assert_array_equal(X.max(axis=0), [5.1, 96])
    np.testing.assert_array_equal(np.median(X, axis=0), [4.0, 76.0])
    np.testing.assert_allclose(np.quantile(X, [0.25, 0.75], axis=0)[:, 0], [2.16275, 4.45425])
    assert np.corrcoef(X.T)[0, 1] == pytest.approx(0.9008112, abs=5e-7)
    assert X[:, 0].sum() == pytest.approx(948.677, abs=1e-9)
    assert X[:, 1].sum() == 19284


def test_old_faithful_rows():
    X = datasets.old_faithful().X
    np.testing.assert_array_equal(X[0], [3.6, 79])
    np.testing.assert_array_equal(X[1], [1.8, 54])
    np.testing.assert_array_equal(X[-1], [4.467, 74])
    np.testing.assert_array_equal(X[-3], [4.417, 90])  # row 270
    np.testing.assert_array_equal(X[:, 1], np.round(X[:, 1]))  # whole minutes


def test_old_faithful_standardized_and_copies():
    X, _ = datasets.old_faithful()
    Z, names = datasets.old_faithful(standardize=True)
    assert names == ("eruptions", "waiting")
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(Z * X.std(axis=0) + X.mean(axis=0), X, rtol=1e-12)
    X[:] = 0.0  # a caller's change must not reach the next call
    assert datasets.old_faithful().X[0, 1] == 79


def test_do_batzoglou():
    data = datasets.do_batzoglou()
    assert data.sequences == (
        "HTTTHHTHTH",
        "HHHHTHHHHH",
        "HTHHHHHTHH",
        "HTHTTTHHTT",
        "THHHTHHHTH",
    )
    np.testing.assert_array_equal(data.heads, [5, 9, 8, 4, 7])
    assert data.n_tosses == 10
    assert data.tosses.shape == (5, 10)
    np.testing.assert_array_equal(data.tosses.sum(axis=1), data.heads)
    assert list(data.coins) == ["B", "A", "A", "B", "A"]
    np.testing.assert_array_equal(data.coin_index, [1, 0, 0, 1, 0])
    # with the coins known, the MLEs of the paper: 24/30 and 9/20
    is_a = data.coins == "A"
    assert data.heads[is_a].sum() / (10 * is_a.sum()) == pytest.approx(0.80)
    assert data.heads[~is_a].sum() / (10 * (~is_a).sum()) == pytest.approx(0.45)


def test_data_notes_are_shipped():
    from importlib import resources

    folder = resources.files("emlab") / "data"
    for stem in ("old_faithful", "do_batzoglou"):
        assert (folder / f"{stem}.csv").is_file()
        note = (folder / f"{stem}.md").read_text(encoding="utf-8")
        assert "Source" in note and "Licence" in note


# --- lesson 14: your own model (a Poisson mixture; binarized digits) ---


def test_daily_counts_is_reproducible_and_follows_its_parameters():
    data = datasets.daily_counts()
    again = datasets.daily_counts()
    np.testing.assert_array_equal(data.counts, again.counts)
    np.testing.assert_array_equal(data.kinds, again.kinds)
    assert data.counts.shape == data.kinds.shape == (400,)
    assert data.counts.dtype.kind == "i" and data.counts.min() >= 0
    # exact shares of the kinds of day (largest remainder), shuffled
    np.testing.assert_array_equal(np.bincount(data.kinds), [120, 200, 80])
    assert not np.all(np.diff(data.kinds) >= 0)
    np.testing.assert_array_equal(data.weights, datasets.DAILY_COUNTS["weights"])
    np.testing.assert_array_equal(data.rates, datasets.DAILY_COUNTS["rates"])
    # each kind's mean count is near its Poisson rate: within 4 standard errors
    for k, rate in enumerate(data.rates):
        days = data.counts[data.kinds == k]
        assert abs(days.mean() - rate) < 4 * np.sqrt(rate / days.size)
    other = datasets.daily_counts(random_state=15)
    assert not np.array_equal(other.counts, data.counts)
    assert datasets.daily_counts(n_days=7).counts.shape == (7,)


def test_daily_counts_copies_its_parameters():
    data = datasets.daily_counts(n_days=5)
    data.rates[:] = 0.0
    assert datasets.DAILY_COUNTS["rates"][0] == 4.0


@pytest.mark.parametrize("n_days", [0, -3, 2.5, True, "400"])
def test_daily_counts_rejects_a_bad_number_of_days(n_days):
    with pytest.raises(ValueError, match="n_days"):
        datasets.daily_counts(n_days=n_days)


def test_binary_digits_are_the_bundled_digits_thresholded():
    from sklearn.datasets import load_digits

    raw = load_digits()
    data = datasets.binary_digits()
    assert data.X.shape == (1797, 64) and data.digits.shape == (1797,)
    assert set(np.unique(data.X)) == {0, 1}
    np.testing.assert_array_equal(data.X, raw.data >= 8)
    np.testing.assert_array_equal(data.digits, raw.target)
    some = datasets.binary_digits(digits=[1, 7], threshold=4)
    assert set(np.unique(some.digits)) == {1, 7}
    assert some.X.shape == (int(np.isin(raw.target, [1, 7]).sum()), 64)
    np.testing.assert_array_equal(some.X, raw.data[np.isin(raw.target, [1, 7])] >= 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"digits": []}, "digits"),
        ({"digits": [1, 10]}, "digits"),
        ({"digits": [3, 3]}, "distinct"),
        ({"digits": [0.5]}, "digits"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": 17}, "threshold"),
    ],
)
def test_binary_digits_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.binary_digits(**kwargs)
