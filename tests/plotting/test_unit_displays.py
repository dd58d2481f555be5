"""The unit analyses drawn: bars of inactive shares, kept-energy curves and counts."""

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from didi.introspection import inactive_unit_analysis, principal_filter_analysis
from didi.plotting import InactiveUnitsDisplay, PrincipalFiltersDisplay

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def responses():
    rng = np.random.default_rng(0)
    fc = np.maximum(rng.normal(size=(120, 6)) - np.linspace(-1, 1, 6), 0.0)
    fc[:, 2] = 0.0
    conv = np.maximum(rng.normal(size=(120, 40, 2, 2)) - 1.0, 0.0)
    low_rank = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 9))
    return {"fc": fc, "conv": conv, "low rank": low_rank}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_inactive_bars_one_row_per_layer(responses):
    analysis = inactive_unit_analysis(responses)
    shown = InactiveUnitsDisplay.from_analysis(analysis)
    assert len(shown.axes_) == 3 and len(shown.figure_.axes) == 3
    for bars, ax, name in zip(shown.bars_, shown.axes_, responses, strict=True):
        layer = analysis.layers[name]
        heights = np.array([bar.get_height() for bar in bars])
        assert len(heights) == layer.n_units
        np.testing.assert_allclose(heights, np.sort(layer.unit_inactive_share)[::-1])
        assert ax.get_title() == (
            f"{name} — {layer.mean_inactive:.2f} ± {layer.std_inactive:.2f} inactive "
            f"of {layer.n_units} units"
        )
    # The dead unit leads its layer's bars, labelled with its index, in red.
    assert shown.units_[0][0] == 2
    assert shown.axes_[0].get_xticklabels()[0].get_text() == "2"
    assert shown.bars_[0][0].get_facecolor() != shown.bars_[0][1].get_facecolor()
    assert len(shown.axes_[1].get_xticks()) == 0  # 40 units: too many to label


def test_inactive_layers_and_given_axes(responses):
    figure, axes = plt.subplots(1, 2)
    shown = InactiveUnitsDisplay.from_responses(
        responses, layers=["low rank", "fc"], ax=axes, atol=0.5
    )
    assert shown.figure_ is figure and list(shown.axes_) == list(axes)
    assert [len(bars) for bars in shown.bars_] == [9, 6]
    assert shown.analysis.atol == 0.5
    single = InactiveUnitsDisplay.from_responses(responses["fc"], ax=axes[0])
    assert single.axes_ == [axes[0]]
    with pytest.raises(ValueError, match="ax must be 3 matplotlib Axes"):
        InactiveUnitsDisplay.from_responses(responses, ax=axes)
    with pytest.raises(ValueError, match="no layer 'missing'"):
        InactiveUnitsDisplay.from_responses(responses, layers="missing")
    with pytest.raises(ValueError, match="analysis must be an InactiveUnits"):
        InactiveUnitsDisplay.from_analysis(principal_filter_analysis(responses))


def test_principal_curves_markers_and_counts(responses):
    analysis = principal_filter_analysis(responses, energy=0.9)
    shown = PrincipalFiltersDisplay.from_analysis(analysis)
    assert len(shown.lines_) == 3 and len(shown.markers_) == 3
    for line, marks, name in zip(shown.lines_, shown.markers_, responses, strict=True):
        layer = analysis.layers[name]
        x, y = line.get_data()
        assert len(x) == layer.n_units + 1
        np.testing.assert_allclose(x, np.arange(layer.n_units + 1) / layer.n_units)
        np.testing.assert_allclose(y[1:], layer.cumulative_energy)
        energy_mark, kl_mark = marks
        assert energy_mark.get_xdata()[0] == layer.recommended_energy / layer.n_units
        assert kl_mark.get_xdata()[0] == layer.recommended_kl / layer.n_units
        assert energy_mark.get_ydata()[0] >= 0.9
    assert analysis.layers["low rank"].recommended_energy == 2
    assert len(shown.bars_) == 3 and all(len(bars) == 3 for bars in shown.bars_)
    units, by_energy, by_kl = ([bar.get_height() for bar in bars] for bars in shown.bars_)
    rows = analysis.rows()
    assert units == [row["units"] for row in rows]
    assert by_energy == [row["recommended (energy)"] for row in rows]
    assert by_kl == [row["recommended (KL)"] for row in rows]
    assert [t.get_text() for t in shown.counts_ax_.get_xticklabels()] == list(responses)


def test_principal_layers_and_given_axes(responses):
    figure, axes = plt.subplots(2, 1)
    shown = PrincipalFiltersDisplay.from_responses(responses, layers="fc", ax=axes, n_pairs=2)
    assert shown.figure_ is figure
    assert shown.ax_ is axes[0] and shown.counts_ax_ is axes[1]
    assert len(shown.lines_) == 1 and len(shown.bars_[0]) == 1
    with pytest.raises(ValueError, match="ax must be 2 matplotlib Axes"):
        PrincipalFiltersDisplay.from_responses(responses, ax=axes[0])
    with pytest.raises(ValueError, match="layers is empty"):
        PrincipalFiltersDisplay.from_responses(responses, layers=[])
