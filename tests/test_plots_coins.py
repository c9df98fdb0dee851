"""Tests of emlab.plots.contours_below_max (lesson 06's notes, the two coins) on the Agg backend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from emlab import plots


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def bowl():
    """A surface with its maximum 3.0 at (0.25, 0.5), falling off quadratically."""
    x, y = np.linspace(0, 1, 41), np.linspace(0, 1, 21)
    surface = 3.0 - 100 * ((x[None, :] - 0.25) ** 2 + (y[:, None] - 0.5) ** 2)
    return x, y, surface


def test_contours_below_max_draws_bands_outline_and_colorbar():
    x, y, surface = bowl()
    before = len(plt.get_fignums())
    ax = plots.contours_below_max(x, y, surface)
    assert len(plt.get_fignums()) == before + 1
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    filled, outline = ax.collections
    # the deepest point lies 100 * (0.75**2 + 0.5**2) = 81.25 below the maximum: drops to 100
    np.testing.assert_allclose(filled.levels, [-100, -50, -20, -10, -5, -2, -1, -0.5, 0])
    np.testing.assert_allclose(outline.levels, [-0.5])
    assert ax.get_legend_handles_labels()[1] == ["0.5 below the maximum"]
    colorbar_ax = ax.figure.axes[1]
    np.testing.assert_allclose(colorbar_ax.get_yticks(), filled.levels)  # every level labelled


def test_contours_below_max_options():
    x, y, surface = bowl()
    fig, ax = plt.subplots()
    out = plots.contours_below_max(
        x, y, surface, ax=ax, peak=4.0, drops=[1, 2], outline=None, colorbar=False, title="t"
    )
    assert out is ax and ax.get_title() == "t"
    assert len(fig.axes) == 1
    (filled,) = ax.collections
    np.testing.assert_allclose(filled.levels, [-2, -1, 0])
    assert ax.get_legend_handles_labels()[1] == []


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"surface": np.zeros((3, 3))}, "shape"),
        ({"peak": 2.0}, "peak"),
        ({"outline": 3.0}, "outline"),
        ({"drops": [-1.0]}, "drops"),
    ],
)
def test_contours_below_max_bad_input(kwargs, word):
    x, y, surface = bowl()
    arguments = {"x": x, "y": y, "surface": surface} | kwargs
    with pytest.raises(ValueError, match=word):
        plots.contours_below_max(**arguments)
