"""Running at scale: the memory guard, parallel and distributed paths, caching, progress."""

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from didi import DecisionMap, FisherJSMetric, FisherUMAP, _resources
from didi._memory import FINGERPRINT_POINTS


class CountingClassifier:
    """Wraps a fitted classifier and counts the rows it is asked about (picklable)."""

    def __init__(self, clf):
        self.clf = clf
        self.classes_ = clf.classes_
        self.rows = 0

    def predict_proba(self, X):
        self.rows += len(X)
        return self.clf.predict_proba(X)

    def __getstate__(self):
        # The count is not part of the model: memory= must recognise it between fits.
        return {"clf": self.clf, "classes_": self.classes_, "rows": 0}


@pytest.fixture(scope="module")
def small(digits, digits_mlp):
    X, y = digits
    return digits_mlp, X[:150], y[:150]


def test_dense_computation_that_cannot_fit_is_refused(small, monkeypatch):
    clf, X, _ = small
    monkeypatch.setattr(_resources, "available_memory", lambda: 100_000)
    with pytest.raises(MemoryError, match=r"n_neighbors=k \(FisherJSMetric\)"):
        FisherJSMetric(clf).fit(X)
    with pytest.raises(MemoryError, match="mode='knn'"):
        FisherUMAP(clf, mode="dense").fit(X)
    # The k-NN graph needs memory linear in n: it goes ahead.
    graph = FisherJSMetric(clf, n_neighbors=5).fit_transform(X)
    assert graph.shape == (150, 150)


def test_unknown_available_memory_does_not_block(small, monkeypatch):
    clf, X, _ = small
    monkeypatch.setattr(_resources, "available_memory", lambda: None)
    assert FisherJSMetric(clf).fit_transform(X[:20]).shape == (20, 20)


def test_mode_is_chosen_by_size(small):
    clf, X, _ = small
    assert FisherUMAP(clf, n_neighbors=10).fit(X).metric_.n_neighbors_ == 9
    assert FisherUMAP(clf, n_neighbors=60).fit(X).metric_.n_neighbors_ is None
    assert FisherUMAP(clf, n_neighbors=10, scale="max").fit(X).metric_.n_neighbors_ is None
    with pytest.raises(ValueError, match="mode must be one of"):
        FisherUMAP(clf, mode="sparse").fit(X)
    with pytest.raises(ValueError, match="scale='max'"):
        FisherUMAP(clf, mode="knn", scale="max").fit(X)


def test_parallel_jobs_give_the_same_graph(small):
    clf, X, _ = small
    one = FisherJSMetric(clf, n_neighbors=8).fit(X)
    with joblib.parallel_config(backend="threading"):
        two = FisherJSMetric(clf, n_neighbors=8, n_jobs=2).fit(X)
    np.testing.assert_array_equal(one.knn_indices_, two.knn_indices_)
    np.testing.assert_allclose(one.knn_distances_, two.knn_distances_, rtol=1e-12)
    assert one.n_classifier_rows_ == two.n_classifier_rows_
    loky = FisherJSMetric(clf, n_neighbors=8, n_jobs=2).fit(X)
    np.testing.assert_allclose(one.knn_distances_, loky.knn_distances_, rtol=1e-12)
    assert loky.n_classifier_rows_ == one.n_classifier_rows_


def test_dask_cluster_gives_the_same_graph(small):
    distributed = pytest.importorskip("distributed")
    clf, X, _ = small
    local = FisherJSMetric(clf, n_neighbors=8, n_steps=3).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
        distributed.get_task_stream(client) as stream,
    ):
        remote = FisherJSMetric(clf, n_neighbors=8, n_steps=3).fit(X)
    tasks_run = len(stream.data)
    np.testing.assert_array_equal(local.knn_indices_, remote.knn_indices_)
    np.testing.assert_allclose(local.knn_distances_, remote.knn_distances_, rtol=1e-12)
    assert remote.n_classifier_rows_ == local.n_classifier_rows_
    assert tasks_run > 0


def test_memory_reuses_paths_across_lam(small, tmp_path):
    clf, X, _ = small
    counting = CountingClassifier(clf)
    first = FisherJSMetric(counting, n_neighbors=8, memory=tmp_path).fit(X)
    assert first.n_classifier_rows_ == counting.rows > 0
    again = FisherJSMetric(counting, n_neighbors=8, memory=str(tmp_path)).fit(X)
    # Only the probabilities that identify the classifier's model: of the samples
    # and of the fixed points between them.
    assert again.n_classifier_rows_ == len(X) + FINGERPRINT_POINTS
    assert counting.rows == first.n_classifier_rows_ + len(X) + FINGERPRINT_POINTS
    np.testing.assert_array_equal(again.knn_distances_, first.knn_distances_)
    other_lam = FisherJSMetric(counting, lam=0.3, n_neighbors=8, memory=tmp_path).fit(X)
    fresh = FisherJSMetric(clf, lam=0.3, n_neighbors=8).fit(X)
    # Only the pairs the first search had not evaluated cost classifier rows.
    assert 0 < other_lam.n_classifier_rows_ < fresh.n_classifier_rows_
    np.testing.assert_allclose(other_lam.knn_distances_, fresh.knn_distances_, rtol=1e-12)


def test_memory_makes_a_search_over_a_skip_the_distances(small, tmp_path):
    clf, X, y = small
    counting = CountingClassifier(clf)
    params = dict(n_neighbors=10, resolution=12, random_state=0, memory=tmp_path)
    first = DecisionMap(counting, a=500, **params).fit(X, y)
    before = counting.rows
    second = DecisionMap(counting, a=50, **params).fit(X, y)
    # Only the samples and the points between them (to recognise the classifier,
    # for the cache and for add_samples), π⁻¹ of the samples (under the scores' and
    # the map's π⁻¹) and of the grid cells are classified: no path.
    expected = 3 * len(X) + 2 * FINGERPRINT_POINTS + 12 * 12
    assert counting.rows - before == expected == second.n_classifier_rows_
    np.testing.assert_array_equal(second.embedding_, first.embedding_)
    assert second.scores_["q_knn"] == first.scores_["q_knn"]
    assert "cached projection" in second.timings_
    search = GridSearchCV(
        DecisionMap(counting, **params), {"a": [100, 1000]}, cv=2, refit=False
    ).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_memory_needs_a_picklable_classifier(small, tmp_path):
    clf, X, _ = small

    def local_function(Z):  # closures cannot be pickled, so cannot be recognised
        return clf.predict_proba(Z)

    with pytest.raises(TypeError, match="memory= needs a classifier and samples that can be"):
        FisherJSMetric(lambda Z: local_function(Z), memory=tmp_path).fit(X)
    with pytest.raises(TypeError, match="memory= needs a classifier and samples that can be"):
        DecisionMap(local_function, n_neighbors=10, memory=tmp_path).fit(X)


def test_verbose_shows_progress(small, capsys):
    clf, X, y = small
    DecisionMap(clf, n_neighbors=10, resolution=70, verbose=True, random_state=0).fit(X, y)
    err = capsys.readouterr().err
    assert "k-NN search" in err and "grid" in err
    FisherJSMetric(clf, verbose=True).fit(X[:40])
    assert "path lengths" in capsys.readouterr().err


WEIGHT = {"scale": 1.0}


def global_weight_classifier(X):
    """A plain function whose model lives in a global: its pickle is only its name."""
    z = WEIGHT["scale"] * np.asarray(X).reshape(len(X), -1)[:, :3]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_memory_tells_a_changed_model_apart(small, tmp_path):
    _, X, y = small
    X = X / 16
    params = dict(n_neighbors=6, memory=tmp_path)
    before = FisherJSMetric(global_weight_classifier, **params).fit(X)
    WEIGHT["scale"] = 50.0
    try:
        after = FisherJSMetric(global_weight_classifier, **params).fit(X)
        fresh = FisherJSMetric(global_weight_classifier, n_neighbors=6).fit(X)
        dmap_params = dict(n_neighbors=10, resolution=5, random_state=0, memory=tmp_path)
        DecisionMap(global_weight_classifier, **dmap_params).fit(X, y)
        WEIGHT["scale"] = 1.0
        old_model = DecisionMap(global_weight_classifier, **dmap_params).fit(X, y)
    finally:
        WEIGHT["scale"] = 1.0
    np.testing.assert_array_equal(after.knn_distances_, fresh.knn_distances_)
    assert not np.array_equal(after.knn_distances_, before.knn_distances_)
    assert "cached projection" not in old_model.timings_


def test_memory_writes_once_per_fit_not_once_per_block(small, tmp_path, monkeypatch):
    from didi.distance import _stores

    clf, X, _ = small
    writes = []
    save = _stores._atomic_save
    monkeypatch.setattr(_stores, "_atomic_save", lambda *a: (writes.append(a[0]), save(*a)))
    # batch_size=64 splits the 11,175 pairs into many blocks.
    FisherJSMetric(clf, batch_size=64, memory=tmp_path).fit(X)
    assert len(writes) == 1
    with np.load(writes[0]) as saved:
        assert len(saved["keys"]) == len(X) * (len(X) - 1) // 2


def test_decision_map_memory_reuses_paths_across_lam(small, tmp_path):
    clf, X, y = small
    params = dict(n_neighbors=10, resolution=5, random_state=0, memory=tmp_path)
    first = DecisionMap(clf, lam=0.65, **params).fit(X, y)
    second = DecisionMap(clf, lam=0.5, **params).fit(X, y)
    fresh = DecisionMap(clf, lam=0.5, n_neighbors=10, resolution=5, random_state=0).fit(X, y)
    rows_first = first.projection_.metric_.n_classifier_rows_
    rows_second = second.projection_.metric_.n_classifier_rows_
    assert rows_second < rows_first / 2
    np.testing.assert_allclose(
        second.projection_.metric_.knn_distances_,
        fresh.projection_.metric_.knn_distances_,
        rtol=1e-12,
    )


def test_no_more_workers_than_blocks(small, monkeypatch):
    """n_jobs=8 on a small fit once started eight processes for a few blocks."""
    import sklearn.utils.parallel

    calls = []

    class Recording(sklearn.utils.parallel.Parallel):
        def __call__(self, iterable):
            tasks = list(iterable)
            calls.append((self.n_jobs, len(tasks)))
            return super().__call__(tasks)

    # parallel_path_lengths imports Parallel when it runs: patch it at its source.
    monkeypatch.setattr(sklearn.utils.parallel, "Parallel", Recording)
    clf, X, _ = small
    expected = FisherJSMetric(clf, n_neighbors=5).fit_transform(X[:40])
    got = FisherJSMetric(clf, n_neighbors=5, n_jobs=8, batch_size=64).fit_transform(X[:40])
    np.testing.assert_array_equal(got.toarray(), expected.toarray())
    assert calls, "the blocks went through joblib"
    assert all(n_jobs <= n_tasks for n_jobs, n_tasks in calls), calls
    calls.clear()
    # A single block needs one worker, which joblib makes this process.
    FisherJSMetric(clf, n_neighbors=5, n_jobs=8).fit_transform(X[:40])
    assert calls and all(n_jobs == n_tasks == 1 for n_jobs, n_tasks in calls), calls


def test_a_grid_that_cannot_fit_is_refused_before_any_work(small, monkeypatch):
    clf, X, y = small
    counting = CountingClassifier(clf)
    monkeypatch.setattr(_resources, "available_memory", lambda: 1 << 30)
    with pytest.raises(MemoryError, match=r"grid of 20000 × 20000 cells for 10 classes"):
        DecisionMap(counting, resolution=20_000).fit(X, y)
    assert counting.rows == 0
    DecisionMap(counting, n_neighbors=10, resolution=20).fit(X, y)  # small grids pass


def test_a_classifier_that_edits_its_input_cannot_edit_the_callers_samples(small):
    clf, X, y = small

    def vandal(Z):
        proba = clf.predict_proba(Z)
        Z[...] = 0.0  # edits whatever it is given
        return proba

    samples = X.copy()
    DecisionMap(vandal, n_neighbors=10, resolution=8, random_state=0).fit(samples, y)
    np.testing.assert_array_equal(samples, X)
    metric = FisherJSMetric(vandal, n_neighbors=5).fit(samples)
    metric.transform(samples[:10])
    np.testing.assert_array_equal(samples, X)
    np.testing.assert_array_equal(metric.X_fit_, X)
