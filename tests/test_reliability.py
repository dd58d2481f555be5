"""Bad input gets a clear error, nothing is lost, results are reproducible and robust."""

import copy
import pickle
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from didi import DecisionMap, DecisionMapDisplay, FisherJSMetric, FisherUMAP, RBFInverse
from didi.distance._divergence import JS_MAX

from .conftest import softmax_classifier


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y, LogisticRegression(max_iter=1000).fit(X, y)


def small_map(clf, **params):
    return DecisionMap(clf, **{"n_neighbors": 8, "resolution": 6, "random_state": 0, **params})


# --------------------------------------------------------------------------- bad input


def proba_of(iris):
    _, _, clf = iris
    return clf.predict_proba


BAD_CLASSIFIERS = {
    "wrong number of rows": (lambda p: lambda Z: p(Z)[:-1], r"shape \(\d+, 3\) for \d+ inputs"),
    "logits": (lambda p: lambda Z: np.log(p(Z)) + 2.0, "negative values|do not sum to 1"),
    "unnormalised scores": (lambda p: lambda Z: p(Z) * 3.0, "do not sum to 1.*softmax"),
    "negative values": (lambda p: lambda Z: p(Z) - 0.5, "negative values.*logits"),
    "NaN": (lambda p: lambda Z: np.where(p(Z) > 0.5, np.nan, p(Z)), "NaN or infinite"),
    "strings": (lambda p: lambda Z: p(Z).astype(str), "dtype <U"),
    "one class": (lambda p: lambda Z: np.ones((len(Z), 1)), "at least 2 classes"),
    "one sigmoid column": (
        lambda p: lambda Z: p(Z)[:, 1:2],
        "at least 2 classes.*TorchClassifier.*return \\[1 - p, p\\]",
    ),
    "one score per sample": (
        lambda p: lambda Z: p(Z)[:, 1],
        r"shape \(\d+,\) for \d+ inputs.*binary network's single output",
    ),
    "changing classes": (
        lambda p: (
            lambda Z: p(Z) if len(Z) > 50 else p(Z)[:, [0, 1]] / p(Z)[:, [0, 1]].sum(1)[:, None]
        ),
        "number of classes must not change",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CLASSIFIERS))
def test_bad_classifier_output_is_refused_with_advice(iris, case):
    X, _, _ = iris
    make, message = BAD_CLASSIFIERS[case]
    metric = FisherJSMetric(make(proba_of(iris)), batch_size=60)
    with pytest.raises(ValueError, match=message):
        metric.fit(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(metric)


@pytest.mark.parametrize(
    "convert", [list, pd.DataFrame, lambda a: a.astype(np.float16), lambda a: a.astype(np.float32)]
)
def test_acceptable_classifier_outputs(iris, convert):
    X, _, clf = iris
    expected = FisherJSMetric(clf, n_steps=2).fit_transform(X[:30])
    got = FisherJSMetric(lambda Z: convert(clf.predict_proba(Z)), n_steps=2).fit_transform(X[:30])
    # float16 keeps about three digits of each probability.
    np.testing.assert_allclose(got, expected, atol=5e-3)


NUMBER_01 = r"a finite number in \[0, 1\]"
POSITIVE = r"a finite number in \(0, inf\)"

BAD_PARAMETERS = [
    (FisherJSMetric, {"lam": 1.01}, rf"FisherJSMetric: lam must be {NUMBER_01}; got 1.01\."),
    (FisherJSMetric, {"lam": -0.5}, rf"lam must be {NUMBER_01}; got -0.5"),
    (FisherJSMetric, {"lam": np.nan}, rf"lam must be {NUMBER_01}; got nan"),
    (FisherJSMetric, {"lam": np.inf}, rf"lam must be {NUMBER_01}; got inf"),
    (FisherJSMetric, {"lam": "0.5"}, rf"lam must be {NUMBER_01}; got '0.5'"),
    (FisherJSMetric, {"n_steps": -1}, r"n_steps must be an integer in \[0, inf\); got -1"),
    (FisherJSMetric, {"n_steps": True}, r"n_steps must be an integer in \[0, inf\); got True"),
    (FisherJSMetric, {"n_steps": 2.0}, r"n_steps must be an integer in \[0, inf\); got 2.0"),
    (FisherJSMetric, {"n_neighbors": 0}, r"n_neighbors must be None or an integer in \[1, inf\)"),
    (FisherJSMetric, {"batch_size": True}, r"batch_size must be None or an integer .*; got True"),
    (FisherJSMetric, {"batch_size": np.float64(8)}, r"batch_size must be .*; got np.float64"),
    (
        FisherJSMetric,
        {"n_jobs": 0},
        r"n_jobs must be None, an integer in \[1, inf\) or an integer in \(-inf, -1\]; got 0",
    ),
    (FisherJSMetric, {"random_state": -1}, r"random_state must be None, an integer in .*; got -1"),
    (
        FisherJSMetric,
        {"memory": 3},
        r"memory must be None, a folder \(str or path\) or a joblib.Memory; got 3",
    ),
    (
        FisherJSMetric,
        {"verbose": "yes"},
        r"verbose must be a boolean or an integer in \[0, inf\); got 'yes'",
    ),
    (
        FisherJSMetric,
        {"base_metric": "l1"},
        r"base_metric must be one of 'euclidean', 'cosine'; got 'l1'",
    ),
    (FisherUMAP, {"lam": 2}, rf"FisherUMAP: lam must be {NUMBER_01}; got 2"),
    (FisherUMAP, {"mode": "fast"}, r"mode must be one of 'auto', 'knn', 'dense'; got 'fast'"),
    (FisherUMAP, {"min_dist": np.nan}, r"min_dist must be a finite number in \[0, inf\); got nan"),
    (FisherUMAP, {"spread": np.inf}, rf"spread must be {POSITIVE}; got inf"),
    (FisherUMAP, {"n_epochs": 0}, r"n_epochs must be None or an integer in \[1, inf\); got 0"),
    (FisherUMAP, {"umap_kwargs": [("a", 1)]}, r"umap_kwargs must be None or a dict; got \["),
    (DecisionMap, {"a": 0}, rf"DecisionMap: a must be {POSITIVE}; got 0"),
    (DecisionMap, {"a": -3}, rf"a must be {POSITIVE}; got -3"),
    (DecisionMap, {"a": np.nan}, rf"a must be {POSITIVE}; got nan"),
    (DecisionMap, {"alpha": np.inf}, rf"alpha must be {POSITIVE}; got inf"),
    (DecisionMap, {"margin": np.nan}, r"margin must be a finite number in \[0, inf\); got nan"),
    (DecisionMap, {"resolution": 1}, r"resolution must be an integer in \[2, inf\); got 1"),
    (DecisionMap, {"resolution": True}, r"resolution must be an integer in \[2, inf\); got True"),
    (DecisionMap, {"n_steps": -2}, r"n_steps must be an integer in \[0, inf\); got -2"),
    (DecisionMap, {"holdout": 1.0}, r"holdout must be a finite number in \[0, 0.9\]; got 1.0"),
    (DecisionMap, {"holdout": np.nan}, r"holdout must be a finite number in \[0, 0.9\]; got nan"),
    (DecisionMap, {"scoring": "accuracy"}, r"scoring must be one of 'q_knn_e', .*; got 'accuracy'"),
    (
        DecisionMap,
        {"n_centers": 0},
        r"n_centers must be one of 'auto' or an integer in \[1, inf\); got 0",
    ),
    (DecisionMap, {"n_centers": True}, r"n_centers must be .*; got True"),
]


@pytest.mark.parametrize("cls, params, message", BAD_PARAMETERS)
def test_bad_parameters_name_the_parameter(iris, cls, params, message):
    X, _, clf = iris
    with pytest.raises(ValueError, match=message):
        cls(clf, **{"n_neighbors": 8, **params}).fit(X)


@pytest.mark.parametrize("cls", [FisherJSMetric, FisherUMAP, DecisionMap, RBFInverse])
def test_every_parameter_has_constraints(cls):
    assert sorted(cls._parameter_constraints) == sorted(cls().get_params(deep=False))


@pytest.mark.parametrize(
    "params, message",
    [({"b": np.nan}, r"b must be a finite number in \(0, inf\); got nan"),
     ({"n_centers": 2.0}, r"n_centers must be None or an integer in \[1, inf\); got 2.0")],
)  # fmt: skip
def test_bad_inverse_parameters(params, message):
    Y = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=message):
        RBFInverse(**params).fit(Y, Y)


def test_every_entry_point_validates_the_parameters(iris):
    """Parameters set after fit are checked by the method that reads them next."""
    X, y, clf = iris
    entry_points = {
        "add_samples": lambda m: m.add_samples(X[:5], y[:5]),
        "transform": lambda m: m.transform(X[:5]),
        "inverse_transform": lambda m: m.inverse_transform(m.embedding_[:2]),
        "probe": lambda m: m.probe(m.embedding_[:2]),
        "score": lambda m: m.score(X[:20]),
    }
    fitted = small_map(clf).fit(X[10:], y[10:])
    for name, call in entry_points.items():
        for bad in ({"batch_size": True}, {"lam": np.nan}):
            dmap = copy.copy(fitted).set_params(**bad)  # the fitted state, a bad parameter
            with pytest.raises(ValueError, match=f"{next(iter(bad))} must be"):
                call(dmap)
        assert call(fitted) is not None, name
    metric = FisherJSMetric(clf).fit(X[:20])
    with pytest.raises(ValueError, match="batch_size must be"):
        metric.set_params(batch_size=True).transform(X[:3])


def test_bad_samples(iris):
    X, y, clf = iris
    for bad_value, word in ((np.nan, "NaN"), (np.inf, "infinity")):
        bad = X.copy()
        bad[3, 1] = bad_value
        with pytest.raises(ValueError, match=word):
            small_map(clf).fit(bad, y)
    with pytest.raises(ValueError, match="n_neighbors=30 needs at least 31 samples"):
        DecisionMap(clf).fit(X[:20])
    with pytest.raises(ValueError, match="n_neighbors=8 needs at least 9 samples"):
        FisherJSMetric(clf, n_neighbors=8).fit(X[:5])
    with pytest.raises(ValueError, match="minimum of 4 is required"):
        small_map(clf, n_neighbors=2).fit(X[:3])
    with pytest.raises(ValueError, match="y has 10 labels for 150 samples"):
        small_map(clf).fit(X, y[:10])
    with pytest.raises(ValueError, match="identical samples"):
        small_map(clf).fit(np.ones((20, 4)))
    with pytest.raises(
        TypeError, match="estimator must be a fitted classifier with predict_proba or a callable"
    ):
        small_map(object()).fit(X)


needs_notes = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="exception notes (add_note) need Python 3.11"
)


@needs_notes
def test_samples_the_classifier_cannot_take(iris):
    X, _, clf = iris
    with pytest.raises(ValueError, match="X has 3 features") as caught:
        small_map(clf).fit(X[:, :3])
    notes = " ".join(getattr(caught.value, "__notes__", []))
    assert "Raised by the classifier on a batch of 150 samples of shape (3,)" in notes


@needs_notes
def test_a_failing_classifier_leaves_no_fitted_state(iris):
    X, y, clf = iris
    calls = []

    def flaky(Z):
        calls.append(len(Z))
        if len(calls) == 3:
            raise RuntimeError("device lost")
        return clf.predict_proba(Z)

    dmap = small_map(flaky, batch_size=64)
    with pytest.raises(RuntimeError, match="device lost") as caught:
        dmap.fit(X, y)
    assert "after 2 successful calls" in " ".join(caught.value.__notes__)
    with pytest.raises(NotFittedError):
        check_is_fitted(dmap)
    assert not [name for name in vars(dmap) if name.endswith("_") and not name.startswith("_")]
    # The same object fits once the classifier works again.
    calls.clear()
    calls.extend([0, 0, 0])
    assert dmap.fit(X, y).embedding_.shape == (150, 2)


def test_duplicates_and_constant_features(iris):
    X, y, clf = iris
    doubled = np.r_[X[:40], X[:40]]
    D = FisherJSMetric(clf).fit_transform(doubled)
    assert np.all(D[np.arange(40), np.arange(40) + 40] == 0)
    graph = FisherJSMetric(clf, n_neighbors=5).fit(doubled)
    assert np.all(graph.knn_distances_[:, 0] == 0)  # each sample's twin, first
    constant = np.c_[X, np.full(len(X), 7.0)]
    clf5 = LogisticRegression(max_iter=1000).fit(constant, y)
    dmap = small_map(clf5).fit(constant, y)
    assert np.all(np.isfinite(dmap.embedding_)) and dmap.scores_["q_data"] > 0.8


@pytest.mark.parametrize("classes", [np.array(["setosa", "versicolor", "virginica"]), [3, 7, 11]])
def test_class_labels_of_any_kind(iris, classes):
    X, y, _ = iris
    labels = np.asarray(classes)[y]
    clf = LogisticRegression(max_iter=1000).fit(X, labels)
    dmap = small_map(clf).fit(X, labels)
    assert np.array_equal(dmap.classes_, np.asarray(classes))
    assert dmap.grid_labels_.max() <= 2
    display = DecisionMapDisplay.from_estimator(dmap)
    legend = [text.get_text() for text in display.ax_.get_legend().get_texts()]
    assert [str(c) for c in classes] == legend[:3]


def test_dataframe_inputs(iris):
    X, y, clf = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    from_frame = small_map(clf).fit(frame, pd.Series(y))
    from_array = small_map(clf).fit(X, y)
    np.testing.assert_array_equal(from_frame.embedding_, from_array.embedding_)


# ------------------------------------------------------------ any input: valid or documented


@st.composite
def valid_problems(draw):
    """Samples of any size, scale and precision a user may pass, a classifier for them,
    and parameters in their allowed ranges."""
    n = draw(st.integers(2, 14))
    d = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    scale = 10.0 ** draw(st.integers(-3, 3))
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    X = (rng.normal(size=(n, d)) * scale).astype(dtype)
    classifier = softmax_classifier(rng.normal(size=(d, 3)) / scale)
    params = {
        "lam": draw(st.floats(0, 1)),
        "n_steps": draw(st.integers(0, 3)),
        "n_neighbors": draw(st.one_of(st.none(), st.integers(1, n - 1))),
    }
    return X, classifier, params


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=valid_problems())
def test_valid_inputs_give_valid_distances(problem):
    X, classifier, params = problem
    out = FisherJSMetric(classifier, **params).fit_transform(X)
    dense = FisherJSMetric(classifier, **{**params, "n_neighbors": None}).fit_transform(X)
    n = len(X)
    assert dense.shape == (n, n)
    assert np.all(np.isfinite(dense)) and dense.min() >= 0
    np.testing.assert_array_equal(dense, dense.T)
    assert np.all(np.diag(dense) == 0)
    k = params["n_neighbors"]
    if k is not None:
        # Each row: the sample itself at 0, then exactly the k smallest distances of
        # the dense matrix to the other samples.
        assert out.nnz == n * (k + 1)
        off_diagonal = np.where(np.eye(n, dtype=bool), np.inf, dense)
        expected = np.sort(off_diagonal, axis=1)[:, :k]
        got = np.array([np.sort(out.getrow(i).data)[1:] for i in range(n)])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(
    poison=st.sampled_from([np.nan, np.inf, -np.inf]),
    where=st.tuples(st.integers(0, 9), st.integers(0, 2)),
)
def test_non_finite_samples_are_refused(poison, where):
    X = np.random.default_rng(0).normal(size=(10, 3))
    X[where] = poison
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        FisherJSMetric(softmax_classifier(np.eye(3))).fit(X)


@settings(max_examples=30, deadline=None)
@given(
    lam=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda v: not 0 <= v <= 1),
        st.booleans(),
        st.text(max_size=3),
    )
)
def test_any_lam_outside_zero_to_one_is_refused(lam):
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"lam must be a finite number in \[0, 1\]; got "):
        FisherJSMetric(softmax_classifier(np.eye(3)), lam=lam).fit(X)


# ------------------------------------------------------------------------ nothing lost


@pytest.mark.parametrize("mode", ["knn", "dense"])
@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_fitted_map_survives_a_round_trip(iris, tmp_path, mode, dump):
    X, y, clf = iris
    dmap = small_map(clf, mode=mode).fit(X, y)
    if dump == "pickle":
        copy = pickle.loads(pickle.dumps(dmap))
    else:
        joblib.dump(dmap, tmp_path / "map.joblib")
        copy = joblib.load(tmp_path / "map.joblib")
    np.testing.assert_array_equal(copy.embedding_, dmap.embedding_)
    np.testing.assert_array_equal(copy.grid_proba_, dmap.grid_proba_)
    assert copy.scores_ == dmap.scores_
    np.testing.assert_array_equal(copy.transform(X[::7]), dmap.transform(X[::7]))
    positions = dmap.embedding_[:5] + 0.1
    np.testing.assert_array_equal(
        copy.inverse_transform(positions), dmap.inverse_transform(positions)
    )
    for name in ("q_knn", "q_knn_e", "q_not_data"):
        assert copy.score(X[::5], scoring=name) == dmap.score(X[::5], scoring=name)


def test_transformers_survive_a_round_trip(iris):
    X, _, clf = iris
    for estimator in (
        FisherJSMetric(clf, n_neighbors=6),
        FisherJSMetric(clf),
        FisherUMAP(clf, n_neighbors=8, random_state=0),
    ):
        estimator.fit(X)
        copy = pickle.loads(pickle.dumps(estimator))
        a, b = estimator.transform(X[:9]), copy.transform(X[:9])
        a, b = (m.toarray() if hasattr(m, "toarray") else m for m in (a, b))
        np.testing.assert_array_equal(a, b)
    inverse = RBFInverse().fit(X[:, :2], X)
    copy = pickle.loads(pickle.dumps(inverse))
    np.testing.assert_array_equal(
        copy.inverse_transform(X[:4, :2]), inverse.inverse_transform(X[:4, :2])
    )


#: Call at which Interrupting raises; kept outside the object so that its hash,
#: by which memory= recognises the classifier, does not change.
INTERRUPT_AT = {"call": None}


class Interrupting:
    """A picklable classifier that raises KeyboardInterrupt on one call."""

    def __init__(self, clf):
        self.clf = clf
        self.calls = 0

    def predict_proba(self, X):
        self.calls += 1
        if self.calls == INTERRUPT_AT["call"]:
            raise KeyboardInterrupt
        return self.clf.predict_proba(X)

    def __getstate__(self):
        return {"clf": self.clf, "calls": 0}


def test_an_interrupted_fit_leaves_the_object_usable(iris, tmp_path):
    X, _, clf = iris
    counting = Interrupting(clf)
    full = FisherJSMetric(counting, n_neighbors=6, batch_size=50).fit(X)
    # Interrupt the last call: every earlier round of the search has finished (the
    # fit with memory makes one call more, for the points that recognise the model).
    INTERRUPT_AT["call"] = counting.calls + 1
    metric = FisherJSMetric(Interrupting(clf), n_neighbors=6, batch_size=50, memory=tmp_path)
    try:
        with pytest.raises(KeyboardInterrupt):
            metric.fit(X)
    finally:
        INTERRUPT_AT["call"] = None
    with pytest.raises(NotFittedError):
        check_is_fitted(metric)
    resumed = metric.fit(X)
    # The finished round was kept in memory: only the rest is recomputed.
    assert 0 < resumed.n_classifier_rows_ < full.n_classifier_rows_ / 2
    np.testing.assert_array_equal(resumed.knn_indices_, full.knn_indices_)
    np.testing.assert_allclose(resumed.knn_distances_, full.knn_distances_, rtol=1e-12)


# --------------------------------------------------------------------- reproducibility


def test_same_seed_gives_bit_identical_maps_across_runs_and_jobs(iris):
    X, y, clf = iris
    first = small_map(clf).fit(X, y)
    again = small_map(clf).fit(X, y)
    with joblib.parallel_config(backend="threading"):
        threaded = small_map(clf, n_jobs=2).fit(X, y)
    processes = small_map(clf, n_jobs=2).fit(X, y)
    for other in (again, threaded, processes):
        np.testing.assert_array_equal(other.embedding_, first.embedding_)
        np.testing.assert_array_equal(other.grid_proba_, first.grid_proba_)
        assert other.scores_ == first.scores_


# ---------------------------------------------------------------- numerical robustness


def one_hot_regions(X):
    """Exact zeros and ones: class by the sign pattern of the first two features."""
    codes = (X[:, 0] > 0).astype(int) + 2 * (X[:, 1] > 0).astype(int)
    return np.eye(4)[codes]


@pytest.mark.parametrize("n_classes", [2, 1000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_or_few_classes_and_either_precision(n_classes, dtype):
    rng = np.random.default_rng(n_classes)
    X = rng.normal(size=(60, 5)).astype(dtype)
    f = softmax_classifier(rng.normal(size=(5, n_classes)) * 4)
    metric = FisherJSMetric(f, lam=0.0, n_steps=3)
    D = metric.fit_transform(X)
    assert np.all(np.isfinite(D))
    # With λ = 0 each distance is a path of 4 Jensen-Shannon steps over s_D.
    assert D.max() <= 4 * JS_MAX / metric.path_scale_ + 1e-9
    graph = FisherJSMetric(f, lam=0.0, n_steps=3, n_neighbors=5).fit(X)
    np.testing.assert_allclose(
        graph.knn_distances_, np.sort(np.where(np.eye(60) > 0, np.inf, D), axis=1)[:, :5], atol=1e-9
    )


def test_exact_zeros_and_ones():
    X = np.random.default_rng(0).normal(size=(50, 3))
    D = FisherJSMetric(one_hot_regions, lam=0.0, n_steps=4).fit_transform(X)
    assert np.all(np.isfinite(D))
    # One-hot predictions on both sides of a boundary: one full change per crossing.
    codes = one_hot_regions(X).argmax(1)
    same = codes[:, None] == codes[None, :]
    assert np.all(D[same & (D > 0)] <= 2.0 + 1e-12)  # at most two boundaries crossed
    assert np.all(D[~same] >= 1.0 - 1e-12)


@pytest.mark.parametrize("scale", [1e-6, 1e6])
def test_distances_do_not_depend_on_the_unit_of_the_inputs(scale):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4))
    weights = rng.normal(size=(4, 3)) * 3
    reference = FisherJSMetric(softmax_classifier(weights)).fit_transform(X)
    scaled = FisherJSMetric(softmax_classifier(weights / scale)).fit_transform(X * scale)
    np.testing.assert_allclose(scaled, reference, rtol=1e-6, atol=1e-9)


def test_pandas_output_and_feature_names(iris):
    X, y, clf = iris
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    mapper = FisherUMAP(clf, n_neighbors=8, random_state=0).set_output(transform="pandas")
    out = mapper.fit_transform(frame)
    assert list(out.columns) == ["fisherumap0", "fisherumap1"]
    assert list(mapper.get_feature_names_out()) == ["fisherumap0", "fisherumap1"]
    np.testing.assert_array_equal(mapper.transform(frame.iloc[:4]).to_numpy(), out.to_numpy()[:4])
    dmap = small_map(clf).set_output(transform="pandas").fit(frame, y)
    assert list(dmap.transform(frame.iloc[:3]).columns) == ["decisionmap0", "decisionmap1"]
    metric = FisherJSMetric(clf).set_output(transform="pandas")
    distances = metric.fit_transform(frame.iloc[:6])
    assert distances.shape == (6, 6) and distances.columns[0] == "fisherjsmetric0"


def test_a_failed_refit_keeps_the_previous_fit_whole(iris):
    X, _, clf = iris
    mapper = FisherUMAP(clf, n_neighbors=8, random_state=0).fit(X)
    embedding, metric = mapper.embedding_.copy(), mapper.metric_
    with pytest.raises(ValueError, match="identical samples"):
        mapper.fit(np.ones((40, 4)))
    assert mapper.metric_ is metric
    np.testing.assert_array_equal(mapper.embedding_, embedding)
    np.testing.assert_array_equal(mapper.transform(X[:3]), embedding[:3])


def test_cosine_refuses_all_zero_samples(iris):
    X, _, clf = iris
    bad = X.copy()
    bad[[3, 9]] = 0.0
    for n_neighbors in (None, 5):
        with pytest.raises(ValueError, match=r"undefined for all-zero samples; samples \[3, 9\]"):
            FisherJSMetric(clf, base_metric="cosine", n_neighbors=n_neighbors).fit(bad)
    metric = FisherJSMetric(clf, base_metric="cosine").fit(X)
    with pytest.raises(ValueError, match="all-zero"):
        metric.transform(bad[:5])


def test_many_repeated_samples_cost_linear_memory(iris):
    X, _, clf = iris
    repeated = np.r_[np.repeat(X[:2], 1500, axis=0), X]  # 3,000 copies of two samples
    metric = FisherJSMetric(clf, n_neighbors=5).fit(repeated)
    assert np.all(metric.knn_distances_[:3000] == 0)
    # Each copy's neighbours are copies of the same sample.
    assert np.all(repeated[metric.knn_indices_[:1500]] == X[0])


def test_huge_integer_parameters_are_refused_by_name(iris):
    X, _, clf = iris
    with pytest.raises(ValueError, match=r"lam must be a finite number in \[0, 1\]; got 1000"):
        FisherJSMetric(clf, lam=10**400).fit(X)
    with pytest.raises(ValueError, match=r"resolution must be an integer in \[2, inf\); got"):
        small_map(clf, resolution=-(10**400)).fit(X)
