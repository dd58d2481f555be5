"""Streaming samples into a fitted map: reuse, dropping the oldest, warm starts."""

import numpy as np
import pytest
from scipy.spatial import procrustes
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from didi import DecisionMap, FisherJSMetric
from didi._memory import FINGERPRINT_POINTS


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
    # Only pairs with a new sample cost classifier rows, as after a computed fit (and
    # the points between the samples that recognise the classifier in memory).
    assert after_cache.n_classifier_rows_ == after_fit.n_classifier_rows_ + FINGERPRINT_POINTS
    assert after_cache.n_classifier_rows_ < make_map(clf).fit(X[:150]).n_classifier_rows_ / 2
    np.testing.assert_array_equal(after_cache.knn_indices_, after_fit.knn_indices_)
    np.testing.assert_array_equal(after_cache.knn_distances_, after_fit.knn_distances_)


def _tree(random_state):
    return DecisionTreeClassifier(max_features="sqrt", random_state=random_state)


def _forest(random_state):
    # Without bootstrap every tree is grown on all samples: one-hot at each of them.
    return RandomForestClassifier(n_estimators=10, bootstrap=False, random_state=random_state)


#: A model a plain function reads: its pickle is the function's name only.
_GLOBAL_MODEL = {}


def _global_model(X):
    return _GLOBAL_MODEL["clf"].predict_proba(X)


@pytest.mark.parametrize("make_model", [_tree, _forest])
def test_a_model_retrained_to_the_same_outputs_at_the_samples_is_not_served_old_paths(
    digits, make_model
):
    X, y = digits[0][:200], digits[1][:200]
    clf = make_model(0).fit(X, y)
    dmap = make_map(clf).fit(X[:150], y[:150])
    before = clf.predict_proba(X)
    clf.set_params(random_state=1).fit(X, y)  # retrained in place: other boundaries
    np.testing.assert_array_equal(clf.predict_proba(X), before)  # ... same outputs here
    dmap.add_samples(X[150:170], y[150:170])
    fresh = make_map(clf).fit(X[:170], y[:170]).projection_.metric_
    updated = dmap.projection_.metric_
    np.testing.assert_array_equal(updated.knn_indices_, fresh.knn_indices_)
    np.testing.assert_allclose(updated.knn_distances_, fresh.knn_distances_, rtol=1e-12)


@pytest.mark.parametrize("make_model", [_tree, _forest])
def test_memory_does_not_serve_a_retrained_model_old_paths(digits, make_model, tmp_path):
    X = digits[0][:200]
    y = digits[1][:200]
    _GLOBAL_MODEL["clf"] = make_model(0).fit(X, y)
    FisherJSMetric(_global_model, n_neighbors=8, memory=tmp_path).fit(X[:150])
    _GLOBAL_MODEL["clf"] = make_model(1).fit(X, y)
    again = FisherJSMetric(_global_model, n_neighbors=8, memory=tmp_path).fit(X[:150])
    fresh = FisherJSMetric(_global_model, n_neighbors=8).fit(X[:150])
    np.testing.assert_array_equal(again.knn_indices_, fresh.knn_indices_)
    np.testing.assert_array_equal(again.knn_distances_, fresh.knn_distances_)


def test_reuse_paths_false_evaluates_every_pair_anew(data):
    X, y, clf = data
    counting = Counting(clf)
    dmap = make_map(counting).fit(X[:120], y[:120])
    rows = counting.rows
    dmap.add_samples(X[120:150], y[120:150], reuse_paths=False)
    fresh = make_map(Counting(clf)).fit(X[:150], y[:150])
    # Every pair of the new fit is evaluated, as in a fresh fit (its pairs, the
    # samples' and the fingerprint's rows; the warm start may visit other pairs).
    assert counting.rows - rows > 0.8 * fresh.n_classifier_rows_
    with pytest.raises(ValueError, match="reuse_paths must be a boolean; got 1"):
        dmap.add_samples(X[150:155], y[150:155], reuse_paths=1)


def test_a_failed_update_leaves_no_path_lengths_behind(monkeypatch):
    """An update interrupted after its distances must not leave their lengths for the
    next update's samples, which get the same ids."""
    rng = np.random.default_rng(0)

    def clf(Z):
        p = np.abs(Z[:, 0] - 5) / 5
        return np.c_[1 - p, p]

    base = rng.uniform(0, 10, (50, 2))
    first = np.c_[5 - rng.integers(1, 40, 10) / 8, rng.uniform(0, 10, 10)]
    mirrored = np.c_[10 - first[:, 0], first[:, 1]]  # other samples, the same probabilities
    np.testing.assert_array_equal(clf(first), clf(mirrored))
    params = dict(n_neighbors=10, resolution=5, random_state=0, n_epochs=20, mode="knn", holdout=0)
    dmap = DecisionMap(clf, **params).fit(base)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(DecisionMap, "_invert", interrupted)  # after the distances
        with pytest.raises(KeyboardInterrupt):
            dmap.add_samples(first)
    assert dmap.embedding_.shape == (50, 2)
    dmap.add_samples(mirrored)
    fresh = FisherJSMetric(clf, n_neighbors=9).fit(np.concatenate([base, mirrored]))
    updated = dmap.projection_.metric_
    np.testing.assert_array_equal(updated.knn_indices_, fresh.knn_indices_)
    np.testing.assert_allclose(updated.knn_distances_, fresh.knn_distances_, rtol=1e-12)
