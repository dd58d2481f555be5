"""Pictures of a network's units: how often each is inactive, how many are needed.

:class:`InactiveUnitsDisplay` draws an :class:`~didi.introspection.InactiveUnits`,
:class:`PrincipalFiltersDisplay` a :class:`~didi.introspection.PrincipalFilters`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import Satisfies, check_value
from ..introspection._units import (
    InactiveUnits,
    PrincipalFilters,
    inactive_unit_analysis,
    principal_filter_analysis,
)

#: Units up to which each bar is labelled with its unit's index.
_LABELLED_UNITS = 32


def _shown_layers(analysis: Any, layers: Any, owner: str) -> list:
    """The layers to draw, in order: ``layers``, or all the analysis has."""
    if layers is None:
        return list(analysis.layers)
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"{owner}: layers is empty; name at least one layer, or pass None.")
    unknown = [name for name in names if name not in analysis.layers]
    if unknown:
        raise ValueError(
            f"{owner}: the analysis has no layer {unknown[0]!r}; it has {list(analysis.layers)}."
        )
    return names


def _axes_for(ax: Any, n_axes: int, owner: str, figsize: tuple[float, float]) -> tuple[Any, list]:
    """The figure and ``n_axes`` axes to draw on: ``ax`` (one Axes, or a sequence of
    them), or a new figure with a column of them."""
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if ax is None:
        figure, grid = plt.subplots(n_axes, 1, figsize=figsize, squeeze=False)
        return figure, list(grid[:, 0])
    axes = [ax] if isinstance(ax, Axes) else list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n_axes or not all(isinstance(one, Axes) for one in axes):
        raise ValueError(f"{owner}: ax must be {n_axes} matplotlib Axes; got {ax!r}.")
    return axes[0].figure, axes


class InactiveUnitsDisplay:
    """How often each unit of a layer is inactive: one row of bars per layer.

    Create it with :meth:`from_analysis` (an :class:`~didi.introspection.InactiveUnits`
    already computed) or :meth:`from_responses` (which runs
    :func:`~didi.introspection.inactive_unit_analysis`). Each layer's bars are its
    units' inactive shares, most often inactive first, dead units (inactive on every
    sample) in red; the title gives the layer's mean ± standard deviation of
    inactive units per sample.

    Parameters
    ----------
    analysis : InactiveUnits
        The analysis to draw.
    layers : str or list, default=None
        The layers to draw, in order; all when ``None``.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : list of matplotlib Axes
        One per drawn layer.
    bars_ : list of matplotlib BarContainer
        One per drawn layer, a bar per unit.
    units_ : list of ndarray
        Per drawn layer, the units in the order of their bars.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from didi.plotting import InactiveUnitsDisplay
    >>> rng = np.random.default_rng(0)
    >>> responses = {"fc1": np.maximum(rng.normal(size=(100, 6)), 0.0),
    ...              "conv1": np.maximum(rng.normal(size=(100, 4, 3, 3)) - 1.5, 0.0)}
    >>> shown = InactiveUnitsDisplay.from_responses(responses)
    >>> [len(bars) for bars in shown.bars_]
    [6, 4]
    """

    def __init__(self, analysis: InactiveUnits, *, layers: Any = None) -> None:
        self.analysis = analysis
        self.layers = layers

    @classmethod
    def from_analysis(
        cls, analysis: InactiveUnits, *, layers: Any = None, ax: Any = None
    ) -> InactiveUnitsDisplay:
        """Draw an :class:`~didi.introspection.InactiveUnits` (computes nothing new).

        Parameters
        ----------
        analysis : InactiveUnits
            The result of :func:`~didi.introspection.inactive_unit_analysis`.
        layers : str or list, default=None
            The layers to draw, in order; all when ``None``.
        ax : matplotlib Axes or sequence of Axes, default=None
            One Axes per drawn layer; a new figure when ``None``.

        Returns
        -------
        InactiveUnitsDisplay
        """
        return cls(analysis, layers=layers).plot(ax=ax)

    @classmethod
    def from_responses(
        cls, responses: Any, *, layers: Any = None, ax: Any = None, **analysis_options: Any
    ) -> InactiveUnitsDisplay:
        """Run :func:`~didi.introspection.inactive_unit_analysis` and draw it.

        Parameters
        ----------
        responses : dict of array-like, or array-like
            Layer name → responses of shape ``(n_samples, n_units, *positions)``.
        layers : str or list, default=None
            The layers to draw, in order; all when ``None``.
        ax : matplotlib Axes or sequence of Axes, default=None
            One Axes per drawn layer; a new figure when ``None``.
        **analysis_options
            ``atol``, ``unit_axis``: passed to the analysis.

        Returns
        -------
        InactiveUnitsDisplay
        """
        analysis = inactive_unit_analysis(responses, **analysis_options)
        return cls.from_analysis(analysis, layers=layers, ax=ax)

    def plot(self, ax: Any = None) -> InactiveUnitsDisplay:
        """Draw one row of bars per layer.

        Parameters
        ----------
        ax : matplotlib Axes or sequence of Axes, default=None
            One Axes per drawn layer; a new figure when ``None``.

        Returns
        -------
        self : InactiveUnitsDisplay
        """
        owner = "InactiveUnitsDisplay"
        check_value(owner, "analysis", self.analysis, [
            Satisfies(lambda value: isinstance(value, InactiveUnits),
                      "an InactiveUnits (from inactive_unit_analysis)"),
        ])  # fmt: skip
        names = _shown_layers(self.analysis, self.layers, owner)
        figure, axes = _axes_for(ax, len(names), owner, (7.0, 0.6 + 2.2 * len(names)))
        self.bars_, self.units_ = [], []
        for one, name in zip(axes, names, strict=True):
            layer = self.analysis.layers[name]
            order = np.argsort(-layer.unit_inactive_share, kind="stable")
            share = layer.unit_inactive_share[order]
            colors = np.where(share >= 1.0, "tab:red", "tab:blue")
            bars = one.bar(np.arange(len(order)), share, width=0.85, color=colors)
            if len(order) <= _LABELLED_UNITS:
                one.set_xticks(np.arange(len(order)), [str(unit) for unit in order])
                one.tick_params(axis="x", labelsize="x-small")
            else:
                one.set_xticks([])
            one.set_xlabel("units, most often inactive first", fontsize="small")
            one.set_ylabel("inactive share")
            one.set_ylim(0.0, 1.05)
            one.set_title(
                f"{name} — {layer.mean_inactive:.2f} ± {layer.std_inactive:.2f} inactive "
                f"of {layer.n_units} units",
                fontsize="medium",
            )
            self.bars_.append(bars)
            self.units_.append(order)
        if ax is None:
            figure.tight_layout()
        self.figure_, self.axes_ = figure, axes
        return self


class PrincipalFiltersDisplay:
    """How many units each layer needs: kept energy against units kept, and the counts.

    Create it with :meth:`from_analysis` (a :class:`~didi.introspection.PrincipalFilters`
    already computed) or :meth:`from_responses` (which runs
    :func:`~didi.introspection.principal_filter_analysis`). The left axes show, per
    layer, the share of the spectrum kept by the ``k`` largest eigenvalues against
    ``k`` as a share of the layer's units, with a circle at the energy
    recommendation and a square at the KL one; the right axes compare each layer's
    number of units with the two recommendations.

    Parameters
    ----------
    analysis : PrincipalFilters
        The analysis to draw.
    layers : str or list, default=None
        The layers to draw, in order; all when ``None``.

    Attributes
    ----------
    figure_ : matplotlib Figure
    ax_ : matplotlib Axes
        The kept-energy curves.
    counts_ax_ : matplotlib Axes
        The grouped bars of unit counts.
    lines_ : list of matplotlib Line2D
        One curve per drawn layer.
    markers_ : list of tuple of Line2D
        Per drawn layer, its energy and KL markers.
    bars_ : list of matplotlib BarContainer
        The layers' numbers of units, energy and KL recommendations (a bar per layer
        in each).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from didi.plotting import PrincipalFiltersDisplay
    >>> rng = np.random.default_rng(0)
    >>> responses = {"fc1": rng.normal(size=(200, 3)) @ rng.normal(size=(3, 10)),
    ...              "fc2": rng.normal(size=(200, 6))}
    >>> shown = PrincipalFiltersDisplay.from_responses(responses, energy=0.99)
    >>> len(shown.lines_), [int(bar.get_height()) for bar in shown.bars_[1]]
    (2, [3, 6])
    """

    def __init__(self, analysis: PrincipalFilters, *, layers: Any = None) -> None:
        self.analysis = analysis
        self.layers = layers

    @classmethod
    def from_analysis(
        cls, analysis: PrincipalFilters, *, layers: Any = None, ax: Any = None
    ) -> PrincipalFiltersDisplay:
        """Draw a :class:`~didi.introspection.PrincipalFilters` (computes nothing new).

        Parameters
        ----------
        analysis : PrincipalFilters
            The result of :func:`~didi.introspection.principal_filter_analysis`.
        layers : str or list, default=None
            The layers to draw, in order; all when ``None``.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw the curves and the counts; a new figure when ``None``.

        Returns
        -------
        PrincipalFiltersDisplay
        """
        return cls(analysis, layers=layers).plot(ax=ax)

    @classmethod
    def from_responses(
        cls, responses: Any, *, layers: Any = None, ax: Any = None, **analysis_options: Any
    ) -> PrincipalFiltersDisplay:
        """Run :func:`~didi.introspection.principal_filter_analysis` and draw it.

        Parameters
        ----------
        responses : dict of array-like, or array-like
            Layer name → responses of shape ``(n_samples, n_units, *positions)``.
        layers : str or list, default=None
            The layers to draw, in order; all when ``None``.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw the curves and the counts; a new figure when ``None``.
        **analysis_options
            ``energy``, ``epsilon_inactive``, ``n_pairs``, ``unit_axis``: passed to
            the analysis.

        Returns
        -------
        PrincipalFiltersDisplay
        """
        analysis = principal_filter_analysis(responses, **analysis_options)
        return cls.from_analysis(analysis, layers=layers, ax=ax)

    def _curve(self, ax: Any, name: Any, color: Any) -> None:
        layer = self.analysis.layers[name]
        n_units = layer.n_units
        start = 0.0 if layer.eigenvalues.sum() > 0 else 1.0
        kept = np.concatenate([[start], layer.cumulative_energy])
        x = np.arange(n_units + 1) / n_units
        (line,) = ax.plot(x, kept, color=color, label=f"{name} ({n_units} units)")
        marks = tuple(
            ax.plot(
                [count / n_units], [kept[count]], marker, color=color, markersize=7, clip_on=False
            )[0]
            for count, marker in ((layer.recommended_energy, "o"), (layer.recommended_kl, "s"))
        )
        self.lines_.append(line)
        self.markers_.append(marks)

    def _counts(self, ax: Any, names: list) -> None:
        layers = [self.analysis.layers[name] for name in names]
        x = np.arange(len(names))
        width = 0.27
        series = (
            ("units", [layer.n_units for layer in layers]),
            (
                f"recommended ({self.analysis.energy:.0%} energy)",
                [layer.recommended_energy for layer in layers],
            ),
            ("recommended (KL)", [layer.recommended_kl for layer in layers]),
        )
        self.bars_ = [
            ax.bar(x + (k - 1) * width, counts, width, label=label)
            for k, (label, counts) in enumerate(series)
        ]
        ax.set_xticks(x, [str(name) for name in names], rotation=30 if len(names) > 4 else 0)
        ax.set_ylabel("units")
        ax.set_title("units, and units recommended", fontsize="medium")
        ax.legend(fontsize="small")

    def plot(self, ax: Any = None) -> PrincipalFiltersDisplay:
        """Draw the kept-energy curves and the grouped counts.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes, default=None
            Where to draw the curves and the counts; a new figure when ``None``.

        Returns
        -------
        self : PrincipalFiltersDisplay
        """
        import matplotlib.pyplot as plt

        owner = "PrincipalFiltersDisplay"
        check_value(owner, "analysis", self.analysis, [
            Satisfies(lambda value: isinstance(value, PrincipalFilters),
                      "a PrincipalFilters (from principal_filter_analysis)"),
        ])  # fmt: skip
        names = _shown_layers(self.analysis, self.layers, owner)
        if ax is None:
            figure, pair = plt.subplots(1, 2, figsize=(11.0, 4.2))
            curve_ax, counts_ax = pair
        else:
            figure, (curve_ax, counts_ax) = _axes_for(ax, 2, owner, (11.0, 4.2))
        self.lines_: list[Any] = []
        self.markers_: list[tuple[Any, ...]] = []
        colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
        for k, name in enumerate(names):
            self._curve(curve_ax, name, colors[k % len(colors)])
        energy = self.analysis.energy
        curve_ax.axhline(energy, color="gray", linestyle="--", linewidth=0.8)
        curve_ax.plot([], [], "o", color="gray", label=f"{energy:.0%} energy")
        curve_ax.plot([], [], "s", color="gray", label="KL")
        curve_ax.set_xlim(0.0, 1.0)
        curve_ax.set_ylim(0.0, 1.02)
        curve_ax.set_xlabel("share of the layer's units kept")
        curve_ax.set_ylabel("kept energy")
        curve_ax.set_title("energy kept by the largest eigenvalues", fontsize="medium")
        curve_ax.legend(fontsize="small", loc="lower right")
        self._counts(counts_ax, names)
        if ax is None:
            figure.tight_layout()
        self.figure_, self.ax_, self.counts_ax_ = figure, curve_ax, counts_ax
        return self
