"""NearDuplicates: DNIKit's thresholds and sets, planted copies, and the DiDi view."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from didi import NearDuplicates
from didi.introspection._duplicates import (
    _without_self,
    duplicate_sets,
    percentile_threshold,
    slope_threshold,
)


def test_percentile_threshold_as_dnikit_defines_it():
    distances = np.arange(1, 201, dtype=float)
    # 98.5 % of the distances are not close: the threshold is the one at index 200 - 197,
    # the 4th smallest.
    assert percentile_threshold(distances[::-1], 98.5) == 4.0
    assert percentile_threshold(distances, 50) == 101.0


def test_slope_threshold_finds_the_elbow():
    # 40 tight pairs, then a long tail rising slowly: the elbow is at the pairs' end.
    tight = np.linspace(0.0, 0.05, 40)
    tail = np.linspace(1.0, 2.0, 400)
    threshold = slope_threshold(np.concatenate([tail, tight]), 5)
    assert 0.05 <= threshold < 1.0
    # Without an elbow (evenly spread distances) the walk goes down to the start.
    even = np.linspace(0.0, 1.0, 400)
    assert slope_threshold(even, 5) == even[400 // 1000 + 1]


def test_sets_are_the_transitive_closure_of_close_links():
    # DNIKit's example: [10, 11], [12, 13, 14], [5, 6], [6, 9] → three sets.
    n = 15
    links = {10: [11], 12: [13, 14], 5: [6], 6: [9]}
    indices = np.tile(np.arange(n), (n, 1))[:, :2].copy()
    distances = np.full((n, 2), 9.0)
    for row, partners in links.items():
        for slot, partner in enumerate(partners):
            indices[row, slot], distances[row, slot] = partner, 0.5
    sets = {tuple(s) for s in duplicate_sets(indices, distances, 1.0)}
    assert sets == {(10, 11), (12, 13, 14), (5, 6, 9)}


def test_self_is_dropped_even_behind_an_exact_copy():
    indices = np.array([[1, 0, 2], [1, 0, 2], [2, 0, 1]])
    distances = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, 2.0], [0.0, 2.0, 3.0]])
    kept, kept_distances = _without_self(indices, distances, 2)
    np.testing.assert_array_equal(kept, [[1, 2], [0, 2], [0, 1]])
    np.testing.assert_array_equal(kept_distances, [[0.0, 3.0], [0.0, 2.0], [2.0, 3.0]])


@pytest.fixture(scope="module")
def planted(digits):
    """300 digits, five exact copies and five re-scanned copies of others (every ink
    value jittered by 5 %)."""
    X, y = digits
    rng = np.random.default_rng(0)
    base = X[:300].astype(float)
    exact = base[:5]
    noisy = base[10:15] * (1 + rng.normal(0, 0.05, size=(5, 64)))
    return np.vstack([base, exact, noisy]), np.concatenate([y[:300], y[:5], y[10:15]])


def test_planted_copies_are_found_in_sample_space(planted):
    X, _ = planted
    found = NearDuplicates().fit(X)
    for original, copy in [(i, 300 + i) for i in range(5)] + [(10 + i, 305 + i) for i in range(5)]:
        assert found.labels_[original] == found.labels_[copy] != -1
    means = [s.mean for s in found.sets_]
    assert means == sorted(means)
    for number, found_set in enumerate(found.sets_):
        np.testing.assert_array_equal(np.flatnonzero(found.labels_ == number), found_set.indices)
    scaled = X / np.linalg.norm(X, axis=0).clip(1e-300)
    first = found.sets_[0]
    centre = scaled[first.indices].mean(axis=0)
    spread = np.linalg.norm(scaled[first.indices] - centre, axis=1)
    assert first.mean == pytest.approx(spread.mean()) and first.std == pytest.approx(spread.std())


def test_approximate_search_finds_the_same_exact_copies(planted):
    X, _ = planted
    found = NearDuplicates(search="approximate", random_state=0).fit(X)
    assert all(found.labels_[i] == found.labels_[300 + i] != -1 for i in range(5))


def test_didi_space_separates_near_copies_across_a_boundary():
    # Two pairs of near-identical points: one pair on one side of a steep linear
    # boundary, the other straddling it. In the samples' space both pairs are near
    # copies; as the classifier sees them only the first is.
    rng = np.random.default_rng(1)
    background = rng.uniform(-5, 5, size=(200, 2))
    pairs = np.array([[3.0, 1.0], [3.0, 1.002], [0.0, -0.001], [0.0, 0.001]])
    X = np.vstack([background, pairs])
    labels = (X[:, 1] > 0).astype(int)
    clf = LogisticRegression(C=1e4, max_iter=5000).fit(X * 50, labels)

    def proba(samples):
        return clf.predict_proba(np.asarray(samples) * 50)

    threshold = 0.01
    euclidean = NearDuplicates(threshold=threshold).fit(X)
    assert euclidean.labels_[200] == euclidean.labels_[201] != -1
    assert euclidean.labels_[202] == euclidean.labels_[203] != -1
    didi_view = NearDuplicates(proba, space="didi", threshold=threshold, random_state=0).fit(X)
    assert didi_view.labels_[200] == didi_view.labels_[201] != -1
    assert didi_view.labels_[202] == -1 or didi_view.labels_[202] != didi_view.labels_[203]


def test_refusals(planted):
    X, _ = planted
    with pytest.raises(ValueError, match="needs the classifier"):
        NearDuplicates(space="didi").fit(X)
    with pytest.raises(ValueError, match="needs the classifier"):
        NearDuplicates(space="proba").fit(X)
    with pytest.raises(ValueError, match="sensitivity"):
        NearDuplicates(sensitivity=2).fit(X)
    with pytest.raises(ValueError, match="threshold"):
        NearDuplicates(threshold="elbow").fit(X)
