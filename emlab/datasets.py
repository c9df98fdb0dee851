"""Every data set of the EM Lab lessons, from fixed seeds.

Two kinds of data live here:

* **Synthetic** data drawn from a model whose parameters are written down, so
  that a lesson can compare what EM recovers with the truth. Every generator
  takes ``random_state`` (an ``int`` seed, fixed by default, or a
  :class:`numpy.random.Generator`) and returns bit-identical arrays for the
  same seed.
* **Real** data shipped with the package as small CSV files in
  ``emlab/data/`` (read with :mod:`importlib.resources`, never downloaded):
  the Old Faithful eruptions (:func:`old_faithful`) and the two-coin experiment
  of Do & Batzoglou (:func:`do_batzoglou`). Each file has a Markdown note
  beside it with its source, citation and licence.

=======================  ======  ==============================================
function                 lesson  what
=======================  ======  ==============================================
:func:`heights`          01      one Gaussian: adult heights in cm
:func:`heights_by_sex`   03      two Gaussians with a hidden label (sex)
:func:`blobs`            05      three 2-D clusters (k-means)
:func:`coin_trials`      06      the two-coin (binomial mixture) experiment
:func:`do_batzoglou`     06      the five trials of Do & Batzoglou (2008)
:func:`three_gaussians`  07      a 1-D mixture of three Gaussians
:func:`old_faithful`     08      Old Faithful eruptions (Bishop, PRML ch. 9)
:func:`house_prices`     03, 09  prices and floor areas by hidden neighbourhood
:func:`casino`           13      the occasionally dishonest casino (Durbin et al.)
:func:`missing_normal`   12      a 3-D normal with values missing (MAR or MCAR)
:func:`daily_counts`     14      calls per day from three kinds of day (Poisson)
:func:`binary_digits`    14      handwritten digits as 0/1 pixels (scikit-learn)
=======================  ======  ==============================================
"""

from __future__ import annotations

import functools
import io
import numbers
from importlib import resources
from typing import NamedTuple

import numpy as np

from emlab.validation import check_positive, check_probabilities

__all__ = [
    "BLOB_CENTERS",
    "CASINO",
    "DAILY_COUNTS",
    "HEIGHTS_BY_SEX",
    "HOUSE_PRICE_NEIGHBOURHOODS",
    "THREE_GAUSSIANS",
    "BinaryDigits",
    "Casino",
    "CoinTrials",
    "DailyCounts",
    "DoBatzoglou",
    "HousePrices",
    "OldFaithful",
    "binary_digits",
    "blobs",
    "casino",
    "coin_trials",
    "daily_counts",
    "do_batzoglou",
    "heights",
    "heights_by_sex",
    "house_prices",
    "missing_normal",
    "old_faithful",
    "three_gaussians",
]

#: Parameters of :func:`heights_by_sex`: label -> (name, mean in cm, sd in cm).
#: Round, realistic values for adults, not estimates from a particular survey.
HEIGHTS_BY_SEX = {
    0: ("female", 163.0, 7.0),
    1: ("male", 177.0, 7.0),
}

#: Cluster centres of :func:`blobs`, one row per cluster.
BLOB_CENTERS = np.array([[-4.0, -2.0], [0.0, 4.0], [4.5, -1.0]])

#: Parameters of :func:`three_gaussians`: (mean, standard deviation) per component.
THREE_GAUSSIANS = ((-10.0, 3.0), (30.0, 7.0), (3.0, 5.0))

#: Parameters of :func:`house_prices`, one entry per (fictional) neighbourhood:
#: share of the houses, mean floor area (m²), its sd, mean price (thousands),
#: its sd, and the correlation between floor area and price.
HOUSE_PRICE_NEIGHBOURHOODS = {
    "Riverside": dict(share=0.30, area=70.0, area_sd=12.0, price=250.0, price_sd=40.0, corr=0.7),
    "Old Town": dict(share=0.20, area=95.0, area_sd=15.0, price=480.0, price_sd=70.0, corr=0.6),
    "Meadowbrook": dict(share=0.25, area=125.0, area_sd=20.0, price=340.0, price_sd=45.0, corr=0.6),
    "Hillcrest": dict(share=0.25, area=160.0, area_sd=25.0, price=640.0, price_sd=90.0, corr=0.75),
}


# --------------------------------------------------------------------------- helpers


#: Parameters of :func:`casino` (Durbin et al. 1998, section 3.2): state 0 is the fair
#: die, state 1 the loaded one; symbol v is the face v + 1. The first roll's die is drawn
#: from the chain's stationary distribution (the book leaves it open).
CASINO = {
    "startprob": np.array([2 / 3, 1 / 3]),
    "transmat": np.array([[0.95, 0.05], [0.10, 0.90]]),
    "emissionprob": np.array([[1 / 6] * 6, [0.1] * 5 + [0.5]]),
}


def _as_generator(random_state) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    An ``int`` seeds a fresh PCG64 generator (so the same seed gives the same
    numbers); a ``Generator`` is used as is (its state advances); ``None``
    gives an unseeded generator, different at every call.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(_check_seed(random_state))
    raise ValueError(
        f"random_state must be an int seed, a numpy.random.Generator or None, got {random_state!r}."
    )


def _check_seed(seed) -> int:
    """An int seed in [0, 2**32 - 1], the range every numpy generator (and scikit-learn) takes."""
    if not 0 <= seed <= 2**32 - 1:
        raise ValueError(
            f"random_state must be an int seed between 0 and 2**32 - 1 = {2**32 - 1}, a "
            f"numpy.random.Generator or None; got {seed!r}."
        )
    return int(seed)


def _check_count(value, *, name: str, minimum: int = 1) -> int:
    """Check that ``value`` is a whole number ``>= minimum`` and return it as int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def _check_finite(value, *, name: str) -> float:
    """Check that ``value`` is one finite number and return it as float."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}.") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return number


def _split_counts(n: int, shares: np.ndarray) -> np.ndarray:
    """Split ``n`` into whole counts proportional to ``shares`` (largest remainder)."""
    exact = n * np.asarray(shares, dtype=np.float64)
    counts = np.floor(exact).astype(np.int64)
    remainder_order = np.argsort(-(exact - counts), kind="stable")
    counts[remainder_order[: n - counts.sum()]] += 1
    return counts


def _shuffled_labels(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels ``k`` repeated ``counts[k]`` times, in a random order."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def _gaussian_mixture_1d(
    means: np.ndarray, sds: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw exactly ``counts[k]`` points from :math:`N(\\mu_k, \\sigma_k^2)`, shuffled."""
    labels = _shuffled_labels(counts, rng)
    x = means[labels] + sds[labels] * rng.standard_normal(labels.size)
    return x, labels


# --------------------------------------------------------------------------- lesson 01


def heights(n: int = 1000, mean: float = 170.0, sd: float = 10.0, random_state=0) -> np.ndarray:
    """Adult heights in cm, drawn from one Gaussian (lesson 01).

    .. math:: x_i \\sim \\mathcal{N}(\\mu, \\sigma^2), \\quad i = 1, \\dots, n.

    Parameters
    ----------
    n : int, default=1000
        Number of people.
    mean : float, default=170.0
        :math:`\\mu`, the mean height in cm.
    sd : float, default=10.0
        :math:`\\sigma`, the standard deviation in cm.
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator; the same int gives the same heights.

    Returns
    -------
    heights : ndarray of shape (n,)
    """
    n = _check_count(n, name="n")
    mean = float(_check_finite(mean, name="mean"))
    sd = float(check_positive(sd, name="sd"))
    rng = _as_generator(random_state)
    return mean + sd * rng.standard_normal(n)


# --------------------------------------------------------------------------- lesson 03


def heights_by_sex(n: int = 1000, random_state=0) -> tuple[np.ndarray, np.ndarray]:
    """Adult heights of women and men, with the sex as a hidden label (lesson 03).

    A two-component Gaussian mixture with equal weights:

    .. math::

        z_i \\in \\{0, 1\\}, \\qquad x_i \\mid z_i = k \\sim \\mathcal{N}(\\mu_k, \\sigma_k^2),

    with women (``z = 0``) :math:`\\mu_0 = 163` cm, :math:`\\sigma_0 = 7` cm and men
    (``z = 1``) :math:`\\mu_1 = 177` cm, :math:`\\sigma_1 = 7` cm (see
    :data:`HEIGHTS_BY_SEX`). Exactly ``n // 2`` women and ``n - n // 2`` men are
    drawn, in random order.

    The means are :math:`2\\sigma` apart, the boundary at which an equal mixture of
    two Gaussians stops being bimodal: the histogram shows one broad, flat-topped
    hump, yet EM can still separate the two groups.

    Parameters
    ----------
    n : int, default=1000
        Number of people (at least 2).
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    heights : ndarray of shape (n,)
        Heights in cm.
    sex : ndarray of shape (n,), int
        0 for women, 1 for men (the latent variable EM does not see).
    """
    n = _check_count(n, name="n", minimum=2)
    rng = _as_generator(random_state)
    means = np.array([HEIGHTS_BY_SEX[k][1] for k in (0, 1)])
    sds = np.array([HEIGHTS_BY_SEX[k][2] for k in (0, 1)])
    counts = np.array([n // 2, n - n // 2])
    return _gaussian_mixture_1d(means, sds, counts, rng)


# --------------------------------------------------------------------------- lesson 05


def blobs(
    n_per_cluster: int = 200, cluster_std: float = 1.0, random_state=0
) -> tuple[np.ndarray, np.ndarray]:
    """Three round 2-D clusters of equal size, for k-means (lesson 05).

    Made with :func:`sklearn.datasets.make_blobs`: cluster :math:`k` holds
    ``n_per_cluster`` points :math:`x_i \\sim \\mathcal{N}(c_k, s^2 I_2)` around the
    centres :data:`BLOB_CENTERS`, shuffled.

    Parameters
    ----------
    n_per_cluster : int, default=200
        Points per cluster (600 in all by default).
    cluster_std : float, default=1.0
        :math:`s`, the standard deviation of each coordinate.
    random_state : int, numpy.random.Generator or None, default=0
        An int is passed to ``make_blobs`` unchanged; a generator first draws an
        int seed for it.

    Returns
    -------
    X : ndarray of shape (3 * n_per_cluster, 2)
    y : ndarray of shape (3 * n_per_cluster,), int
        The cluster of each point, 0, 1 or 2.
    """
    from sklearn.datasets import make_blobs

    n_per_cluster = _check_count(n_per_cluster, name="n_per_cluster")
    cluster_std = float(check_positive(cluster_std, name="cluster_std"))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        seed = _check_seed(random_state)
    else:
        seed = int(_as_generator(random_state).integers(2**32))
    X, y = make_blobs(
        n_samples=[n_per_cluster] * len(BLOB_CENTERS),
        centers=BLOB_CENTERS,
        cluster_std=cluster_std,
        random_state=seed,
    )
    return X, y.astype(np.int64)


# --------------------------------------------------------------------------- lesson 06


class CoinTrials(NamedTuple):
    """What :func:`coin_trials` returns.

    Attributes
    ----------
    heads : ndarray of shape (n_trials,), int
        Number of heads in each trial, ``tosses.sum(axis=1)``.
    coins : ndarray of shape (n_trials,), int
        The coin used in each trial, an index into ``thetas`` (hidden from EM).
    tosses : ndarray of shape (n_trials, n_tosses), int
        Every toss, 1 for heads and 0 for tails.
    n_tosses : int
        Tosses per trial.
    thetas : ndarray of shape (n_coins,)
        The true probability of heads of each coin.
    """

    heads: np.ndarray
    coins: np.ndarray
    tosses: np.ndarray
    n_tosses: int
    thetas: np.ndarray


def coin_trials(
    thetas=(0.6, 0.2), n_trials: int = 500, n_tosses: int = 10, random_state=0
) -> CoinTrials:
    """The two-coin experiment: pick a coin at random, toss it ``n_tosses`` times (lesson 06).

    For each trial :math:`i`, a coin is chosen uniformly,
    :math:`z_i \\sim \\mathrm{Uniform}\\{0, \\dots, K-1\\}`, and tossed
    :math:`m` times: :math:`x_{ij} \\mid z_i \\sim \\mathrm{Bernoulli}(\\theta_{z_i})`,
    so the number of heads :math:`h_i = \\sum_j x_{ij}` is
    :math:`\\mathrm{Binomial}(m, \\theta_{z_i})`.

    Parameters
    ----------
    thetas : sequence of float, default=(0.6, 0.2)
        :math:`\\theta_k`, the probability of heads of each coin.
    n_trials : int, default=500
        Number of trials.
    n_tosses : int, default=10
        :math:`m`, tosses per trial.
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    CoinTrials
        ``(heads, coins, tosses, n_tosses, thetas)``.
    """
    thetas = check_probabilities(thetas, name="thetas", ndim=1)
    n_trials = _check_count(n_trials, name="n_trials")
    n_tosses = _check_count(n_tosses, name="n_tosses")
    rng = _as_generator(random_state)
    coins = rng.integers(0, thetas.size, size=n_trials)
    tosses = (rng.random((n_trials, n_tosses)) < thetas[coins, None]).astype(np.int64)
    return CoinTrials(
        heads=tosses.sum(axis=1), coins=coins, tosses=tosses, n_tosses=n_tosses, thetas=thetas
    )


class DoBatzoglou(NamedTuple):
    """What :func:`do_batzoglou` returns.

    Attributes
    ----------
    sequences : tuple of str
        The tosses of each trial as text, e.g. ``"HTTTHHTHTH"``.
    tosses : ndarray of shape (5, 10), int
        The same tosses, 1 for heads and 0 for tails.
    heads : ndarray of shape (5,), int
        Heads per trial: 5, 9, 8, 4, 7.
    n_tosses : int
        Tosses per trial, 10.
    coins : ndarray of shape (5,), str
        The coin of each trial: ``B, A, A, B, A``.
    coin_index : ndarray of shape (5,), int
        The same as indices, 0 for coin A and 1 for coin B.
    """

    sequences: tuple
    tosses: np.ndarray
    heads: np.ndarray
    n_tosses: int
    coins: np.ndarray
    coin_index: np.ndarray


def _read_data_file(filename: str) -> str:
    return (resources.files("emlab") / "data" / filename).read_text(encoding="utf-8")


@functools.cache
def _do_batzoglou_table() -> tuple:
    lines = _read_data_file("do_batzoglou.csv").strip().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    return tuple((row["coin"], row["tosses"], int(row["heads"])) for row in rows)


def do_batzoglou() -> DoBatzoglou:
    """The five ten-toss trials of Do & Batzoglou (2008), figure 1 (lesson 06).

    ====== ===========  ====  =====
    trial  tosses       coin  heads
    ====== ===========  ====  =====
    1      HTTTHHTHTH   B     5
    2      HHHHTHHHHH   A     9
    3      HTHHHHHTHH   A     8
    4      HTHTTTHHTT   B     4
    5      THHHTHHHTH   A     7
    ====== ===========  ====  =====

    With the coins known, the maximum likelihood estimates are
    :math:`\\hat\\theta_A = 24/30 = 0.80` and :math:`\\hat\\theta_B = 9/20 = 0.45`.

    Read from ``emlab/data/do_batzoglou.csv``; see ``emlab/data/do_batzoglou.md``.

    References
    ----------
    Do, C. B. and Batzoglou, S. (2008). What is the expectation maximization
    algorithm? *Nature Biotechnology* 26, 897–899. doi:10.1038/nbt1406.

    Returns
    -------
    DoBatzoglou
        ``(sequences, tosses, heads, n_tosses, coins, coin_index)``.
    """
    table = _do_batzoglou_table()
    sequences = tuple(sequence for _, sequence, _ in table)
    tosses = np.array([[1 if toss == "H" else 0 for toss in seq] for seq in sequences])
    heads = tosses.sum(axis=1)
    stated_heads = np.array([count for _, _, count in table])
    if not np.array_equal(heads, stated_heads):  # guards the shipped file
        raise RuntimeError("do_batzoglou.csv is corrupt: heads do not match the tosses.")
    coins = np.array([coin for coin, _, _ in table])
    return DoBatzoglou(
        sequences=sequences,
        tosses=tosses,
        heads=heads,
        n_tosses=int(tosses.shape[1]),
        coins=coins,
        coin_index=(coins == "B").astype(np.int64),
    )


# --------------------------------------------------------------------------- lesson 07


def three_gaussians(n_per_component: int = 1000, random_state=0) -> tuple[np.ndarray, np.ndarray]:
    """A 1-D mixture of three Gaussians of equal size (lesson 07).

    Exactly ``n_per_component`` points from each of
    :math:`\\mathcal{N}(-10, 3^2)`, :math:`\\mathcal{N}(30, 7^2)` and
    :math:`\\mathcal{N}(3, 5^2)` (:data:`THREE_GAUSSIANS`), shuffled: 3000 points
    by default, mixing weights :math:`1/3` each. The first and third components
    overlap; the second stands apart.

    Parameters
    ----------
    n_per_component : int, default=1000
        Points per component.
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    x : ndarray of shape (3 * n_per_component,)
    labels : ndarray of shape (3 * n_per_component,), int
        The component of each point, 0, 1 or 2 in the order above.
    """
    n_per_component = _check_count(n_per_component, name="n_per_component")
    rng = _as_generator(random_state)
    means, sds = np.array(THREE_GAUSSIANS).T
    counts = np.full(len(THREE_GAUSSIANS), n_per_component)
    return _gaussian_mixture_1d(means, sds, counts, rng)


# --------------------------------------------------------------------------- lessons 09 (and 03)


class HousePrices(NamedTuple):
    """What :func:`house_prices` returns.

    Attributes
    ----------
    floor_area : ndarray of shape (n,)
        Floor area in m².
    price : ndarray of shape (n,)
        Price in thousands (of any currency).
    neighbourhood : ndarray of shape (n,), int
        The hidden neighbourhood of each house, an index into ``names``.
    names : tuple of str
        Neighbourhood names, in the order of :data:`HOUSE_PRICE_NEIGHBOURHOODS`.
    """

    floor_area: np.ndarray
    price: np.ndarray
    neighbourhood: np.ndarray
    names: tuple

    @property
    def X(self) -> np.ndarray:
        """The 2-D data, columns ``(floor_area, price)``, shape (n, 2)."""
        return np.column_stack([self.floor_area, self.price])


def house_prices(n: int = 400, random_state=0) -> HousePrices:
    """House prices and floor areas from four hidden neighbourhoods (synthetic; lessons 03 and 09).

    Each neighbourhood :math:`k` (see :data:`HOUSE_PRICE_NEIGHBOURHOODS`) holds a
    fixed share :math:`\\pi_k` of the ``n`` houses, and a house's
    (floor area, price) is drawn from a correlated 2-D Gaussian,

    .. math::

        \\begin{pmatrix} a_i \\\\ p_i \\end{pmatrix} \\Big| z_i = k \\sim
        \\mathcal{N}\\left(
        \\begin{pmatrix} \\mu^a_k \\\\ \\mu^p_k \\end{pmatrix},
        \\begin{pmatrix} (\\sigma^a_k)^2 & \\rho_k \\sigma^a_k \\sigma^p_k \\\\
        \\rho_k \\sigma^a_k \\sigma^p_k & (\\sigma^p_k)^2 \\end{pmatrix}
        \\right),

    bigger houses costing more within each neighbourhood (:math:`\\rho_k > 0`).
    The counts are :math:`\\pi_k n` rounded to whole houses; rows are shuffled.

    ==============  =====  =============  ==================  ====
    neighbourhood   share  area (m²)      price (thousands)   corr
    ==============  =====  =============  ==================  ====
    Riverside       0.30   70 ± 12        250 ± 40            0.70
    Old Town        0.20   95 ± 15        480 ± 70            0.60
    Meadowbrook     0.25   125 ± 20       340 ± 45            0.60
    Hillcrest       0.25   160 ± 25       640 ± 90            0.75
    ==============  =====  =============  ==================  ====

    The data are **synthetic** on purpose: the neighbourhoods are known, so a
    lesson can check that EM recovers them; the clusters are elongated and of
    different sizes, where a full-covariance Gaussian mixture beats k-means;
    the prices alone (1-D) overlap while area and price together (2-D) separate
    better; and nothing has to be downloaded or licensed. The names and numbers
    are made up and describe no real town.

    Parameters
    ----------
    n : int, default=400
        Number of houses (at least 4).
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    HousePrices
        ``(floor_area, price, neighbourhood, names)``; ``.X`` stacks the first two.
    """
    n = _check_count(n, name="n", minimum=len(HOUSE_PRICE_NEIGHBOURHOODS))
    rng = _as_generator(random_state)
    names = tuple(HOUSE_PRICE_NEIGHBOURHOODS)
    spec = [HOUSE_PRICE_NEIGHBOURHOODS[name] for name in names]
    shares = np.array([s["share"] for s in spec])
    means = np.array([[s["area"], s["price"]] for s in spec])
    sds = np.array([[s["area_sd"], s["price_sd"]] for s in spec])
    corrs = np.array([s["corr"] for s in spec])
    # Cholesky factor of [[sa², ρ sa sp], [ρ sa sp, sp²]] is [[sa, 0], [ρ sp, sqrt(1-ρ²) sp]].
    labels = _shuffled_labels(_split_counts(n, shares), rng)
    z = rng.standard_normal((n, 2))
    sa, sp, rho = sds[labels, 0], sds[labels, 1], corrs[labels]
    floor_area = means[labels, 0] + sa * z[:, 0]
    price = means[labels, 1] + sp * (rho * z[:, 0] + np.sqrt(1.0 - rho**2) * z[:, 1])
    return HousePrices(floor_area=floor_area, price=price, neighbourhood=labels, names=names)


class OldFaithful(NamedTuple):
    """What :func:`old_faithful` returns; unpacks as ``X, feature_names``.

    Attributes
    ----------
    X : ndarray of shape (272, 2)
        Columns ``eruptions`` and ``waiting``, in minutes (or standardized).
    feature_names : tuple of str
        ``("eruptions", "waiting")``.
    """

    X: np.ndarray
    feature_names: tuple


@functools.cache
def _old_faithful_table() -> tuple[np.ndarray, tuple]:
    text = _read_data_file("old_faithful.csv")
    header = tuple(text.split("\n", 1)[0].strip().split(","))
    X = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, dtype=np.float64)
    X.flags.writeable = False
    return X, header


def old_faithful(standardize: bool = False) -> OldFaithful:
    """Eruptions of the Old Faithful geyser: 272 rows, (eruptions, waiting) in minutes.

    R's ``datasets::faithful`` (Härdle 1991; Azzalini & Bowman 1990), the data
    Bishop fits with a two-component Gaussian mixture in *Pattern Recognition
    and Machine Learning*, chapter 9 (figure 9.8). Column 0 is the eruption
    duration, column 1 the waiting time to the next eruption. Means are
    3.487783 and 70.89706 minutes. Read from ``emlab/data/old_faithful.csv``;
    see ``emlab/data/old_faithful.md`` for source and licence.

    Parameters
    ----------
    standardize : bool, default=False
        If True, return :math:`(x_{ij} - \\bar x_j) / s_j` with :math:`s_j` the
        population standard deviation (``ddof=0``), so each column has zero mean
        and unit variance, as in Bishop's figure.

    Returns
    -------
    OldFaithful
        ``(X, feature_names)``; ``X`` is a new array of shape (272, 2).

    References
    ----------
    Härdle, W. (1991). *Smoothing Techniques with Implementation in S*. Springer.
    Azzalini, A. and Bowman, A. W. (1990). A look at some data on the Old
    Faithful geyser. *Applied Statistics* 39, 357–365.
    Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*. Springer.
    """
    X, header = _old_faithful_table()
    X = np.array(X, copy=True)
    if standardize:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return OldFaithful(X=X, feature_names=header)


# --------------------------------------------------------------------------- missing data


def missing_normal(n: int = 200, missing_rate: float = 0.3, mechanism: str = "mar", random_state=0):
    """A 3-D normal sample with values removed at random (lesson 12).

    Draws ``n`` rows from :math:`\\mathcal{N}(\\mu, \\Sigma)` with

    .. math::

        \\mu = \\begin{pmatrix} 0 \\\\ 1 \\\\ 2 \\end{pmatrix}, \\qquad
        \\Sigma = \\begin{pmatrix} 1 & 0.7 & 0.5 \\\\ 0.7 & 1.5 & 0.6 \\\\ 0.5 & 0.6 & 1
        \\end{pmatrix},

    then hides entries of columns 1 and 2 (column 0 is always observed, so no row
    is empty), each entry independently, with probability

    * ``"mcar"`` (missing completely at random): ``missing_rate`` for every row;
    * ``"mar"`` (missing at random): :math:`2 r \\, \\sigma(2 z_i)`, with
      :math:`r` = ``missing_rate``, :math:`\\sigma` the logistic function and
      :math:`z_i = (x_{i0} - \\mu_0) / \\sqrt{\\Sigma_{00}}`. Rows with a large
      observed first value lose their other values more often; since
      :math:`E[\\sigma(2 z_i)] = 1/2`, ``missing_rate`` is still the expected
      fraction hidden, and it may be at most 0.5.

    Under MAR the complete rows are not a random sample (their columns 1 and 2
    are too small on average, through the correlations), so dropping incomplete
    rows is biased; the maximum-likelihood estimate of
    :func:`emlab.missing.normal_mle` is not, since whether a value is missing
    depends only on a value that is observed. The same seed gives the same
    complete data under both mechanisms.

    Parameters
    ----------
    n : int, default=200
        Number of rows (at least 2).
    missing_rate : float, default=0.3
        Expected fraction of the entries of columns 1 and 2 that are hidden:
        in [0, 1) for ``"mcar"``, in [0, 0.5] for ``"mar"``.
    mechanism : {"mar", "mcar"}, default="mar"
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    X_complete : ndarray of shape (n, 3)
        The data before anything was hidden.
    X : ndarray of shape (n, 3)
        The same with ``np.nan`` for the hidden entries.
    mean : ndarray of shape (3,)
        The true :math:`\\mu`.
    covariance : ndarray of shape (3, 3)
        The true :math:`\\Sigma`.
    """
    n = _check_count(n, name="n", minimum=2)
    missing_rate = _check_finite(missing_rate, name="missing_rate")
    if mechanism not in ("mar", "mcar"):
        raise ValueError(f"mechanism must be 'mar' or 'mcar', got {mechanism!r}.")
    if not (0.0 <= missing_rate <= 0.5 if mechanism == "mar" else 0.0 <= missing_rate < 1.0):
        raise ValueError(
            f"missing_rate must lie in [0, 0.5] for mechanism='mar' and in [0, 1) for "
            f"'mcar'; got {missing_rate} with mechanism={mechanism!r}."
        )
    rng = _as_generator(random_state)
    mean = np.array([0.0, 1.0, 2.0])
    covariance = np.array([[1.0, 0.7, 0.5], [0.7, 1.5, 0.6], [0.5, 0.6, 1.0]])
    X_complete = mean + rng.standard_normal((n, 3)) @ np.linalg.cholesky(covariance).T
    if mechanism == "mcar":
        p_missing = np.full(n, missing_rate)
    else:
        z = (X_complete[:, 0] - mean[0]) / np.sqrt(covariance[0, 0])
        p_missing = 2.0 * missing_rate / (1.0 + np.exp(-2.0 * z))
    hidden = rng.random((n, 2)) < p_missing[:, np.newaxis]
    X = X_complete.copy()
    X[:, 1:][hidden] = np.nan
    return X_complete, X, mean, covariance


# --------------------------------------------------------------------------- hidden Markov models


class Casino(NamedTuple):
    """What :func:`casino` returns.

    Attributes
    ----------
    rolls : ndarray of shape (n_rolls,), int
        The faces rolled, 1 to 6.
    X : ndarray of shape (n_rolls, 1), int
        The same as symbols 0 to 5 (``rolls - 1``), the input of :class:`emlab.CategoricalHMM`.
    dice : ndarray of shape (n_rolls,), int
        The die used for each roll, 0 fair and 1 loaded (hidden from EM).
    startprob, transmat, emissionprob : ndarray
        The true parameters, :data:`CASINO`.
    """

    rolls: np.ndarray
    X: np.ndarray
    dice: np.ndarray
    startprob: np.ndarray
    transmat: np.ndarray
    emissionprob: np.ndarray


def casino(n_rolls: int = 300, random_state=0) -> Casino:
    """The occasionally dishonest casino: rolls of a die that is sometimes swapped for a loaded one.

    The example of Durbin, Eddy, Krogh & Mitchison (1998), section 3.2. A casino rolls a
    fair die (each face 1/6) most of the time, but now and then switches to a loaded die
    (a six with probability 1/2, each other face 1/10): after each roll it switches from
    the fair to the loaded die with probability 0.05, and back with probability 0.1. A
    gambler sees the rolls, not the dice: a hidden Markov model with two states and six
    symbols (:data:`CASINO`). The first roll's die is drawn from the chain's stationary
    distribution (fair with probability 2/3), which the book leaves open. The book's
    figure 3.5 shows 300 rolls, the default here.

    Parameters
    ----------
    n_rolls : int, default=300
        Number of rolls.
    random_state : int, numpy.random.Generator or None, default=0
        Seed or generator.

    Returns
    -------
    Casino
        ``(rolls, X, dice, startprob, transmat, emissionprob)``.

    References
    ----------
    Durbin, R., Eddy, S. R., Krogh, A. and Mitchison, G. (1998). *Biological Sequence
    Analysis: Probabilistic Models of Proteins and Nucleic Acids*. Cambridge University
    Press, section 3.2.
    """
    n_rolls = _check_count(n_rolls, name="n_rolls")
    rng = _as_generator(random_state)
    startprob, transmat, emissionprob = (
        CASINO["startprob"].copy(),
        CASINO["transmat"].copy(),
        CASINO["emissionprob"].copy(),
    )
    switch = rng.random(n_rolls)  # one number per roll decides the die ...
    face = rng.random(n_rolls)  # ... and one the face
    dice = np.empty(n_rolls, dtype=np.int64)
    dice[0] = int(switch[0] >= startprob[0])
    for s in range(1, n_rolls):  # a Markov chain: each die depends on the one before
        dice[s] = int(switch[s] >= transmat[dice[s - 1], 0])
    emission_cdf = np.cumsum(emissionprob, axis=1)
    symbols = (face[:, None] >= emission_cdf[dice]).sum(axis=1)
    symbols = np.minimum(symbols, emissionprob.shape[1] - 1)  # a cdf that ends below 1
    return Casino(
        rolls=symbols + 1,
        X=symbols[:, None].astype(np.int64),
        dice=dice,
        startprob=startprob,
        transmat=transmat,
        emissionprob=emissionprob,
    )


# --- lesson 14: your own model (a Poisson mixture; binarized digits) ---

#: Parameters of :func:`daily_counts`: the share of the days of each kind, and the mean
#: number of calls on such a day. Round values, not estimates from a real help desk.
DAILY_COUNTS = {
    "names": ("quiet", "ordinary", "busy"),
    "weights": np.array([0.3, 0.5, 0.2]),
    "rates": np.array([4.0, 12.0, 25.0]),
}


class DailyCounts(NamedTuple):
    """What :func:`daily_counts` returns.

    Attributes
    ----------
    counts : ndarray of shape (n_days,), int
        The number of calls on each day.
    kinds : ndarray of shape (n_days,), int
        The kind of each day, 0 quiet, 1 ordinary, 2 busy (hidden from EM).
    weights, rates : ndarray of shape (3,)
        The true parameters, :data:`DAILY_COUNTS`.
    """

    counts: np.ndarray
    kinds: np.ndarray
    weights: np.ndarray
    rates: np.ndarray


def daily_counts(n_days: int = 400, random_state=14) -> DailyCounts:
    """Calls to a help desk per day, from quiet, ordinary and busy days (lesson 14).

    Each day is of one of three hidden kinds, in the shares :math:`\\pi_k` of
    :data:`DAILY_COUNTS` (exactly, up to rounding, and shuffled); a day of kind
    :math:`k` brings a Poisson number of calls with mean :math:`\\lambda_k`:

    .. math:: z_i \\sim \\text{Categorical}(\\pi), \\qquad
              x_i \\mid z_i = k \\sim \\text{Poisson}(\\lambda_k),
              \\quad p(x_i \\mid z_i = k) = \\frac{\\lambda_k^{x_i} e^{-\\lambda_k}}{x_i!}.

    Parameters
    ----------
    n_days : int, default=400
        Number of days.
    random_state : int, numpy.random.Generator or None, default=14
        Seed or generator.

    Returns
    -------
    DailyCounts
        ``(counts, kinds, weights, rates)``.
    """
    n_days = _check_count(n_days, name="n_days")
    rng = _as_generator(random_state)
    weights, rates = DAILY_COUNTS["weights"].copy(), DAILY_COUNTS["rates"].copy()
    kinds = _shuffled_labels(_split_counts(n_days, weights), rng)
    counts = rng.poisson(rates[kinds])
    return DailyCounts(counts=counts, kinds=kinds, weights=weights, rates=rates)


class BinaryDigits(NamedTuple):
    """What :func:`binary_digits` returns.

    Attributes
    ----------
    X : ndarray of shape (n_images, 64), int
        Each 8 x 8 image as 64 pixels, 1 where the ink is at least ``threshold``, else 0.
    digits : ndarray of shape (n_images,), int
        The digit each image shows (hidden from EM).
    """

    X: np.ndarray
    digits: np.ndarray


def binary_digits(digits=(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), threshold: int = 8) -> BinaryDigits:
    """Handwritten digits as black-and-white 8 x 8 images (lesson 14, going further).

    scikit-learn's bundled copy of the UCI optical digits test set
    (:func:`sklearn.datasets.load_digits`: 1,797 images, ink from 0 to 16 per pixel; read
    from the installed package, never downloaded), with each pixel set to 1 where its ink
    is at least ``threshold`` and 0 elsewhere: data for a mixture of Bernoulli
    distributions, one per pixel and component.

    Parameters
    ----------
    digits : sequence of int, default=all ten
        Which digits to keep, each 0 to 9, in the data set's order.
    threshold : int, default=8
        The ink (1 to 16) from which a pixel counts as black.

    Returns
    -------
    BinaryDigits
        ``(X, digits)``.

    References
    ----------
    Alpaydin, E. and Kaynak, C. (1998). Optical Recognition of Handwritten Digits. UCI
    Machine Learning Repository.
    """
    from sklearn.datasets import load_digits

    keep = np.asarray(digits)
    if keep.ndim != 1 or keep.size == 0 or not np.issubdtype(keep.dtype, np.integer):
        raise ValueError(f"digits must be a non-empty list of whole numbers, got {digits!r}.")
    if keep.min() < 0 or keep.max() > 9 or np.unique(keep).size != keep.size:
        raise ValueError(f"digits must be distinct numbers from 0 to 9, got {digits!r}.")
    threshold = _check_count(threshold, name="threshold")
    if threshold > 16:
        raise ValueError(f"threshold must be from 1 to 16 (the ink of a pixel), got {threshold}.")
    data = load_digits()
    rows = np.isin(data.target, keep)
    X = (data.data[rows] >= threshold).astype(np.int64)
    return BinaryDigits(X=X, digits=data.target[rows].astype(np.int64))
