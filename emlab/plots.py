"""Figures for the EM Lab lessons, in one consistent, colour-blind-safe style.

Every function

* takes ``ax=None`` and draws on a new figure when it is ``None``;
* returns the :class:`~matplotlib.axes.Axes` it drew on (or an array of them);
* sets a title and axis labels, which the ``title=``, ``xlabel=`` and
  ``ylabel=`` arguments override;
* never calls :func:`matplotlib.pyplot.show`: a notebook shows the figure
  itself, a script calls ``plt.show()`` or ``fig.savefig``.

Component :math:`k` is always drawn in ``COLORS[k]``, a palette of Okabe & Ito
(2008) that stays distinguishable under the common forms of colour blindness.
Call :func:`use_style` once at the top of a notebook for the shared figure size,
resolution and grid. ``import emlab`` does not import this module (nor
matplotlib); ``from emlab import plots`` does.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.patches import Ellipse
from matplotlib.ticker import MaxNLocator
from scipy.stats import norm

from emlab.em import History, Snapshot
from emlab.mle import gaussian_log_likelihood, gaussian_mle
from emlab.validation import check_data, check_positive, check_resp, check_weights

__all__ = [
    "COLORS",
    "MARKERS",
    "OKABE_ITO",
    "STYLE",
    "contours_below_max",
    "covariance_ellipses",
    "covariances_to_full",
    "graphical_model",
    "hist_with_densities",
    "likelihood_surface",
    "log_likelihood_curve",
    "parameter_trajectories",
    "scatter_clusters",
    "snapshot_grid",
    "use_style",
]

#: The eight colours of Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: Colour of component ``k`` is ``COLORS[k]``: Okabe–Ito, most contrasting first,
#: yellow (hard to see on white) and black (kept for totals) last.
COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish purple"],
    OKABE_ITO["sky blue"],
    OKABE_ITO["yellow"],
    OKABE_ITO["black"],
)

#: Marker of cluster ``k`` where a figure shows clusters by marker as well as colour
#: (:func:`scatter_clusters` with ``soft="most_responsible"`` or ``markers=MARKERS``).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Colour of totals (the mixture density) and of markers for maxima.
TOTAL_COLOR = OKABE_ITO["black"]
#: Colour of data drawn without a component (histogram bars, unlabelled points).
DATA_COLOR = "#B0B0B0"

#: The rcParams :func:`use_style` sets.
STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linestyle": "-",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "axes.prop_cycle": mpl.cycler(color=list(COLORS)),
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def use_style(**overrides) -> None:
    """Set matplotlib's rcParams to the EM Lab style (:data:`STYLE`).

    Figures 6.4 x 4 inches at 100 dpi (640 x 400 PNG), a light grid, no top or
    right spine, and the :data:`COLORS` cycle. Keyword arguments override single
    rcParams, e.g. ``use_style(**{"figure.dpi": 150})``.
    """
    mpl.rcParams.update({**STYLE, **overrides})


# --------------------------------------------------------------------------- helpers


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _label(ax: Axes, title: str | None, xlabel: str | None, ylabel: str | None) -> Axes:
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def _color(k: int) -> str:
    return COLORS[k % len(COLORS)]


def covariances_to_full(covariances, covariance_type: str, n_components: int) -> np.ndarray:
    """Expand any of scikit-learn's four covariance storage shapes to (K, D, D).

    ===========  ================  ==============================================
    type         stored shape      covariance of component :math:`k`
    ===========  ================  ==============================================
    full         (K, D, D)         :math:`\\Sigma_k`
    tied         (D, D)            :math:`\\Sigma` (shared)
    diag         (K, D)            :math:`\\mathrm{diag}(\\sigma_{k1}^2, \\dots, \\sigma_{kD}^2)`
    spherical    (K,)              :math:`\\sigma_k^2 I`
    ===========  ================  ==============================================

    For ``spherical`` the dimension D is taken as 2 (the ellipses' plane).
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    K = n_components
    expected = {"full": (K, None, None), "tied": (None, None), "diag": (K, None), "spherical": (K,)}
    if covariance_type not in expected:
        raise ValueError(
            f"covariance_type must be one of {sorted(expected)}, got {covariance_type!r}."
        )
    shape = expected[covariance_type]
    if covariances.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(covariances.shape, shape, strict=True)
    ):
        readable = "(" + ", ".join("D" if s is None else str(s) for s in shape) + ")"
        raise ValueError(
            f"covariances for covariance_type={covariance_type!r} must have shape {readable} "
            f"with K={K} components; got shape {covariances.shape}."
        )
    if not np.all(np.isfinite(covariances)):
        raise ValueError("covariances contain NaN or infinite values.")
    if covariance_type == "full":
        full = covariances
    elif covariance_type == "tied":
        full = np.broadcast_to(covariances, (K, *covariances.shape))
    elif covariance_type == "diag":
        full = covariances[:, :, None] * np.eye(covariances.shape[1])
    else:
        full = covariances[:, None, None] * np.eye(2)
    return np.array(full)


# --------------------------------------------------------------------------- 1-D


def hist_with_densities(
    x,
    weights=None,
    means=None,
    sds=None,
    ax: Axes | None = None,
    bins: int | str | Sequence[float] = 40,
    title: str | None = "Histogram and mixture density",
    xlabel: str | None = "x",
    ylabel: str | None = "density",
    labels: Sequence[str] | None = None,
    legend: bool = True,
    direct_labels: bool = False,
) -> Axes:
    """Histogram of ``x`` (as a density) with a Gaussian mixture drawn over it.

    Component :math:`k` is drawn as its *weighted* density
    :math:`\\pi_k\\,\\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2)` in ``COLORS[k]``; with more
    than one component the mixture total
    :math:`p(x) = \\sum_k \\pi_k\\,\\mathcal{N}(x \\mid \\mu_k, \\sigma_k^2)` is drawn in
    black. The weighted components add up to the total, so the area under
    each is its share of the data.

    Parameters
    ----------
    x : array-like of shape (n,)
        The data.
    weights : array-like of shape (K,), optional
        Mixing weights :math:`\\pi_k`; equal weights by default.
    means, sds : array-like of shape (K,), optional
        :math:`\\mu_k` and :math:`\\sigma_k`. Without them only the histogram is drawn.
    ax : Axes, optional
    bins : int, str or sequence, default=40
        Passed to :meth:`~matplotlib.axes.Axes.hist`.
    title, xlabel, ylabel : str or None
        ``None`` leaves the current text unchanged.
    labels : sequence of str, optional
        Legend label of each component; ``"component k"`` by default.
    legend : bool, default=True
        Draw the legend (turn off for small panels).
    direct_labels : bool, default=False
        Also write each component's number :math:`k` (from 1) just above the peak of its
        curve, on a white halo, so that the components can be told apart without their colours.

    Returns
    -------
    Axes
        With ``bins`` bar patches, one line per component and, for K > 1, one
        line for the total; with ``direct_labels``, one text per component.
    """
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool) and bins < 1:
        raise ValueError(f"bins must be a positive number of bins, got {bins}.")
    x = check_data(x, name="x", ndim=1)
    ax = _axes(ax)
    ax.hist(x, bins=bins, density=True, color=DATA_COLOR, edgecolor="white", linewidth=0.5)
    if (means is None) != (sds is None):
        raise ValueError("pass both means and sds (one per component), or neither.")
    if means is not None:
        means = check_data(np.atleast_1d(means), name="means", ndim=1)
        sds = check_positive(check_data(np.atleast_1d(sds), name="sds", ndim=1), name="sds")
        n_components = means.size
        if sds.size != n_components:
            raise ValueError(f"sds has {sds.size} entries but means has {n_components}.")
        if weights is None:
            weights = np.full(n_components, 1.0 / n_components)
        weights = check_weights(np.atleast_1d(weights), n_components, name="weights")
        if labels is not None and len(labels) != n_components:
            raise ValueError(f"labels has {len(labels)} entries but there are {n_components}.")
        low = min(x.min(), np.min(means - 3 * sds))
        high = max(x.max(), np.max(means + 3 * sds))
        grid = np.linspace(low, high, 500)
        weighted = weights[:, None] * norm.pdf(grid[None, :], means[:, None], sds[:, None])
        for k in range(n_components):
            label = labels[k] if labels is not None else f"component {k + 1}"
            ax.plot(grid, weighted[k], color=_color(k), linewidth=2, label=label)
            if direct_labels:
                peak = weights[k] * norm.pdf(0.0) / sds[k]  # the height of its curve at mu_k
                ax.annotate(
                    f"{k + 1}",
                    (means[k], peak),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    color=_color(k),
                    fontweight="bold",
                    # a white halo, so that a curve passing behind the number does not cross it
                    path_effects=[patheffects.withStroke(linewidth=3, foreground="white")],
                )
        if n_components > 1:
            ax.plot(grid, weighted.sum(axis=0), color=TOTAL_COLOR, linewidth=1.5, label="mixture")
        if legend:
            ax.legend()
    return _label(ax, title, xlabel, ylabel)


# --------------------------------------------------------------------------- 2-D


def scatter_clusters(
    X,
    labels=None,
    resp=None,
    centroids=None,
    ax: Axes | None = None,
    title: str | None = "Clusters",
    xlabel: str | None = "$x_1$",
    ylabel: str | None = "$x_2$",
    names: Sequence[str] | None = None,
    s: float = 12,
    soft: str = "blend",
    colors: Sequence[str] | None = None,
    markers: Sequence[str] | None = None,
) -> Axes:
    """Scatter 2-D points coloured by cluster: hard labels or soft responsibilities.

    * ``labels`` (hard assignment, as k-means): point :math:`i` in
      ``COLORS[labels[i]]``, one scatter (and legend entry) per cluster.
    * ``resp`` (soft assignment, as EM): point :math:`i` in the blend
      :math:`c_i = \\sum_k r_{ik}\\, c_k` of the component colours weighted by its
      responsibilities, so a point shared between two clusters gets an
      in-between colour (``soft="blend"``, the default); or, with
      ``soft="most_responsible"``, in the colour and marker of its most
      responsible component :math:`\\arg\\max_k r_{ik}`, with an opacity that
      grows with the certainty :math:`\\max_k r_{ik}` (from 0.15 at :math:`1/K`
      to 1 at 1), one scatter and legend entry per component.
    * neither: all points in grey.

    Parameters
    ----------
    X : array-like of shape (n, 2)
    labels : array-like of shape (n,), int, optional
        Cluster of each point, 0 to K-1.
    resp : array-like of shape (n, K), optional
        Responsibilities, rows summing to 1 (K at most ``len(COLORS)``).
    centroids : array-like of shape (K, 2), optional
        Drawn as large crosses in the components' colours.
    ax : Axes, optional
    title, xlabel, ylabel : str or None
    names : sequence of str, optional
        Legend label of cluster ``k`` is ``names[k]``; ``"cluster k+1"`` by default.
    s : float, default=12
        Marker size.
    soft : {"blend", "most_responsible"}, default="blend"
        How ``resp`` is shown (see above).
    colors : sequence of str, optional
        Colour of cluster ``k`` is ``colors[k]``; :data:`COLORS` by default.
    markers : sequence of str, optional
        Marker of cluster ``k`` is ``markers[k]`` (``labels``, or ``resp`` with
        ``soft="most_responsible"``); by default circles for ``labels`` and
        :data:`MARKERS` for ``soft="most_responsible"``.

    Returns
    -------
    Axes
        With one collection per cluster (``labels``, or ``resp`` with
        ``soft="most_responsible"``) or one collection (``resp`` blended, or
        neither), plus one for the centroids.
    """
    X = check_data(X, name="X", ndim=2)
    if X.shape[1] != 2:
        raise ValueError(f"X must have 2 columns to be drawn in the plane, got {X.shape[1]}.")
    if labels is not None and resp is not None:
        raise ValueError("pass labels (hard clusters) or resp (soft clusters), not both.")
    if soft not in ("blend", "most_responsible"):
        raise ValueError(f'soft must be "blend" or "most_responsible", got {soft!r}.')
    palette_colors = tuple(colors) if colors is not None else COLORS
    if markers is not None:
        markers = tuple(markers)

    def color_of(k: int) -> str:
        return palette_colors[k % len(palette_colors)]

    def marker_of(k: int, default: Sequence[str]) -> str:
        chosen = markers if markers is not None else default
        return chosen[k % len(chosen)]

    ax = _axes(ax)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (X.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be {X.shape[0]} whole numbers, one per row of X.")
        if np.any(labels < 0):
            raise ValueError("labels must be non-negative cluster indices.")
        if names is not None and len(names) <= labels.max():
            raise ValueError(f"names has {len(names)} entries but labels go up to {labels.max()}.")
        for k in np.unique(labels):
            mine = labels == k
            label = names[k] if names is not None else f"cluster {k + 1}"
            ax.scatter(
                X[mine, 0],
                X[mine, 1],
                s=s,
                color=color_of(int(k)),
                marker=marker_of(int(k), ("o",)),
                label=label,
            )
        ax.legend(markerscale=1.5)
    elif resp is not None:
        resp = check_resp(resp, X.shape[0], name="resp")
        if resp.shape[1] > len(palette_colors):
            raise ValueError(f"resp has {resp.shape[1]} components; at most {len(palette_colors)}.")
        if soft == "blend":
            palette = np.array([to_rgb(c) for c in palette_colors[: resp.shape[1]]])
            blended = np.clip(resp @ palette, 0.0, 1.0)
            ax.scatter(X[:, 0], X[:, 1], s=s, c=blended)
        else:
            n_components = resp.shape[1]
            if names is not None and len(names) < n_components:
                raise ValueError(f"names has {len(names)} entries for {n_components} components.")
            best = resp.argmax(axis=1)
            certainty = resp.max(axis=1)
            floor = 1.0 / n_components
            scaled = (certainty - floor) / (1.0 - floor) if n_components > 1 else certainty
            alpha = 0.15 + 0.85 * np.clip(scaled, 0.0, 1.0)
            for k in range(n_components):
                mine = best == k
                label = names[k] if names is not None else f"component {k + 1}"
                rgba = np.zeros((int(mine.sum()), 4))
                rgba[:, :3] = to_rgb(color_of(k))
                rgba[:, 3] = alpha[mine]
                ax.scatter(
                    X[mine, 0],
                    X[mine, 1],
                    s=s,
                    c=rgba if mine.any() else [to_rgb(color_of(k))],
                    marker=marker_of(k, MARKERS),
                    label=label,
                )
            legend = ax.legend(markerscale=1.5, title="most responsible\n(faint: unsure)")
            for handle in legend.legend_handles:  # the key in full colour, whatever the points
                handle.set_alpha(1.0)
    else:
        ax.scatter(X[:, 0], X[:, 1], s=s, color=DATA_COLOR)
    if centroids is not None:
        centroids = check_data(centroids, name="centroids", ndim=2)
        if centroids.shape[1] != 2:
            raise ValueError(f"centroids must have 2 columns, got {centroids.shape[1]}.")
        ax.scatter(
            centroids[:, 0],
            centroids[:, 1],
            s=160,
            marker="X",
            c=[color_of(k) for k in range(centroids.shape[0])],
            edgecolors=TOTAL_COLOR,
            linewidths=1.5,
            zorder=3,
        )
    return _label(ax, title, xlabel, ylabel)


def covariance_ellipses(
    means,
    covariances,
    covariance_type: str = "full",
    n_std: float | Sequence[float] = (1, 2, 3),
    ax: Axes | None = None,
    title: str | None = "Gaussian components",
    xlabel: str | None = "$x_1$",
    ylabel: str | None = "$x_2$",
    show_means: bool = True,
    colors: Sequence[str] | None = None,
) -> Axes:
    """Draw each 2-D Gaussian component as ellipses at 1, 2 and 3 standard deviations.

    The ellipse at :math:`s` standard deviations is the set of points at
    Mahalanobis distance :math:`s`,
    :math:`\\{x : (x - \\mu_k)^\\top \\Sigma_k^{-1} (x - \\mu_k) = s^2\\}`. With the
    eigendecomposition :math:`\\Sigma_k = \\sum_j \\lambda_j v_j v_j^\\top`, its
    semi-axes point along :math:`v_j` with lengths :math:`s\\sqrt{\\lambda_j}`.

    Parameters
    ----------
    means : array-like of shape (K, 2)
    covariances : array-like
        In any of scikit-learn's storage shapes (see
        :func:`covariances_to_full`): full (K, 2, 2), tied (2, 2), diag (K, 2),
        spherical (K,).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="full"
    n_std : float or sequence of float, default=(1, 2, 3)
        The :math:`s` of each ellipse, drawn fainter as :math:`s` grows.
    ax : Axes, optional
    title, xlabel, ylabel : str or None
    show_means : bool, default=True
        Mark each mean with a cross (one extra collection).
    colors : sequence of str, optional
        Colour of component ``k`` is ``colors[k]``; :data:`COLORS` by default.

    Returns
    -------
    Axes
        With ``K * len(n_std)`` :class:`~matplotlib.patches.Ellipse` patches.
    """
    means = check_data(means, name="means", ndim=2)
    if means.shape[1] != 2:
        raise ValueError(
            f"ellipses are drawn in 2-D: means must have 2 columns, got {means.shape[1]}; "
            f"select two features first."
        )
    n_components = means.shape[0]
    full = covariances_to_full(covariances, covariance_type, n_components)
    if full.shape[1:] != (2, 2):
        raise ValueError(f"covariances must be 2 x 2 per component, got {full.shape[1:]}.")
    n_std = np.atleast_1d(check_positive(n_std, name="n_std"))
    eigenvalues, eigenvectors = np.linalg.eigh(full)  # ascending eigenvalues
    if np.any(eigenvalues < -1e-12 * np.abs(eigenvalues).max(axis=1, keepdims=True)):
        raise ValueError(
            "covariances must be positive semi-definite (symmetric, eigenvalues >= 0)."
        )
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    palette_colors = tuple(colors) if colors is not None else COLORS
    major = eigenvectors[:, :, 1]  # direction of the largest eigenvalue
    angles = np.degrees(np.arctan2(major[:, 1], major[:, 0]))
    ax = _axes(ax)
    for k in range(n_components):
        for j, s in enumerate(n_std):
            ax.add_patch(
                Ellipse(
                    xy=means[k],
                    width=2.0 * s * np.sqrt(eigenvalues[k, 1]),
                    height=2.0 * s * np.sqrt(eigenvalues[k, 0]),
                    angle=angles[k],
                    facecolor="none",
                    edgecolor=palette_colors[k % len(palette_colors)],
                    linewidth=2.0,
                    alpha=max(0.25, 1.0 - 0.3 * j),
                )
            )
    if show_means:
        ax.scatter(
            means[:, 0],
            means[:, 1],
            marker="x",
            s=60,
            c=[palette_colors[k % len(palette_colors)] for k in range(n_components)],
        )
    ax.autoscale_view()
    return _label(ax, title, xlabel, ylabel)


# --------------------------------------------------------------------------- histories


def _snapshot(history, iteration: int):
    if iteration < 0:
        return history[iteration]
    for snapshot in history:
        if snapshot.iteration == iteration:
            return snapshot
    available = [snapshot.iteration for snapshot in history]
    raise ValueError(
        f"iteration {iteration} is not in the history (iterations {available[0]} to "
        f"{available[-1]})."
    )


def snapshot_grid(
    history,
    draw: Callable,
    iterations: Sequence[int] | None = None,
    ncols: int = 3,
    axes=None,
    panel_size: tuple[float, float] = (3.2, 2.8),
    sharex: bool = True,
    sharey: bool = True,
) -> np.ndarray:
    """Small multiples of an EM run: one panel per chosen iteration.

    For each ``t`` in ``iterations``, calls ``draw(snapshot, ax)`` with the
    :class:`~emlab.em.Snapshot` of iteration ``t`` and titles the panel
    ``"iteration t"`` (after ``draw``, so the title is always there).

    Parameters
    ----------
    history : emlab.em.History
        The iterations, e.g. ``result.history`` from :func:`emlab.em.run_em`.
    draw : callable
        ``draw(snapshot, ax)`` draws one snapshot; it may use ``snapshot.params``,
        ``snapshot.resp`` and ``snapshot.log_likelihood``.
    iterations : sequence of int, optional
        Iteration numbers (``snapshot.iteration``; negative values count from the
        end). By default up to 6 evenly spaced, first and last included.
    ncols : int, default=3
        Panels per row of a new grid.
    axes : array-like of Axes, optional
        Draw into these instead (at least ``len(iterations)``, in reading order).
    panel_size : (float, float), default=(3.2, 2.8)
        Width and height of one panel in inches, for a new grid.
    sharex, sharey : bool, default=True
        Share axis limits between the panels of a new grid, so they compare.

    Returns
    -------
    ndarray of Axes
        Shape ``(nrows, ncols)`` for a new grid (unused panels turned off), or
        the shape of ``axes``.
    """
    if len(history) == 0:
        raise ValueError("history is empty: there is nothing to draw.")
    if iterations is None:
        picks = np.unique(np.linspace(0, len(history) - 1, min(6, len(history))).round())
        iterations = [history[int(i)].iteration for i in picks]
    iterations = [int(t) for t in iterations]
    if not iterations:
        raise ValueError("iterations is empty: choose at least one iteration to draw.")
    snapshots = [_snapshot(history, t) for t in iterations]
    if axes is None:
        if int(ncols) < 1:
            raise ValueError(f"ncols must be at least 1, got {ncols}.")
        ncols = min(int(ncols), len(snapshots))
        nrows = -(-len(snapshots) // ncols)
        _, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
            sharex=sharex,
            sharey=sharey,
            squeeze=False,
            layout="constrained",
        )
    axes = np.asarray(axes, dtype=object)
    flat = axes.ravel()
    if flat.size < len(snapshots):
        raise ValueError(f"{len(snapshots)} iterations need as many axes, got {flat.size}.")
    for ax, snapshot in zip(flat, snapshots, strict=False):
        draw(snapshot, ax)
        ax.set_title(f"iteration {snapshot.iteration}")
    for ax in flat[len(snapshots) :]:
        ax.set_axis_off()
    return axes


def _values_and_iterations(history_or_values) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(history_or_values, "log_likelihood") and not isinstance(
        history_or_values, np.ndarray
    ):
        values = np.asarray(history_or_values.log_likelihood, dtype=np.float64)
        iterations = np.array([snapshot.iteration for snapshot in history_or_values])
    else:
        values = np.asarray(history_or_values, dtype=np.float64)
        iterations = np.arange(values.size)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"expected a History or a 1-D sequence of values, got shape {values.shape}."
        )
    return values, iterations


def log_likelihood_curve(
    history_or_values,
    ax: Axes | None = None,
    ylabel: str | None = "log-likelihood",
    title: str | None = "Log-likelihood over EM iterations",
    xlabel: str | None = "iteration",
    mark_monotone: bool = True,
    color: str = COLORS[0],
    mark_start: bool = False,
) -> Axes:
    """The log-likelihood :math:`\\ell^{(t)}` at every iteration, one marker each.

    EM guarantees :math:`\\ell^{(t)} \\ge \\ell^{(t-1)}`. With ``mark_monotone`` the
    plot says so in its corner when it holds (up to round-off,
    :math:`10^{-9}\\max_t|\\ell^{(t)}|`), and otherwise circles every decrease in
    vermillion: a decrease means a bug in the E- or M-step.

    Parameters
    ----------
    history_or_values : emlab.em.History or array-like of shape (T,)
        A history (its ``log_likelihood`` and iteration numbers are used) or
        the values themselves, one per iteration from 0.
    ax : Axes, optional
    ylabel, title, xlabel : str or None
    mark_monotone : bool, default=True
    color : str, default=COLORS[0]
    mark_start : bool, default=False
        Draw iteration 0, the starting value, as a large white square labelled
        "start", so that the jump from the start is not read as a step of the data.

    Returns
    -------
    Axes
        With one line; plus one collection of the decreases, if any, and a
        text when ``mark_monotone``; plus one collection for the start and a
        legend when ``mark_start``.
    """
    values, iterations = _values_and_iterations(history_or_values)
    ax = _axes(ax)
    ax.plot(iterations, values, marker="o", markersize=4, color=color)
    if mark_start and iterations.size and iterations[0] == 0:
        ax.plot(0, values[0], "s", ms=9, mfc="white", mec=TOTAL_COLOR, mew=1.5, zorder=3)
        ax.annotate("start", (0, values[0]), xytext=(8, 0), textcoords="offset points", va="center")
    if mark_monotone and values.size > 1:
        finite = values[np.isfinite(values)]
        tolerance = 1e-9 * (np.abs(finite).max() if finite.size else 1.0)
        decreases = np.flatnonzero(np.diff(values) < -tolerance) + 1
        if decreases.size == 0:
            message = "never decreases"
        else:
            ax.scatter(
                iterations[decreases],
                values[decreases],
                s=120,
                facecolors="none",
                edgecolors=OKABE_ITO["vermillion"],
                linewidths=2,
                zorder=3,
                label="decrease",
            )
            where = ", ".join(str(t) for t in iterations[decreases][:5])
            message = f"decreases at iteration {where}" + (" ..." if decreases.size > 5 else "")
        ax.text(0.98, 0.04, message, transform=ax.transAxes, ha="right", va="bottom")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _label(ax, title, xlabel, ylabel)


def parameter_trajectories(
    history,
    name: str,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    xlabel: str | None = "iteration",
    ylabel: str | None = None,
    truth=None,
) -> Axes:
    """Each component's parameter ``name`` over the iterations of an EM run.

    Plots :math:`\\theta_k^{(t)}` against :math:`t` for every component
    :math:`k`, e.g. the coins' :math:`\\theta_A, \\theta_B` or the means of a 1-D
    mixture. A parameter with more than one value per component (e.g. 2-D
    means, shape (K, D)) gets one line per entry.

    Parameters
    ----------
    history : emlab.em.History
    name : str
        Key of the parameter in ``snapshot.params``.
    labels : sequence of str, optional
        One legend label per line; ``"name[k]"`` by default.
    ax : Axes, optional
    title, xlabel, ylabel : str or None
        By default the title is ``"name over EM iterations"`` and the y label ``name``.
    truth : array-like, optional
        True values (same shape as the parameter), drawn as dotted horizontal
        lines in the matching colours.

    Returns
    -------
    Axes
        With one line (with markers) per component, plus one per true value.
    """
    if isinstance(history, (str, bytes)) or not all(isinstance(s, Snapshot) for s in history):
        raise ValueError(
            "history must be an emlab.em.History, the snapshots of a run (a fit's history_, "
            f"or the history of run_em's result), got {type(history).__name__}."
        )
    history = History(history)  # (a slice of one is a plain list)
    if len(history) == 0:
        raise ValueError("history is empty: there is nothing to draw.")
    if name not in history[0].params:
        raise ValueError(f"history has no parameter {name!r}; it has {sorted(history[0].params)}.")
    trajectory = np.asarray(history.param(name), dtype=np.float64)
    iterations = np.array([snapshot.iteration for snapshot in history])
    index_labels = [
        f"{name}[{', '.join(map(str, idx))}]" for idx in np.ndindex(*trajectory.shape[1:])
    ]
    lines = trajectory.reshape(trajectory.shape[0], -1)
    if labels is not None and len(labels) != lines.shape[1]:
        raise ValueError(f"labels has {len(labels)} entries but {name!r} has {lines.shape[1]}.")
    if labels is None:
        labels = index_labels if trajectory.ndim > 1 else [name]
    ax = _axes(ax)
    for k in range(lines.shape[1]):
        ax.plot(iterations, lines[:, k], marker="o", markersize=3, color=_color(k), label=labels[k])
    if truth is not None:
        truth = np.asarray(truth, dtype=np.float64).reshape(-1)
        if truth.size != lines.shape[1]:
            raise ValueError(f"truth has {truth.size} values but {name!r} has {lines.shape[1]}.")
        for k, value in enumerate(truth):
            ax.axhline(value, color=_color(k), linestyle=":", linewidth=1.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    title = f"{name} over EM iterations" if title is None else title
    ylabel = name if ylabel is None else ylabel
    return _label(ax, title, xlabel, ylabel)


# --------------------------------------------------------------------------- lesson 01


def _one_two_five(largest: float) -> np.ndarray:
    """The steps 0.5, 1, 2, 5, 10, 20, 50, ... up to the first one >= ``largest``."""
    exponents = np.arange(-1, int(np.ceil(np.log10(max(largest, 1.0)))) + 1)
    steps = (np.array([1.0, 2.0, 5.0])[None, :] * 10.0 ** exponents[:, None]).ravel()
    steps = steps[steps >= 0.5]
    return steps[: np.searchsorted(steps, largest) + 1]


def likelihood_surface(
    x,
    mus,
    sigmas,
    ax: Axes | None = None,
    drops: Sequence[float] | None = None,
    relative: bool = True,
    title: str | None = "Gaussian log-likelihood",
    xlabel: str | None = "$\\mu$",
    ylabel: str | None = "$\\sigma$",
    colorbar: bool = True,
) -> Axes:
    """Filled contours of :math:`\\ell(\\mu, \\sigma)` over a grid, with its maximum marked.

    Evaluates :func:`emlab.mle.gaussian_log_likelihood` on every
    :math:`(\\mu, \\sigma)` of the grid ``mus`` x ``sigmas`` and marks the maximum
    likelihood estimate :math:`(\\hat\\mu, \\hat\\sigma)` of
    :func:`emlab.mle.gaussian_mle` (or the best grid point, if the estimate lies
    outside the grid).

    With :math:`n` points, :math:`\\ell` falls off like
    :math:`\\frac{n}{2}(\\mu - \\hat\\mu)^2 / \\hat\\sigma^2` around the peak, so evenly
    spaced levels would all crowd far from it. The contours are drawn instead at
    fixed *drops* below the maximum, :math:`\\ell(\\hat\\mu, \\hat\\sigma) - \\ell = 0.5, 1,
    2, 5, 10, 20, \\dots`, each band in its own colour. (A drop of 2 bounds, roughly,
    the 86% confidence region.)

    Parameters
    ----------
    x : array-like of shape (n,)
        The data.
    mus : array-like of shape (M,)
        Grid of means (x axis).
    sigmas : array-like of shape (S,)
        Grid of standard deviations (y axis), all positive.
    ax : Axes, optional
    drops : sequence of float, optional
        The drops below the maximum at which to draw contours; by default
        0.5, 1, 2, 5, ... up to the largest drop on the grid.
    relative : bool, default=True
        Colour by :math:`\\ell - \\ell(\\hat\\mu, \\hat\\sigma)` (0 at the peak) rather than
        by :math:`\\ell` itself; the contours are the same.
    title, xlabel, ylabel : str or None
    colorbar : bool, default=True
        Add a colour bar (an extra Axes in the figure).

    Returns
    -------
    Axes
        With the filled contours, the contour lines and one marker line.
    """
    x = check_data(x, name="x", ndim=1)
    mus = check_data(mus, name="mus", ndim=1, min_samples=2)
    sigmas = check_data(sigmas, name="sigmas", ndim=1, min_samples=2)
    sigmas = check_positive(sigmas, name="sigmas")
    mu_grid, sigma_grid = np.meshgrid(mus, sigmas)
    surface = gaussian_log_likelihood(x, mu_grid, sigma_grid)
    mu_hat, sigma_hat = gaussian_mle(x)
    peak = gaussian_log_likelihood(x, mu_hat, sigma_hat)
    if drops is None:
        drops = _one_two_five(peak - surface.min())
    drops = np.unique(check_positive(np.atleast_1d(drops), name="drops"))
    offset = peak if relative else 0.0
    levels = np.concatenate([peak - drops[::-1], [peak]]) - offset
    bands = mpl.colors.BoundaryNorm(levels, plt.get_cmap("viridis").N, extend="min")
    ax = _axes(ax)
    filled = ax.contourf(
        mu_grid,
        sigma_grid,
        surface - offset,
        levels=levels,
        cmap="viridis",
        norm=bands,
        extend="min",
    )
    ax.contour(
        mu_grid,
        sigma_grid,
        surface - offset,
        levels=levels,
        colors="white",
        linewidths=0.5,
        linestyles="solid",
    )
    inside = mus.min() <= mu_hat <= mus.max() and sigmas.min() <= sigma_hat <= sigmas.max()
    if inside:
        label = f"maximum: $\\hat\\mu$ = {mu_hat:.4g}, $\\hat\\sigma$ = {sigma_hat:.4g}"
    else:
        row, col = np.unravel_index(np.argmax(surface), surface.shape)
        mu_hat, sigma_hat = mus[col], sigmas[row]
        label = f"grid maximum: $\\mu$ = {mu_hat:.4g}, $\\sigma$ = {sigma_hat:.4g}"
    ax.plot(
        [mu_hat],
        [sigma_hat],
        linestyle="none",
        marker="*",
        markersize=16,
        color=OKABE_ITO["orange"],
        markeredgecolor=TOTAL_COLOR,
        label=label,
    )
    ax.legend(loc="upper right")
    if colorbar:
        label = "log-likelihood minus its maximum" if relative else "log-likelihood"
        ax.figure.colorbar(filled, ax=ax, label=label, format="%.6g")
    return _label(ax, title, xlabel, ylabel)


# --------------------------------------------------------------------------- lesson 03

#: Face colour of an observed (shaded) node in :func:`graphical_model`.
OBSERVED_NODE_COLOR = "#D9D9D9"

_NODE_KINDS = ("observed", "latent", "parameter")


def graphical_model(
    nodes,
    edges: Sequence[tuple[str, str]] = (),
    plates: Sequence[tuple[Sequence[str], str]] = (),
    ax: Axes | None = None,
    title: str | None = "Graphical model",
    radius: float = 0.4,
    fontsize: float | None = None,
    margin: float = 0.2,
) -> Axes:
    """Draw a directed graphical model (a Bayesian network) in the usual notation.

    * a random variable is a circle, **shaded** when it is observed and white
      when it is latent (hidden);
    * a fixed parameter is a small black dot with its label above it;
    * an arrow from parent to child stands for a factor
      :math:`p(\\text{child} \\mid \\text{parents}, \\dots)`;
    * a *plate*, a box with a label such as :math:`i = 1, \\dots, n` in its
      lower right corner, holds the nodes that repeat once per data point.

    Positions are in data units and the axes keep an equal aspect, so circles
    stay round; the axes themselves are hidden (a diagram has no scale).

    Parameters
    ----------
    nodes : mapping of str to (x, y, label, kind)
        Each node's centre, the text drawn in (or above) it, and its kind:
        ``"observed"``, ``"latent"`` or ``"parameter"``.
    edges : sequence of (str, str), optional
        Arrows ``(parent, child)``, by node name.
    plates : sequence of (sequence of str, str), optional
        ``(names, label)``: a box around the named nodes, ``label`` in its corner.
    ax : Axes, optional
    title : str or None, default="Graphical model"
    radius : float, default=0.4
        Radius of the circles of random variables, in data units.
    fontsize : float, optional
        Size of the node labels; 1.2 times the default font size by default.
    margin : float, default=0.2
        Space between a plate and the circles it holds, in data units.

    Returns
    -------
    Axes
        With one :class:`~matplotlib.patches.Circle` per node (small and black for
        parameters), one :class:`~matplotlib.patches.FancyArrowPatch` per edge and
        one :class:`~matplotlib.patches.Rectangle` per plate.
    """
    from matplotlib.patches import Circle, FancyArrowPatch, Rectangle

    radius = float(check_positive(radius, name="radius"))
    if fontsize is None:
        fontsize = 1.2 * mpl.rcParams["font.size"]
    dot = 0.15 * radius
    spec = {}
    if not isinstance(nodes, Mapping):
        raise ValueError(
            "nodes must be a mapping of each node's name to (x, y, label, kind), got "
            f"{type(nodes).__name__} {nodes!r}."
        )
    for name, node in dict(nodes).items():
        if len(node) != 4 or node[3] not in _NODE_KINDS:
            raise ValueError(
                f"node {name!r} must be (x, y, label, kind) with kind one of {_NODE_KINDS}; "
                f"got {node!r}."
            )
        x, y, label, kind = node
        spec[name] = (np.array([x, y], dtype=np.float64), label, kind)
    if not spec:
        raise ValueError("nodes is empty: there is nothing to draw.")

    def size(name):
        return dot if spec[name][2] == "parameter" else radius

    def known(names, what):
        for name in names:
            if name not in spec:
                raise ValueError(f"{what} names node {name!r}, which is not in nodes.")

    ax = _axes(ax)
    corners = []
    for centre, label, kind in spec.values():
        if kind == "parameter":
            ax.add_patch(Circle(centre, dot, facecolor=TOTAL_COLOR, edgecolor=TOTAL_COLOR))
            ax.text(
                *(centre + np.array([0.0, 2 * dot])),
                label,
                ha="center",
                va="bottom",
                fontsize=fontsize,
            )
            top = 2 * dot + 0.3 * radius + fontsize / 60  # the label above the dot
            corners += [centre - dot, centre + np.array([dot, top])]
        else:
            face = OBSERVED_NODE_COLOR if kind == "observed" else "white"
            ax.add_patch(
                Circle(centre, radius, facecolor=face, edgecolor=TOTAL_COLOR, linewidth=1.5)
            )
            ax.text(*centre, label, ha="center", va="center", fontsize=fontsize)
            corners += [centre - radius, centre + radius]
    for parent, child in edges:
        known((parent, child), "an edge")
        start, end = spec[parent][0], spec[child][0]
        direction = (end - start) / np.linalg.norm(end - start)
        ax.add_patch(
            FancyArrowPatch(
                start + size(parent) * direction,
                end - size(child) * direction,
                arrowstyle="-|>",
                mutation_scale=15,
                color=TOTAL_COLOR,
                linewidth=1.2,
                shrinkA=1,
                shrinkB=1,
            )
        )
    for names, label in plates:
        names = list(names)
        known(names, "a plate")
        low = np.min([spec[n][0] - size(n) for n in names], axis=0) - margin
        high = np.max([spec[n][0] + size(n) for n in names], axis=0) + margin
        low[1] -= 0.6 * radius  # room for the label under the nodes
        ax.add_patch(
            Rectangle(low, *(high - low), facecolor="none", edgecolor=TOTAL_COLOR, linewidth=1.0)
        )
        ax.text(high[0] - 0.1 * radius, low[1] + 0.1 * radius, label, ha="right", va="bottom")
        corners += [low, high]
    corners = np.array(corners)
    pad = 0.15 * radius
    ax.set_xlim(corners[:, 0].min() - pad, corners[:, 0].max() + pad)
    ax.set_ylim(corners[:, 1].min() - pad, corners[:, 1].max() + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return _label(ax, title, None, None)


# --------------------------------------------------------------------------- lesson 06


def contours_below_max(
    x,
    y,
    surface,
    ax: Axes | None = None,
    peak: float | None = None,
    drops: Sequence[float] | None = None,
    outline: float | None = 0.5,
    colorbar: bool = True,
    title: str | None = "log-likelihood surface",
    xlabel: str | None = "first parameter",
    ylabel: str | None = "second parameter",
    label: str | None = "log-likelihood minus its maximum",
) -> Axes:
    """Filled contours of any surface (e.g. :math:`\\ell`) at fixed drops below its maximum.

    The general form of :func:`likelihood_surface`, for a surface already evaluated
    on a grid: ``surface[j, i]`` is its value at ``(x[i], y[j])``. Bands are drawn at
    the drops 0.5, 1, 2, 5, 10, 20, ... below the maximum, the colour bar has a tick
    at every level, and the band within ``outline`` of the maximum, which in viridis
    is hard to tell from the next one, is outlined in black.

    Parameters
    ----------
    x : array-like of shape (M,)
        Grid of the first parameter (x axis).
    y : array-like of shape (S,)
        Grid of the second parameter (y axis).
    surface : array-like of shape (S, M)
        The values on the grid; rows follow ``y``, columns ``x``.
    ax : Axes, optional
    peak : float, optional
        The maximum the drops are measured from; by default ``surface.max()``. Pass the
        true maximum when the grid is coarse, since the best grid point lies below it.
    drops : sequence of float, optional
        Drops below ``peak`` at which to draw contours; by default 0.5, 1, 2, 5, ...
        up to the largest drop on the grid.
    outline : float or None, default=0.5
        Outline the contour this far below ``peak`` (one of ``drops``); None for none.
        The outline has a legend entry.
    colorbar : bool, default=True
        Add a colour bar (an extra Axes in the figure).
    title, xlabel, ylabel : str or None
    label : str or None
        Label of the colour bar.

    Returns
    -------
    Axes
        With the filled contours (``ax.collections[0]``, levels relative to ``peak``)
        and, unless ``outline`` is None, the outline and its legend proxy line.
    """
    x = check_data(x, name="x", ndim=1, min_samples=2)
    y = check_data(y, name="y", ndim=1, min_samples=2)
    surface = check_data(surface, name="surface", ndim=2)
    if surface.shape != (y.size, x.size):
        raise ValueError(
            f"surface must have shape (len(y), len(x)) = ({y.size}, {x.size}), "
            f"got {surface.shape}: rows follow y, columns follow x."
        )
    peak = surface.max() if peak is None else float(peak)
    if not np.isfinite(peak) or peak < surface.max() - 1e-9 * max(1.0, abs(peak)):
        raise ValueError(f"peak must be at least the surface's maximum, {surface.max():.6g}.")
    relative = surface - peak
    if drops is None:
        drops = _one_two_five(-relative.min())
    drops = np.unique(check_positive(np.atleast_1d(drops), name="drops"))
    if outline is not None and not np.any(np.isclose(drops, outline)):
        raise ValueError(f"outline={outline} must be one of the drops {drops.tolist()}.")
    levels = np.concatenate([-drops[::-1], [0.0]])
    bands = mpl.colors.BoundaryNorm(levels, plt.get_cmap("viridis").N, extend="min")
    ax = _axes(ax)
    filled = ax.contourf(x, y, relative, levels=levels, cmap="viridis", norm=bands, extend="min")
    if outline is not None:
        ax.contour(
            x,
            y,
            relative,
            levels=[-outline],
            colors=TOTAL_COLOR,
            linewidths=1.5,
            linestyles="solid",
        )
        ax.plot([], [], color=TOTAL_COLOR, linewidth=1.5, label=f"{outline:g} below the maximum")
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, label=label, ticks=levels, format="%g")
    return _label(ax, title, xlabel, ylabel)
