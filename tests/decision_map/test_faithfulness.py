"""The literature's measures of a map: pure functions against formulas and known geometry."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didi.decision_map._faithfulness import (
    boundary_distance_bisection,
    data_radius,
    gradient_summary,
    inverse_gradient,
    round_trip_labels,
    round_trip_summary,
    round_trips,
)


def smooth_inverse(points):
    """A known smooth π⁻¹ from 2-D to 3-D."""
    x, y = points[:, 0], points[:, 1]
    return np.c_[np.sin(x), np.cos(2 * y), x * y]


def analytic_gradient(grid_x, grid_y, radius):
    """Frobenius norm of the Jacobian of ``smooth_inverse`` per map width, over the radius."""
    x, y = np.meshgrid(grid_x, grid_y)
    width_x, width_y = grid_x[-1] - grid_x[0], grid_y[-1] - grid_y[0]
    d_x = np.stack([np.cos(x), np.zeros_like(x), y], axis=-1) * width_x
    d_y = np.stack([np.zeros_like(y), -2 * np.sin(2 * y), x], axis=-1) * width_y
    return np.sqrt((d_x**2).sum(-1) + (d_y**2).sum(-1)) / radius


def test_gradient_matches_the_analytic_jacobian_everywhere_including_the_border():
    # 100 columns and 97 rows: several blocks of rows, and a non-square grid.
    grid_x, grid_y = np.linspace(-1, 1.5, 100), np.linspace(0, 2, 97)
    found = inverse_gradient(smooth_inverse, grid_x, grid_y, radius=2.0)
    expected = analytic_gradient(grid_x, grid_y, 2.0)
    assert found.shape == (97, 100)
    # Central differences are second-order accurate: at this spacing within 0.1 %.
    np.testing.assert_allclose(found, expected, rtol=1e-3)


def test_gradient_of_a_linear_inverse_is_its_norm_and_independent_of_resolution():
    matrix = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 3.0]])

    def linear(points):
        return points @ matrix

    for resolution in (5, 40):
        grid = np.linspace(0, 4, resolution)
        found = inverse_gradient(linear, grid, grid, radius=1.0)
        # ∂π⁻¹/∂u = 4 · row 0 of the matrix, ∂π⁻¹/∂v = 4 · row 1: the map is 4 wide.
        np.testing.assert_allclose(found, 4 * np.linalg.norm(matrix))


def test_data_radius_is_the_rms_distance_from_the_mean():
    X = np.random.default_rng(0).normal(3.0, 2.0, size=(9000, 4)).astype(np.float32)
    expected = np.sqrt(np.mean(np.sum((X - X.mean(axis=0)) ** 2, axis=1)))
    assert data_radius(X) == pytest.approx(expected, rel=1e-6)
    assert data_radius(np.ones((5, 3))) == 1.0


def test_gradient_summary():
    gradient = np.array([[1.0, 20.0], [3.0, 12.0]])
    assert gradient_summary(gradient) == {"gradient": 9.0, "gradient_steep": 0.5}


def test_round_trip_labels():
    labels, back, true = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), np.array([0, 0, 2, 2])
    assert round_trip_labels(labels, back, true) == {"acc_m": 0.75, "cons_d": 0.75}
    assert np.isnan(round_trip_labels(labels, back, None)["acc_m"])


@settings(max_examples=40, deadline=None)
@given(
    starts=st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=30),
    shift=st.floats(0.05, 1.0),
    max_trips=st.integers(1, 10),
)
def test_round_trips_count_trips_before_the_label_changes(starts, shift, max_trips):
    # π⁻¹ is the identity, π shifts right by `shift`, the label is the sign of x.
    positions = np.c_[starts, np.zeros(len(starts))]
    calls = []

    def place(samples):
        calls.append(len(samples))
        return samples + np.array([shift, 0.0])

    def predict(samples):
        return (samples[:, 0] > 0).astype(int)

    labels = predict(positions)
    found = round_trips(
        positions, labels, inverse=lambda z: z, place=place, predict=predict, max_trips=max_trips
    )
    # Independently: the trips before x + shift + shift + … first crosses 0 (never,
    # from x > 0), added one trip at a time as the placements add it: x + k·shift
    # rounds differently (-2 + 6·(1/3) lands above 0, six additions do not).
    expected = []
    for x in starts:
        k, position = 0, x
        while k < max_trips and ((position + shift > 0) == (x > 0)):
            position += shift
            k += 1
        expected.append(k)
    np.testing.assert_array_equal(found, expected)
    # Only cells whose label held are carried into the next trip.
    assert calls == [int(np.sum(np.array(expected) >= k)) for k in range(len(calls))]
    assert round_trip_summary(found)["cons_p"] == np.mean(np.array(expected) > 0)


def test_bisection_finds_a_linear_boundary_from_above():
    # Label 1 where w·x > 1: a sample at the origin is 1/‖w‖ from the boundary.
    w = np.array([3.0, 4.0])

    def predict(points):
        return (points @ w > 1).astype(int)

    sample = np.zeros((1, 2))
    normal = w / np.linalg.norm(w)
    oblique = np.array([1.0, 0.0])  # crosses at x = 1/3, farther than 1/5
    targets = np.stack([2 * oblique, 2 * normal])[None]
    found = boundary_distance_bisection(sample, np.array([0]), targets, predict=predict)
    exact = 1 / np.linalg.norm(w)
    assert exact <= found[0] <= exact + 2 * 2**-10
    only_oblique = boundary_distance_bisection(
        sample, np.array([0]), targets[:, :1], predict=predict, n_bisections=20
    )
    assert only_oblique[0] == pytest.approx(1 / 3, abs=1e-5)


def test_bisection_works_on_image_shaped_samples():
    samples = np.zeros((2, 2, 2), dtype=np.float32)
    targets = np.ones((2, 1, 2, 2), dtype=np.float32)

    def predict(points):
        assert points.shape[1:] == (2, 2) and points.dtype == np.float32
        return (points.reshape(len(points), -1).sum(axis=1) > 1).astype(int)

    found = boundary_distance_bisection(samples, np.array([0, 0]), targets, predict=predict)
    # The segment from 0 to 1 crosses the boundary at a quarter of its length 2.
    np.testing.assert_allclose(found, 0.5, atol=2 * 2**-10)
