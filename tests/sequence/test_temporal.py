"""The temporal measures against direct computations."""

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import rankdata

from didi.sequence._temporal import (
    movement,
    neighbourhood_overlap,
    prediction_flips,
    procrustes_aligned,
    procrustes_disparity,
    temporal_preservation,
)


def test_movement_and_flips_sample_by_sample():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(3, 7, 2))
    proba = rng.dirichlet(np.ones(4), size=(3, 7))
    moved = movement(embeddings)
    for t in range(2):
        for i in range(7):
            step = embeddings[t + 1, i] - embeddings[t, i]
            assert moved[t, i] == pytest.approx(np.hypot(*step))
            assert prediction_flips(proba)[t, i] == (
                np.argmax(proba[t + 1, i]) != np.argmax(proba[t, i])
            )


def test_neighbourhood_overlap_is_the_jaccard_index_of_each_row():
    first = scipy.sparse.random(30, 30, density=0.2, random_state=2, format="csr")
    second = scipy.sparse.random(30, 30, density=0.2, random_state=3, format="lil")
    second[5] = 0  # an empty row on one side
    second = second.tocsr()
    overlap = neighbourhood_overlap(first, second)
    for row in range(30):
        a = set(first[row].indices)
        b = set(second[row].indices)
        expected = len(a & b) / len(a | b) if a | b else 1.0
        assert overlap[row] == pytest.approx(expected)
    assert np.all(neighbourhood_overlap(first, first) == 1.0)


def test_neighbourhood_overlap_refuses_graphs_of_other_sizes():
    with pytest.raises(ValueError, match="cannot be compared"):
        neighbourhood_overlap(scipy.sparse.eye(3), scipy.sparse.eye(4))


def test_temporal_preservation_is_minus_the_rank_correlation():
    preserved = np.array([1.0, 0.9, 0.5, 0.2, 0.1])
    moved = np.array([0.0, 0.1, 0.4, 0.8, 2.0])
    assert temporal_preservation(preserved, moved) == pytest.approx(1.0)
    assert temporal_preservation(preserved, moved[::-1]) == pytest.approx(-1.0)
    rng = np.random.default_rng(4)
    a, b = rng.random(50), rng.random(50)
    ra, rb = rankdata(a), rankdata(b)
    pearson = np.corrcoef(ra, rb)[0, 1]
    assert temporal_preservation(a, b) == pytest.approx(-pearson)
    assert np.isnan(temporal_preservation(a, np.zeros(50)))


@settings(max_examples=40, deadline=None)
@given(
    angle=st.floats(0, 2 * np.pi),
    scale=st.floats(0.1, 10),
    shift=st.tuples(st.floats(-100, 100), st.floats(-100, 100)),
    reflect=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_procrustes_undoes_a_similarity_transform(angle, scale, shift, reflect, seed):
    reference = np.random.default_rng(seed).normal(size=(20, 2))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if reflect:
        rotation = rotation @ np.diag([1.0, -1.0])
    moved = reference @ rotation * scale + np.array(shift)
    np.testing.assert_allclose(procrustes_aligned(reference, moved), reference, atol=1e-8)
    assert procrustes_disparity(reference, moved) == pytest.approx(0.0, abs=1e-12)


def test_procrustes_disparity_sees_a_change_of_shape():
    reference = np.random.default_rng(5).normal(size=(20, 2))
    changed = reference.copy()
    changed[:5] += 3.0
    assert procrustes_disparity(reference, changed) > 0.05
