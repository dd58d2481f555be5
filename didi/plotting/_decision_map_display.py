"""``DecisionMapDisplay``: draw a fitted :class:`~didi.DecisionMap` with matplotlib."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._proba import label_indices
from .._validation import Options, check_value
from ..decision_map._grid import grid_extent
from ..decision_map._layers import LAYERS, layer_attribute
from ._findings import Findings, draw_findings, finding_handles

#: What the display can paint behind the points: the classes, or one of the layers.
SHOWN_LAYERS = ("class", *LAYERS)

#: Colour bar label, colour map and scale of each layer.
_LAYER_STYLES = {
    "gradient": ("‖∂π⁻¹‖ (data radii per map width)", "viridis", "log"),
    "consistency": ("class after one round trip π(π⁻¹(p))", "consistency", "binary"),
    "stability": ("round trips the class survives", "viridis", "count"),
    "boundary_distance": ("distance to the decision boundary (upper bound)", "magma", "linear"),
}

#: How strongly a fully certain cell shows its class colour (1 would be the pure
#: colour); below 1 the points, drawn in pure colours, stand out from the ground.
_BACKGROUND_STRENGTH = 0.6


def class_colors(n_classes: int, cmap: Any = None) -> np.ndarray:
    """One RGB colour per class index, fixed by ``n_classes`` alone.

    A class keeps its colour whichever classes happen to be present in a grid.
    Qualitative colour maps with enough colours (``tab10``, ``tab20``) are used
    colour by colour; others are sampled evenly.
    """
    import matplotlib as mpl

    if cmap is None:
        cmap = "tab10" if n_classes <= 10 else "tab20" if n_classes <= 20 else "turbo"
    cmap = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    listed = getattr(cmap, "colors", None)
    if listed is not None and len(listed) >= n_classes and cmap.N == len(listed):
        return np.asarray(listed, dtype=float)[:n_classes, :3]
    positions = np.linspace(0.0, 1.0, n_classes) if n_classes > 1 else np.zeros(1)
    return np.asarray(cmap(positions), dtype=float)[:, :3]


def background_image(
    grid_labels: np.ndarray,
    grid_entropy: np.ndarray,
    colors: np.ndarray,
    strength: float = _BACKGROUND_STRENGTH,
) -> np.ndarray:
    """RGB image: each cell's class colour, faded to white as its entropy rises.

    Certainty is ``1 − entropy/log(n_classes)``, an absolute scale: a uniform
    prediction is white and a certain one full colour, in every map.
    """
    certainty = (1.0 - np.clip(grid_entropy, 0.0, 1.0))[..., None]
    return 1.0 - strength * certainty * (1.0 - colors[grid_labels])


class DecisionMapDisplay:
    """Visualisation of a fitted :class:`~didi.DecisionMap`.

    Use :meth:`from_estimator` to create one. The background shows the
    classifier's predicted class at π⁻¹ of each cell, faded to white where it is
    uncertain; the points are coloured by their true label (by their predicted
    label when no labels are known), and points the classifier gets wrong carry a
    cross in the colour of the predicted class.

    Parameters
    ----------
    grid_x, grid_y : ndarray of shape (resolution,)
        Cell centres along the axes.
    grid_labels : ndarray of shape (resolution, resolution)
        Predicted class index per cell.
    grid_entropy : ndarray of shape (resolution, resolution)
        Normalised entropy per cell, in ``[0, 1]``.
    embedding : ndarray of shape (n_samples, 2)
        The points.
    predicted : ndarray of shape (n_samples,)
        Predicted class index per point.
    classes : ndarray of shape (n_classes,)
        Class names.
    true : ndarray of shape (n_samples,), default=None
        True class index per point (``-1`` for a label outside ``classes``).
    findings : object, default=None
        Samples to mark: unfamiliar ones (rings), near-duplicate sets (dashed
        lines), label issues (magenta squares); :meth:`from_estimator` builds it.
    layer : {"class", "gradient", "consistency", "stability", "boundary_distance"}, \
            default="class"
        What the background shows: the predicted class faded by uncertainty, or
        one of the map's layers (see :meth:`DecisionMap.compute_layers`) with a
        colour bar.
    layer_values : ndarray of shape (resolution, resolution), default=None
        The layer's values when ``layer`` is not ``"class"``.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    image_ : matplotlib AxesImage
        The background.
    colorbar_ : matplotlib Colorbar or None
        The layer's colour bar (``None`` for ``layer="class"``).
    scatter_ : matplotlib PathCollection
        The points.
    errors_ : matplotlib PathCollection or None
        The crosses on misclassified points.
    findings_ : dict
        The marks of the findings drawn, by name (``"unfamiliar"``,
        ``"duplicates"``, ``"label_issues"``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import DecisionMap, DecisionMapDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> dmap = DecisionMap(clf, n_neighbors=10, resolution=20, random_state=0).fit(X, y)
    >>> disp = DecisionMapDisplay.from_estimator(dmap)
    >>> disp.figure_.savefig("iris_map.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        grid_x,
        grid_y,
        grid_labels,
        grid_entropy,
        embedding,
        predicted,
        classes,
        true=None,
        findings=None,
        layer="class",
        layer_values=None,
    ) -> None:
        self.grid_x = grid_x
        self.grid_y = grid_y
        self.grid_labels = grid_labels
        self.grid_entropy = grid_entropy
        self.embedding = embedding
        self.predicted = predicted
        self.classes = classes
        self.true = true
        self.findings = findings
        self.layer = layer
        self.layer_values = layer_values

    def plot(
        self,
        ax=None,
        *,
        cmap: Any = None,
        point_size: float = 18.0,
        legend: bool = True,
        title: str | None = None,
    ) -> DecisionMapDisplay:
        """Draw the map.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        cmap : str or Colormap, default=None
            Class colours; ``tab10``/``tab20`` (or ``turbo`` beyond 20 classes)
            when ``None``.
        point_size : float, default=18
            Marker area of the points.
        legend : bool, default=True
            Show a legend with the class names.
        title : str, default=None
            Axes title.

        Returns
        -------
        self : DecisionMapDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 6))
        colors = class_colors(len(self.classes), cmap)
        extent = grid_extent(self.grid_x, self.grid_y)
        self._draw_background(ax, colors, extent)
        wrong = self._draw_points(ax, colors, point_size)
        self.findings_ = (
            {} if self.findings is None
            else draw_findings(ax, self.embedding, self.findings, point_size)
        )  # fmt: skip
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        ax.set_xticks([])
        ax.set_yticks([])
        if title is not None:
            ax.set_title(title)
        if legend:
            self._draw_legend(ax, colors, with_errors=bool(wrong.any()))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _draw_background(self, ax, colors: np.ndarray, extent) -> None:
        """The classes faded by uncertainty, or the layer on its colour scale with a bar."""
        check_value("DecisionMapDisplay", "layer", self.layer, [Options(SHOWN_LAYERS)])
        shown = dict(origin="lower", extent=extent, aspect="auto", interpolation="nearest")
        self.colorbar_ = None
        if self.layer == "class":
            image = background_image(self.grid_labels, self.grid_entropy, colors)
            self.image_ = ax.imshow(image, **shown)
            return
        if self.layer_values is None:
            raise ValueError(f"layer={self.layer!r} needs its values: pass layer_values.")
        if np.shape(self.layer_values) != np.shape(self.grid_labels):
            raise ValueError(
                f"layer_values has shape {np.shape(self.layer_values)}; the grid's is "
                f"{np.shape(self.grid_labels)}."
            )
        label, cmap, scale = _LAYER_STYLES[self.layer]
        values = np.ma.masked_invalid(np.asarray(self.layer_values, dtype=float))
        colour_map, norm, ticks = _layer_scale(values, cmap, scale)
        self.image_ = ax.imshow(values, cmap=colour_map, norm=norm, **shown)
        self.colorbar_ = ax.figure.colorbar(self.image_, ax=ax, label=label, ticks=ticks)
        if self.layer == "consistency":
            self.colorbar_.ax.set_yticklabels(["changes", "survives"])

    def _draw_points(self, ax, colors: np.ndarray, point_size: float) -> np.ndarray:
        """The points in their label's colour, and crosses on the misclassified ones;
        returns which points are misclassified."""
        shown = self.predicted if self.true is None else self.true
        point_colors = np.where((shown >= 0)[:, None], colors[np.clip(shown, 0, None)], 0.5)
        self.scatter_ = ax.scatter(
            self.embedding[:, 0],
            self.embedding[:, 1],
            c=point_colors,
            s=point_size,
            edgecolors="black",
            linewidths=0.4,
            zorder=2,
        )
        self.errors_ = None
        wrong = (
            np.zeros(len(shown), dtype=bool) if self.true is None else self.true != self.predicted
        )
        if wrong.any():
            self.errors_ = ax.scatter(
                self.embedding[wrong, 0],
                self.embedding[wrong, 1],
                c=colors[self.predicted[wrong]],
                s=point_size * 2.5,
                marker="x",
                linewidths=1.6,
                zorder=3,
            )
        return wrong

    def _draw_legend(self, ax, colors: np.ndarray, *, with_errors: bool) -> None:
        """One patch per class, and the cross's meaning when there are crosses."""
        from matplotlib.artist import Artist
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        handles: list[Artist] = [
            Patch(facecolor=colors[k], edgecolor="black", linewidth=0.4, label=str(name))
            for k, name in enumerate(self.classes)
        ]
        handles += finding_handles(getattr(self, "findings_", {}))
        if with_errors:
            handles.append(
                Line2D(
                    [],
                    [],
                    color="black",
                    marker="x",
                    linestyle="",
                    label="misclassified\n(× in predicted colour)",
                )
            )
        ax.legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            frameon=False,
            fontsize="small",
        )

    def explore(
        self,
        decision_map,
        *,
        image_shape: tuple[int, ...] | None = None,
        data_viz: Any = None,
        pick_radius: float = 6.0,
    ):
        """Make the drawn map clickable (with an interactive matplotlib backend).

        Clicking a data point shows that sample with its true and predicted label in
        a panel in the map's corner; clicking the background shows π⁻¹ there with the
        classifier's label and certainty. Works in a desktop window and in Jupyter
        with ipympl (``%matplotlib widget``); harmless with a non-interactive backend.

        Parameters
        ----------
        decision_map : DecisionMap
            The fitted map this display shows.
        image_shape : tuple of int, default=None
            Shape to reshape flat samples to, to show them as images.
        data_viz : callable, default=None
            ``data_viz(ax, sample)`` for samples that are not images (a bar chart of
            the values by default).
        pick_radius : float, default=6
            Pixels within which a click selects a data point.

        Returns
        -------
        MapExplorer
            Keep a reference to it: matplotlib holds event handlers weakly.
        """
        from ._explorer import MapExplorer

        return MapExplorer(
            self, decision_map, image_shape=image_shape, data_viz=data_viz, pick_radius=pick_radius
        )

    @classmethod
    def from_estimator(
        cls,
        decision_map,
        *,
        y=None,
        ax=None,
        familiarity=None,
        duplicates=None,
        label_issues=None,
        layer="class",
        **kwargs,
    ) -> DecisionMapDisplay:
        """Draw a fitted :class:`~didi.DecisionMap`, and what was found in its data.

        Parameters
        ----------
        decision_map : DecisionMap
            A fitted map.
        y : array-like of shape (n_samples,), default=None
            True labels of the fitted samples; defaults to the ``y`` given to
            ``fit``. Without labels, points are coloured by predicted class.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        familiarity : Familiarity or array-like of int, default=None
            A :class:`~didi.Familiarity` fitted on the mapped samples (its unfamiliar
            samples get a ring), or the indices to ring. ``None`` draws no rings.
        duplicates : NearDuplicates or array-like of shape (n_samples,), default=None
            A :class:`~didi.NearDuplicates` fitted on the mapped samples, or its
            ``labels_``: each set's members are joined by dashed lines.
        label_issues : array-like of int, default=None
            Indices of samples whose label is likely wrong
            (:func:`~didi.find_label_issues`): a magenta square each.
        layer : {"class", "gradient", "consistency", "stability", \
                "boundary_distance"}, default="class"
            The background: the predicted class, or a layer of evidence with a
            colour bar. A layer the map does not have yet is computed first with
            :meth:`DecisionMap.compute_layers` and its defaults (classifier rows;
            see there), and kept on the map.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        DecisionMapDisplay
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(decision_map, "embedding_")
        check_value("DecisionMapDisplay.from_estimator", "layer", layer, [Options(SHOWN_LAYERS)])
        if layer != "class" and not hasattr(decision_map, layer_attribute(layer)):
            decision_map.compute_layers(layer)
        findings = Findings.collect(
            len(decision_map.embedding_),
            familiarity=familiarity,
            duplicates=duplicates,
            label_issues=label_issues,
        )
        display = cls._of_map(decision_map, y=y, findings=findings)
        if layer != "class":
            display.layer = layer
            display.layer_values = getattr(decision_map, layer_attribute(layer))
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def _of_map(cls, decision_map, *, y=None, findings=None) -> DecisionMapDisplay:
        """The display of a fitted map, not drawn yet (see :meth:`from_estimator`)."""
        classes = decision_map.classes_
        true = decision_map.y_ if y is None else np.asarray(y)
        if true is not None:
            if len(true) != len(decision_map.embedding_):
                raise ValueError(
                    f"y has {len(true)} labels for {len(decision_map.embedding_)} points."
                )
            true = label_indices(true, classes)
        return cls(
            grid_x=decision_map.grid_x_,
            grid_y=decision_map.grid_y_,
            grid_labels=decision_map.grid_labels_,
            grid_entropy=decision_map.grid_entropy_,
            embedding=decision_map.embedding_,
            predicted=decision_map.proba_.argmax(axis=1),
            classes=classes,
            true=true,
            findings=findings,
        )


def _layer_scale(values: np.ma.MaskedArray, cmap: str, scale: str):
    """Colour map, normalisation and colour-bar ticks of a layer's values."""
    import matplotlib as mpl
    from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm, Normalize

    if scale == "binary":
        return ListedColormap(["#d62728", "#dddddd"]), BoundaryNorm([-0.5, 0.5, 1.5], 2), [0, 1]
    colour_map = mpl.colormaps[cmap].with_extremes(bad="#bbbbbb")
    if scale == "count":
        top = max(1, int(values.max()) if values.count() else 1)
        return colour_map, BoundaryNorm(np.arange(-0.5, top + 1), colour_map.N), None
    if scale == "log":
        positive = values[values > 0]
        if positive.count():
            return colour_map, LogNorm(float(positive.min()), float(positive.max())), None
    return colour_map, Normalize(), None


def layer_rgb(layer: str, values: np.ndarray) -> tuple[np.ndarray, dict]:
    """A layer as an RGB image on the display's colour scale, and its legend: the
    colour bar's label, the values at its ends and five colours along it."""
    label, cmap, scale = _LAYER_STYLES[layer]
    values = np.ma.masked_invalid(np.asarray(values, dtype=float))
    colour_map, norm, _ = _layer_scale(values, cmap, scale)
    rgb = np.asarray(colour_map(norm(values)))[..., :3]
    if scale in ("binary", "count"):  # the bar's ends are values, not bin edges
        low, high = float(norm.boundaries[0] + 0.5), float(norm.boundaries[-1] - 0.5)
    else:
        low, high = float(norm.vmin), float(norm.vmax)
    ends = ["changes", "survives"] if scale == "binary" else [f"{low:.3g}", f"{high:.3g}"]
    stops = np.asarray(colour_map(norm(np.linspace(low, high, 5))))[:, :3]
    return rgb, {"label": label, "ends": ends, "stops": [hex_colour(c) for c in stops]}


def hex_colour(rgb: np.ndarray) -> str:
    """``#rrggbb`` of an RGB colour in ``[0, 1]``."""
    red, green, blue = (round(255 * float(c)) for c in rgb)
    return f"#{red:02x}{green:02x}{blue:02x}"
