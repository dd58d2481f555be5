"""``MapConfusionDisplay``: a decision map beside the confusion matrix of its samples.

A click on a cell of the matrix rings, on the map, the samples of that cell: where
the classifier's confusions between two classes lie, and what is around them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._decision_map_display import DecisionMapDisplay

#: The ring around highlighted samples: thick and black, with a white halo so that it
#: shows on every class colour and stands apart from the thin rings of unfamiliar samples.
_RING = {"edgecolors": "black", "linewidths": 2.0, "halo": 4.5}


class MapConfusionDisplay:
    """A decision map and the confusion matrix of its samples, linked by clicks.

    Use :meth:`from_estimator` to create one. The left axes show the map as
    :class:`~didi.DecisionMapDisplay` draws it, the right axes the confusion matrix of
    the mapped samples (true labels in rows, the classifier's predicted labels in
    columns) as :class:`sklearn.metrics.ConfusionMatrixDisplay` draws it. Clicking a
    cell of the matrix (with an interactive matplotlib backend) rings that cell's
    samples on the map and frames the cell; clicking it again clears both.
    :meth:`highlight` does the same from code.

    Parameters
    ----------
    map_display : DecisionMapDisplay
        The map, not drawn yet; it must know the true labels (``true``).
    confusion_matrix : ndarray of shape (n_labels, n_labels)
        Counts (or shares, when normalised) of samples by true and predicted label.
    labels : ndarray of shape (n_labels,)
        The classes of the matrix's rows and columns, in order.
    display_labels : array-like of shape (n_labels,), default=None
        Names shown on the matrix's axes; ``labels`` when ``None``.

    Attributes
    ----------
    figure_ : matplotlib Figure
    map_display_ : DecisionMapDisplay
        The drawn map, on ``map_display_.ax_``.
    confusion_display_ : sklearn.metrics.ConfusionMatrixDisplay
        The drawn matrix, on ``confusion_display_.ax_``.
    confusion_matrix_ : ndarray of shape (n_labels, n_labels)
        The matrix shown.
    highlighted_ : ndarray of int
        Indices of the samples ringed on the map now (empty when none are).
    ring_ : matplotlib PathCollection or None
        The rings around the highlighted samples.
    cell_ : matplotlib Rectangle or None
        The frame around the matrix cell whose samples are ringed.

    See Also
    --------
    DecisionMapDisplay : The map alone.
    sklearn.metrics.ConfusionMatrixDisplay : The matrix alone.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import DecisionMap, MapConfusionDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=500).fit(X, y)
    >>> dmap = DecisionMap(clf, n_neighbors=10, resolution=20, random_state=0).fit(X, y)
    >>> disp = MapConfusionDisplay.from_estimator(dmap)
    >>> disp.confusion_matrix_.shape
    (3, 3)
    >>> ringed = disp.highlight(1, 2)  # versicolor taken for virginica
    >>> bool(len(ringed) == disp.confusion_matrix_[1, 2])
    True
    >>> disp.highlight(None, None).size  # clears the rings
    0
    """

    def __init__(
        self,
        *,
        map_display: DecisionMapDisplay,
        confusion_matrix: np.ndarray,
        labels: np.ndarray,
        display_labels: Any = None,
    ) -> None:
        self.map_display = map_display
        self.confusion_matrix = confusion_matrix
        self.labels = labels
        self.display_labels = display_labels

    def plot(
        self,
        *,
        figsize: tuple[float, float] | None = None,
        include_values: bool = True,
        cmap: Any = "Blues",
        values_format: str | None = None,
        colorbar: bool = False,
        xticks_rotation: Any = "horizontal",
        map_kwargs: dict | None = None,
    ) -> MapConfusionDisplay:
        """Draw the map and the matrix side by side, and listen for clicks on the matrix.

        Parameters
        ----------
        figsize : tuple of float, default=None
            Size of the new figure in inches; ``(13, 5.5)`` when ``None``.
        include_values : bool, default=True
            Print the value of each cell.
        cmap : str or Colormap, default="Blues"
            Colour map of the matrix.
        values_format : str, default=None
            Format of the printed values (see ``ConfusionMatrixDisplay.plot``).
        colorbar : bool, default=False
            Add a colour bar to the matrix.
        xticks_rotation : {"vertical", "horizontal"} or float, default="horizontal"
            Rotation of the predicted labels' names.
        map_kwargs : dict, default=None
            Passed to :meth:`DecisionMapDisplay.plot` (``point_size``, ``legend``,
            ``title``...).

        Returns
        -------
        self : MapConfusionDisplay
        """
        import matplotlib.pyplot as plt
        from sklearn.metrics import ConfusionMatrixDisplay

        figure, (map_ax, matrix_ax) = plt.subplots(
            1, 2, figsize=figsize or (13, 5.5), layout="constrained", width_ratios=(1.25, 1)
        )
        self.map_display_ = self.map_display.plot(ax=map_ax, **(map_kwargs or {}))
        shown = ConfusionMatrixDisplay(
            self.confusion_matrix,
            display_labels=self.labels if self.display_labels is None else self.display_labels,
        )
        self.confusion_display_ = shown.plot(
            ax=matrix_ax,
            include_values=include_values,
            cmap=cmap,
            values_format=values_format,
            colorbar=colorbar,
            xticks_rotation=xticks_rotation,
        )
        matrix_ax.set_title("click a cell to ring its samples", fontsize="small")
        self.figure_ = figure
        self.confusion_matrix_ = self.confusion_matrix
        self.highlighted_ = np.array([], dtype=int)
        self.ring_: Any = None
        self.cell_: Any = None
        self._selected: tuple[int, int] | None = None
        self._connection = figure.canvas.mpl_connect("button_press_event", self.on_click)
        # matplotlib keeps bound-method handlers only weakly: the figure keeps the
        # display, and so its click handler, alive for as long as it is shown.
        figure.__dict__["_didi_confusion_display"] = self
        return self

    def highlight(self, true_label: Any, predicted_label: Any) -> np.ndarray:
        """Ring on the map the samples of one true and one predicted class.

        Parameters
        ----------
        true_label, predicted_label : class label or None
            Classes of the map (values of its ``classes_``). ``None`` for both clears
            the rings.

        Returns
        -------
        indices : ndarray of int
            Indices of the ringed samples (rows of the map's ``embedding_``), also
            kept in ``highlighted_``.
        """
        if (true_label is None) != (predicted_label is None):
            raise ValueError("Give both a true and a predicted label, or None for both.")
        self._clear_marks()
        if true_label is None:
            self.highlighted_ = np.array([], dtype=int)
        else:
            true, predicted = self._class_index(true_label), self._class_index(predicted_label)
            shown = self.map_display_
            self.highlighted_ = np.flatnonzero(
                (shown.true == true) & (shown.predicted == predicted)
            )
            self._ring(self.highlighted_)
            self._frame_cell(true, predicted)
        self.figure_.canvas.draw_idle()
        return self.highlighted_

    def on_click(self, event: Any) -> None:
        """Highlight the samples of the clicked cell, or clear them if it is highlighted."""
        if event.inaxes is not self.confusion_display_.ax_ or event.xdata is None:
            return
        row, column = self._cell_at(event.xdata, event.ydata)
        if self._selected == (row, column):
            self.highlight(None, None)
        else:
            self.highlight(self.labels[row], self.labels[column])

    def disconnect(self) -> None:
        """Stop reacting to clicks on the matrix."""
        self.figure_.canvas.mpl_disconnect(self._connection)
        if self.figure_.__dict__.get("_didi_confusion_display") is self:
            del self.figure_.__dict__["_didi_confusion_display"]

    def _cell_size(self) -> tuple[float, float]:
        """Width and height of a cell of the matrix, in its axes' data units; the height
        is measured from row 0 towards the last row, whichever way the y axis runs."""
        left, right, bottom, top = self.confusion_display_.im_.get_extent()
        n_rows, n_columns = self.confusion_matrix_.shape
        return (right - left) / n_columns, (bottom - top) / n_rows

    def _cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Centres of the matrix's rows (y) and columns (x), in its axes' data units."""
        left, _, _, top = self.confusion_display_.im_.get_extent()
        width, height = self._cell_size()
        rows = top + (np.arange(self.confusion_matrix_.shape[0]) + 0.5) * height
        columns = left + (np.arange(self.confusion_matrix_.shape[1]) + 0.5) * width
        return rows, columns

    def _cell_at(self, x: float, y: float) -> tuple[int, int]:
        """Row and column of the cell whose centre is nearest to ``(x, y)``."""
        rows, columns = self._cell_centres()
        return int(np.argmin(np.abs(rows - y))), int(np.argmin(np.abs(columns - x)))

    def _class_index(self, label: Any) -> int:
        """Index of a class label among the map's classes."""
        classes = self.map_display_.classes.tolist()
        if label not in classes:
            raise ValueError(f"{label!r} is not a class of the map; its classes: {classes[:10]}")
        return classes.index(label)

    def _ring(self, indices: np.ndarray) -> None:
        from matplotlib import patheffects

        shown = self.map_display_
        points = shown.embedding[indices]
        self.ring_ = shown.ax_.scatter(
            points[:, 0],
            points[:, 1],
            s=shown.scatter_.get_sizes()[0] * 5,
            facecolors="none",
            edgecolors=_RING["edgecolors"],
            linewidths=_RING["linewidths"],
            zorder=5,
            path_effects=[patheffects.withStroke(linewidth=_RING["halo"], foreground="white")],
        )

    def _frame_cell(self, true: int, predicted: int) -> None:
        """Frame the cell of the two classes, if the matrix shows both."""
        from matplotlib.patches import Rectangle

        order = [self._class_index(label) for label in self.labels.tolist()]
        if true not in order or predicted not in order:
            return
        row, column = order.index(true), order.index(predicted)
        self._selected = (row, column)
        rows, columns = self._cell_centres()
        width, height = self._cell_size()
        corner = (columns[column] - width / 2, rows[row] - height / 2)
        self.cell_ = self.confusion_display_.ax_.add_patch(
            Rectangle(corner, width, height, fill=False, edgecolor="black", linewidth=2.5)
        )

    def _clear_marks(self) -> None:
        for mark in (self.ring_, self.cell_):
            if mark is not None:
                mark.remove()
        self.ring_ = self.cell_ = None
        self._selected = None

    @classmethod
    def from_estimator(
        cls,
        decision_map,
        *,
        labels: Any = None,
        normalize: str | None = None,
        display_labels: Any = None,
        figsize: tuple[float, float] | None = None,
        **kwargs,
    ) -> MapConfusionDisplay:
        """Draw a fitted :class:`~didi.DecisionMap` beside its samples' confusion matrix.

        Parameters
        ----------
        decision_map : DecisionMap
            A map fitted with labels (``fit(X, y)``).
        labels : array-like of shape (n_labels,), default=None
            Classes of the matrix's rows and columns, in order; all the map's classes
            when ``None``. Samples of other classes are left out of the matrix.
        normalize : {"true", "pred", "all"}, default=None
            Normalise the counts over the true labels (rows), the predicted labels
            (columns) or all samples, as :func:`sklearn.metrics.confusion_matrix` does.
        display_labels : array-like of shape (n_labels,), default=None
            Names shown on the matrix's axes; ``labels`` when ``None``.
        figsize : tuple of float, default=None
            Size of the figure in inches.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        MapConfusionDisplay
        """
        from sklearn.metrics import confusion_matrix
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(decision_map, "embedding_")
        if decision_map.y_ is None:
            raise ValueError(
                "The confusion matrix needs the true labels: fit the map with y, "
                "DecisionMap(...).fit(X, y)."
            )
        map_display = DecisionMapDisplay._of_map(decision_map)
        classes = map_display.classes
        labels = classes if labels is None else np.asarray(labels)
        unknown = [label for label in labels.tolist() if label not in classes.tolist()]
        if unknown:
            raise ValueError(f"labels {unknown[:10]} are not classes of the map.")
        # Counted by class index: labels given as indices of named classes count too.
        label_index = [classes.tolist().index(label) for label in labels.tolist()]
        matrix = confusion_matrix(
            map_display.true, map_display.predicted, labels=label_index, normalize=normalize
        )
        display = cls(
            map_display=map_display,
            confusion_matrix=matrix,
            labels=labels,
            display_labels=display_labels,
        )
        return display.plot(figsize=figsize, **kwargs)
