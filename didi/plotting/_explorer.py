"""``MapExplorer``: click a drawn map to see the sample behind a point or π⁻¹ anywhere.

Clicking a data point shows that sample with its true and predicted label;
clicking the background shows what π⁻¹ synthesises there, with the classifier's
label and certainty. It uses matplotlib's own mouse events, so it works in any
interactive backend (a desktop window, ipympl's ``%matplotlib widget`` in Jupyter)
and does nothing harmful under a non-interactive one such as Agg.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.utils import Bunch

from ._samples import draw_sample


class MapExplorer:
    """Click handling for a :class:`~didi.DecisionMapDisplay` of a fitted map.

    Create it with :meth:`~didi.DecisionMapDisplay.explore`. A panel in the map's upper
    right corner shows the last clicked sample.

    Parameters
    ----------
    display : DecisionMapDisplay
        The drawn map.
    decision_map : DecisionMap
        The fitted map it shows.
    image_shape : tuple of int, default=None
        Shape to reshape flat samples to before showing them as images.
    data_viz : callable, default=None
        ``data_viz(ax, sample)`` for samples that are not images.
    pick_radius : float, default=6
        A click within this many pixels of a data point selects the point.

    Attributes
    ----------
    panel_ax_ : matplotlib Axes
        Where the clicked sample is drawn.
    last_ : Bunch or None
        What the last click showed: ``kind`` (``"sample"`` or ``"probe"``),
        ``position``, ``sample``, ``title`` and, for a data point, ``index``.
    """

    def __init__(
        self,
        display,
        decision_map,
        *,
        image_shape: tuple[int, ...] | None = None,
        data_viz: Callable | None = None,
        pick_radius: float = 6.0,
    ) -> None:
        self.display = display
        self.decision_map = decision_map
        self.image_shape = image_shape
        self.data_viz = data_viz
        self.pick_radius = pick_radius
        self.last_ = None
        # A map explored again replaces its explorer: one panel, one click handler.
        explorers = display.figure_.__dict__.setdefault("_didi_explorers", {})
        previous = explorers.get(display.ax_)
        if previous is not None:
            previous.remove()
        # An inset in the map's upper right corner: it never collides with the
        # legend, and panning or zooming moves the map out from under it.
        self.panel_ax_ = display.ax_.inset_axes((0.73, 0.70, 0.25, 0.25))
        self.panel_ax_.set_xticks([])
        self.panel_ax_.set_yticks([])
        self._caption("click the map")
        self._connection = display.figure_.canvas.mpl_connect("button_press_event", self.on_click)
        # matplotlib keeps bound-method handlers only weakly: the figure keeps each
        # map's explorer alive for as long as it is shown.
        explorers[display.ax_] = self

    def disconnect(self) -> None:
        """Stop reacting to clicks."""
        self.display.figure_.canvas.mpl_disconnect(self._connection)

    def remove(self) -> None:
        """Stop reacting to clicks and take the panel off the map."""
        self.disconnect()
        self.panel_ax_.remove()
        explorers = self.display.figure_.__dict__.get("_didi_explorers", {})
        if explorers.get(self.display.ax_) is self:
            del explorers[self.display.ax_]

    def on_click(self, event: Any) -> None:
        """Show the sample at the click: a data point if one is near, else π⁻¹ there."""
        if event.inaxes is not self.display.ax_ or event.xdata is None:
            return
        if self.panel_ax_.get_window_extent().contains(event.x, event.y):
            return  # a click on the panel, not on the map under it
        position = np.array([event.xdata, event.ydata])
        index = self._nearest_point(event.x, event.y)
        dmap = self.decision_map
        if index is not None:
            predicted = dmap.classes_[dmap.proba_[index].argmax()]
            truth = "" if dmap.y_ is None else f"true {dmap.y_[index]}, "
            self.last_ = Bunch(
                kind="sample",
                index=index,
                position=dmap.embedding_[index],
                sample=dmap.projection_.metric_.X_fit_[index],
                title=f"sample {index}: {truth}predicted {predicted}",
            )
        else:
            found = dmap.probe(position[None, :])
            self.last_ = Bunch(
                kind="probe",
                position=position,
                sample=found.samples[0],
                title=f"π⁻¹ here: {found.labels[0]} ({found.certainty[0]:.0%})",
            )
        self.show(self.last_)

    def show(self, what: Bunch) -> None:
        """Draw a sample in the panel and redraw the figure."""
        ax = self.panel_ax_
        ax.clear()
        draw_sample(ax, what.sample, self.image_shape, self.data_viz)
        self._caption(what.title)
        self.display.figure_.canvas.draw_idle()

    def _caption(self, text: str) -> None:
        self.panel_ax_.set_xlabel(text, fontsize="small")
        self.panel_ax_.xaxis.label.set_bbox(
            {"facecolor": "white", "alpha": 0.85, "edgecolor": "none"}
        )

    def _nearest_point(self, x_pixels: float, y_pixels: float) -> int | None:
        points = self.display.ax_.transData.transform(self.decision_map.embedding_)
        distances = np.hypot(points[:, 0] - x_pixels, points[:, 1] - y_pixels)
        nearest = int(np.argmin(distances))
        return nearest if distances[nearest] <= self.pick_radius else None
