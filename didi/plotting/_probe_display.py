"""``ProbeDisplay``: numbered positions on a map beside what π⁻¹ synthesises there.

The paper's Figures 4 and 6: probing the map at chosen positions shows which input
the inverse projection places there and how the classifier labels it, which is how
adversarial pockets and backdoors are recognised.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._decision_map_display import DecisionMapDisplay
from ._samples import draw_sample


class ProbeDisplay:
    """A decision map with numbered probe positions and the samples π⁻¹ puts there.

    Use :meth:`from_estimator`. Each position gets a numbered marker on the map and
    a panel below it showing the synthesised sample, titled with its number, the
    classifier's label and its certainty.

    Parameters
    ----------
    probe : Bunch
        The result of :meth:`DecisionMap.probe`.
    image_shape : tuple of int, default=None
        Shape to reshape flat samples to before showing them as images.
    data_viz : callable, default=None
        ``data_viz(ax, sample)`` draws a sample that is not an image (a bar chart of
        its values when ``None``): a table row, a text, a spectrum...

    Attributes
    ----------
    figure_ : matplotlib Figure
    map_display_ : DecisionMapDisplay
        The map, on ``map_display_.ax_``.
    markers_ : list of matplotlib Annotation
        The numbered markers.
    sample_axes_ : list of matplotlib Axes
        One panel per position.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import DecisionMap, ProbeDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=2000).fit(X, y)
    >>> dmap = DecisionMap(clf, resolution=20, random_state=0).fit(X[:200], y[:200])
    >>> shown = ProbeDisplay.from_estimator(dmap, dmap.embedding_[:3], image_shape=(8, 8))
    >>> len(shown.sample_axes_)
    3
    """

    def __init__(
        self,
        probe,
        *,
        image_shape: tuple[int, ...] | None = None,
        data_viz: Callable | None = None,
    ) -> None:
        self.probe = probe
        self.image_shape = image_shape
        self.data_viz = data_viz

    def plot(
        self, decision_map, *, y: Any = None, cmap_images: str = "gray_r", title: str | None = None
    ) -> ProbeDisplay:
        """Draw the map with the markers and the row of probed samples.

        Parameters
        ----------
        decision_map : DecisionMap
            The fitted map the positions belong to.
        y : array-like of shape (n_samples,), default=None
            True labels of the mapped samples (defaults to those given to ``fit``).
        cmap_images : str, default="gray_r"
            Colour map for grey images.
        title : str, default=None
            Title of the map.

        Returns
        -------
        self : ProbeDisplay
        """
        import matplotlib.pyplot as plt

        n = len(self.probe.positions)
        figure = plt.figure(figsize=(max(7.0, 1.6 * n), 8.0))
        grid = figure.add_gridspec(2, max(n, 1), height_ratios=(4, 1.3))
        map_ax = figure.add_subplot(grid[0, :])
        self.map_display_ = DecisionMapDisplay.from_estimator(
            decision_map, y=y, ax=map_ax, title=title
        )
        self.markers_ = [
            map_ax.annotate(
                str(k),
                (px, py),
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
                bbox={"boxstyle": "circle", "facecolor": "white", "edgecolor": "black"},
                zorder=4,
            )
            for k, (px, py) in enumerate(self.probe.positions)
        ]
        self.sample_axes_ = []
        for k in range(n):
            ax = figure.add_subplot(grid[1, k])
            draw_sample(ax, self.probe.samples[k], self.image_shape, self.data_viz, cmap_images)
            ax.set_title(
                f"{k}: {self.probe.labels[k]} ({self.probe.certainty[k]:.0%})", fontsize="small"
            )
            self.sample_axes_.append(ax)
        self.figure_ = figure
        return self

    @classmethod
    def from_estimator(
        cls,
        decision_map,
        positions: Any,
        *,
        image_shape: tuple[int, ...] | None = None,
        data_viz: Callable | None = None,
        y: Any = None,
        title: str | None = None,
    ) -> ProbeDisplay:
        """Probe a fitted :class:`~didi.DecisionMap` at ``positions`` and draw it.

        Parameters
        ----------
        decision_map : DecisionMap
            A fitted map.
        positions : array-like of shape (n_positions, 2)
            Where to probe, in the map's coordinates.
        image_shape : tuple of int, default=None
            Shape of an image, for samples stored flat.
        data_viz : callable, default=None
            ``data_viz(ax, sample)`` for samples that are not images.
        y : array-like of shape (n_samples,), default=None
            True labels of the mapped samples.
        title : str, default=None
            Title of the map.

        Returns
        -------
        ProbeDisplay
        """
        probe = decision_map.probe(positions)
        display = cls(probe, image_shape=image_shape, data_viz=data_viz)
        return display.plot(decision_map, y=y, title=title)
