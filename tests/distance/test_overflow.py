"""Samples of any finite size: no overflow, no invalid neighbour index, clear errors."""

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from didi import DecisionMap, FisherJSMetric
from didi.distance._base_distance import knn_graph

from ..conftest import output_of_fresh_process, softmax_classifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    return X, softmax_classifier(rng.normal(size=(5, 3)))


@pytest.mark.parametrize("n_neighbors", [None, 6])
@pytest.mark.parametrize("exponent", [500, 1000])
def test_distances_are_the_same_for_samples_scaled_towards_the_float_maximum(
    problem, n_neighbors, exponent
):
    """Scaling the samples by c and the classifier's input by 1/c changes no path and
    scales every base distance and its scale alike: the DiDi distance is the same,
    bit for bit when c is a power of two, however large the values get."""
    X, f = problem
    c = 2.0**exponent  # values up to about 1e301

    def f_scaled(Z):
        return f(Z / c)

    plain = FisherJSMetric(f, n_neighbors=n_neighbors).fit(X[:30])
    scaled = FisherJSMetric(f_scaled, n_neighbors=n_neighbors).fit(X[:30] * c)
    assert scaled.base_unit_ > 1.0 == plain.base_unit_
    for a, b in (
        (plain.fit_transform(X[:30]), scaled.fit_transform(X[:30] * c)),
        (plain.transform(X[30:]), scaled.transform(X[30:] * c)),
    ):
        a, b = (m.toarray() if hasattr(m, "toarray") else m for m in (a, b))
        assert np.all(np.isfinite(b))
        np.testing.assert_array_equal(b, a)


def test_a_huge_placeholder_value_gives_a_map_not_a_crash():
    """A "missing" sentinel of 1e200 once made the neighbour search emit index -1,
    which corrupted the heap and killed the interpreter; run in a child process so
    that a crash fails this test instead of ending the run."""
    code = """
import numpy as np
from sklearn.datasets import load_iris
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from didi import DecisionMap
X, y = load_iris(return_X_y=True)
clf = LogisticRegression(max_iter=500).fit(X, y)
X[3, 1] = 1e200
dmap = DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0).fit(X, y)
graph = dmap.projection_.metric_
assert 0 <= graph.knn_indices_.min() and graph.knn_indices_.max() < len(X)
assert np.isfinite(graph.knn_distances_).all() and np.isfinite(dmap.embedding_).all()
assert np.isfinite(dmap.transform(X[:5])).all()
print("ok")
"""
    assert output_of_fresh_process(code, "-W", "ignore") == "ok"


def test_values_whose_differences_overflow_are_named_before_any_classifier_call(problem):
    X, f = problem
    calls = []

    def counting(Z):
        calls.append(len(Z))
        return f(Z)

    bad = X.copy()
    bad[7, 2] = -1e308
    with pytest.raises(ValueError, match=r"X\[7, 2\] = -1e\+308 is too large: differences"):
        FisherJSMetric(counting).fit(bad)
    with pytest.raises(ValueError, match=r"X\[3, 4\] = 3e\+38 is too large: .* float32"):
        bad32 = X.astype(np.float32)
        bad32[3, 4] = 3e38
        FisherJSMetric(counting).fit(bad32)
    assert calls == []


def test_transform_names_a_value_beyond_the_fitted_scale(problem):
    X, f = problem
    metric = FisherJSMetric(f).fit(X[:30])
    new = X[30:].copy()
    new[2, 0] = 1e200
    with pytest.raises(ValueError, match=r"X\[2, 0\] = 1e\+200 is too large: its distance"):
        metric.transform(new)


def test_a_decision_map_scores_new_samples_on_the_fitted_scale(iris):
    X, y, clf = iris
    dmap = DecisionMap(clf, n_neighbors=10, resolution=8, random_state=0).fit(X[:120], y[:120])
    new = X[120:].copy()
    new[0, 3] = 1e200
    with pytest.raises(ValueError, match=r"X\[0, 3\] = 1e\+200 is too large"):
        dmap.score(new, scoring="q_knn_e")


def test_the_graph_refuses_invalid_indices_and_distances():
    indices = np.array([[1], [0]])
    with pytest.raises(ValueError, match="not finite"):
        knn_graph(indices, np.array([[1.0], [np.nan]]), 2, with_self=True)
    with pytest.raises(ValueError, match=r"must lie in \[0, 2\); got \[-1, 1\]"):
        knn_graph(np.array([[1], [-1]]), np.ones((2, 1)), 2, with_self=True)
    graph = knn_graph(indices, np.ones((2, 1)), 2, with_self=True)
    np.testing.assert_array_equal(graph.toarray(), [[0.0, 1.0], [1.0, 0.0]])


def test_float32_samples_raise_no_warning(problem):
    import warnings

    X, f = problem
    metric = FisherJSMetric(f, n_neighbors=5).fit(X[:30].astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metric.transform(X[30:].astype(np.float32))


@pytest.mark.parametrize("scale", [1e24, 1e200])
def test_scores_of_new_samples_at_any_scale(iris, scale):
    X, y, clf = iris

    def scaled(Z):
        return clf.predict_proba(np.asarray(Z) / scale)

    dmap = DecisionMap(scaled, n_neighbors=10, resolution=8, random_state=0).fit(
        X[:120] * scale, y[:120]
    )
    for scoring in ("q_knn_e", "q_knn", "q_data"):
        assert 0.0 <= dmap.score(X[120:] * scale, scoring=scoring) <= 1.0
