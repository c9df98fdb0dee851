"""Step through EM: interactive explorers for JupyterLab and animations for the book.

Each model records its :class:`~emlab.em.History`, so an explorer fits once and
then *replays*: moving the slider only redraws, it never refits. Every iteration
is shown as two half-steps,

* **E-step** *t*: parameters :math:`\\theta^{(t)}` with the responsibilities they give;
* **M-step** *t + 1*: the new parameters :math:`\\theta^{(t+1)}`, still drawn with the
  old responsibilities, so you see what the M-step moved;

and the log-likelihood :math:`\\ell(\\theta)` of the parameters on screen is printed.

Each explorer has three faces:

``explorer.widget()``
    ipywidgets 8 controls (a slider over half-steps, a play button, a seed box and
    a restart button, and the number of components where it applies) above the
    figure. Without ipywidgets it warns and returns a static grid of snapshots.
``explorer.animation()``
    a self-contained HTML/JavaScript animation of the same half-steps
    (matplotlib's ``to_jshtml``): it plays in the static book, where no kernel runs.
``explorer.snapshots()``
    a grid of figures: the fallback, and handy for print.

The lesson-1 explorer, :func:`likelihood_explorer`, has sliders for
:math:`\\mu` and :math:`\\sigma` instead of iterations.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emlab.em import History
from emlab.validation import check_data, check_n_components

__all__ = [
    "Explorer",
    "Frame",
    "coins_explorer",
    "frames_from_history",
    "gmm_explorer",
    "kmeans_explorer",
    "likelihood_explorer",
]

FIGSIZE = (8.0, 3.4)
DPI = 80


def _ipywidgets():
    """ipywidgets, or None when it is not installed."""
    try:
        import ipywidgets
    except ImportError:
        return None
    return ipywidgets


def _new_figure(figsize=FIGSIZE):
    """A matplotlib figure outside pyplot, so that nothing is shown until we say so."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from emlab import plots

    plots.use_style()
    figure = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    """Render ``figure`` to PNG bytes quickly: draw once, encode the pixels with light compression."""
    from PIL import Image

    figure.canvas.draw()
    if figure.get_layout_engine() is not None:  # lay out once, then keep the axes where they are
        figure.set_layout_engine("none")
    width, height = figure.canvas.get_width_height(physical=True)
    image = Image.frombuffer(
        "RGBA", (width, height), figure.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
    )
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="png", compress_level=1)
    return buffer.getvalue()


def _jpeg(figure, dpi: int) -> str:
    """``figure`` as a base64 JPEG at ``dpi`` (an animation's frame: a fifth of a PNG's size)."""
    import base64

    from PIL import Image

    figure.set_dpi(dpi)
    try:
        figure.canvas.draw()
        width, height = figure.canvas.get_width_height(physical=True)
        image = Image.frombuffer(
            "RGBA", (width, height), figure.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="jpeg", quality=80)
    finally:
        figure.set_dpi(DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _what_moved(before: dict, after: dict) -> str:
    """``"The means moved by up to 0.83; the weights by up to 0.05."``: an M-step in words."""
    moved = []
    for name, value in after.items():
        old = before.get(name)
        if old is None or np.shape(old) != np.shape(value):
            continue
        change = float(np.max(np.abs(np.asarray(value, float) - np.asarray(old, float))))
        if change > 0:
            moved.append((name.replace("_", " "), change))
    if not moved:
        return "Nothing moved."
    first, *rest = moved
    parts = [f"The {first[0]} moved by up to {first[1]:.3g}"]
    parts += [f"the {name} by up to {change:.3g}" for name, change in rest]
    return "; ".join(parts) + "."


#: The player's script: buttons and a slider over the frames, the image's alt text and a polite
#: live region kept in step. Plain ES5, no library, nothing loaded from outside.
_PLAYER_SCRIPT = """
(function () {
  var root = document.getElementById("%(id)s");
  if (!root || root.dataset.ready) return;
  root.dataset.ready = "1";
  var data = JSON.parse(root.querySelector("script[type='application/json']").textContent);
  var image = root.querySelector("img"), status = root.querySelector(".emlab-player-status");
  var slider = root.querySelector("input[type=range]"), play = root.querySelector("[data-action=play]");
  var index = 0, timer = null;
  function show(i) {
    index = Math.max(0, Math.min(data.images.length - 1, i));
    image.src = "data:image/jpeg;base64," + data.images[index];
    image.alt = data.texts[index];
    slider.value = index;
    slider.setAttribute("aria-valuetext", "frame " + (index + 1) + " of " + data.images.length);
    status.textContent = data.texts[index];
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "Play";
  }
  function start() {
    if (index === data.images.length - 1) show(0);
    timer = setInterval(function () {
      if (index >= data.images.length - 1) { stop(); return; }
      show(index + 1);
    }, data.interval);
    play.textContent = "Pause";
  }
  root.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var action = button.dataset.action;
    if (action === "play") { if (timer === null) start(); else stop(); return; }
    stop();
    if (action === "first") show(0);
    if (action === "previous") show(index - 1);
    if (action === "next") show(index + 1);
    if (action === "last") show(data.images.length - 1);
  });
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
})();
"""


def _player_html(name: str, images: list[str], texts: list[str], interval: int) -> str:
    """A self-contained, accessible HTML player over JPEG frames with text alternatives."""
    import hashlib
    import html
    import json

    player_id = "emlab-player-" + hashlib.md5("\n".join(texts).encode()).hexdigest()[:16]
    data = json.dumps({"images": images, "texts": texts, "interval": interval})
    data = data.replace("</", "<\\/")  # no "</script>" can end the data early
    title = html.escape(f"{name}: EM step by step, {len(images)} frames")
    first = html.escape(texts[0])
    buttons = "".join(
        f'<button type="button" data-action="{action}">{label}</button>'
        for action, label in (
            ("first", "First"),
            ("previous", "Previous"),
            ("play", "Play"),
            ("next", "Next"),
            ("last", "Last"),
        )
    )
    return (
        f'<div class="emlab-player" id="{player_id}" role="group" aria-label="{title}" '
        f'tabindex="-1">'
        f'<figure style="margin: 0; max-width: 100%">'
        f'<img src="data:image/jpeg;base64,{images[0]}" alt="{first}" '
        f'style="max-width: 100%; height: auto; display: block">'
        f'<figcaption class="emlab-player-status" aria-live="polite" '
        f'style="font-size: 0.95em; margin: 0.3em 0">{first}</figcaption></figure>'
        f'<div class="emlab-player-controls" style="display: flex; flex-wrap: wrap; '
        f'gap: 0.3em; align-items: center">{buttons}'
        f'<label style="display: flex; flex-wrap: wrap; gap: 0.3em; align-items: center">'
        f'Frame <input type="range" min="0" max="{len(images) - 1}" value="0" step="1" '
        f'aria-valuetext="frame 1 of {len(images)}" style="max-width: 100%"></label></div>'
        f'<script type="application/json">{data}</script>'
        f"<script>{_PLAYER_SCRIPT % {'id': player_id}}</script>"
        f"</div>"
    )


@dataclass(frozen=True)
class Frame:
    """One half-step of EM, as drawn.

    Attributes
    ----------
    iteration : int
        M-steps taken so far.
    step : str
        ``"E"`` (responsibilities recomputed from ``params``) or ``"M"``
        (``params`` just updated; ``resp`` still the previous E-step's).
    params : dict
        The parameters on screen.
    resp : ndarray
        The responsibilities on screen.
    log_likelihood : float
        :math:`\\ell` of ``params``.
    """

    iteration: int
    step: str
    params: dict
    resp: np.ndarray
    log_likelihood: float

    @property
    def label(self) -> str:
        if self.iteration == 0:
            return "start: E-step on the initial guess"
        what = (
            "M-step (parameters move)" if self.step == "M" else "E-step (responsibilities update)"
        )
        return f"iteration {self.iteration}: {what}"


def frames_from_history(history: History) -> list[Frame]:
    """Split a recorded history into E and M half-steps (needs ``record_resp=True``)."""
    resp = history.resp  # raises a clear error when responsibilities were not recorded
    frames = [Frame(0, "E", history[0].params, resp[0], history[0].log_likelihood)]
    for t in range(1, len(history)):
        snap = history[t]
        frames.append(Frame(t, "M", snap.params, resp[t - 1], snap.log_likelihood))
        frames.append(Frame(t, "E", snap.params, resp[t], snap.log_likelihood))
    return frames


class Explorer:
    """Replay a fitted EM history: slider widget, animation or snapshot grid.

    Parameters
    ----------
    fit : callable
        ``fit(seed, n_components) -> History`` with responsibilities recorded.
    view : object
        Draws frames: ``view.setup(figure, n_components)`` once, then
        ``view.update(frame)``, which changes artists in place (fast).
    seed : int
        Seed of the random start.
    n_components : int or None
        Number of components, or None where the model fixes it.
    max_components : int
        Upper end of the components slider.
    name : str
        What the explorer shows (used in titles).
    """

    def __init__(
        self, fit: Callable, view, *, seed: int = 0, n_components=None, max_components=6, name="EM"
    ):
        self.fit, self.view, self.name = fit, view, name
        self.max_components = max_components
        self.figure = None
        self.index = 0
        self.restart(seed, n_components)

    # -- model -------------------------------------------------------------------------------
    def restart(self, seed: int, n_components=None) -> None:
        """Fit again from the random start of ``seed`` (and ``n_components``), and redraw."""
        self.seed, self.n_components = int(seed), n_components
        self.history = self.fit(self.seed, n_components)
        self.frames = frames_from_history(self.history)
        self.figure = _new_figure(getattr(self.view, "figsize", FIGSIZE))
        self.view.setup(self.figure, self.history)
        self.show(0)

    def show(self, index: int) -> Frame:
        """Draw half-step ``index`` (0 is the start) and return its frame."""
        self.index = int(np.clip(index, 0, len(self.frames) - 1))
        frame = self.frames[self.index]
        self.view.update(frame)
        self.figure.suptitle(f"{self.name} · {frame.label}", fontsize=10)
        return frame

    def status(self) -> str:
        frame = self.frames[self.index]
        return (
            f"seed {self.seed} · half-step {self.index} of {len(self.frames) - 1} · "
            f"{frame.label} · log-likelihood {frame.log_likelihood:.3f}"
        )

    # -- faces -------------------------------------------------------------------------------
    def png(self) -> bytes:
        """The current figure as PNG bytes."""
        return _png(self.figure)

    def snapshots(self, n_panels: int = 6):
        """A static grid of evenly spaced half-steps (the fallback without ipywidgets)."""
        from matplotlib.image import imread

        picks = np.unique(np.linspace(0, len(self.frames) - 1, n_panels).round().astype(int))
        ncols = 2
        nrows = int(np.ceil(len(picks) / ncols))
        grid = _new_figure((2 * FIGSIZE[0], nrows * FIGSIZE[1]))
        axes = grid.subplots(nrows, ncols, squeeze=False)
        for ax, index in zip(axes.flat, picks, strict=False):
            self.show(int(index))
            ax.imshow(imread(io.BytesIO(self.png()), format="png"))
            ax.set_axis_off()
        for ax in axes.flat[len(picks) :]:
            ax.set_axis_off()
        grid.suptitle(f"{self.name}: snapshots of the EM iterations (seed {self.seed})")
        self.show(0)
        return grid

    def describe(self, index: int) -> str:
        """Half-step ``index`` in words: what the frame shows, what moved, the log-likelihood.

        The text alternative of the animation's frame (and what a screen reader announces
        when the frame changes), for example ``"k-means, half-step 3 of 20: iteration 2:
        M-step (parameters move). The centroids moved by up to 0.83. Log-likelihood
        -5694.812."``.
        """
        frame, last = self.frames[index], len(self.frames) - 1
        text = f"{self.name}, half-step {index} of {last}: {frame.label}."
        if index > 0:
            before = self.frames[index - 1]
            if frame.step == "M":
                text += " " + _what_moved(before.params, frame.params)
            else:
                moved = int(np.sum(before.resp.argmax(axis=1) != frame.resp.argmax(axis=1)))
                text += (
                    f" Responsibilities recomputed: {moved} of {len(frame.resp)} data points "
                    f"changed their most responsible component."
                )
        return f"{text} Log-likelihood {frame.log_likelihood:.3f}."

    def animation(self, max_frames: int = 16, interval: int = 700, dpi: int = 100):
        """An HTML/JavaScript animation of the half-steps; plays without Python (in the book).

        Every half-step of the first iterations is shown, then evenly spaced ones up to
        the last, ``max_frames`` in all, so the notebook stays small. The player is made to
        be used by everyone: each frame's image has a text alternative (:meth:`describe`),
        a polite live region announces it when the frame changes, the controls are buttons
        and a slider with names that work from the keyboard, and they wrap on a narrow
        screen. It loads nothing from outside.
        """
        from IPython.display import HTML

        picks = self.animation_frames(max_frames)
        images, texts = [], []
        try:
            for index in picks:
                self.show(int(index))
                images.append(_jpeg(self.figure, dpi))
                texts.append(self.describe(int(index)))
        finally:
            self.show(0)
        return HTML(_player_html(self.name, images, texts, interval))

    def animation_frames(self, max_frames: int = 16) -> list[int]:
        """Which half-steps :meth:`animation` shows: all of the first few, then evenly spaced."""
        last = len(self.frames) - 1
        if last + 1 <= max_frames:
            return list(range(last + 1))
        head = list(range(min(7, max_frames // 2)))
        tail = np.linspace(head[-1] + 1, last, max_frames - len(head)).round().astype(int)
        return head + sorted(set(tail.tolist()))

    def widget(self):
        """ipywidgets controls over the figure; a snapshot grid when ipywidgets is missing."""
        ipw = _ipywidgets()
        if ipw is None:
            warnings.warn(
                "ipywidgets is not installed, so this shows a static grid of snapshots instead "
                "of the interactive explorer. Install it with `pip install ipywidgets` and "
                "restart the kernel.",
                stacklevel=2,
            )
            return self.snapshots()
        return _ExplorerWidget(self, ipw).box


class _ExplorerWidget:
    """The ipywidgets face of an :class:`Explorer` (kept apart so ipywidgets stays optional)."""

    def __init__(self, explorer: Explorer, ipw):
        self.explorer, self.ipw = explorer, ipw
        self.image = ipw.Image(format="png", value=explorer.png())
        self.slider = ipw.IntSlider(
            value=0,
            min=0,
            max=len(explorer.frames) - 1,
            description="half-step",
            tooltip="half-step of EM to show (0 is the start)",
            continuous_update=True,
            layout=ipw.Layout(width="60%"),
        )
        self.play = ipw.Play(
            value=0,
            min=0,
            max=self.slider.max,
            interval=400,
            description="play",
            tooltip="play the half-steps one after another",
        )
        ipw.jslink((self.play, "value"), (self.slider, "value"))
        self.seed = ipw.BoundedIntText(
            value=explorer.seed,
            min=0,
            max=2**31 - 1,
            description="seed",
            tooltip="seed of the random start",
            layout=ipw.Layout(width="160px"),
        )
        self.restart_button = ipw.Button(
            description="new random start",
            tooltip="fit again from a new random start",
            icon="refresh",
            layout=ipw.Layout(width="auto"),
        )
        self.label = ipw.Label(value=explorer.status())
        controls = [self.play, self.slider]
        start_row = [self.seed, self.restart_button]
        self.components = None
        if explorer.n_components is not None:
            self.components = ipw.IntSlider(
                value=explorer.n_components,
                min=1,
                max=explorer.max_components,
                description="components",
                tooltip="number of components (clusters, coins)",
                continuous_update=False,
                style={"description_width": "initial"},
            )
            start_row.insert(1, self.components)
        self.slider.observe(self._on_slide, names="value")
        self.restart_button.on_click(self._on_restart)
        self.box = ipw.VBox([ipw.HBox(controls), ipw.HBox(start_row), self.label, self.image])
        self.box.explorer_widget = self  # lets tests and curious students reach the parts

    def _on_slide(self, change) -> None:
        self.explorer.show(change["new"])
        self.image.value = self.explorer.png()
        self.label.value = self.explorer.status()

    def _on_restart(self, _button=None) -> None:
        seed = self.seed.value if self.seed.value != self.explorer.seed else self.explorer.seed + 1
        self.seed.value = seed
        n_components = self.components.value if self.components is not None else None
        self.explorer.restart(seed, n_components)
        self.slider.value = 0
        self.slider.max = self.play.max = len(self.explorer.frames) - 1
        self.image.value = self.explorer.png()
        self.label.value = self.explorer.status()


# -- views: what each model draws ------------------------------------------------------------


class _KMeansView:
    def __init__(self, X):
        self.X = X

    def setup(self, figure, history):
        from emlab import plots

        self.ax = figure.add_subplot(1, 2, 1)
        self.curve_ax = figure.add_subplot(1, 2, 2)
        k = history[0].params["centroids"].shape[0]
        self.colors = np.array([plots.COLORS[j % len(plots.COLORS)] for j in range(k)])
        self.points = self.ax.scatter(
            self.X[:, 0], self.X[:, 1], s=8, c=self.colors[np.zeros(len(self.X), int)]
        )
        self.centroids = self.ax.scatter(
            *history[0].params["centroids"].T, marker="X", s=160, c=self.colors, edgecolors="black"
        )
        self.ax.set(title="points and centroids", xlabel="$x_1$", ylabel="$x_2$")
        inertia = -history.log_likelihood
        self.curve_ax.plot(range(len(inertia)), inertia, "o-", color="gray")
        (self.marker,) = self.curve_ax.plot([0], [inertia[0]], "o", color="black", markersize=10)
        self.curve_ax.set(
            title="inertia after each M-step", xlabel="iteration", ylabel="inertia $J$"
        )

    def update(self, frame):
        self.points.set_facecolors(self.colors[frame.resp.argmax(axis=1)])
        self.centroids.set_offsets(frame.params["centroids"])
        self.marker.set_data([frame.iteration], [-frame.log_likelihood])


class _CoinsView:
    def __init__(self, heads, n_tosses):
        self.heads, self.n_tosses = heads, n_tosses

    def setup(self, figure, history):
        from emlab.coins import e_step

        self.ax = figure.add_subplot(1, 2, 1)
        self.bar_ax = figure.add_subplot(1, 2, 2)
        grid = np.linspace(0.01, 0.99, 60)
        weights = history[0].params.get("weights")
        surface = np.array(
            [[e_step(self.heads, self.n_tosses, [a, b], weights)[1] for a in grid] for b in grid]
        )
        levels = surface.max() - np.array([200, 100, 50, 20, 10, 5, 2, 0.5])[::-1] * (
            len(self.heads) / 50
        )
        self.ax.contour(grid, grid, surface, levels=np.sort(levels), cmap="viridis", linewidths=0.8)
        self.thetas = history.param("thetas")
        self.ax.plot(self.thetas[:, 0], self.thetas[:, 1], ":", color="gray")
        (self.path,) = self.ax.plot([], [], "o-", color="black", markersize=3)
        self.ax.set(
            title="log-likelihood contours and EM's path",
            xlabel=r"$\theta_A$",
            ylabel=r"$\theta_B$",
            aspect="equal",
        )
        self.values = np.arange(self.n_tosses + 1)
        self.counts = np.bincount(self.heads.astype(int).ravel(), minlength=self.n_tosses + 1)
        self.bars = self.bar_ax.bar(self.values, self.counts, color="#0072B2", label="coin A")
        self.bars_b = self.bar_ax.bar(  # hatched: the coins differ by more than colour
            self.values,
            self.counts,
            color="#E69F00",
            hatch="//",
            edgecolor="black",
            linewidth=0.3,
            label="coin B",
        )
        self.bar_ax.set(
            title="trials by heads, split between the coins",
            xlabel="heads in the trial",
            ylabel="number of trials",
        )
        self.bar_ax.legend(loc="upper right", fontsize=8)

    def update(self, frame):
        upto = frame.iteration + 1
        self.path.set_data(self.thetas[:upto, 0], self.thetas[:upto, 1])
        heads = self.heads.astype(int).ravel()
        resp_a = np.bincount(heads, weights=frame.resp[:, 0], minlength=self.n_tosses + 1)
        for bar_a, bar_b, a, total in zip(self.bars, self.bars_b, resp_a, self.counts, strict=True):
            bar_a.set_height(a)
            bar_b.set_y(a)
            bar_b.set_height(total - a)


class _GMM1DView:
    def __init__(self, x):
        self.x = x

    def setup(self, figure, history):
        from scipy.stats import norm

        from emlab import plots

        self.norm = norm
        self.ax = figure.add_subplot(1, 2, 1)
        self.curve_ax = figure.add_subplot(1, 2, 2)
        heights, edges = np.histogram(self.x, bins=50, density=True)
        self.ax.stairs(heights, edges, fill=True, color="0.85")
        self.grid = np.linspace(self.x.min(), self.x.max(), 400)
        k = len(history[0].params["means"])
        self.lines = [
            self.ax.plot([], [], color=plots.COLORS[j % len(plots.COLORS)], lw=2)[0]
            for j in range(k)
        ]
        (self.total,) = self.ax.plot([], [], color="black", lw=1.5, label="mixture")
        self.ax.set(title="histogram and fitted mixture", xlabel="$x$", ylabel="density")
        ll = history.log_likelihood
        self.curve_ax.plot(range(len(ll)), ll, "o-", color="gray", markersize=3)
        (self.marker,) = self.curve_ax.plot([0], [ll[0]], "o", color="black", markersize=9)
        self.curve_ax.set(title="log-likelihood", xlabel="iteration", ylabel=r"$\ell(\theta)$")
        self.ax.set_ylim(0, max(heights.max() * 1.6, 1e-12))

    def update(self, frame):
        weights, means, sds = (frame.params[name] for name in ("weights", "means", "sds"))
        densities = weights[:, None] * self.norm.pdf(
            self.grid[None, :], means[:, None], sds[:, None]
        )
        for line, density in zip(self.lines, densities, strict=True):
            line.set_data(self.grid, density)
        self.total.set_data(self.grid, densities.sum(axis=0))
        self.marker.set_data([frame.iteration], [frame.log_likelihood])


class _GMM2DView:
    def __init__(self, X):
        self.X = X

    def setup(self, figure, history):
        from matplotlib.colors import to_rgb

        from emlab import plots

        self.plots = plots
        self.ax = figure.add_subplot(1, 2, 1)
        self.curve_ax = figure.add_subplot(1, 2, 2)
        k = len(history[0].params["weights"])
        self.rgb = np.array([to_rgb(plots.COLORS[j % len(plots.COLORS)]) for j in range(k)])
        self.points = self.ax.scatter(self.X[:, 0], self.X[:, 1], s=8)
        pad = 0.15 * np.ptp(self.X, axis=0)
        self.ax.set(
            xlim=(self.X[:, 0].min() - pad[0], self.X[:, 0].max() + pad[0]),
            ylim=(self.X[:, 1].min() - pad[1], self.X[:, 1].max() + pad[1]),
            title="points coloured by responsibility",
            xlabel="$x_1$",
            ylabel="$x_2$",
        )
        self.ellipses = []
        ll = history.log_likelihood
        self.curve_ax.plot(range(len(ll)), ll, "o-", color="gray", markersize=3)
        (self.marker,) = self.curve_ax.plot([0], [ll[0]], "o", color="black", markersize=9)
        self.curve_ax.set(title="log-likelihood", xlabel="iteration", ylabel=r"$\ell(\theta)$")

    def update(self, frame):
        self.points.set_facecolors(np.clip(frame.resp @ self.rgb, 0, 1))
        for patch in self.ellipses:
            patch.remove()
        before = len(self.ax.patches)
        self.plots.covariance_ellipses(
            frame.params["means"],
            frame.params["covariances"],
            "full",
            n_std=(1, 2),
            ax=self.ax,
            title=None,
            xlabel=None,
            ylabel=None,
            show_means=False,
        )
        self.ellipses = list(self.ax.patches[before:])
        self.marker.set_data([frame.iteration], [frame.log_likelihood])


# -- the explorers ---------------------------------------------------------------------------


def kmeans_explorer(X, n_clusters: int = 3, seed: int = 0, max_iter: int = 50) -> Explorer:
    """Step through k-means (hard EM) on 2-D data from random data points as centroids.

    The E-step gives each point to its nearest centroid,
    :math:`z_i = \\arg\\min_k \\lVert x_i - \\mu_k \\rVert^2`; the M-step moves each centroid
    to the mean of its points. The right panel follows the inertia
    :math:`J = \\sum_i \\lVert x_i - \\mu_{z_i} \\rVert^2`, which never increases.
    """
    from emlab.kmeans import fit_kmeans, init_random

    X = check_data(X, min_samples=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn, got {X.shape[1]}.")

    def fit(seed, k):
        return fit_kmeans(X, init_random(X, k, seed), max_iter=max_iter, record_resp=True).history

    return Explorer(
        fit, _KMeansView(X), seed=seed, n_components=n_clusters, max_components=8, name="k-means"
    )


def coins_explorer(heads, n_tosses: int = 10, seed: int = 0, max_iter: int = 40) -> Explorer:
    """Step through EM for two coins from random starting heads probabilities.

    Left: the log-likelihood over :math:`(\\theta_A, \\theta_B)` with EM's path; right: each
    trial's share given to coin A (blue) and coin B (orange), grouped by heads count.
    """
    from emlab.coins import fit_coins
    from emlab.validation import check_counts

    heads, _ = check_counts(np.asarray(heads).ravel(), n_tosses, name="heads")
    view = _CoinsView(heads, n_tosses)

    def fit(seed, _k):
        thetas = np.random.default_rng(seed).uniform(0.05, 0.95, size=2)
        return fit_coins(heads, n_tosses, thetas, max_iter=max_iter, record_resp=True).history

    return Explorer(fit, view, seed=seed, n_components=None, name="two coins")


def gmm_explorer(X, n_components: int = 3, seed: int = 0, max_iter: int = 40) -> Explorer:
    """Step through EM for a Gaussian mixture on 1-D or 2-D data.

    1-D: means drawn uniformly in the data's range, standard deviations between 0.2 and 1
    times the data's, equal weights; the histogram shows each weighted component
    :math:`\\pi_k \\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2)` and their sum. 2-D: means at random
    data points, the data's covariance for every component; points are coloured by their
    responsibilities and each component has 1- and 2-sd ellipses.
    """
    from emlab.gmm import fit_gmm, fit_gmm_1d

    data = np.asarray(X, dtype=float)
    if data.ndim == 1 or (data.ndim == 2 and data.shape[1] == 1):
        x = check_data(data.ravel(), name="X", ndim=1, min_samples=2)
        check_n_components(n_components, len(x))

        def fit(seed, k):
            rng = np.random.default_rng(seed)
            means = rng.uniform(x.min(), x.max(), size=k)
            sds = x.std() * rng.uniform(0.2, 1.0, size=k)
            return fit_gmm_1d(
                x, np.full(k, 1 / k), means, sds, tol=1e-6, max_iter=max_iter, record_resp=True
            ).history

        return Explorer(
            fit, _GMM1DView(x), seed=seed, n_components=n_components, name="Gaussian mixture"
        )

    X = check_data(data, min_samples=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must be 1-D or have 2 columns to be drawn, got {X.shape[1]} columns.")
    check_n_components(n_components, len(X))

    def fit2(seed, k):
        rng = np.random.default_rng(seed)
        means = X[rng.choice(len(X), size=k, replace=False)]
        covariances = np.repeat(np.cov(X.T)[None], k, axis=0)
        return fit_gmm(
            X, np.full(k, 1 / k), means, covariances, tol=1e-6, max_iter=max_iter, record_resp=True
        ).history

    return Explorer(
        fit2, _GMM2DView(X), seed=seed, n_components=n_components, name="Gaussian mixture"
    )


class _LikelihoodExplorer:
    """Sliders for mu and sigma over the heights: the density on the data and the log-likelihood."""

    def __init__(self, x, mu, sigma):
        from scipy.stats import norm

        from emlab.mle import gaussian_log_likelihood, gaussian_mle

        self.x, self.norm, self.loglik = x, norm, gaussian_log_likelihood
        self.mu_hat, self.sigma_hat = gaussian_mle(x)
        self.figure = _new_figure()
        self.ax = self.figure.add_subplot(1, 2, 1)
        self.surface_ax = self.figure.add_subplot(1, 2, 2)
        heights, edges = np.histogram(x, bins=40, density=True)
        self.ax.stairs(heights, edges, fill=True, color="0.85")
        self.grid = np.linspace(x.min() - 10, x.max() + 10, 300)
        (self.line,) = self.ax.plot([], [], color="#0072B2", lw=2)
        self.ax.set(title="data and the Gaussian you chose", xlabel="x", ylabel="density")
        self.ax.set_ylim(0, 2.2 * norm.pdf(0, scale=self.sigma_hat))
        # the surface spans the sliders' ranges, so every choice is on it
        mus = np.linspace(self.mu_hat - 30, self.mu_hat + 30, 90)
        sigmas = np.linspace(1, 40, 90)
        surface = self.loglik(x, mus[None, :], sigmas[:, None])
        drops = np.array([1000, 500, 200, 100, 50, 20, 10, 5, 2, 0.5]) * len(x) / 100
        self.surface_ax.contour(
            mus,
            sigmas,
            surface,
            levels=np.sort(surface.max() - drops),
            cmap="viridis",
            linewidths=0.8,
        )
        self.surface_ax.plot(
            [self.mu_hat], [self.sigma_hat], "*", color="#D55E00", markersize=12, label="maximum"
        )
        (self.point,) = self.surface_ax.plot([], [], "o", color="black", label="your choice")
        self.surface_ax.set(title="log-likelihood surface", xlabel=r"$\mu$", ylabel=r"$\sigma$")
        self.surface_ax.legend(loc="upper right", fontsize=8)
        self.show(mu, sigma)

    def show(self, mu, sigma) -> float:
        self.mu, self.sigma = float(mu), float(sigma)
        self.line.set_data(self.grid, self.norm.pdf(self.grid, self.mu, self.sigma))
        self.point.set_data([self.mu], [self.sigma])
        self.log_likelihood = float(self.loglik(self.x, self.mu, self.sigma))
        self.figure.suptitle(
            f"mu = {self.mu:.1f}, sigma = {self.sigma:.1f}: log-likelihood {self.log_likelihood:.1f} "
            f"(best {float(self.loglik(self.x, self.mu_hat, self.sigma_hat)):.1f})",
            fontsize=10,
        )
        return self.log_likelihood

    def png(self) -> bytes:
        return _png(self.figure)

    def widget(self):
        ipw = _ipywidgets()
        if ipw is None:
            warnings.warn(
                "ipywidgets is not installed, so this shows a static figure at the starting mu "
                "and sigma. Install it with `pip install ipywidgets` and restart the kernel.",
                stacklevel=2,
            )
            return self.figure
        image = ipw.Image(format="png", value=self.png())
        mu = ipw.FloatSlider(
            value=self.mu,
            min=round(self.mu_hat) - 30,
            max=round(self.mu_hat) + 30,
            step=0.5,
            description="mu",
        )
        sigma = ipw.FloatSlider(value=self.sigma, min=1, max=40, step=0.5, description="sigma")
        label = ipw.Label()

        def redraw(_change=None):
            value = self.show(mu.value, sigma.value)
            image.value = self.png()
            label.value = f"log-likelihood {value:.2f}"

        mu.observe(redraw, names="value")
        sigma.observe(redraw, names="value")
        redraw()
        box = ipw.VBox([ipw.HBox([mu, sigma]), label, image])
        box.sliders, box.image, box.label = (mu, sigma), image, label
        return box


def likelihood_explorer(x, mu: float = 160.0, sigma: float = 20.0) -> _LikelihoodExplorer:
    """Lesson 01: choose :math:`\\mu` and :math:`\\sigma` by hand and watch the log-likelihood.

    .. math:: \\ell(\\mu, \\sigma) = \\sum_{i=1}^n \\log \\mathcal{N}(x_i \\mid \\mu, \\sigma^2)

    The left panel draws :math:`\\mathcal{N}(\\mu, \\sigma^2)` over the histogram; the right one
    marks the choice on the log-likelihood surface, with the maximum-likelihood estimate as a star.
    Call ``.widget()`` for the sliders.
    """
    x = check_data(x, name="x", ndim=1, min_samples=2)
    return _LikelihoodExplorer(x, mu, sigma)
