"""Streaming samples into a fitted map: reuse, dropping the oldest, warm starts."""

import numpy as np
import pytest
from scipy.spatial import procrustes

from didi import DecisionMap


class Counting:
    def __init__(self, clf):
        self.clf, self.classes_, self.rows = clf, clf.classes_, 0

    def predict_proba(self, X):
        self.rows += len(X)
        return self.clf.predict_proba(X)


def make_map(clf, **params):
    return DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0, **params)


@pytest.fixture(scope="module")
def data(digits, digits_mlp):
    X, y = digits
    return X[:200], y[:200], digits_mlp


def test_only_pairs_with_new_samples_cost_classifier_calls(data):
    X, y, clf = data
    dmap = make_map(Counting(clf)).fit(X[:120], y[:120])
    old = dmap.embedding_.copy()
    dmap.add_samples(X[120:150], y[120:150])
    metric = dmap.projection_.metric_
    fresh = make_map(clf).fit(X[:150], y[:150])
    fresh_metric = fresh.projection_.metric_
    # The samples' own probabilities, then n_steps rows per evaluated pair that has a
    # new sample in it; pairs of two old samples come from the first fit.
    assert metric.n_classifier_rows_ < fresh_metric.n_classifier_rows_ / 2
    assert metric.n_classifier_rows_ > 150
    # Reuse changes no distance: the graph is the one a fresh fit computes.
    np.testing.assert_array_equal(metric.knn_indices_, fresh_metric.knn_indices_)
    np.testing.assert_allclose(metric.knn_distances_, fresh_metric.knn_distances_, rtol=1e-12)
    np.testing.assert_array_equal(dmap.y_, y[:150])
    assert dmap.embedding_.shape == (150, 2) and dmap.grid_proba_.shape == (8, 8, 10)
    # Warm start: the old samples stay closer to where they were than in a fresh map.
    assert procrustes(old, dmap.embedding_[:120])[2] < procrustes(old, fresh.embedding_[:120])[2]


def test_the_oldest_samples_are_dropped_beyond_max_samples(data):
    X, y, clf = data
    dmap = make_map(clf).fit(X[:120], y[:120])
    dmap.add_samples(X[120:170], y[120:170], max_samples=100)
    np.testing.assert_array_equal(dmap.sample_ids_, np.arange(70, 170))
    np.testing.assert_array_equal(dmap.projection_.metric_.X_fit_, X[70:170])
    np.testing.assert_array_equal(dmap.y_, y[70:170])
    assert dmap.embedding_.shape == (100, 2)
    dmap.add_samples(X[170:180], y[170:180], max_samples=100)
    np.testing.assert_array_equal(dmap.sample_ids_, np.arange(80, 180))


def test_a_changed_classifier_is_not_served_old_distances(data):
    X, y, clf = data

    class Drifting(Counting):
        drift = 0.0

        def predict_proba(self, X):
            p = super().predict_proba(X) + self.drift
            return p / p.sum(axis=1, keepdims=True)

    model = Drifting(clf)
    dmap = make_map(model).fit(X[:120], y[:120])
    model.drift = 0.05  # trained further between two calls
    dmap.add_samples(X[120:140], y[120:140])
    fresh = make_map(model).fit(X[:140], y[:140])
    np.testing.assert_allclose(
        dmap.projection_.metric_.knn_distances_,
        fresh.projection_.metric_.knn_distances_,
        rtol=1e-12,
    )
    assert (
        dmap.projection_.metric_.n_classifier_rows_ == fresh.projection_.metric_.n_classifier_rows_
    )


def test_add_samples_errors(data):
    X, y, clf = data
    dmap = make_map(clf).fit(X[:60], y[:60])
    with pytest.raises(ValueError, match="pass y for both or for neither"):
        dmap.add_samples(X[60:70])
    with pytest.raises(
        ValueError,
        match=r"DecisionMap.add_samples: max_samples must be an integer in \[11, inf\); got 5",
    ):
        dmap.add_samples(X[60:70], y[60:70], max_samples=5)
    with pytest.raises(ValueError, match="X has 10 features"):
        dmap.add_samples(X[60:70, :10], y[60:70])
    unlabelled = make_map(clf).fit(X[:60])
    with pytest.raises(ValueError, match="pass y for both or for neither"):
        unlabelled.add_samples(X[60:70], y[60:70])
    assert unlabelled.add_samples(X[60:70]).embedding_.shape == (70, 2)


def test_changed_n_steps_is_not_served_old_distances(data):
    X, y, clf = data
    dmap = make_map(clf).fit(X[:100], y[:100])
    dmap.set_params(n_steps=1)
    dmap.add_samples(X[100:110], y[100:110])
    fresh = make_map(clf, n_steps=1).fit(X[:110], y[:110])
    np.testing.assert_allclose(
        dmap.projection_.metric_.knn_distances_,
        fresh.projection_.metric_.knn_distances_,
        rtol=1e-12,
    )


def test_every_classifier_call_of_an_update_is_counted(data):
    X, y, clf = data
    model = Counting(clf)
    dmap = make_map(model).fit(X[:100], y[:100])
    before = model.rows
    dmap.add_samples(X[100:120], y[100:120])
    assert model.rows - before == dmap.n_classifier_rows_


def test_add_samples_after_a_fit_served_by_memory_reuses_its_pairs(data, tmp_path):
    X, y, clf = data
    make_map(clf, memory=tmp_path).fit(X[:120], y[:120])  # fills the cache
    served = make_map(clf, memory=tmp_path).fit(X[:120], y[:120])
    assert "cached projection" in served.timings_
    computed = make_map(clf).fit(X[:120], y[:120])
    served.add_samples(X[120:150], y[120:150])
    computed.add_samples(X[120:150], y[120:150])
    after_cache, after_fit = served.projection_.metric_, computed.projection_.metric_
    # Only pairs with a new sample cost classifier rows, as after a computed fit.
    assert after_cache.n_classifier_rows_ == after_fit.n_classifier_rows_
    assert after_cache.n_classifier_rows_ < make_map(clf).fit(X[:150]).n_classifier_rows_ / 2
    np.testing.assert_array_equal(after_cache.knn_indices_, after_fit.knn_indices_)
    np.testing.assert_array_equal(after_cache.knn_distances_, after_fit.knn_distances_)
