"""Inactive Unit Analysis and Principal Filter Analysis against direct computations."""

import math
import sys

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from didi._validation import InvalidParameterError
from didi.introspection import (
    InactiveUnits,
    PrincipalFilters,
    inactive_unit_analysis,
    principal_filter_analysis,
)
from didi.introspection._units import energy_count, kl_count


def relu_responses(n_samples=300, n_units=8, dead=(), seed=0):
    rng = np.random.default_rng(seed)
    values = np.maximum(rng.normal(size=(n_samples, n_units)), 0.0)
    values[:, list(dead)] = 0.0
    return values


def orthonormal_columns(n_samples, n_columns, seed=0):
    """Centred columns with unit norm, exactly orthogonal: their sample covariance is
    diagonal, so a spectrum built from them is known."""
    rng = np.random.default_rng(seed)
    block = rng.normal(size=(n_samples, n_columns))
    block -= block.mean(axis=0)
    return np.linalg.qr(block)[0]


def with_variances(variances, n_samples=500, seed=0):
    """Responses whose covariance has exactly ``variances`` as eigenvalues, mixed by a
    random rotation so that the units themselves are correlated."""
    columns = orthonormal_columns(n_samples, len(variances), seed)
    independent = columns * np.sqrt((n_samples - 1) * np.asarray(variances))
    rotation = np.linalg.qr(np.random.default_rng(seed + 1).normal(size=(len(variances),) * 2))[0]
    return independent @ rotation


# ---------------------------------------------------------------------- inactive units


def test_planted_dead_units_and_the_per_sample_counts():
    values = relu_responses(dead=(1, 4))
    layer = inactive_unit_analysis({"fc": values}).layers["fc"]
    per_sample = np.array([sum(abs(v) <= 1e-8 for v in row) for row in values])
    np.testing.assert_array_equal(layer.dead_units, [1, 4])
    np.testing.assert_array_equal(layer.inactive_per_sample, per_sample)
    assert layer.mean_inactive == pytest.approx(per_sample.mean())
    assert layer.std_inactive == pytest.approx(np.std(per_sample))
    per_unit = (values == 0).sum(axis=0)
    np.testing.assert_array_equal(layer.unit_inactive_count, per_unit)
    np.testing.assert_allclose(layer.unit_inactive_share, per_unit / len(values))
    assert layer.unit_inactive_share[1] == layer.unit_inactive_share[4] == 1.0
    # A ReLU of a standard normal is zero about half the time.
    assert 0.4 < layer.unit_inactive_share[0] < 0.6


def test_a_channel_is_inactive_when_all_its_positions_are():
    rng = np.random.default_rng(1)
    maps = np.maximum(rng.normal(size=(40, 3, 4, 4)), 0.0)
    maps[:, 0] = 0.0  # dead
    maps[:, 2] = 0.0
    maps[::2, 2, 3, 1] = 5.0  # one position fires on every other sample
    layer = inactive_unit_analysis({"conv": maps}).layers["conv"]
    np.testing.assert_array_equal(layer.dead_units, [0])
    assert layer.unit_inactive_count[2] == 20
    # DNIKit's definition on the spatially max-pooled |responses| gives the same.
    pooled = np.abs(maps).max(axis=(2, 3))
    np.testing.assert_array_equal(layer.inactive, np.isclose(pooled, 0, atol=1e-8))


def test_channels_last_and_the_tolerance():
    maps = np.maximum(np.random.default_rng(2).normal(size=(30, 5, 2, 2)), 0.0)
    maps[:, 3] = 1e-9  # within the default tolerance, not within atol=0
    first = inactive_unit_analysis(maps)
    last = inactive_unit_analysis(np.moveaxis(maps, 1, -1), unit_axis=-1)
    assert list(first.layers) == ["responses"]
    np.testing.assert_array_equal(
        first.layers["responses"].inactive, last.layers["responses"].inactive
    )
    np.testing.assert_array_equal(first.layers["responses"].dead_units, [3])
    assert 3 not in inactive_unit_analysis(maps, atol=0.0).layers["responses"].dead_units


def test_inactive_rows_and_frame():
    analysis = inactive_unit_analysis(
        {"a": relu_responses(dead=(2,)), "b": relu_responses(n_units=3)}
    )
    assert isinstance(analysis, InactiveUnits)
    rows = analysis.rows()
    assert [list(row) for row in rows] == [list(InactiveUnits.columns)] * 2
    assert rows[0]["layer"] == "a" and rows[0]["units"] == 8 and rows[0]["dead units"] == 1
    assert rows[1]["dead units"] == 0
    assert rows[0]["mean inactive"] == analysis.layers["a"].mean_inactive
    frame = analysis.as_frame()
    assert list(frame.columns) == list(InactiveUnits.columns)
    assert frame.to_dict("records") == rows


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 6),
    st.integers(0, 2**31 - 1),
)
def test_mean_inactive_is_the_mean_of_a_sample_by_sample_loop(n_samples, n_units, seed):
    rng = np.random.default_rng(seed)
    maps = rng.integers(-1, 2, size=(n_samples, n_units, 2)).astype(float)  # many zeros
    layer = inactive_unit_analysis(maps).layers["responses"]
    counts = []
    for sample in maps:
        counts.append(sum(all(value == 0 for value in unit) for unit in sample))
    assert layer.mean_inactive == pytest.approx(np.mean(counts))
    assert layer.std_inactive == pytest.approx(np.std(counts))
    assert np.all((layer.unit_inactive_share >= 0) & (layer.unit_inactive_share <= 1))
    assert set(layer.dead_units) == {u for u in range(n_units) if np.all(maps[:, u] == 0)}


# ---------------------------------------------------------------------- principal filters


def test_a_known_spectrum_gives_the_energy_and_kl_counts():
    variances = [5.0, 3.0, 1.0, 0.5, 0.5]
    responses = with_variances(variances)
    layer = principal_filter_analysis({"fc": responses}, energy=0.75).layers["fc"]
    np.testing.assert_allclose(layer.covariance, np.cov(responses, rowvar=False), atol=1e-12)
    np.testing.assert_allclose(layer.eigenvalues, variances, atol=1e-10)
    np.testing.assert_allclose(layer.cumulative_energy, [0.5, 0.8, 0.9, 0.95, 1.0], atol=1e-10)
    # 5 + 3 of 10 is the first share of at least 0.75.
    assert layer.recommended_energy == 2
    assert layer.kept_energy == pytest.approx(0.8)
    assert (
        principal_filter_analysis(responses, energy=0.85).layers["responses"].recommended_energy
        == 3
    )
    assert (
        principal_filter_analysis(responses, energy=1.0).layers["responses"].recommended_energy == 5
    )
    # KL by hand: the spectrum as a distribution against the uniform one.
    p = np.array(variances) / 10 + np.finfo(float).eps
    kl = scipy.stats.entropy(p, np.full(5, 0.2))
    assert layer.kl_divergence == pytest.approx(kl)
    assert layer.recommended_kl == math.ceil(5 * (1 - kl / np.log(5)))
    assert len(layer.inactive_units) == 0


def test_kl_count_of_flat_and_single_direction_spectra():
    assert kl_count(np.ones(7)) == (7, pytest.approx(0.0, abs=1e-12))
    count, divergence = kl_count(np.array([4.0, 0, 0, 0]))
    assert count == 1
    assert divergence == pytest.approx(np.log(4), rel=1e-6)
    assert kl_count(np.array([2.0])) == (1, 0.0)


def test_inactive_units_by_variance_come_first_among_the_correlated():
    rng = np.random.default_rng(3)
    responses = rng.normal(size=(200, 5))
    responses[:, 1] = 7.0  # constant
    responses[:, 3] = 1e-6 * rng.normal(size=200)  # variance 1e-12 of the largest's ~1
    layer = principal_filter_analysis(responses).layers["responses"]
    np.testing.assert_array_equal(layer.inactive_units, [1, 3])
    np.testing.assert_allclose(layer.variances, np.var(responses, axis=0, ddof=1), rtol=1e-12)
    assert list(layer.correlated_units[:2]) == [1, 3]
    assert np.isnan(layer.correlation[1]).all() and np.isnan(layer.correlation[:, 3]).all()
    assert (
        principal_filter_analysis(responses, epsilon_inactive=0.0).rows()[0]["inactive units"] == 1
    )


def test_duplicated_units_are_the_ones_found_correlated():
    q = orthonormal_columns(400, 6, seed=4)
    # Units 3, 4, 5 repeat units 0, 1, 2 with a little independent noise.
    responses = np.column_stack(
        [q[:, 0], q[:, 1], q[:, 2], q[:, 0] + 0.01 * q[:, 3], q[:, 1] + 0.03 * q[:, 4],
         q[:, 2] + 0.05 * q[:, 5]]
    )  # fmt: skip
    layer = principal_filter_analysis(responses, n_pairs=4).layers["responses"]
    assert layer.recommended_kl == 4
    removed = list(layer.correlated_units)
    assert len(removed) == 2
    assert removed[0] in (0, 3) and removed[1] in (1, 4)
    pairs = [(i, j) for i, j, _ in layer.correlated_pairs]
    assert pairs[:3] == [(0, 3), (1, 4), (2, 5)]
    assert layer.correlated_pairs[0][2] == pytest.approx(1 / np.sqrt(1 + 0.01**2))


def l1max_by_hand(responses, inactive, n_keep):
    corr = np.abs(np.corrcoef(responses, rowvar=False))
    removed = [int(u) for u in inactive]
    active = [u for u in range(responses.shape[1]) if u not in removed]
    while len(active) > n_keep:
        totals = [sum(corr[u, v] for v in active if v != u) for u in active]
        pick = active[int(np.argmax(totals))]
        removed.append(pick)
        active.remove(pick)
    return removed


def test_l1max_and_pairs_against_a_direct_loop():
    rng = np.random.default_rng(5)
    responses = rng.normal(size=(150, 4)) @ rng.normal(size=(4, 12)) + 0.3 * rng.normal(
        size=(150, 12)
    )
    layer = principal_filter_analysis({"fc": responses}, n_pairs=7).layers["fc"]
    assert layer.recommended_kl < 12
    expected = l1max_by_hand(responses, [], layer.recommended_kl)
    assert list(layer.correlated_units) == expected
    corr = np.abs(np.corrcoef(responses, rowvar=False))
    everything = sorted(
        ((corr[i, j], i, j) for i in range(12) for j in range(i + 1, 12)), key=lambda t: -t[0]
    )
    assert [(i, j) for _, i, j in everything[:7]] == [(i, j) for i, j, _ in layer.correlated_pairs]
    np.testing.assert_allclose(
        [c for c, _, _ in everything[:7]], [c for _, _, c in layer.correlated_pairs]
    )


def test_feature_maps_are_averaged_over_their_positions():
    maps = np.random.default_rng(6).normal(size=(60, 4, 3, 3))
    maps[:, 1] += maps[:, 0]
    of_maps = principal_filter_analysis({"conv": maps}).layers["conv"]
    of_means = principal_filter_analysis({"conv": maps.mean(axis=(2, 3))}).layers["conv"]
    for key in ("eigenvalues", "covariance", "correlated_units"):
        np.testing.assert_allclose(of_maps[key], of_means[key])
    assert of_maps.recommended_kl == of_means.recommended_kl


def test_a_layer_that_never_varies():
    layer = principal_filter_analysis(np.ones((10, 3))).layers["responses"]
    np.testing.assert_array_equal(layer.inactive_units, [0, 1, 2])
    assert layer.recommended_energy == 0 and layer.recommended_kl == 0
    np.testing.assert_array_equal(layer.correlated_units, [0, 1, 2])
    assert layer.correlated_pairs == []


def test_principal_rows_and_frame():
    analysis = principal_filter_analysis(
        {"a": with_variances([4.0, 1.0]), "b": with_variances([1.0] * 3)}
    )
    assert isinstance(analysis, PrincipalFilters)
    rows = analysis.rows()
    assert list(rows[0]) == list(PrincipalFilters.columns)
    assert rows[1]["units"] == 3 and rows[1]["recommended (KL)"] == 3
    assert rows[1]["recommended (energy)"] == 3
    frame = analysis.as_frame()
    assert frame["layer"].tolist() == ["a", "b"]
    assert frame.to_dict("records") == rows


def test_as_frame_without_pandas(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        inactive_unit_analysis(relu_responses()).as_frame()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 100), min_size=1, max_size=12).filter(lambda v: sum(v) > 1e-6),
    st.floats(0.01, 1.0),
    st.floats(0.01, 1.0),
)
def test_the_energy_count_grows_with_the_energy(values, first, second):
    eigenvalues = np.sort(np.array(values))[::-1]
    low, high = sorted((first, second))
    count_low, kept_low = energy_count(eigenvalues, low)
    count_high, _ = energy_count(eigenvalues, high)
    assert 1 <= count_low <= count_high <= len(eigenvalues)
    assert kept_low >= low - 1e-12 or count_low == len(eigenvalues)
    # The fewest: one unit less keeps less than asked.
    if count_low > 1:
        assert eigenvalues[: count_low - 1].sum() / eigenvalues.sum() < low


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: inactive_unit_analysis({}), "non-empty dict"),
        (lambda: principal_filter_analysis(np.ones((1, 4))), "at least 2 samples"),
        (lambda: inactive_unit_analysis({"fc": [[0.0, np.nan]]}), "NaN or infinity"),
        (lambda: inactive_unit_analysis(np.ones((3, 4)), unit_axis=2), "unit_axis for layer"),
        (lambda: inactive_unit_analysis(np.ones((3, 4, 2)), unit_axis=0), "unit_axis"),
        (lambda: inactive_unit_analysis(np.ones((3, 4)), unit_axis=1.0), "unit_axis"),
        (lambda: inactive_unit_analysis(np.ones(4)), "expected \\(n_samples, n_units"),
        (lambda: inactive_unit_analysis({"fc": [["a", "b"]]}), "not an array of numbers"),
        (lambda: inactive_unit_analysis(np.ones((3, 0))), "no units"),
        (lambda: inactive_unit_analysis(np.ones((3, 4)), atol=-1.0), "atol"),
        (lambda: principal_filter_analysis(np.ones((3, 4)), energy=0.0), "energy"),
        (lambda: principal_filter_analysis(np.ones((3, 4)), energy=1.5), "energy"),
        (lambda: principal_filter_analysis(np.ones((3, 4)), n_pairs=-1), "n_pairs"),
        (lambda: principal_filter_analysis(np.ones((3, 4)), epsilon_inactive=np.inf), "epsilon"),
    ],
)
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_parameter_errors_are_the_suites_own():
    with pytest.raises(InvalidParameterError, match="inactive_unit_analysis: unit_axis"):
        inactive_unit_analysis(np.ones((3, 4)), unit_axis=-2)
