"""Drive the explorers from Python: move sliders, press buttons, check what is drawn and shown."""

import base64
import io
import json
import re
import warnings

import numpy as np
import pytest
from PIL import Image

from emlab import datasets, widgets
from emlab.mle import gaussian_log_likelihood
from emlab.widgets import frames_from_history

ipywidgets = pytest.importorskip("ipywidgets")


@pytest.fixture(scope="module")
def blobs():
    return datasets.blobs()[0]


def _ui(box):
    return box.explorer_widget


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


def test_frames_split_every_iteration_into_m_and_e_half_steps(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=3)
    history = explorer.history
    frames = frames_from_history(history)
    assert len(frames) == 2 * (len(history) - 1) + 1
    m_step, e_step = frames[1], frames[2]
    assert (m_step.step, e_step.step) == ("M", "E")
    np.testing.assert_array_equal(m_step.params["centroids"], history[1].params["centroids"])
    np.testing.assert_array_equal(m_step.resp, history[0].resp)  # still the old assignment
    np.testing.assert_array_equal(e_step.resp, history[1].resp)
    assert m_step.log_likelihood == history[1].log_likelihood


def test_kmeans_slider_redraws_the_recorded_iteration(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=3)
    ui = _ui(explorer.widget())
    first = ui.image.value
    ui.slider.value = ui.slider.max
    frame = explorer.frames[-1]
    assert ui.image.value != first
    assert np.abs(_pixels(ui.image.value) - _pixels(first)).sum() > 0
    np.testing.assert_allclose(explorer.view.centroids.get_offsets(), frame.params["centroids"])
    colors = explorer.view.points.get_facecolors()[:, :3]
    expected = np.array([_rgb(c) for c in explorer.view.colors[frame.resp.argmax(axis=1)]])
    np.testing.assert_allclose(colors, expected)
    shown = float(re.search(r"log-likelihood (-?[\d.]+)", ui.label.value).group(1))
    assert shown == pytest.approx(frame.log_likelihood, abs=5e-4)
    assert f"half-step {ui.slider.max} of {ui.slider.max}" in ui.label.value


def _rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_restart_refits_from_a_new_seed_and_the_components_slider(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=0)
    ui = _ui(explorer.widget())
    ui.slider.value = 2
    ui.components.value = 4
    ui.restart_button.click()
    assert explorer.seed == 1 and ui.seed.value == 1
    assert explorer.history[0].params["centroids"].shape == (4, 2)
    assert ui.slider.value == 0 and ui.slider.max == len(explorer.frames) - 1 == ui.play.max
    ui.seed.value = 42
    ui.restart_button.click()
    assert explorer.seed == 42


def test_coins_bars_split_every_trial_between_the_coins():
    trials = datasets.coin_trials()
    explorer = widgets.coins_explorer(trials.heads, seed=1)
    ui = _ui(explorer.widget())
    ui.slider.value = 4
    frame = explorer.frames[4]
    view = explorer.view
    heights_a = np.array([bar.get_height() for bar in view.bars])
    heights_b = np.array([bar.get_height() for bar in view.bars_b])
    np.testing.assert_allclose(heights_a + heights_b, np.bincount(trials.heads, minlength=11))
    assert heights_a.sum() == pytest.approx(frame.resp[:, 0].sum())
    path_x, _ = view.path.get_data()
    assert len(path_x) == frame.iteration + 1


def test_gmm_1d_draws_the_weighted_components():
    from scipy.stats import norm

    x, _ = datasets.three_gaussians()
    explorer = widgets.gmm_explorer(x, n_components=3, seed=2)
    frame = explorer.show(6)
    grid, total = explorer.view.total.get_data()
    w, mu, sd = (frame.params[k] for k in ("weights", "means", "sds"))
    expected = (w[:, None] * norm.pdf(grid[None, :], mu[:, None], sd[:, None])).sum(axis=0)
    np.testing.assert_allclose(total, expected)


def test_gmm_2d_draws_two_ellipses_per_component():
    X = datasets.old_faithful(standardize=True).X
    explorer = widgets.gmm_explorer(X, n_components=2, seed=0)
    explorer.show(5)
    assert len(explorer.view.ellipses) == 2 * 2
    explorer.show(7)
    assert len(explorer.view.ellipses) == 2 * 2  # replaced, not piled up


def test_animation_plays_without_python_and_loads_nothing_from_outside(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=3)
    html = explorer.animation(max_frames=6).data
    assert "<script" in html and "http://" not in html and "https://" not in html
    assert 'class="fa' not in html  # no icon font: the buttons carry text
    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', html).group(1))
    picks = explorer.animation_frames(6)
    assert len(data["images"]) == len(data["texts"]) == len(picks)
    assert data["texts"] == [explorer.describe(i) for i in picks]
    for image in data["images"]:
        Image.open(io.BytesIO(base64.b64decode(image))).verify()  # every frame is a JPEG


def test_the_animation_is_usable_with_a_screen_reader_and_a_keyboard(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=3)
    html = explorer.animation(max_frames=6).data
    first = explorer.describe(0)
    assert f'alt="{first}"' in html  # the frame's text alternative
    assert re.search(r'<figcaption class="emlab-player-status" aria-live="polite"[^>]*>', html)
    assert re.search(r'role="group" aria-label="k-means: EM step by step, \d+ frames"', html)
    for name in ("First", "Previous", "Play", "Next", "Last"):  # named by their visible text
        assert f">{name}</button>" in html
    assert re.search(r"<label[^>]*>Frame <input type=\"range\"", html)  # a labelled slider
    assert "flex-wrap: wrap" in html  # the controls wrap on a narrow screen


def test_each_half_step_is_described_in_words(blobs):
    explorer = widgets.kmeans_explorer(blobs, seed=19)
    last = len(explorer.frames) - 1
    assert explorer.describe(0).startswith(f"k-means, half-step 0 of {last}: start")
    m_step = explorer.describe(1)
    moved = np.abs(explorer.frames[1].params["centroids"] - explorer.frames[0].params["centroids"])
    assert f"The centroids moved by up to {moved.max():.3g}." in m_step
    e_step = explorer.describe(2)
    changed = int(
        np.sum(explorer.frames[1].resp.argmax(axis=1) != explorer.frames[2].resp.argmax(axis=1))
    )
    assert f"{changed} of {len(blobs)} data points changed" in e_step
    assert e_step.endswith(f"Log-likelihood {explorer.frames[2].log_likelihood:.3f}.")


def test_animation_frames_keep_the_first_half_steps_and_the_last():
    x, _ = datasets.three_gaussians()
    explorer = widgets.gmm_explorer(x, seed=0)
    picks = explorer.animation_frames(10)
    assert (
        len(picks) <= 10 and picks[:5] == [0, 1, 2, 3, 4] and picks[-1] == len(explorer.frames) - 1
    )
    assert picks == sorted(set(picks))


def test_without_ipywidgets_a_static_grid_and_a_clear_message(blobs, monkeypatch):
    monkeypatch.setattr(widgets, "_ipywidgets", lambda: None)
    explorer = widgets.kmeans_explorer(blobs)
    with pytest.warns(UserWarning, match="pip install ipywidgets"):
        grid = explorer.widget()
    assert len(grid.axes) >= 2 and "snapshots" in grid.get_suptitle()
    with pytest.warns(UserWarning, match="ipywidgets is not installed"):
        figure = widgets.likelihood_explorer(datasets.heights()).widget()
    assert figure.axes


def test_likelihood_sliders_show_the_log_likelihood():
    heights = datasets.heights()
    box = widgets.likelihood_explorer(heights).widget()
    mu, sigma = box.sliders
    mu.value, sigma.value = 171.0, 9.5
    expected = gaussian_log_likelihood(heights, 171.0, 9.5)
    assert box.label.value == f"log-likelihood {expected:.2f}"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: widgets.kmeans_explorer(np.ones((10, 3))), "2 columns"),
        (lambda: widgets.gmm_explorer(np.ones((10, 3))), "2 columns"),
        (lambda: widgets.coins_explorer([3, 11], n_tosses=10), "heads"),
        (lambda: widgets.likelihood_explorer([1.0, np.nan]), "NaN"),
    ],
)
def test_bad_input_names_the_argument(make, message):
    with warnings.catch_warnings(), pytest.raises(ValueError, match=message):
        make()
