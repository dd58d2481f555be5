"""The units of a network's layers: which never respond, and how many are needed.

Two analyses of the responses a network's layers give to a set of samples, as
DNIKit has them: Inactive Unit Analysis (:func:`inactive_unit_analysis`: units that
stay at zero) and Principal Filter Analysis (:func:`principal_filter_analysis`: how
many units the responses' spectrum asks for, and which units repeat others). The
numerics are small numpy functions of one layer's responses; the two public
functions validate what they are given and return tables of their results.

A unit is a channel: a layer's responses have shape ``(n_samples, n_units,
*positions)``, the unit axis where ``unit_axis`` says (1 in PyTorch's layout, -1 for
channels-last), the positions (of a convolution's feature map, or a sequence) on the
other axes.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import Bunch

from .._validation import Constraint, Interval, Satisfies, check_value

#: The layer name a single array of responses is analysed under.
SINGLE_LAYER = "responses"

RESPONSES: list[Constraint] = [
    Satisfies(
        lambda value: isinstance(value, Mapping) and len(value) > 0,
        "a non-empty dict of layer name -> responses of shape (n_samples, n_units, ...)",
    ),
    Satisfies(
        lambda value: not isinstance(value, (Mapping, str)) and value is not None,
        "an array of shape (n_samples, n_units, ...)",
    ),
]


# ---------------------------------------------------------------------- input


def unit_view(values: np.ndarray, unit_axis: int) -> np.ndarray:
    """``values`` as ``(n_samples, n_units, n_positions)``: the unit axis second, the
    positions (every other axis after the samples') flattened last."""
    moved = np.moveaxis(values, unit_axis, 1)
    return moved.reshape(moved.shape[0], moved.shape[1], -1)


def _as_float(raw: Any, owner: str, name: Any) -> np.ndarray:
    try:
        return np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{owner}: the responses of layer {name!r} are not an array of numbers ({error})."
        ) from None


def layer_units(
    responses: Any, owner: str, unit_axis: int, min_samples: int
) -> dict[Any, np.ndarray]:
    """Each layer's validated responses as float64 ``(n_samples, n_units, n_positions)``."""
    check_value(owner, "responses", responses, RESPONSES)
    check_value(owner, "unit_axis", unit_axis, [Interval(Integral, None, None)])
    named = dict(responses) if isinstance(responses, Mapping) else {SINGLE_LAYER: responses}
    layers = {}
    for name, raw in named.items():
        values = _as_float(raw, owner, name)
        if values.ndim < 2:
            raise ValueError(
                f"{owner}: the responses of layer {name!r} have shape {values.shape}; "
                "expected (n_samples, n_units, ...)."
            )
        last = values.ndim - 1  # the sample axis (0) cannot be the units'
        check_value(owner, f"unit_axis for layer {name!r} of shape {values.shape}", unit_axis,
                    [Interval(Integral, 1, last), Interval(Integral, -last, -1)])  # fmt: skip
        if len(values) < min_samples:
            raise ValueError(
                f"{owner} needs at least {min_samples} samples; layer {name!r} has "
                f"responses to {len(values)}."
            )
        if values.size == 0:
            raise ValueError(f"{owner}: layer {name!r} has no units (shape {values.shape}).")
        if not np.isfinite(values).all():
            raise ValueError(f"{owner}: the responses of layer {name!r} contain NaN or infinity.")
        layers[name] = unit_view(values, int(unit_axis))
    return layers


# ---------------------------------------------------------------------- inactive units


def inactive_mask(units: np.ndarray, atol: float) -> np.ndarray:
    """``(n_samples, n_units)``: whether each unit is inactive on each sample, that is,
    all its values are within ``atol`` of 0 (``np.isclose(value, 0, atol=atol)``)."""
    return np.all(np.abs(units) <= atol, axis=2)


def inactive_layer(units: np.ndarray, atol: float) -> Bunch:
    """Inactive Unit Analysis of one layer's ``(n_samples, n_units, n_positions)``."""
    mask = inactive_mask(units, atol)
    per_sample = mask.sum(axis=1)
    per_unit = mask.sum(axis=0)
    n_samples = len(mask)
    return Bunch(
        n_samples=n_samples,
        n_units=mask.shape[1],
        inactive=mask,
        inactive_per_sample=per_sample,
        mean_inactive=float(per_sample.mean()),
        std_inactive=float(per_sample.std()),
        unit_inactive_count=per_unit,
        unit_inactive_share=per_unit / n_samples,
        dead_units=np.flatnonzero(per_unit == n_samples),
    )


# ---------------------------------------------------------------------- principal filters


def covariance_of(pooled: np.ndarray) -> np.ndarray:
    """The units' ``(n_units, n_units)`` covariance over the samples (``ddof=1``)."""
    return np.atleast_2d(np.cov(pooled, rowvar=False, ddof=1))


def spectrum(covariance: np.ndarray) -> np.ndarray:
    """The covariance's eigenvalues, clipped at 0 (rounding makes tiny ones negative),
    largest first."""
    return np.sort(np.clip(np.linalg.eigvalsh(covariance), 0.0, None))[::-1]


def low_variance_units(variances: np.ndarray, epsilon: float) -> np.ndarray:
    """Indices of the units whose variance is below ``epsilon`` times the largest, and
    of those that do not vary at all (which have no correlation with any other)."""
    return np.flatnonzero((variances <= 0) | (variances < epsilon * variances.max()))


def cumulative_energy(eigenvalues: np.ndarray) -> np.ndarray:
    """The share of the spectrum's sum the ``k`` largest eigenvalues hold, ``k = 1 … C``;
    all ones when the spectrum is zero (nothing varies: nothing is lost)."""
    running = np.cumsum(eigenvalues)
    # Divided by the running sum's own end, so that the last share is exactly 1.
    return running / running[-1] if running[-1] > 0 else np.ones(len(eigenvalues))


def energy_count(eigenvalues: np.ndarray, energy: float) -> tuple[int, float]:
    """The fewest units whose eigenvalues keep ``energy`` of the spectrum's sum, and the
    share they keep; ``(0, 1.0)`` for a zero spectrum."""
    if eigenvalues.sum() <= 0:
        return 0, 1.0
    shares = cumulative_energy(eigenvalues)
    count = min(int(np.searchsorted(shares, energy, side="left")) + 1, len(shares))
    return count, float(shares[count - 1])


def kl_count(eigenvalues: np.ndarray) -> tuple[int, float]:
    """DNIKit's KL recommendation and the divergence it rests on.

    ``p`` is the spectrum as a distribution (plus machine epsilon, then normalised);
    its divergence from the uniform one, ``KL = Σ p log(p·C)``, is 0 for a flat
    spectrum and at most ``log C`` for a single direction; ``ceil(C · (1 − KL / log C))``
    units are recommended (within ``[1, C]``). ``(0, nan)`` for a zero spectrum.
    """
    n_units = len(eigenvalues)
    total = eigenvalues.sum()
    if total <= 0:
        return 0, float("nan")
    p = eigenvalues / total + np.finfo(np.float64).eps
    p /= p.sum()
    divergence = max(float(np.sum(p * np.log(p * n_units))), 0.0)
    if n_units == 1:
        return 1, divergence
    ratio = 1.0 - divergence / np.log(n_units)
    return int(np.clip(np.ceil(n_units * ratio), 1, n_units)), divergence


def correlation_of(covariance: np.ndarray, inactive: np.ndarray) -> np.ndarray:
    """The units' correlation; NaN in the rows and columns of the inactive units."""
    n_units = len(covariance)
    active = np.setdiff1d(np.arange(n_units), inactive)
    corr = np.full((n_units, n_units), np.nan)
    std = np.sqrt(np.clip(np.diag(covariance)[active], 0.0, None))
    block = covariance[np.ix_(active, active)] / np.outer(std, std)
    corr[np.ix_(active, active)] = np.clip(block, -1.0, 1.0)
    return corr


def l1max_units(correlation: np.ndarray, inactive: np.ndarray, n_keep: int) -> np.ndarray:
    """DNIKit's L1Max selection: the units that repeat others, most redundant first.

    The inactive units come first. Then, while more than ``n_keep`` active units
    remain, the one whose absolute correlations with the other remaining units sum
    highest is taken (ties: the lower index). Only the inactive units when at most
    ``n_keep`` units are active.
    """
    chosen = [int(unit) for unit in inactive]
    n_active = len(correlation) - len(chosen)
    if n_active <= n_keep:
        return np.array(chosen, dtype=np.intp)
    magnitude = np.abs(correlation)
    np.fill_diagonal(magnitude, np.nan)
    magnitude[chosen, :] = np.nan
    magnitude[:, chosen] = np.nan
    for _ in range(n_active - n_keep):
        totals = np.nansum(magnitude, axis=0)
        totals[chosen] = -np.inf
        unit = int(np.argmax(totals))
        chosen.append(unit)
        magnitude[unit, :] = np.nan
        magnitude[:, unit] = np.nan
    return np.array(chosen, dtype=np.intp)


def top_pairs(correlation: np.ndarray, n_pairs: int) -> list[tuple[int, int, float]]:
    """The ``n_pairs`` pairs of active units ``(i, j, |corr|)``, ``i < j``, most
    correlated first (ties by ``i``, then ``j``)."""
    rows, cols = np.triu_indices(len(correlation), k=1)
    magnitude = np.abs(correlation[rows, cols])
    keep = ~np.isnan(magnitude)
    rows, cols, magnitude = rows[keep], cols[keep], magnitude[keep]
    order = np.lexsort((cols, rows, -magnitude))[:n_pairs]
    return [(int(rows[k]), int(cols[k]), float(magnitude[k])) for k in order]


def principal_layer(
    units: np.ndarray, energy: float, epsilon_inactive: float, n_pairs: int
) -> Bunch:
    """Principal Filter Analysis of one layer's ``(n_samples, n_units, n_positions)``."""
    # A feature map is one unit: its positions are averaged (global average pooling).
    pooled = units.mean(axis=2)
    covariance = covariance_of(pooled)
    variances = np.clip(np.diag(covariance), 0.0, None)
    eigenvalues = spectrum(covariance)
    inactive = low_variance_units(variances, epsilon_inactive)
    by_energy, kept = energy_count(eigenvalues, energy)
    by_kl, divergence = kl_count(eigenvalues)
    correlation = correlation_of(covariance, inactive)
    return Bunch(
        n_samples=len(pooled),
        n_units=pooled.shape[1],
        covariance=covariance,
        variances=variances,
        eigenvalues=eigenvalues,
        cumulative_energy=cumulative_energy(eigenvalues),
        inactive_units=inactive,
        recommended_energy=by_energy,
        kept_energy=kept,
        recommended_kl=by_kl,
        kl_divergence=divergence,
        correlation=correlation,
        correlated_units=l1max_units(correlation, inactive, by_kl),
        correlated_pairs=top_pairs(correlation, n_pairs),
    )


# ---------------------------------------------------------------------- results


class _UnitTable:
    """Per-layer results and their table, as plain rows or a pandas DataFrame."""

    #: The table's columns, in order.
    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, layers: dict[Any, Bunch]) -> None:
        self.layers = layers

    def _row(self, name: Any, layer: Bunch) -> dict[str, Any]:
        raise NotImplementedError

    def rows(self) -> list[dict[str, Any]]:
        """The table: one dict per layer, keyed by :attr:`columns`.

        Returns
        -------
        list of dict
        """
        return [self._row(name, layer) for name, layer in self.layers.items()]

    def as_frame(self) -> Any:
        """The table as a :class:`pandas.DataFrame`, one row per layer (needs pandas).

        Returns
        -------
        pandas.DataFrame
        """
        try:
            import pandas as pd
        except ImportError as error:
            raise ImportError(
                f"{type(self).__name__}.as_frame needs pandas: pip install pandas "
                "(rows() gives the same table as plain dicts)."
            ) from error
        return pd.DataFrame(self.rows(), columns=list(self.columns))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(layers={list(self.layers)!r})"


class InactiveUnits(_UnitTable):
    """The result of :func:`inactive_unit_analysis`: per layer, which units stay at 0.

    Attributes
    ----------
    layers : dict of Bunch
        Per layer name: ``n_samples``, ``n_units``; ``inactive``, a boolean
        ``(n_samples, n_units)`` array (which unit is inactive on which sample);
        ``inactive_per_sample`` (how many units each sample leaves inactive) and its
        ``mean_inactive`` and ``std_inactive`` (``ddof=0``); ``unit_inactive_count``
        and ``unit_inactive_share`` (on how many samples, and on what share of them,
        each unit is inactive); ``dead_units``, the indices of the units inactive on
        every sample.
    atol : float
        The tolerance the analysis used.
    unit_axis : int
        The axis of the units in the analysed responses.
    columns : tuple of str
        The table's columns: ``layer``, ``units``, ``mean inactive``, ``std
        inactive``, ``dead units`` (their number).

    Examples
    --------
    >>> import numpy as np
    >>> from didi.introspection import inactive_unit_analysis
    >>> relu = np.maximum(np.random.default_rng(0).normal(size=(200, 6)), 0.0)
    >>> relu[:, 4] = 0.0
    >>> iua = inactive_unit_analysis({"fc1": relu})
    >>> iua.layers["fc1"].dead_units
    array([4])
    >>> iua.rows()[0]["dead units"], iua.rows()[0]["units"]
    (1, 6)
    """

    columns: ClassVar[tuple[str, ...]] = (
        "layer", "units", "mean inactive", "std inactive", "dead units",
    )  # fmt: skip

    def __init__(self, layers: dict[Any, Bunch], *, atol: float, unit_axis: int) -> None:
        super().__init__(layers)
        self.atol = atol
        self.unit_axis = unit_axis

    def _row(self, name: Any, layer: Bunch) -> dict[str, Any]:
        return {
            "layer": name,
            "units": int(layer.n_units),
            "mean inactive": layer.mean_inactive,
            "std inactive": layer.std_inactive,
            "dead units": len(layer.dead_units),
        }


class PrincipalFilters(_UnitTable):
    """The result of :func:`principal_filter_analysis`: per layer, how many units the
    responses need, and which units repeat others.

    Attributes
    ----------
    layers : dict of Bunch
        Per layer name: ``n_samples``, ``n_units``; the units' ``covariance``,
        ``variances`` and ``correlation`` (NaN in the rows and columns of inactive
        units); ``eigenvalues`` of the covariance (largest first) and
        ``cumulative_energy``, the share of their sum the ``k`` largest hold
        (``k = 1 … n_units``); ``inactive_units`` (indices); ``recommended_energy``
        and the share ``kept_energy`` it keeps; ``recommended_kl`` and the
        ``kl_divergence`` it rests on; ``correlated_units``, the units to remove to
        reach ``recommended_kl`` active units (the inactive ones first, then DNIKit's
        L1Max choice, most redundant first); ``correlated_pairs``, a list of
        ``(i, j, |correlation|)`` of the most correlated active units.
    energy : float
        The share of the spectrum ``recommended_energy`` keeps at least.
    epsilon_inactive : float
        Units whose variance is below this times the layer's largest (or 0) are
        inactive.
    n_pairs : int
        The length of ``correlated_pairs``, at most.
    unit_axis : int
        The axis of the units in the analysed responses.
    columns : tuple of str
        The table's columns: ``layer``, ``units``, ``inactive units`` (their
        number), ``recommended (energy)``, ``kept energy``, ``recommended (KL)``,
        ``KL divergence``.

    Examples
    --------
    >>> import numpy as np
    >>> from didi.introspection import principal_filter_analysis
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(500, 2))
    >>> copies = np.hstack([signal, signal + 0.01 * rng.normal(size=(500, 2))])
    >>> pfa = principal_filter_analysis({"fc": copies})
    >>> pfa.layers["fc"].recommended_energy
    2
    >>> sorted((i, j) for i, j, _ in pfa.layers["fc"].correlated_pairs[:2])
    [(0, 2), (1, 3)]
    """

    columns: ClassVar[tuple[str, ...]] = (
        "layer", "units", "inactive units", "recommended (energy)", "kept energy",
        "recommended (KL)", "KL divergence",
    )  # fmt: skip

    def __init__(
        self,
        layers: dict[Any, Bunch],
        *,
        energy: float,
        epsilon_inactive: float,
        n_pairs: int,
        unit_axis: int,
    ) -> None:
        super().__init__(layers)
        self.energy = energy
        self.epsilon_inactive = epsilon_inactive
        self.n_pairs = n_pairs
        self.unit_axis = unit_axis

    def _row(self, name: Any, layer: Bunch) -> dict[str, Any]:
        return {
            "layer": name,
            "units": int(layer.n_units),
            "inactive units": len(layer.inactive_units),
            "recommended (energy)": layer.recommended_energy,
            "kept energy": layer.kept_energy,
            "recommended (KL)": layer.recommended_kl,
            "KL divergence": layer.kl_divergence,
        }


# ---------------------------------------------------------------------- analyses


def inactive_unit_analysis(
    responses: Any, *, atol: float = 1e-8, unit_axis: int = 1
) -> InactiveUnits:
    r"""Inactive Unit Analysis: which units of each layer stay at zero, and how often.

    A unit is inactive on a sample when its response is 0 up to ``atol``
    (``np.isclose(response, 0, atol=atol)``). A unit is a channel: for a layer whose
    responses have positions (a convolution's feature map), the channel is inactive
    when *all* its positions are; for ``(n_samples, n_units)`` responses this is
    DNIKit's definition, and for feature maps it is DNIKit's on the spatially
    max-pooled absolute responses. Per layer it gives how many units each sample
    leaves inactive (their mean and standard deviation over the samples), how often
    each unit is inactive, and the *dead* units, inactive on every sample: after a
    ReLU, units that never fire on the data and add nothing to the network's
    decisions.

    Parameters
    ----------
    responses : dict of array-like, or array-like
        Layer name → responses of shape ``(n_samples, n_units, *positions)`` (e.g.
        from :meth:`didi.torch.TorchClassifier.unit_responses`); a single array is
        analysed as the layer ``"responses"``.
    atol : float, default=1e-8
        How close to 0 an inactive response is.
    unit_axis : int, default=1
        The axis of the units: 1 in PyTorch's channels-first layout, -1 for
        channels-last.

    Returns
    -------
    InactiveUnits
        Per-layer results in ``layers``, the table in ``rows()`` and ``as_frame()``.

    See Also
    --------
    principal_filter_analysis : How many units the responses need.
    didi.plotting.InactiveUnitsDisplay : The units' inactive shares as bars.

    Examples
    --------
    >>> import numpy as np
    >>> from didi.introspection import inactive_unit_analysis
    >>> rng = np.random.default_rng(0)
    >>> maps = np.maximum(rng.normal(size=(50, 4, 3, 3)), 0.0)  # 4 channels of 3×3
    >>> maps[:, 2] = 0.0  # a channel that never fires
    >>> iua = inactive_unit_analysis({"conv1": maps})
    >>> iua.layers["conv1"].dead_units, iua.layers["conv1"].mean_inactive
    (array([2]), 1.0)
    """
    owner = "inactive_unit_analysis"
    check_value(owner, "atol", atol, [Interval(Real, 0, None)])
    layers = layer_units(responses, owner, unit_axis, min_samples=1)
    return InactiveUnits(
        {name: inactive_layer(units, float(atol)) for name, units in layers.items()},
        atol=atol,
        unit_axis=unit_axis,
    )


def principal_filter_analysis(
    responses: Any,
    *,
    energy: float = 0.95,
    epsilon_inactive: float = 1e-8,
    n_pairs: int = 10,
    unit_axis: int = 1,
) -> PrincipalFilters:
    r"""Principal Filter Analysis: how many units each layer's responses need.

    Per layer, the units' covariance over the samples (``ddof=1``) and its
    eigenvalues (clipped at 0, largest first). A layer whose responses span fewer
    directions than it has units could do with fewer; two recommendations, as in
    DNIKit:

    * *energy*: the fewest eigenvalues whose sum keeps ``energy`` of the total;
    * *KL*: ``ceil(C · (1 − KL / log C))`` for ``C`` units, with ``KL`` the
      divergence of the normalised spectrum (plus machine epsilon) from the uniform
      one: all units for a flat spectrum, one for a single direction.

    Units whose variance is below ``epsilon_inactive`` times the layer's largest, or
    0, are inactive. ``correlated_units`` names the units to remove to reach the KL
    recommendation: the inactive ones, then DNIKit's default L1Max choice (repeatedly
    the active unit whose absolute correlations with the remaining units sum
    highest); ``correlated_pairs`` lists the most correlated pairs of active units.

    Responses with positions (a convolution's feature maps) are averaged over them
    first (global average pooling), one value per unit and sample; DNIKit takes
    ``(n_samples, n_units)`` responses only and leaves the pooling to its user. A
    layer whose responses do not vary at all has every unit inactive, and both
    recommendations are 0.

    Parameters
    ----------
    responses : dict of array-like, or array-like
        Layer name → responses of shape ``(n_samples, n_units, *positions)``, at
        least 2 samples; a single array is analysed as the layer ``"responses"``.
    energy : float, default=0.95
        The share of the spectrum the energy recommendation keeps, in ``(0, 1]``.
    epsilon_inactive : float, default=1e-8
        Relative variance below which a unit is inactive.
    n_pairs : int, default=10
        How many of the most correlated pairs of units to list.
    unit_axis : int, default=1
        The axis of the units: 1 in PyTorch's channels-first layout, -1 for
        channels-last.

    Returns
    -------
    PrincipalFilters
        Per-layer results in ``layers``, the table in ``rows()`` and ``as_frame()``.

    See Also
    --------
    inactive_unit_analysis : Units that stay at zero.
    didi.plotting.PrincipalFiltersDisplay : The kept energy against the units kept.

    Examples
    --------
    >>> import numpy as np
    >>> from didi.introspection import principal_filter_analysis
    >>> rng = np.random.default_rng(0)
    >>> three = rng.normal(size=(300, 3)) * [3.0, 2.0, 1.0]
    >>> responses = three @ rng.normal(size=(3, 8))  # 8 units spanning 3 directions
    >>> pfa = principal_filter_analysis({"fc": responses}, energy=0.999)
    >>> pfa.layers["fc"].recommended_energy
    3
    >>> row = pfa.rows()[0]
    >>> row["units"], row["recommended (KL)"] <= 8
    (8, True)
    """
    owner = "principal_filter_analysis"
    check_value(owner, "energy", energy, [Interval(Real, 0, 1, closed="right")])
    check_value(owner, "epsilon_inactive", epsilon_inactive, [Interval(Real, 0, None)])
    check_value(owner, "n_pairs", n_pairs, [Interval(Integral, 0, None)])
    layers = layer_units(responses, owner, unit_axis, min_samples=2)
    analysed = {
        name: principal_layer(units, float(energy), float(epsilon_inactive), int(n_pairs))
        for name, units in layers.items()
    }
    return PrincipalFilters(
        analysed,
        energy=energy,
        epsilon_inactive=epsilon_inactive,
        n_pairs=n_pairs,
        unit_axis=unit_axis,
    )
