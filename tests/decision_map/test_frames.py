"""DataFrames: column names are recorded and checked, and a classifier fitted on a
DataFrame receives DataFrames of its columns, also between the samples."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from didi import DecisionMap, FisherJSMetric, FisherUMAP

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(scope="module")
def iris_frame():
    X, y = load_iris(return_X_y=True)
    return pd.DataFrame(X, columns=COLUMNS), y


def selecting(columns):
    """A Pipeline that uses two columns, chosen by name or by position."""
    select = ColumnTransformer([("used", StandardScaler(), columns)])
    return make_pipeline(select, LogisticRegression(max_iter=1000))


def small_map(clf, **params):
    return DecisionMap(clf, n_neighbors=10, resolution=10, random_state=0, **params)


def test_a_pipeline_selecting_columns_by_name_is_mapped(iris_frame):
    frame, y = iris_frame
    by_name = selecting(["sepal_width", "petal_length"]).fit(frame, y)
    by_position = selecting([1, 2]).fit(frame.to_numpy(), y)
    named = small_map(by_name).fit(frame, y)
    plain = small_map(by_position).fit(frame.to_numpy(), y)
    # The same model, reached by names or by positions: the same map, bit for bit.
    np.testing.assert_array_equal(named.embedding_, plain.embedding_)
    np.testing.assert_array_equal(named.grid_proba_, plain.grid_proba_)
    assert named.scores_ == plain.scores_
    np.testing.assert_array_equal(named.transform(frame[:5]), plain.transform(frame.to_numpy()[:5]))
    assert named.score(frame.iloc[::7]) == plain.score(frame.to_numpy()[::7])
    positions = named.embedding_[:3]
    np.testing.assert_array_equal(named.probe(positions).proba, plain.probe(positions).proba)
    named.add_samples(frame.iloc[:5], y[:5])
    assert named.embedding_.shape == (155, 2)


def test_feature_names_are_recorded_and_checked(iris_frame):
    frame, y = iris_frame
    clf = selecting(["sepal_width", "petal_length"]).fit(frame, y)
    for estimator in (
        FisherJSMetric(clf, n_neighbors=5),
        FisherUMAP(clf, n_neighbors=8),
        small_map(clf),
    ):
        estimator.fit(frame, y) if isinstance(estimator, DecisionMap) else estimator.fit(frame)
        np.testing.assert_array_equal(estimator.feature_names_in_, COLUMNS)
        reordered = frame[COLUMNS[::-1]]
        with pytest.raises(ValueError, match="Feature names must be in the same order"):
            estimator.transform(reordered.iloc[:3])
        renamed = frame.rename(columns={"sepal_width": "width"})
        with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- width"):
            estimator.transform(renamed.iloc[:3])
    dmap = small_map(clf).fit(frame, y)
    with pytest.raises(ValueError, match="same order"):
        dmap.add_samples(frame[COLUMNS[::-1]].iloc[:3], y[:3])
    with pytest.raises(ValueError, match="same order"):
        dmap.score(frame[COLUMNS[::-1]])
    # Refitted on an array, the names of the earlier fit are gone.
    array_clf = LogisticRegression(max_iter=1000).fit(frame.to_numpy(), y)
    assert not hasattr(small_map(array_clf).fit(frame.to_numpy(), y), "feature_names_in_")


class Recording:
    """A classifier fitted on a DataFrame that records what it receives."""

    def __init__(self, clf, names):
        self.clf, self.feature_names_in_, self.classes_ = clf, np.asarray(names), clf.classes_
        self.seen = []

    def predict_proba(self, X):
        self.seen.append((type(X), list(X.columns), dict(X.dtypes)))
        return self.clf.predict_proba(np.asarray(X, dtype=np.float64))


def test_the_classifier_receives_its_columns_and_float_dtypes(iris_frame):
    frame, y = iris_frame
    typed = frame.astype({"sepal_length": np.float32, "petal_width": np.int64})
    clf = Recording(LogisticRegression(max_iter=1000).fit(typed.to_numpy(float), y), COLUMNS)
    FisherJSMetric(clf, n_neighbors=5).fit(typed)
    kinds, columns, dtypes = zip(*clf.seen, strict=True)
    assert set(kinds) == {pd.DataFrame} and all(c == COLUMNS for c in columns)
    # Float columns keep their precision; an integer column holds the fractional
    # values of points between samples.
    assert all(d["sepal_length"] == np.float32 for d in dtypes)
    assert all(d["petal_width"] == np.float64 for d in dtypes)
    assert len(clf.seen) > 1, "the points between samples came as DataFrames too"


def test_a_classifier_fitted_on_arrays_receives_arrays(iris_frame):
    frame, y = iris_frame
    seen = []
    clf = LogisticRegression(max_iter=1000).fit(frame.to_numpy(), y)

    def on_arrays(X):
        seen.append(type(X))
        return clf.predict_proba(X)

    FisherJSMetric(on_arrays, n_neighbors=5).fit(frame)
    assert set(seen) == {np.ndarray}


def test_non_numeric_columns_are_named_before_any_classifier_call(iris_frame):
    frame, y = iris_frame
    calls = []

    def counting(X):
        calls.append(len(X))
        return np.full((len(X), 2), 0.5)

    with_text = frame.assign(species=np.where(y == 0, "setosa", "other"))
    with pytest.raises(ValueError, match=r"Columns \['species'\] are not numeric"):
        DecisionMap(counting).fit(with_text, y)
    assert calls == []


def test_a_map_of_a_dataframe_checks_columns_whatever_its_classifier_takes(iris_frame):
    import warnings

    frame, y = iris_frame
    on_arrays = LogisticRegression(max_iter=1000).fit(frame.to_numpy(), y)
    dmap = small_map(on_arrays).fit(frame, y)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        dmap.transform(frame[COLUMNS[::-1]].iloc[:3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the right columns raise no warning
        placed = dmap.transform(frame.iloc[:3])
        dmap.score(frame.iloc[::5])
    np.testing.assert_array_equal(placed, dmap.embedding_[:3])
