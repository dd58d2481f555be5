"""``DecisionMapSequenceDisplay``: a sequence of maps as small multiples or an animation."""

from __future__ import annotations

from numbers import Integral
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import NONE, Interval, check_value
from ..decision_map._grid import grid_extent
from ._decision_map_display import (
    _BACKGROUND_STRENGTH,
    DecisionMapDisplay,
    background_image,
    class_colors,
)


class DecisionMapSequenceDisplay:
    """Decision maps across checkpoints, in one frame: small multiples or an animation.

    Create it with :meth:`from_estimator`, which draws the small multiples;
    :meth:`animate` makes a GIF or MP4 (through matplotlib's writers) in which the
    points glide from one checkpoint's position to the next.

    Parameters
    ----------
    displays : list of DecisionMapDisplay
        One (undrawn) display per checkpoint.
    names : list of str
        The checkpoints' names.
    scores : list of dict
        Each map's quality scores, shown in the titles.

    Attributes
    ----------
    figure_ : matplotlib Figure
        The figure drawn by :meth:`plot`.
    axes_ : ndarray of matplotlib Axes
        Its axes, one per shown checkpoint.
    extent_ : tuple of float
        ``(x_min, x_max, y_min, y_max)`` shared by every panel and frame.

    Examples
    --------
    >>> import copy
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import SGDClassifier
    >>> from didi import DecisionMapSequence
    >>> from didi.plotting import DecisionMapSequenceDisplay
    >>> X, y = load_iris(return_X_y=True)
    >>> model = SGDClassifier(loss="log_loss", random_state=0)
    >>> checkpoints = [copy.deepcopy(model.partial_fit(X, y, classes=[0, 1, 2])) for _ in range(2)]
    >>> seq = DecisionMapSequence(checkpoints, n_neighbors=10, resolution=10, random_state=0)
    >>> display = DecisionMapSequenceDisplay.from_estimator(seq.fit(X, y))
    >>> display.axes_.shape
    (2,)
    """

    def __init__(self, *, displays: list, names: list[str], scores: list[dict]) -> None:
        self.displays = displays
        self.names = names
        self.scores = scores

    @classmethod
    def from_estimator(
        cls, sequence, *, checkpoints: Any = None, **kwargs: Any
    ) -> DecisionMapSequenceDisplay:
        """Draw a fitted :class:`~didi.DecisionMapSequence` as small multiples.

        Parameters
        ----------
        sequence : DecisionMapSequence
            A fitted sequence.
        checkpoints : list of int, default=None
            Positions of the checkpoints to show; all when ``None``.
        **kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        DecisionMapSequenceDisplay
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(sequence, "maps_")
        shown = range(len(sequence.maps_)) if checkpoints is None else list(checkpoints)
        if not len(shown):
            raise ValueError("checkpoints is empty: name at least one checkpoint to show.")
        maps = [sequence.maps_[k] for k in shown]
        display = cls(
            displays=[DecisionMapDisplay._of_map(dmap) for dmap in maps],
            names=[sequence.checkpoint_names_[k] for k in shown],
            scores=[dmap.scores_ for dmap in maps],
        )
        return display.plot(**kwargs)

    @property
    def extent_(self) -> tuple[float, float, float, float]:
        extents = np.array([grid_extent(d.grid_x, d.grid_y) for d in self.displays])
        low, high = extents[:, [0, 2]].min(axis=0), extents[:, [1, 3]].max(axis=0)
        return float(low[0]), float(high[0]), float(low[1]), float(high[1])

    def _title(self, k: int) -> str:
        score = self.scores[k].get("q_not_data", np.nan)
        suffix = "" if not np.isfinite(score) else f"\nq_not_data {100 * score:.1f}%"
        return f"{self.names[k]}{suffix}"

    def plot(
        self, *, ncols: int | None = None, panel_size: float = 3.2, point_size: float = 8.0
    ) -> DecisionMapSequenceDisplay:
        """Draw one panel per checkpoint, all in the same coordinates.

        Parameters
        ----------
        ncols : int, default=None
            Panels per row; up to 5 when ``None``.
        panel_size : float, default=3.2
            Width and height of a panel, in inches.
        point_size : float, default=8
            Marker area of the points.

        Returns
        -------
        self : DecisionMapSequenceDisplay
        """
        import matplotlib.pyplot as plt

        n = len(self.displays)
        check_value(
            "DecisionMapSequenceDisplay.plot", "ncols", ncols, [NONE, Interval(Integral, 1, None)]
        )
        ncols = min(n, 5) if ncols is None else int(ncols)
        nrows = -(-n // ncols)
        figure, axes = plt.subplots(
            nrows, ncols, figsize=(panel_size * ncols + 1.6, panel_size * nrows), squeeze=False
        )
        extent = self.extent_
        for k, ax in enumerate(axes.ravel()):
            if k >= n:
                ax.set_visible(False)
                continue
            last = k == n - 1
            self.displays[k].plot(ax=ax, point_size=point_size, legend=last, title=self._title(k))
            ax.set_xlim(extent[:2])
            ax.set_ylim(extent[2:])
        self.figure_, self.axes_ = figure, axes.ravel()[:n]
        return self

    def animate(
        self,
        path: str | Path | None = None,
        *,
        fps: int = 4,
        steps_between: int = 4,
        hold: int = 2,
        point_size: float = 14.0,
        dpi: int = 100,
    ):
        """Animate the maps: each checkpoint's map, and the points moving to the next.

        Parameters
        ----------
        path : str or path, default=None
            Where to write the animation: ``.gif`` (Pillow, which matplotlib
            installs) or ``.mp4`` (needs ffmpeg); ``None`` writes nothing.
        fps : int, default=4
            Frames per second.
        steps_between : int, default=4
            Frames in which the points glide from one checkpoint's positions to
            the next (the background changes when they arrive).
        hold : int, default=2
            Frames each checkpoint's map is shown still.
        point_size : float, default=14
            Marker area of the points.
        dpi : int, default=100
            Resolution of the written file.

        Returns
        -------
        matplotlib.animation.FuncAnimation
        """
        from matplotlib.animation import FuncAnimation

        owner = "DecisionMapSequenceDisplay.animate"
        check_value(owner, "fps", fps, [Interval(Integral, 1, None)])
        check_value(owner, "steps_between", steps_between, [Interval(Integral, 0, None)])
        check_value(owner, "hold", hold, [Interval(Integral, 1, None)])
        colors = class_colors(len(self.displays[0].classes))
        writer = None if path is None else _writer_for(Path(path), fps, colors)
        frames = _frame_plan(len(self.displays), steps_between, hold)
        figure, update = self._animation_artists(point_size)
        animation = FuncAnimation(
            figure, update, frames=frames, interval=1000 / fps, blit=False, repeat=True
        )
        if writer is not None:
            animation.save(str(path), writer=writer, dpi=dpi)
        return animation

    def _animation_artists(self, point_size: float):
        """The figure of the animation, and the function that draws frame ``(k, s)``:
        checkpoint ``k``'s map with the points a share ``s`` of the way to ``k + 1``."""
        import matplotlib.pyplot as plt

        figure, ax = plt.subplots(figsize=(8, 6))
        self.displays[0].plot(ax=ax, point_size=point_size, title=self._title(0))
        # Frames cannot be cropped to their content: leave the legend room instead.
        figure.subplots_adjust(left=0.03, right=0.74, bottom=0.04, top=0.9)
        extent = self.extent_
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        colors = class_colors(len(self.displays[0].classes))
        image, points = self.displays[0].image_, self.displays[0].scatter_
        crosses = ax.scatter([], [], marker="x", s=point_size * 2.5, linewidths=1.6, zorder=3)
        if self.displays[0].errors_ is not None:
            self.displays[0].errors_.remove()

        def update(frame: tuple[int, float]):
            k, share = frame
            shown = self.displays[k]
            following = self.displays[min(k + 1, len(self.displays) - 1)]
            position = (1 - share) * shown.embedding + share * following.embedding
            image.set_data(background_image(shown.grid_labels, shown.grid_entropy, colors))
            image.set_extent(grid_extent(shown.grid_x, shown.grid_y))
            points.set_offsets(position)
            wrong = (
                np.zeros(len(position), bool)
                if shown.true is None
                else shown.true != (shown.predicted)
            )
            crosses.set_offsets(position[wrong] if wrong.any() else np.empty((0, 2)))
            crosses.set_color(colors[shown.predicted[wrong]] if wrong.any() else "none")
            if shown.true is None:
                points.set_facecolors(colors[shown.predicted])
            ax.set_title(self._title(k))
            return image, points, crosses

        return figure, update


def _frame_plan(n_maps: int, steps_between: int, hold: int) -> list[tuple[int, float]]:
    """``(checkpoint, share of the way to the next)`` for every frame of the animation."""
    plan: list[tuple[int, float]] = []
    for k in range(n_maps):
        plan += [(k, 0.0)] * hold
        if k < n_maps - 1:
            plan += [(k, (step + 1) / (steps_between + 1)) for step in range(steps_between)]
    return plan


def map_palette(colors: np.ndarray, n_greys: int = 16) -> np.ndarray | None:
    """At most 256 RGB colours (in ``[0, 1]``) for GIF frames of a map: the pure class
    colours (points, legend), each class's tints towards white as the background
    fades them, and greys for text and edges. ``None`` beyond 200 classes."""
    n_classes = len(colors)
    if n_classes > 200:
        return None
    n_tints = max(1, (256 - n_greys - n_classes) // n_classes)
    strengths = np.linspace(0.0, _BACKGROUND_STRENGTH, n_tints + 1)[1:]
    tints = 1.0 - strengths[None, :, None] * (1.0 - colors[:, None, :3])
    greys = np.repeat(np.linspace(0.0, 1.0, n_greys)[:, None], 3, axis=1)
    return np.vstack([colors[:, :3], tints.reshape(-1, 3), greys])


def _paletted_gif_writer(fps: int, colors: np.ndarray) -> Any:
    """Pillow's GIF writer with every frame put on :func:`map_palette`'s colours.

    Pillow's own adaptive palette spends its 256 colours on the background's many
    tints and shifts the rare pure class colours of the points and the legend: a
    point would change its colour, which in a decision map is its meaning.
    """
    from matplotlib.animation import PillowWriter
    from PIL import Image

    palette = map_palette(colors)
    if palette is None:
        return PillowWriter(fps=fps)
    holder = Image.new("P", (1, 1))
    levels = np.round(255 * palette).astype(int).ravel().tolist()
    holder.putpalette(levels + [255] * (768 - len(levels)))

    class PalettedGifWriter(PillowWriter):
        def finish(self) -> None:
            frames = [
                frame.convert("RGB").quantize(palette=holder, dither=Image.Dither.NONE)
                for frame in self._frames  # type: ignore[attr-defined]
            ]
            frames[0].save(
                self.outfile, save_all=True, append_images=frames[1:],
                duration=int(1000 / self.fps), loop=0,
            )  # fmt: skip

    return PalettedGifWriter(fps=fps)


def _writer_for(path: Path, fps: int, colors: np.ndarray) -> Any:
    """A GIF writer on the map's palette, ffmpeg's writer for an MP4; anything else is
    refused before any frame is drawn."""
    from matplotlib import animation as writers

    suffix = path.suffix.lower()
    if suffix == ".gif":
        return _paletted_gif_writer(fps, colors)
    if suffix == ".mp4":
        if not writers.FFMpegWriter.isAvailable():
            raise RuntimeError("Writing .mp4 needs ffmpeg on the PATH; write a .gif instead.")
        return writers.FFMpegWriter(fps=fps)
    raise ValueError(f"An animation is written as .gif or .mp4; got {path.name!r}.")
