"""``PlanarSliceDisplay``: draw a fitted :class:`~didi.exact.PlanarSlice` with matplotlib."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._proba import label_indices
from ._decision_map_display import class_colors

_COLOR_BY = ("class", "slope")


def map_comparison(planar_slice, decision_map, n_points: int = 25) -> dict:
    """Where a grid of the plane's points lands on a decision map, and what the map shows there.

    The map shows the classifier on π⁻¹'s surface, not on the plane, so the two are
    compared at points: each point of an ``n_points × n_points`` grid of the slice's
    extent is placed on the map by ``decision_map.transform``; the map "shows" the
    class of the classifier at π⁻¹ of the placed position.

    Returns
    -------
    dict
        ``positions`` (n, 2) on the map, ``exact`` (n,) the exact classes,
        ``shown`` (n,) the map's classes there, and ``agreement``, the share of points
        where they are equal.
    """
    u0, u1, v0, v1 = planar_slice.extent_
    axes = np.meshgrid(np.linspace(u0, u1, n_points), np.linspace(v0, v1, n_points))
    grid = np.stack(axes, axis=-1).reshape(-1, 2)
    samples = planar_slice.to_input(grid).reshape(len(grid), *decision_map.sample_shape_)
    positions = decision_map.transform(samples)
    exact = planar_slice.predict(grid)
    shown = decision_map.probe(positions).labels
    return {
        "positions": positions,
        "exact": exact,
        "shown": shown,
        "agreement": float(np.mean(shown == exact)),
    }


def region_slopes(region_scores: np.ndarray) -> np.ndarray:
    """Frobenius norm of each cell's score gradient ``∂scores/∂(u, v)``.

    ``region_scores`` holds each cell's scores at ``(0, 0)``, ``(1, 0)`` and
    ``(0, 1)``, so the gradient is the two differences from the first row.
    """
    gradient = region_scores[:, 1:] - region_scores[:, :1]
    return np.sqrt((gradient**2).sum(axis=(1, 2)))


class PlanarSliceDisplay:
    """The exact linear regions and decision boundary of a network on a plane.

    Cells are filled by predicted class (or by how steep the network is there, as
    SplineCam shows it), the edges between linear regions drawn thin, the decision
    boundary thick, and the three anchors marked. Make one with
    :meth:`from_estimator`.

    Parameters
    ----------
    regions : list of ndarray of shape (n_vertices, 2)
        The cells, in plane coordinates.
    region_classes : ndarray of shape (n_regions,)
        Index into ``classes`` of each cell's class.
    region_slopes : ndarray of shape (n_regions,)
        Norm of each cell's score gradient.
    boundary : ndarray of shape (n_segments, 2, 2)
        Decision-boundary segments.
    classes : ndarray of shape (n_classes,)
        Class labels.
    extent : tuple of float
        ``(u_min, u_max, v_min, v_max)``.
    anchors_uv : ndarray of shape (3, 2), default=None
        Where the anchors lie.
    map_comparison : dict, default=None
        The plane's points on a decision map, drawn by :meth:`plot_on_map`:
        ``positions`` on the map, their ``exact`` classes, the classes the map
        ``shown`` there, and the ``agreement`` (share of equal ones).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    cells_ : matplotlib PolyCollection
        The filled cells.
    boundary_lines_ : matplotlib LineCollection
        The decision boundary.

    See Also
    --------
    didi.exact.PlanarSlice : Computes what this draws.

    Examples
    --------
    >>> import torch
    >>> from didi.exact import PlanarSlice
    >>> from didi.plotting import PlanarSliceDisplay
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    >>> plane = PlanarSlice(net, anchors=[[0, 0], [1, 0], [0, 1]]).fit()
    >>> disp = PlanarSliceDisplay.from_estimator(plane)
    >>> disp.figure_.savefig("slice.png")  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        regions,
        region_classes,
        region_slopes,
        boundary,
        classes,
        extent,
        anchors_uv=None,
        map_comparison=None,
    ) -> None:
        self.regions = regions
        self.region_classes = region_classes
        self.region_slopes = region_slopes
        self.boundary = boundary
        self.classes = classes
        self.extent = extent
        self.anchors_uv = anchors_uv
        self.map_comparison = map_comparison

    def plot(
        self,
        ax=None,
        *,
        color_by: str = "class",
        cmap: Any = None,
        region_edges: bool = True,
        anchor_labels: Any = None,
        legend: bool = True,
        title: str | None = None,
    ) -> PlanarSliceDisplay:
        """Draw the slice.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        color_by : {"class", "slope"}, default="class"
            Fill cells by predicted class, or by the norm of the network's score
            gradient on them (with a colour bar).
        cmap : str or Colormap, default=None
            Class colours (``tab10``/``tab20``/``turbo``), or the slope colour map
            (``viridis``).
        region_edges : bool, default=True
            Draw the edges of the cells thinly.
        anchor_labels : list of str, default=None
            Names of the three anchors; ``x₀, x₁, x₂`` when ``None``.
        legend : bool, default=True
            Show the class legend (``color_by="class"``).
        title : str, default=None
            Axes title.

        Returns
        -------
        self : PlanarSliceDisplay
        """
        import matplotlib.pyplot as plt
        from matplotlib.collections import LineCollection, PolyCollection

        if color_by not in _COLOR_BY:
            raise ValueError(f"color_by must be one of {_COLOR_BY}; got {color_by!r}.")
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 6))
        colors = class_colors(len(self.classes), cmap if color_by == "class" else None)
        edge: dict[str, Any] = (
            dict(edgecolors=(1, 1, 1, 0.5), linewidths=0.3)
            if region_edges
            else dict(edgecolors="face", linewidths=0.2)
        )
        if color_by == "class":
            self.cells_ = PolyCollection(
                self.regions, facecolors=colors[self.region_classes], **edge
            )
        else:
            self.cells_ = PolyCollection(
                self.regions, array=self.region_slopes, cmap=cmap or "viridis", **edge
            )
        ax.add_collection(self.cells_)
        if color_by == "slope":
            ax.figure.colorbar(self.cells_, ax=ax, label="‖∂ scores / ∂(u, v)‖")
        self.boundary_lines_ = LineCollection(self.boundary, colors="black", linewidths=1.6)
        ax.add_collection(self.boundary_lines_)
        self._draw_anchors(ax, anchor_labels)
        ax.set_xlim(self.extent[:2])
        ax.set_ylim(self.extent[2:])
        ax.set_aspect("equal")
        ax.set_xlabel("u")
        ax.set_ylabel("v")
        if title is not None:
            ax.set_title(title)
        if legend and color_by == "class":
            self._draw_legend(ax, colors)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    def _draw_anchors(self, ax, labels) -> None:
        if self.anchors_uv is None:
            return
        labels = labels if labels is not None else ["x₀", "x₁", "x₂"]
        if len(labels) != 3:
            raise ValueError(f"anchor_labels must name the 3 anchors; got {len(labels)} names.")
        ax.scatter(*self.anchors_uv.T, marker="*", s=160, c="white", edgecolors="black", zorder=3)
        for (u, v), label in zip(self.anchors_uv, labels, strict=True):
            ax.annotate(str(label), (u, v), xytext=(6, 6), textcoords="offset points", zorder=4)

    def _draw_legend(self, ax, colors: np.ndarray) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        shown = np.unique(self.region_classes)
        handles: list[Any] = [
            Patch(facecolor=colors[k], edgecolor="black", linewidth=0.4, label=str(self.classes[k]))
            for k in shown
        ]
        handles.append(Line2D([], [], color="black", linewidth=1.6, label="decision boundary"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)

    def plot_on_map(self, decision_map, ax=None, *, point_size: float = 40.0) -> PlanarSliceDisplay:
        """Draw the decision map with the plane's points on it, in their exact class.

        Needs ``from_estimator(..., decision_map=...)``. Squares are the plane's grid
        points where the map places them, filled with their exact class; the title
        gives the share of them where the map shows that class.

        Parameters
        ----------
        decision_map : DecisionMap
            The map the comparison was computed on.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when ``None``.
        point_size : float, default=40
            Marker area of the plane's points.

        Returns
        -------
        self : PlanarSliceDisplay
        """
        from ._decision_map_display import DecisionMapDisplay

        if self.map_comparison is None:
            raise ValueError("No map comparison: use from_estimator(..., decision_map=dmap).")
        comparison = self.map_comparison
        title = f"the plane on the map: {comparison['agreement']:.0%} of its points agree"
        shown = DecisionMapDisplay.from_estimator(decision_map, ax=ax, point_size=8, title=title)
        exact = label_indices(comparison["exact"], decision_map.classes_)
        colors = class_colors(len(decision_map.classes_))[exact]
        self.map_points_ = shown.ax_.scatter(
            *comparison["positions"].T,
            c=colors,
            s=point_size,
            marker="s",
            edgecolors="black",
            zorder=3,
        )
        self.map_ax_ = shown.ax_
        return self

    @classmethod
    def from_estimator(
        cls, planar_slice, *, decision_map=None, n_map_points: int = 25, ax=None, **kwargs
    ) -> PlanarSliceDisplay:
        """Draw a fitted :class:`~didi.exact.PlanarSlice`.

        Parameters
        ----------
        planar_slice : PlanarSlice
            A fitted slice.
        decision_map : DecisionMap, default=None
            A fitted map of the same classifier and the same kind of samples: compare
            the slice with it at ``n_map_points²`` points of the plane (the
            ``map_comparison`` attribute); :meth:`plot_on_map` draws it.
        n_map_points : int, default=25
            Points per side of the compared grid.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        PlanarSliceDisplay
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(planar_slice, "regions_")
        classes = planar_slice.classes_
        display = cls(
            regions=planar_slice.regions_,
            region_classes=label_indices(planar_slice.region_classes_, classes),
            region_slopes=region_slopes(planar_slice.region_scores_),
            boundary=planar_slice.boundary_,
            classes=classes,
            extent=planar_slice.extent_,
            anchors_uv=planar_slice.anchors_uv_,
            map_comparison=None
            if decision_map is None
            else map_comparison(planar_slice, decision_map, n_map_points),
        )
        return display.plot(ax=ax, **kwargs)
