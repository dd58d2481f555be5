"""The bound-ordered k-NN search: exact against brute force, and frugal."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from didi import FisherJSMetric, FisherUMAP
from didi.distance._knn import CandidateLists, bound_ordered_knn, merge_nearest

from ..conftest import softmax_classifier


def dense_neighbours(D, k):
    """Brute force: each row's k nearest other columns, by distance then index."""
    D = D.copy()
    np.fill_diagonal(D, np.inf)
    order = np.lexsort((np.broadcast_to(np.arange(D.shape[1]), D.shape), D), axis=1)
    return order[:, :k]


def graph_rows(graph):
    n = graph.shape[0]
    width = graph.indptr[1]
    return graph.indices.reshape(n, width), graph.data.reshape(n, width)


def plane_search(points, k, first_coordinate_bound=True):
    """Run the search on points in the plane, with |Δx₀| as the lower bound."""
    n = len(points)
    exact = cdist(points, points)
    bound = np.abs(points[:, :1] - points[:, :1].T) if first_coordinate_bound else exact * 0
    seen = []

    def evaluate(ia, ib):
        seen.append(np.c_[ia, ib])
        return exact[ia, ib]

    def lists(rows, width):
        sub = bound[rows].copy()
        sub[np.arange(len(rows)), rows] = np.inf
        order = np.argsort(sub, axis=1, kind="stable")
        width = min(width, n - 1)
        values = np.take_along_axis(sub, order, 1)
        next_bound = values[:, width] if width < n - 1 else np.full(len(rows), np.inf)
        return order[:, :width], values[:, :width], next_bound.copy()

    result = bound_ordered_knn(
        k,
        CandidateLists.from_rows(*lists(np.arange(n), k)),
        evaluate,
        lists,
        n_references=n,
        symmetric=True,
    )
    return result, np.concatenate(seen), exact


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 40),
    k=st.integers(1, 8),
    seed=st.integers(0, 10_000),
)
def test_search_finds_the_brute_force_neighbours(n, k, seed):
    points = np.random.default_rng(seed).normal(size=(n, 2))
    k = min(k, n - 1)
    result, seen, exact = plane_search(points, k)
    expected = dense_neighbours(exact, k)
    assert np.array_equal(
        np.take_along_axis(exact, result.indices, 1), np.take_along_axis(exact, expected, 1)
    )
    # Each pair is evaluated once, in canonical order, and never with itself.
    assert np.all(seen[:, 0] < seen[:, 1])
    assert len(np.unique(seen, axis=0)) == len(seen) == result.n_evaluated


@settings(max_examples=30, deadline=None)
@given(n=st.integers(6, 60), k=st.integers(1, 6), seed=st.integers(0, 10_000))
def test_search_visits_no_candidate_whose_bound_reaches_the_kth_distance(n, k, seed):
    points = np.random.default_rng(seed).normal(size=(n, 2))
    k = min(k, n - 1)
    _, seen, exact = plane_search(points, k)
    bound = np.abs(points[:, :1] - points[:, :1].T)
    np.fill_diagonal(bound, np.inf)
    first = np.argsort(bound, axis=1, kind="stable")[:, :k]  # the first round's visits
    # After its first round a row's k-th distance is at most that of its first k
    # candidates, and it only falls: a later visit needs a bound below it.
    after_first = np.take_along_axis(exact, first, 1).max(axis=1)

    def asked_for_by(a, b):
        return np.isin(b, first[a]) or bound[a, b] < after_first[a]

    assert all(asked_for_by(a, b) or asked_for_by(b, a) for a, b in seen)


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(1, 6),
    k=st.integers(1, 5),
    batches=st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 5),
                st.sampled_from([0.0, -0.0, 1.0, 1.0, 2.5, np.inf, np.nan, 1e-300]),
            ),
            max_size=25,
        ),
        max_size=4,
    ),
)
def test_merge_keeps_the_first_k_by_distance_nan_last_then_index(n_rows, k, batches):
    """Merged rows equal numpy's lexsort of every entry seen so far (the order the search
    documents: distance, NaN after every number, ties by the smaller index), batch after
    batch, the empty slots (inf, -1) included."""
    best_idx = np.full((n_rows, k), -1, dtype=np.int64)
    best_dist = np.full((n_rows, k), np.inf)
    seen = [[(np.inf, -1)] * k for _ in range(n_rows)]
    next_col = np.zeros(n_rows, dtype=np.int64)
    for batch in batches:
        rows, cols, dists = [], [], []
        for row, dist in batch:
            row %= n_rows
            # Distinct columns per row, in no particular order.
            col = int(next_col[row] * 7919 % 1000)
            next_col[row] += 1
            rows.append(row), cols.append(col), dists.append(dist)
            seen[row].append((dist, col))
        merge_nearest(
            best_idx, best_dist, np.array(rows, int), np.array(cols, int), np.array(dists)
        )
        for row in range(n_rows):
            dist, col = np.array([d for d, _ in seen[row]]), np.array([c for _, c in seen[row]])
            order = np.lexsort((col, dist))[:k]
            np.testing.assert_array_equal(best_idx[row], col[order])
            np.testing.assert_array_equal(best_dist[row].view(np.int64), dist[order].view(np.int64))


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_paired_base_distances_are_the_same_bits_on_any_number_of_threads(metric):
    """10,000 pairs of 784 values are 4 blocks: on three threads each pair gets the bits
    it gets on one, and the values are scipy's distances."""
    from didi.distance._base_distance import paired_base_distances

    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(300, 784)).astype(np.float32), rng.normal(size=(200, 784))
    ia, ib = rng.integers(0, 300, 10_000), rng.integers(0, 200, 10_000)
    one = paired_base_distances(A, ia, B, ib, metric)
    three = paired_base_distances(A, ia, B, ib, metric, n_threads=3)
    np.testing.assert_array_equal(three.view(np.int64), one.view(np.int64))
    expected = cdist(A.astype(np.float64), B, metric)[ia, ib]
    np.testing.assert_allclose(one, expected, rtol=1e-12)


def test_empty_or_unordered_lists_are_extended_and_end():
    points = np.random.default_rng(3).normal(size=(12, 2))
    exact = cdist(points, points)

    def lists(rows, width, value=0.0):
        order = np.argsort(exact[rows] + np.where(np.arange(12) == rows[:, None], np.inf, 0), 1)
        width = min(width, 11)
        bounds = np.full((len(rows), width), value)
        next_bound = np.full(len(rows), value if width < 11 else np.inf)
        return order[:, :width], bounds, next_bound

    empty = CandidateLists.from_rows(np.full((12, 2), -1), np.zeros((12, 2)), np.zeros(12))
    for start, bound in [
        (empty, 0.0),
        (CandidateLists.from_rows(*lists(np.arange(12), 3, np.nan)), np.nan),
    ]:
        result = bound_ordered_knn(
            3, start, lambda a, b: exact[a, b], lambda rows, w, bound=bound: lists(rows, w, bound),
            n_references=12, symmetric=True,
        )  # fmt: skip
        assert np.array_equal(result.indices, dense_neighbours(exact, 3))


def test_search_with_a_useless_bound_still_finds_the_neighbours():
    points = np.random.default_rng(1).normal(size=(30, 2))
    result, seen, exact = plane_search(points, 4, first_coordinate_bound=False)
    assert np.array_equal(result.indices, dense_neighbours(exact, 4))
    assert len(seen) == 30 * 29 // 2  # a zero bound certifies nothing: every pair


def test_a_tight_bound_saves_evaluations():
    points = np.c_[np.random.default_rng(2).normal(size=500), np.zeros(500)]
    _, seen, _ = plane_search(points, 5)  # on a line the bound is exact
    assert len(seen) < 500 * 8


@pytest.fixture(scope="module")
def digits_setup(digits, digits_mlp):
    X, _ = digits
    return digits_mlp, X[:160]


@pytest.mark.parametrize("lam", [0.0, 0.3, 0.65, 1.0])
@pytest.mark.parametrize("n_steps", [0, 3])
def test_graph_equals_the_dense_matrix(digits_setup, lam, n_steps):
    clf, X = digits_setup
    k = 12
    dense = FisherJSMetric(clf, lam=lam, n_steps=n_steps).fit_transform(X)
    metric = FisherJSMetric(clf, lam=lam, n_steps=n_steps, n_neighbors=k)
    graph = metric.fit_transform(X)
    indices, dists = graph_rows(graph)
    assert graph.shape == (160, 160) and indices.shape == (160, k + 1)
    # Self first at an explicit 0, then the k nearest, sorted.
    assert np.array_equal(indices[:, 0], np.arange(160)) and np.all(dists[:, 0] == 0)
    assert np.all(np.diff(dists, axis=1) >= 0)
    np.testing.assert_allclose(dists, np.take_along_axis(dense, indices, 1), atol=1e-12)
    expected = dense_neighbours(dense, k)
    np.testing.assert_allclose(dists[:, 1:], np.take_along_axis(dense, expected, 1), atol=1e-12)
    assert metric.knn_search_["candidates"] == "exact"


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(5, 30),
    d=st.integers(1, 4),
    n_classes=st.integers(2, 4),
    k=st.integers(1, 6),
    lam=st.floats(0, 1),
    log_scale=st.floats(-6, 6),
    seed=st.integers(0, 1000),
    metric=st.sampled_from(["euclidean", "cosine"]),
)
def test_graph_equals_dense_on_random_problems(n, d, n_classes, k, lam, log_scale, seed, metric):
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    f = softmax_classifier(rng.normal(size=(d, n_classes)) * 3 / scale)
    X = rng.normal(size=(n, d)) * scale
    k = min(k, n - 1)
    dense = FisherJSMetric(f, lam=lam, n_steps=2, base_metric=metric).fit_transform(X)
    graph = FisherJSMetric(f, lam=lam, n_steps=2, base_metric=metric, n_neighbors=k)
    _, dists = graph_rows(graph.fit_transform(X))
    expected = np.take_along_axis(dense, dense_neighbours(dense, k), 1)
    np.testing.assert_allclose(dists[:, 1:], expected, rtol=1e-9, atol=1e-12)


def test_threaded_ranking_gives_the_same_candidates(digits, digits_mlp, monkeypatch):
    from didi.distance import _bounds, _ranking

    X = digits[0][:300]
    proba = digits_mlp.predict_proba(X)
    terms = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    weights = _bounds.bound_weights(0.65, 0.8, 40.0, "euclidean", terms)
    # Small blocks, so that many threads share the rows.
    monkeypatch.setattr(_bounds, "_BLOCK_ELEMENTS", 300 * 10 * 7)
    rows = np.arange(0, 300, 2)
    one = _ranking.exact_candidates(terms, rows, terms, weights, 20, exclude_self=True)
    four = _ranking.exact_candidates(
        terms, rows, terms, weights, 20, exclude_self=True, n_threads=4
    )
    for a, b in zip(one, four, strict=True):
        np.testing.assert_array_equal(a, b)
    # n_jobs gives the metric's ranking threads; the graph does not depend on it.
    serial = FisherJSMetric(digits_mlp, n_neighbors=10).fit_transform(X)
    threaded = FisherJSMetric(digits_mlp, n_neighbors=10, n_jobs=3).fit_transform(X)
    np.testing.assert_array_equal(serial.toarray(), threaded.toarray())


def test_overlapping_threaded_rankings_restore_the_blas_threads(digits, digits_mlp):
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    from didi.distance import _bounds, _ranking

    X = digits[0][:400]
    terms = _bounds.bound_terms(X, digits_mlp.predict_proba(X), "euclidean", X.mean(axis=0))
    weights = _bounds.bound_weights(0.65, 0.8, 40.0, "euclidean", terms)
    before = [pool["num_threads"] for pool in threadpool_info()]

    def rank(_):
        return _ranking.exact_candidates(
            terms, np.arange(400), terms, weights, 10, exclude_self=True, n_threads=3
        )

    with ThreadPoolExecutor(4) as pool:
        tables = list(pool.map(rank, range(8)))
    assert [pool["num_threads"] for pool in threadpool_info()] == before
    for table in tables[1:]:
        np.testing.assert_array_equal(table[0], tables[0][0])


def test_knn_costs_far_fewer_classifier_rows(digits, digits_mlp):
    X = digits[0][:400]
    metric = FisherJSMetric(digits_mlp, n_neighbors=15).fit(X)
    n = len(X)
    # Each sample once, then n_steps rows per evaluated pair.
    assert metric.n_classifier_rows_ == n + 5 * metric.n_path_pairs_
    assert metric.n_classifier_rows_ < (n + n * (n - 1) // 2 * 5) / 5


def test_transform_returns_each_new_samples_nearest_fitted_samples(digits_setup, digits):
    clf, X = digits_setup
    X_new = digits[0][1000:1012]
    dense = FisherJSMetric(clf).fit(X).transform(X_new)
    graph = FisherJSMetric(clf, n_neighbors=9).fit(X).transform(X_new)
    assert graph.shape == (12, 160)
    indices, dists = graph_rows(graph)
    assert indices.shape == (12, 10)  # n_neighbors + 1, as KNeighborsTransformer
    order = np.argsort(dense, axis=1, kind="stable")[:, :10]
    np.testing.assert_allclose(dists, np.take_along_axis(dense, order, 1), atol=1e-12)
    # A fitted sample finds itself first, at 0.
    own = FisherJSMetric(clf, n_neighbors=9).fit(X).transform(X[:3])
    own_indices, own_dists = graph_rows(own)
    assert np.array_equal(own_indices[:, 0], [0, 1, 2]) and np.all(own_dists[:, 0] == 0)


def test_nndescent_candidates_reach_full_recall(digits, digits_mlp):
    X = digits[0][:500]
    k = 10
    dense = FisherJSMetric(digits_mlp).fit_transform(X)
    metric = FisherJSMetric(digits_mlp, n_neighbors=k, candidates="nndescent", random_state=0)
    indices, _ = graph_rows(metric.fit_transform(X))
    expected = dense_neighbours(dense, k)
    pairs = zip(indices[:, 1:], expected, strict=True)
    recall = np.mean([len(np.intersect1d(a, b)) / k for a, b in pairs])
    assert recall >= 0.99
    assert metric.knn_search_["candidates"] == "nndescent"


def test_projection_is_the_same_in_both_modes(digits_setup):
    clf, X = digits_setup
    dense = FisherUMAP(clf, n_neighbors=10, mode="dense", random_state=0).fit(X)
    knn = FisherUMAP(clf, n_neighbors=10, mode="knn", random_state=0).fit(X)
    assert knn.metric_.n_neighbors_ == 9 and dense.metric_.n_neighbors_ is None
    np.testing.assert_allclose(knn.embedding_, dense.embedding_, atol=1e-4)
    assert knn.metric_.n_classifier_rows_ < dense.metric_.n_classifier_rows_ / 3
    np.testing.assert_allclose(knn.transform(X[:5]), knn.embedding_[:5])


def test_precomputed_graph_feeds_fisher_umap(digits_setup, digits):
    clf, X = digits_setup
    metric = FisherJSMetric(clf, n_neighbors=9)
    mapper = FisherUMAP("precomputed", n_neighbors=10, random_state=0)
    embedding = mapper.fit_transform(metric.fit_transform(X))
    direct = FisherUMAP(clf, n_neighbors=10, mode="knn", random_state=0).fit(X)
    np.testing.assert_allclose(embedding, direct.embedding_)
    placed = mapper.transform(metric.transform(digits[0][1000:1004]))
    assert placed.shape == (4, 2) and np.all(np.isfinite(placed))
    with pytest.raises(ValueError, match="needs at least 10 stored distances"):
        FisherUMAP("precomputed", n_neighbors=10).fit(
            FisherJSMetric(clf, n_neighbors=5).fit_transform(X)
        )
