"""Tests of emlab.plots on the Agg backend: labels, artist counts, ellipse geometry."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.markers import MarkerStyle
from matplotlib.patches import Ellipse, Rectangle
from scipy.special import logsumexp
from scipy.stats import norm

from emlab import plots
from emlab.em import History, Snapshot, run_em


@pytest.fixture(autouse=True)
def no_show_and_close(monkeypatch):
    """Fail if any plot calls plt.show(); close every figure after each test."""

    def refuse(*args, **kwargs):
        raise AssertionError("plots must never call plt.show()")

    monkeypatch.setattr(plt, "show", refuse)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def history():
    """A real EM history: the means of two unit-variance Gaussians with equal weights."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-2, 1, 150), rng.normal(3, 1, 100)])

    def e_step(x, params):
        log_joint = np.log(0.5) + norm.logpdf(x[:, None], loc=params["means"][None, :])
        log_px = logsumexp(log_joint, axis=1)
        return np.exp(log_joint - log_px[:, None]), float(log_px.sum())

    def m_step(x, resp):
        return {"means": resp.T @ x / resp.sum(axis=0), "scale": np.ones(2)}

    start = {"means": np.array([-0.5, 0.5]), "scale": np.ones(2)}
    return run_em(x, start, e_step, m_step, tol=0, max_iter=8, record_resp=True).history


def assert_labelled(ax):
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()


def patches_of(ax, kind):
    return [patch for patch in ax.patches if isinstance(patch, kind)]


# --------------------------------------------------------------------------- style


def test_colors_are_okabe_ito():
    assert len(plots.COLORS) == 8
    assert set(plots.COLORS) == set(plots.OKABE_ITO.values())
    assert plots.COLORS[0] == "#0072B2"


def test_use_style_sets_rcparams():
    with matplotlib.rc_context():
        plots.use_style()
        assert matplotlib.rcParams["figure.dpi"] == 100
        assert matplotlib.rcParams["axes.grid"] is True
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [to_rgb(c) for c in cycle] == [to_rgb(c) for c in plots.COLORS]
        plots.use_style(**{"figure.dpi": 150})
        assert matplotlib.rcParams["figure.dpi"] == 150


def test_import_emlab_does_not_import_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, emlab; "
        "assert 'matplotlib' not in sys.modules and 'emlab.plots' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- 1-D


def test_hist_with_densities_draws_components_and_total():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, 1, 300), rng.normal(5, 2, 200)])
    ax = plots.hist_with_densities(
        x, weights=[0.6, 0.4], means=[0, 5], sds=[1, 2], bins=30, labels=["a", "b"]
    )
    assert_labelled(ax)
    assert len(patches_of(ax, Rectangle)) == 30
    lines = ax.get_lines()
    assert len(lines) == 3  # two components and the total
    np.testing.assert_allclose(lines[0].get_ydata() + lines[1].get_ydata(), lines[2].get_ydata())
    grid = lines[0].get_xdata()
    np.testing.assert_allclose(lines[0].get_ydata(), 0.6 * norm.pdf(grid, 0, 1))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b", "mixture"]


def test_hist_with_densities_defaults_and_overrides():
    x = np.random.default_rng(2).normal(size=100)
    _, ax = plt.subplots()
    returned = plots.hist_with_densities(x, ax=ax, title="T", xlabel="X", ylabel="Y")
    assert returned is ax
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("T", "X", "Y")
    assert len(ax.get_lines()) == 0  # histogram only
    ax = plots.hist_with_densities(x, means=[0.0], sds=[1.0], legend=False)
    assert len(ax.get_lines()) == 1  # one component: no separate total
    assert ax.get_legend() is None
    ax = plots.hist_with_densities(x, means=[0.0, 1.0, 2.0], sds=[1.0, 1.0, 1.0])
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), norm.pdf(lines[0].get_xdata()) / 3)


def test_hist_with_densities_direct_labels_sit_on_each_peak():
    x = np.random.default_rng(3).normal(size=100)
    ax = plots.hist_with_densities(x, weights=[0.25, 0.75], means=[-2.0, 3.0], sds=[1.0, 2.0])
    assert len(ax.texts) == 0  # off by default
    ax = plots.hist_with_densities(
        x, weights=[0.25, 0.75], means=[-2.0, 3.0], sds=[1.0, 2.0], direct_labels=True
    )
    assert [text.get_text() for text in ax.texts] == ["1", "2"]
    for text, line, mean in zip(ax.texts, ax.get_lines(), [-2.0, 3.0], strict=False):
        assert text.xy[0] == mean
        np.testing.assert_allclose(text.xy[1], line.get_ydata().max(), rtol=1e-3)
        assert text.get_color() == line.get_color()  # and the number, not only the colour
        assert text.get_path_effects()  # a halo: a curve behind it does not cross it


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"means": [0.0, 1.0]}, "sds"),
        ({"means": [0.0, 1.0], "sds": [1.0]}, "sds"),
        ({"means": [0.0], "sds": [-1.0]}, "sds"),
        ({"means": [0.0, 1.0], "sds": [1.0, 1.0], "weights": [0.5, 0.6]}, "weights"),
    ],
)
def test_hist_with_densities_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        plots.hist_with_densities(np.arange(10.0), **kwargs)


# --------------------------------------------------------------------------- 2-D


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(3)
    return rng.normal(size=(60, 2)), np.repeat([0, 1, 2], 20)


def test_scatter_clusters_by_labels(points):
    X, labels = points
    centroids = np.array([[0, 0], [1, 1], [2, 2]])
    ax = plots.scatter_clusters(X, labels=labels, centroids=centroids)
    assert_labelled(ax)
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(collections) == 4  # one per cluster and the centroids
    for k in range(3):
        np.testing.assert_allclose(collections[k].get_facecolor()[0, :3], to_rgb(plots.COLORS[k]))
        assert collections[k].get_offsets().shape == (20, 2)
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["cluster 1", "cluster 2", "cluster 3"]
    ax = plots.scatter_clusters(X, labels=labels, names=["a", "b", "c"])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="names"):
        plots.scatter_clusters(X, labels=labels, names=["a", "b"])


def test_scatter_clusters_with_a_marker_per_cluster(points):
    X, labels = points
    ax = plots.scatter_clusters(X, labels=labels, markers=("o", "s"))
    shapes = [c.get_paths()[0].vertices for c in ax.collections]
    circle, square = (MarkerStyle(m).get_path().vertices for m in ("o", "s"))
    assert shapes[0].shape == circle.shape and shapes[1].shape == square.shape
    assert circle.shape != square.shape
    np.testing.assert_allclose(shapes[2], shapes[0])  # the markers repeat after two clusters


def test_scatter_clusters_by_responsibilities(points):
    X, _ = points
    resp = np.zeros((60, 2))
    resp[:, 0] = np.linspace(0, 1, 60)
    resp[:, 1] = 1 - resp[:, 0]
    ax = plots.scatter_clusters(X, resp=resp)
    assert len(ax.collections) == 1
    colors = ax.collections[0].get_facecolor()[:, :3]
    first, second = np.array(to_rgb(plots.COLORS[0])), np.array(to_rgb(plots.COLORS[1]))
    np.testing.assert_allclose(colors[0], second)  # resp (0, 1)
    np.testing.assert_allclose(colors[-1], first)  # resp (1, 0)
    np.testing.assert_allclose(colors, resp @ np.array([first, second]), atol=1e-12)
    ax = plots.scatter_clusters(X)
    assert len(ax.collections) == 1
    assert_labelled(ax)


def test_scatter_clusters_most_responsible(points):
    X, _ = points
    resp = np.zeros((60, 3))
    resp[:, 0] = np.linspace(0.2, 1.0, 60)
    resp[:, 1] = 1 - resp[:, 0]  # component 3 is most responsible for no point
    ax = plots.scatter_clusters(X, resp=resp, soft="most_responsible", names=["a", "b", "c"])
    assert len(ax.collections) == 3  # one per component, even an empty one (for the legend)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b", "c"]
    best = resp.argmax(axis=1)
    for k, collection in enumerate(ax.collections[:2]):
        np.testing.assert_array_equal(collection.get_offsets(), X[best == k])
        rgba = collection.get_facecolor()
        np.testing.assert_allclose(rgba[:, :3], np.tile(to_rgb(plots.COLORS[k]), (len(rgba), 1)))
        certainty = resp[best == k].max(axis=1)
        expected_alpha = 0.15 + 0.85 * (certainty - 1 / 3) / (2 / 3)
        np.testing.assert_allclose(rgba[:, 3], expected_alpha)
    markers = [c.get_paths()[0].vertices.shape for c in ax.collections]
    assert len(set(markers)) == 3  # three different marker shapes
    with pytest.raises(ValueError, match="soft"):
        plots.scatter_clusters(X, resp=resp, soft="hard")


def test_scatter_clusters_colors_and_markers(points):
    X, labels = points
    colors = ["#000000", "#ff0000", "#00ff00"]
    ax = plots.scatter_clusters(X, labels=labels, colors=colors, markers=plots.MARKERS)
    for k, collection in enumerate(ax.collections):
        np.testing.assert_allclose(collection.get_facecolor()[0, :3], to_rgb(colors[k]))
    shapes = {c.get_paths()[0].vertices.shape for c in ax.collections}
    assert len(shapes) == len(ax.collections)
    default = plots.scatter_clusters(X, labels=labels, ax=plt.figure().gca())
    shapes = {c.get_paths()[0].vertices.shape for c in default.collections}
    assert len(shapes) == 1  # circles for all unless asked


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"labels": np.zeros(60, int), "resp": np.full((60, 1), 1.0)}, "not both"),
        ({"labels": np.zeros(59, int)}, "labels"),
        ({"labels": np.full(60, 0.5)}, "labels"),
        ({"resp": np.full((60, 2), 0.7)}, "resp"),
        ({"resp": np.full((60, 9), 1 / 9)}, "resp"),
    ],
)
def test_scatter_clusters_bad_input(points, kwargs, word):
    with pytest.raises(ValueError, match=word):
        plots.scatter_clusters(points[0], **kwargs)


def test_scatter_clusters_needs_two_columns():
    with pytest.raises(ValueError, match="2 columns"):
        plots.scatter_clusters(np.zeros((5, 3)))


MEANS = np.array([[0.0, 0.0], [5.0, 1.0]])
FULL = np.array([[[4.0, 1.5], [1.5, 1.0]], [[1.0, -0.3], [-0.3, 2.0]]])


@pytest.mark.parametrize(
    "covariance_type, stored, full",
    [
        ("full", FULL, FULL),
        ("tied", FULL[0], np.stack([FULL[0], FULL[0]])),
        (
            "diag",
            np.array([[4.0, 1.0], [1.0, 2.0]]),
            np.array([np.diag([4.0, 1.0]), np.diag([1, 2.0])]),
        ),
        ("spherical", np.array([2.0, 0.5]), np.array([2.0 * np.eye(2), 0.5 * np.eye(2)])),
    ],
)
def test_covariance_ellipses_geometry(covariance_type, stored, full):
    n_std = (1, 2, 3)
    ax = plots.covariance_ellipses(MEANS, stored, covariance_type=covariance_type, n_std=n_std)
    assert_labelled(ax)
    ellipses = patches_of(ax, Ellipse)
    assert len(ellipses) == len(MEANS) * len(n_std)
    np.testing.assert_array_equal(plots.covariances_to_full(stored, covariance_type, 2), full)
    for index, ellipse in enumerate(ellipses):
        k, s = divmod(index, len(n_std))
        s = n_std[s]
        radii = np.sqrt(np.linalg.eigvalsh(full[k])) * s
        np.testing.assert_allclose(
            sorted([ellipse.width / 2, ellipse.height / 2]), radii, rtol=1e-12
        )
        np.testing.assert_allclose(ellipse.center, MEANS[k])
        # every point of the outline is at Mahalanobis distance s from the mean
        # (the patch transform maps the unit circle onto the drawn ellipse)
        angles = np.linspace(0, 2 * np.pi, 50)
        circle = np.column_stack([np.cos(angles), np.sin(angles)])
        outline = ellipse.get_patch_transform().transform(circle)
        offsets = outline - MEANS[k]
        distance = np.sqrt(np.einsum("ni,ij,nj->n", offsets, np.linalg.inv(full[k]), offsets))
        np.testing.assert_allclose(distance, s, rtol=1e-6)


def test_covariance_ellipses_options():
    ax = plots.covariance_ellipses(MEANS, FULL, n_std=2, show_means=False)
    assert len(patches_of(ax, Ellipse)) == 2
    assert len(ax.collections) == 0
    ax = plots.covariance_ellipses(MEANS, FULL)
    assert len(ax.collections) == 1  # the means
    xmin, xmax = ax.get_xlim()
    assert xmin < -3 * np.sqrt(FULL[0, 0, 0]) * 0.9 and xmax > 5  # autoscaled to the ellipses


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"covariances": FULL, "covariance_type": "banana"}, "covariance_type"),
        ({"covariances": FULL[0], "covariance_type": "full"}, "shape"),
        ({"covariances": np.ones(3), "covariance_type": "spherical"}, "shape"),
        ({"covariances": -FULL}, "semi-definite"),
        ({"covariances": FULL, "n_std": 0}, "n_std"),
    ],
)
def test_covariance_ellipses_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        plots.covariance_ellipses(MEANS, **kwargs)


def test_covariance_ellipses_needs_2d():
    with pytest.raises(ValueError, match="2 columns"):
        plots.covariance_ellipses(np.zeros((2, 3)), np.stack([np.eye(3)] * 2))


# --------------------------------------------------------------------------- histories


def test_snapshot_grid(history):
    seen = []

    def draw(snapshot, ax):
        seen.append(snapshot.iteration)
        ax.plot(snapshot.params["means"], [0, 0], "o")
        ax.set_xlabel("mean")

    axes = plots.snapshot_grid(history, draw, iterations=[0, 1, 2, 8], ncols=3)
    assert axes.shape == (2, 3)
    assert seen == [0, 1, 2, 8]
    titles = [ax.get_title() for ax in axes.flat]
    assert titles[:4] == ["iteration 0", "iteration 1", "iteration 2", "iteration 8"]
    assert [ax.axison for ax in axes.flat] == [True] * 4 + [False] * 2
    assert all(len(ax.get_lines()) == 1 for ax in axes.flat[:4])


def test_snapshot_grid_defaults_and_given_axes(history):
    axes = plots.snapshot_grid(history, lambda snapshot, ax: None)
    assert [ax.get_title() for ax in axes.flat] == [
        "iteration 0",
        "iteration 2",
        "iteration 3",
        "iteration 5",
        "iteration 6",
        "iteration 8",
    ]
    _, given = plt.subplots(1, 2)
    returned = plots.snapshot_grid(history, lambda snapshot, ax: None, [-1, 0], axes=given)
    assert returned[0] is given[0]
    assert given[0].get_title() == "iteration 8"
    with pytest.raises(ValueError, match="iteration 99"):
        plots.snapshot_grid(history, lambda snapshot, ax: None, [99])
    with pytest.raises(ValueError, match="axes"):
        plots.snapshot_grid(history, lambda snapshot, ax: None, [0, 1, 2], axes=given)


def test_log_likelihood_curve_from_history(history):
    ax = plots.log_likelihood_curve(history)
    assert_labelled(ax)
    assert ax.get_ylabel() == "log-likelihood"
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), history.log_likelihood)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(len(history)))
    assert line.get_marker() == "o"
    assert [text.get_text() for text in ax.texts] == ["never decreases"]
    assert len(ax.collections) == 0


def test_log_likelihood_curve_marks_decreases():
    ax = plots.log_likelihood_curve([-10.0, -8.0, -9.0, -7.0], ylabel="average", mark_monotone=True)
    assert ax.get_ylabel() == "average"
    assert len(ax.collections) == 1
    np.testing.assert_array_equal(ax.collections[0].get_offsets(), [[2, -9.0]])
    assert "decreases at iteration 2" in ax.texts[0].get_text()
    ax = plots.log_likelihood_curve([-10.0, -8.0, -9.0], mark_monotone=False)
    assert len(ax.texts) == 0 and len(ax.collections) == 0


def test_covariance_ellipses_colors():
    colors = ["#123456", "#abcdef"]
    ax = plots.covariance_ellipses([[0, 0], [3, 3]], [np.eye(2), np.eye(2)], n_std=1, colors=colors)
    edges = [patch.get_edgecolor()[:3] for patch in ax.patches]
    np.testing.assert_allclose(edges, [to_rgb(c) for c in colors])


def test_parameter_trajectories(history):
    ax = plots.parameter_trajectories(history, "means", labels=["left", "right"], truth=[-2, 3])
    assert_labelled(ax)
    assert ax.get_ylabel() == "means"
    lines = ax.get_lines()
    assert len(lines) == 4  # two trajectories and two truths
    np.testing.assert_array_equal(lines[0].get_ydata(), history.param("means")[:, 0])
    np.testing.assert_array_equal(lines[1].get_ydata(), history.param("means")[:, 1])
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["left", "right"]


def test_parameter_trajectories_shapes():
    snapshots = [
        Snapshot(t, {"theta": np.array([0.6 + 0.01 * t, 0.5 - 0.01 * t]), "mu": np.eye(2) * t}, -t)
        for t in range(4)
    ]
    history = History(snapshots)
    ax = plots.parameter_trajectories(history, "theta", labels=["coin A", "coin B"])
    assert len(ax.get_lines()) == 2
    ax = plots.parameter_trajectories(history, "mu", title="means", ylabel="value")
    assert len(ax.get_lines()) == 4  # a (2, 2) parameter: one line per entry
    assert ax.get_title() == "means"
    with pytest.raises(ValueError, match="sigma"):
        plots.parameter_trajectories(history, "sigma")
    with pytest.raises(ValueError, match="labels"):
        plots.parameter_trajectories(history, "theta", labels=["only one"])


# --------------------------------------------------------------------------- lesson 01


def test_likelihood_surface():
    x = np.random.default_rng(4).normal(170, 10, 1000)
    mus = np.linspace(160, 180, 41)
    sigmas = np.linspace(5, 20, 31)
    ax = plots.likelihood_surface(x, mus, sigmas)
    assert_labelled(ax)
    assert len(ax.collections) == 2  # filled contours and contour lines
    (marker,) = ax.get_lines()
    np.testing.assert_allclose(marker.get_xdata(), [x.mean()])
    np.testing.assert_allclose(marker.get_ydata(), [x.std()])
    assert len(ax.figure.axes) == 2  # the colour bar
    filled = ax.collections[0]
    np.testing.assert_allclose(filled.levels[-4:], [-2.0, -1.0, -0.5, 0.0])  # drops below the peak
    ax = plots.likelihood_surface(x, mus, sigmas, drops=[1, 3], relative=False)
    peak = -0.5 * x.size * (np.log(2 * np.pi * x.var()) + 1)  # the maximum, in closed form
    np.testing.assert_allclose(ax.collections[0].levels, [peak - 3, peak - 1, peak], rtol=1e-12)
    # outside the grid: the best grid point is marked instead
    ax = plots.likelihood_surface(x, np.linspace(100, 150, 11), sigmas, colorbar=False)
    (marker,) = ax.get_lines()
    assert marker.get_xdata()[0] == 150.0
    assert len(ax.figure.axes) == 1


def test_likelihood_surface_bad_sigmas():
    with pytest.raises(ValueError, match="sigmas"):
        plots.likelihood_surface([1.0, 2.0], [0.0, 1.0], [0.0, 1.0])


def test_every_function_returns_axes_and_creates_one_figure(history, points):
    X, labels = points
    calls = [
        lambda: plots.hist_with_densities(X[:, 0]),
        lambda: plots.scatter_clusters(X, labels=labels),
        lambda: plots.covariance_ellipses(MEANS, FULL),
        lambda: plots.log_likelihood_curve(history),
        lambda: plots.parameter_trajectories(history, "means"),
        lambda: plots.likelihood_surface(X[:, 0], [-1, 0, 1], [0.5, 1, 2]),
    ]
    for call in calls:
        before = len(plt.get_fignums())
        ax = call()
        assert isinstance(ax, matplotlib.axes.Axes)
        assert len(plt.get_fignums()) == before + 1
        assert_labelled(ax)
    plt.close("all")
    assert plt.get_fignums() == []
