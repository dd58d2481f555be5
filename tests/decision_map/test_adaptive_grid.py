"""The adaptive grid: what it classifies, what it interpolates, and agreement with the full grid."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from didi import DecisionMap
from didi._proba import ProbaFunction
from didi.decision_map._grid import classify_grid, classify_grid_adaptive


class Identity:
    """π⁻¹ that returns the 2-D positions themselves."""

    def inverse_transform(self, points):
        return np.asarray(points, dtype=np.float64)


def rings(points):
    """Three classes in rings around the origin, soft at the boundaries."""
    radius = np.linalg.norm(points, axis=1)
    logits = -((radius[:, None] - np.array([0.3, 1.0, 1.7])) ** 2) * 20
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def classify_both(classifier, resolution, **kwargs):
    axis = np.linspace(-2, 2, resolution)
    full = classify_grid(ProbaFunction(classifier, 4096), Identity(), axis, axis)
    counted = ProbaFunction(classifier, 4096)
    adaptive, evaluated = classify_grid_adaptive(counted, Identity(), axis, axis, **kwargs)
    return full, adaptive, evaluated, counted.n_rows


def test_classified_cells_are_exact_and_the_others_bilinear_between_block_corners():
    full, adaptive, evaluated, rows = classify_both(rings, 65)
    assert rows == evaluated.sum() < 65 * 65 / 2
    np.testing.assert_array_equal(adaptive[evaluated], full[evaluated])
    # The coarse level: every 8th row and column.
    assert evaluated[::8, ::8].all()
    # The labels agree almost everywhere; sums stay 1.
    assert np.mean(adaptive.argmax(-1) == full.argmax(-1)) > 0.995
    np.testing.assert_allclose(adaptive.sum(-1), 1.0)
    # A cell left out is interpolated inside an 8-block whose corners agree.
    i, j = np.argwhere(~evaluated)[0]
    r0, c0 = 8 * (i // 8), 8 * (j // 8)
    if evaluated[r0 : r0 + 9, c0 : c0 + 9].sum() == 4:  # the whole block was filled
        t, u = (i - r0) / 8, (j - c0) / 8
        corners = full[[r0, r0, r0 + 8, r0 + 8], [c0, c0 + 8, c0, c0 + 8]]
        weights = [(1 - t) * (1 - u), (1 - t) * u, t * (1 - u), t * u]
        np.testing.assert_allclose(adaptive[i, j], np.tensordot(weights, corners, 1))


def test_a_constant_classifier_costs_the_coarse_level_only():
    def constant(points):
        return np.tile([0.7, 0.2, 0.1], (len(points), 1))

    full, adaptive, _, rows = classify_both(constant, 50)
    nodes = len(np.unique(np.r_[np.arange(0, 50, 8), 49]))
    assert rows == nodes**2
    np.testing.assert_allclose(adaptive, full)


@settings(max_examples=30, deadline=None)
@given(resolution=st.integers(2, 40), step=st.integers(1, 10), spread=st.floats(0, 1))
def test_every_cell_is_filled_and_classified_cells_are_exact(resolution, step, spread):
    full, adaptive, evaluated, rows = classify_both(
        rings, resolution, coarse_step=step, entropy_spread=spread
    )
    np.testing.assert_allclose(adaptive.sum(-1), 1.0)
    assert rows == evaluated.sum()  # no cell classified twice
    nodes = np.unique(np.r_[np.arange(0, resolution, step), resolution - 1])
    assert evaluated[np.ix_(nodes, nodes)].all()
    np.testing.assert_array_equal(adaptive[evaluated], full[evaluated])
    # An interpolated cell takes the class its block's corners agree on; the
    # corners of its finest block are classified and within `step` cells.
    for i, j in np.argwhere(~evaluated):
        window = evaluated[max(0, i - step) : i + step + 1, max(0, j - step) : j + step + 1]
        labels = adaptive.argmax(-1)[
            max(0, i - step) : i + step + 1, max(0, j - step) : j + step + 1
        ]
        assert adaptive[i, j].argmax() in labels[window]


def test_decision_map_adaptive_grid_agrees_with_the_full_one(digits, digits_mlp):
    X, y = digits
    params = dict(n_neighbors=10, resolution=64, random_state=0)
    full = DecisionMap(digits_mlp, **params).fit(X[:150], y[:150])
    adaptive = DecisionMap(digits_mlp, grid="adaptive", **params).fit(X[:150], y[:150])
    assert full.grid_evaluated_.all()
    evaluated = adaptive.grid_evaluated_
    np.testing.assert_array_equal(adaptive.embedding_, full.embedding_)
    np.testing.assert_allclose(adaptive.grid_proba_[evaluated], full.grid_proba_[evaluated])
    assert np.mean(adaptive.grid_labels_ == full.grid_labels_) > 0.99
    saved = 64 * 64 - evaluated.sum()
    assert full.n_classifier_rows_ - adaptive.n_classifier_rows_ == saved > 64 * 64 / 4


def test_bad_grid_option(digits, digits_mlp):
    X, y = digits
    with pytest.raises(ValueError, match="grid"):
        DecisionMap(digits_mlp, grid="coarse").fit(X[:50], y[:50])
