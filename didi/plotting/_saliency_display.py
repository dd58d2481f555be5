"""``SaliencyDisplay``: why the classifier scores a sample as it does, as pictures.

For images, the five panels of the MNIST introspection pipeline in one row per
sample: the *source*, the *baseline* saliency (at an empty input, for the same
class), the *saliency*, their *delta* and the *overlay* ``delta × source``. For
samples that are not images, the delta of the most salient features as bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..saliency import map_saliency, saliency
from ._samples import as_image, draw_sample

#: The image panels, in the pipeline's order, and the explanation field each shows.
PANELS = {
    "source": "samples",
    "baseline": "baseline_saliency",
    "saliency": "saliency",
    "delta": "delta",
    "overlay": "overlay",
}

#: The panels in the units of the attribution, drawn on one shared scale per row.
ATTRIBUTIONS = ("baseline", "saliency", "delta")

#: Diverging colour map: positive saliency raises the target's score, negative lowers it.
SALIENCY_CMAP = "RdBu_r"


def symmetric_limit(*arrays: np.ndarray) -> float:
    """One colour limit for several panels, so that equal colours mean equal values."""
    largest = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    return largest if largest > 0 else 1.0


def attribution_image(values: np.ndarray, image_shape: tuple[int, ...] | None) -> np.ndarray:
    """An attribution as the 2-D picture drawn: a colour image's channels summed."""
    image = np.asarray(as_image(values, image_shape))
    return image.sum(axis=-1) if image.ndim == 3 else image


def top_features(values: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` values largest in magnitude, largest first."""
    order = np.argsort(-np.abs(values), kind="stable")
    return order[: min(n, len(values))]


class SaliencyDisplay:
    """Saliency panels of samples, or of the samples π⁻¹ puts at map positions.

    Use :meth:`from_estimator` (samples) or :meth:`from_decision_map` (positions of a
    fitted map); both compute with :func:`didi.saliency.saliency` and draw.

    Parameters
    ----------
    explanation : Bunch
        What :func:`didi.saliency.saliency` (or ``map_saliency``) returns.
    image_shape : tuple of int, default=None
        Shape to reshape flat samples to before showing them as images.
    feature_names : sequence of str, default=None
        Names of the features, for samples that are not images.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of matplotlib Axes
        For images, shape ``(n_samples, n_panels)``; otherwise ``(n_samples, 1)``.
    images_ : dict
        For images, the drawn panels' AxesImage by ``(row, panel name)``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from didi import SaliencyDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LogisticRegression(max_iter=3000).fit(X / 16, y)
    >>> shown = SaliencyDisplay.from_estimator(
    ...     clf, X[:2] / 16, method="occlusion", image_shape=(8, 8)
    ... )
    >>> shown.axes_.shape
    (2, 5)
    """

    def __init__(
        self,
        explanation: Any,
        *,
        image_shape: tuple[int, ...] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.explanation = explanation
        self.image_shape = image_shape
        self.feature_names = feature_names

    def _is_image(self) -> bool:
        sample = self.explanation.samples[0]
        return as_image(sample, self.image_shape) is not None

    def plot(
        self,
        *,
        panels: Sequence[str] = tuple(PANELS),
        max_features: int = 15,
        cmap: str = SALIENCY_CMAP,
        figure: Any = None,
    ) -> SaliencyDisplay:
        """Draw one row per sample.

        Parameters
        ----------
        panels : sequence of str, default=("source", "baseline", "saliency", "delta", "overlay")
            The image panels to show, in order.
        max_features : int, default=15
            Bars per sample that is not an image: the features of largest delta.
        cmap : str, default="RdBu_r"
            Diverging colour map of the saliency panels; the limits are symmetric,
            shared by the baseline, saliency and delta of a row, and the overlay's own.
        figure : matplotlib Figure, default=None
            Where to draw; a new figure when ``None``.

        Returns
        -------
        self : SaliencyDisplay
        """
        import matplotlib.pyplot as plt

        unknown = [name for name in panels if name not in PANELS]
        if unknown or not len(panels):
            raise ValueError(
                f"panels must be a non-empty selection of {list(PANELS)}; got {panels}."
            )
        n = len(self.explanation.samples)
        is_image = self._is_image()
        columns = len(panels) if is_image else 1
        if figure is None:
            size = (1.7 * columns + 0.6, 1.8 * n + 0.4) if is_image else (6.0, 2.6 * n)
            figure = plt.figure(figsize=size)
        self.axes_ = np.atleast_2d(figure.subplots(n, columns, squeeze=False))
        self.images_: dict = {}
        for row in range(n):
            if is_image:
                self._image_row(row, panels, cmap)
            else:
                self._bar_row(row, max_features)
        figure.tight_layout()
        self.figure_ = figure
        return self

    def _row_title(self, row: int) -> str:
        found = self.explanation
        column = found.target_index[row]
        where = f"#{row}"
        if "positions" in found:
            x, y = found.positions[row]
            where = f"({x:.2f}, {y:.2f})"
        return f"{where}: {found.target[row]} ({found.proba[row, column]:.0%})"

    def _image_row(self, row: int, panels: Sequence[str], cmap: str) -> None:
        found = self.explanation
        shown = {name: attribution_image(found[PANELS[name]][row], self.image_shape)
                 for name in PANELS if name != "source"}  # fmt: skip
        # The attributions share one scale; the overlay (attribution × input) has other
        # units and its own scale.
        limit = symmetric_limit(*(shown[name] for name in ATTRIBUTIONS))
        bounds = {
            **dict.fromkeys(ATTRIBUTIONS, limit),
            "overlay": symmetric_limit(shown["overlay"]),
        }
        for column, name in enumerate(panels):
            ax = self.axes_[row, column]
            if name == "source":
                draw_sample(ax, found.samples[row], self.image_shape)
                drawn = ax.get_images()[-1]
            else:
                bound = bounds[name]
                drawn = ax.imshow(
                    shown[name], cmap=cmap, vmin=-bound, vmax=bound, interpolation="nearest"
                )
            self.images_[row, name] = drawn
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name, fontsize="small")
        self.axes_[row, 0].set_ylabel(self._row_title(row), fontsize="small")

    def _bar_row(self, row: int, max_features: int) -> None:
        found = self.explanation
        values = np.ravel(found.delta[row])
        names = (
            list(self.feature_names)
            if self.feature_names is not None
            else [f"x{k}" for k in range(len(values))]
        )
        if len(names) != len(values):
            raise ValueError(f"feature_names has {len(names)} names for {len(values)} features.")
        chosen = top_features(values, max_features)[::-1]  # largest at the top
        ax = self.axes_[row, 0]
        colours = np.where(values[chosen] >= 0, "#b2182b", "#2166ac")
        ax.barh(np.arange(len(chosen)), values[chosen], color=colours)
        ax.set_yticks(np.arange(len(chosen)), [names[k] for k in chosen], fontsize="small")
        ax.axvline(0.0, color="0.3", linewidth=0.8)
        ax.set_title(f"{self._row_title(row)}: delta of {found.score}", fontsize="small")

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        *,
        image_shape: tuple[int, ...] | None = None,
        feature_names: Sequence[str] | None = None,
        panels: Sequence[str] = tuple(PANELS),
        **saliency_options: Any,
    ) -> SaliencyDisplay:
        """Explain the classifier at samples ``X`` and draw the panels.

        Parameters
        ----------
        estimator : object or callable
            The classifier (see :func:`didi.saliency.saliency`).
        X : array-like of shape (n_samples, ...)
        image_shape : tuple of int, default=None
            Shape of an image, for samples stored flat; also occlusion's window grid.
        feature_names : sequence of str, default=None
            Names of the features of samples that are not images.
        panels : sequence of str, default=("source", "baseline", "saliency", "delta", "overlay")
        **saliency_options
            Options of :func:`didi.saliency.saliency` (``method``, ``target``,
            ``baseline``, ...).

        Returns
        -------
        SaliencyDisplay
        """
        found = saliency(estimator, X, **_with_grid(image_shape, saliency_options))
        display = cls(found, image_shape=image_shape, feature_names=feature_names)
        return display.plot(panels=panels)

    @classmethod
    def from_decision_map(
        cls,
        decision_map: Any,
        positions: Any,
        *,
        image_shape: tuple[int, ...] | None = None,
        feature_names: Sequence[str] | None = None,
        panels: Sequence[str] = tuple(PANELS),
        **saliency_options: Any,
    ) -> SaliencyDisplay:
        """Explain the samples π⁻¹ synthesises at ``positions`` of a fitted map.

        Parameters
        ----------
        decision_map : DecisionMap
            A fitted map; its classifier is explained.
        positions : array-like of shape (n_positions, 2)
        image_shape, feature_names, panels, **saliency_options
            As in :meth:`from_estimator`.

        Returns
        -------
        SaliencyDisplay
        """
        found = map_saliency(decision_map, positions, **_with_grid(image_shape, saliency_options))
        display = cls(found, image_shape=image_shape, feature_names=feature_names)
        return display.plot(panels=panels)


def _with_grid(image_shape: tuple[int, ...] | None, options: dict) -> dict:
    """Occlusion's windows slide over the image the display shows, unless told otherwise."""
    if image_shape is not None and options.get("method") == "occlusion":
        return {"image_shape": tuple(image_shape), **options}
    return options
