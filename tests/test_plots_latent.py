"""Tests of emlab.plots for lessons 03 and 04 (graphical_model, log_likelihood_curve's start) on Agg."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

from emlab import plots

NODES = {
    "pi": (0.0, 1.5, r"$\pi$", "parameter"),
    "z": (0.0, 0.0, "$z_i$", "latent"),
    "x": (1.6, 0.0, "$x_i$", "observed"),
}
EDGES = [("pi", "z"), ("z", "x")]
PLATES = [(["z", "x"], "$i = 1, \\dots, n$")]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def patches_of(ax, kind):
    return [patch for patch in ax.patches if isinstance(patch, kind)]


def test_graphical_model_draws_nodes_arrows_and_plates():
    before = len(plt.get_fignums())
    ax = plots.graphical_model(NODES, EDGES, PLATES, title="z -> x")
    assert len(plt.get_fignums()) == before + 1
    assert ax.get_title() == "z -> x"
    circles = patches_of(ax, Circle)
    assert len(circles) == 3
    faces = {tuple(np.round(c.get_facecolor()[:3], 3)) for c in circles}
    assert tuple(np.round(to_rgb(plots.OBSERVED_NODE_COLOR), 3)) in faces  # x is shaded
    assert (1.0, 1.0, 1.0) in faces  # z is white
    assert (0.0, 0.0, 0.0) in faces  # the parameter is a black dot
    radii = sorted(c.radius for c in circles)
    assert radii[0] < radii[1] == radii[2] == pytest.approx(0.4)
    assert len(patches_of(ax, FancyArrowPatch)) == len(EDGES)
    assert len(patches_of(ax, Rectangle)) == 1
    texts = [text.get_text() for text in ax.texts]
    assert "$z_i$" in texts and "$x_i$" in texts and "$i = 1, \\dots, n$" in texts
    assert not ax.axison
    assert ax.get_aspect() == 1.0


def test_graphical_model_keeps_everything_inside_the_axes():
    ax = plots.graphical_model(NODES, EDGES, PLATES)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    for patch in patches_of(ax, Circle):
        cx, cy = patch.center
        assert x0 <= cx - patch.radius and cx + patch.radius <= x1
        assert y0 <= cy - patch.radius and cy + patch.radius <= y1
    (plate,) = patches_of(ax, Rectangle)
    assert x0 <= plate.get_x() and plate.get_x() + plate.get_width() <= x1
    assert y0 <= plate.get_y() and plate.get_y() + plate.get_height() <= y1


@pytest.mark.parametrize(
    ("nodes", "edges", "plates", "word"),
    [
        ({"a": (0, 0, "a", "hidden")}, (), (), "kind"),
        ({"a": (0, 0, "a")}, (), (), "kind"),
        ({}, (), (), "empty"),
        ({"a": (0, 0, "a", "latent")}, [("a", "b")], (), "'b'"),
        ({"a": (0, 0, "a", "latent")}, (), [(["c"], "n")], "'c'"),
    ],
)
def test_graphical_model_bad_input(nodes, edges, plates, word):
    with pytest.raises(ValueError, match=word):
        plots.graphical_model(nodes, edges, plates)


def test_graphical_model_bad_radius():
    with pytest.raises(ValueError, match="radius"):
        plots.graphical_model(NODES, radius=0.0)


def test_log_likelihood_curve_marks_the_start_only_when_asked():
    values = [-4606.2, -3724.6, -3723.9, -3723.2]
    plain = plots.log_likelihood_curve(values)
    assert len(plain.lines) == 1 and "start" not in [t.get_text() for t in plain.texts]
    ax = plots.log_likelihood_curve(values, mark_start=True)
    (_, start) = ax.lines
    assert start.get_marker() == "s" and start.get_xydata().tolist() == [[0.0, -4606.2]]
    assert "start" in [text.get_text() for text in ax.texts]


def test_log_likelihood_curve_marks_no_start_from_iteration_1():
    from emlab.em import History, Snapshot

    history = History(Snapshot(t, {}, value, None) for t, value in enumerate([-9.0, -5.0, -4.0]))
    ax = plots.log_likelihood_curve(History(history[1:]), mark_start=True)
    assert len(ax.lines) == 1 and "start" not in [text.get_text() for text in ax.texts]
    assert ax.lines[0].get_xdata().tolist() == [1, 2]
