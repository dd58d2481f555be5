"""Candidates ranked with single-precision pruning: the same guarantee as every bound in
double precision."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist, jensenshannon

from didi import FisherJSMetric
from didi.distance import _bounds, _pruned, _ranking
from didi.distance._pruned_kernels import columns_at_most, lower_bounds_and_nearest

from ..conftest import softmax_classifier
from .test_knn import dense_neighbours, graph_rows


def test_jensen_shannon_is_at_least_ln2_times_the_squared_hellinger_distance():
    # The one-variable inequality each class's term reduces to, densely on [0, 1].
    t = np.linspace(0.0, 1.0, 200_001)
    with np.errstate(divide="ignore", invalid="ignore"):
        js = 0.5 * (np.nan_to_num(t * np.log(2 * t)) + np.nan_to_num((1 - t) * np.log(2 * (1 - t))))
    hellinger = np.log(2.0) * (0.5 - np.sqrt(t * (1 - t)))
    assert np.all(js - hellinger >= -1e-15)
    # Equality where the two predictions are disjoint or equal.
    np.testing.assert_allclose((js - hellinger)[[0, 100_000, -1]], 0.0, atol=1e-15)


@settings(max_examples=200, deadline=None)
@given(
    n_classes=st.integers(2, 12),
    concentration=st.floats(0.01, 10),
    seed=st.integers(0, 10_000),
)
def test_hellinger_factor_bounds_the_jensen_shannon_distance(n_classes, concentration, seed):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.full(n_classes, concentration), size=2)
    hellinger = np.linalg.norm(np.sqrt(p) - np.sqrt(q))
    assert accurate_js_distance(p, q) >= _pruned.HELLINGER_FACTOR * hellinger - 1e-12
    # scipy's distance (√JS, natural logarithms) agrees up to its cancellation when
    # p ≈ q: about √eps, or NaN for a divergence rounded below 0.
    scipy_distance = np.nan_to_num(jensenshannon(p, q))
    np.testing.assert_allclose(scipy_distance, accurate_js_distance(p, q), atol=1e-7)


def accurate_js_distance(p, q):
    """√JS with natural logarithms, each class's term ``p·ln(2p/m) + q·ln(2q/m)``
    (``m = p + q``) on its own: from ``log1p((p − q)/m)`` where p ≈ q, so that no
    entropy differences cancel, and from the ratios themselves elsewhere."""
    m = p + q
    r = np.divide(p - q, m, out=np.zeros_like(m), where=m > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(np.abs(r) < 0.5, np.log1p(r), np.log(2 * p / m))
        log_q = np.where(np.abs(r) < 0.5, np.log1p(-r), np.log(2 * q / m))
        terms = np.where(p > 0, p * log_p, 0.0) + np.where(q > 0, q * log_q, 0.0)
    return np.sqrt(max(0.5 * np.sum(terms), 0.0))


def random_terms(rng, n, d, n_classes, scale, offset=0.0):
    X = rng.normal(size=(n, d)) * scale + offset
    X[: n // 10] = X[n // 10 : 2 * (n // 10)]  # some exact duplicates
    logits = rng.normal(size=(n, n_classes)) * rng.uniform(0.1, 8)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    return X, proba


def terms_and_weights(X, proba, lam, base_scale):
    """Bound terms of samples that are their own references, and the bound's weights."""
    terms = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    return terms, _bounds.bound_weights(lam, np.sqrt(np.log(2)), base_scale, "euclidean", terms)


def ranked(query, rows, reference, weights, width, exclude_self, *, prune):
    limit = _ranking.PRUNING_MIN_REFERENCES
    _ranking.PRUNING_MIN_REFERENCES = 0 if prune else 10**12
    try:
        return _ranking.exact_candidates(
            query, rows, reference, weights, width, exclude_self=exclude_self
        )
    finally:
        _ranking.PRUNING_MIN_REFERENCES = limit


def free_bounds(X_query, proba_query, X_reference, proba_reference, weights):
    """The bound without rounding margins, independently: SciPy's distances from
    differences and its Jensen-Shannon distance. Every DiDi distance is at least this."""
    base = cdist(X_query, X_reference)
    path = cdist(proba_query, proba_reference, metric="jensenshannon")
    return weights.base * base + weights.path * np.nan_to_num(path)


def check_certified(table, floor, width, rows, exclude_self):
    """A ranking certifies the search when its lists are sorted, its bounds are at most
    the free bounds, and its next bound is at most every left-out reference's."""
    indices, bounds, next_bound = table
    floor = floor.copy()
    if exclude_self:
        floor[np.arange(len(rows)), rows] = np.inf
        assert not np.any(indices == rows[:, None])
    assert indices.shape[1] == width
    assert np.all(np.diff(bounds, axis=1) >= 0)
    chosen = np.take_along_axis(floor, indices, 1)
    assert np.all(bounds <= chosen * (1 + 1e-12))
    np.put_along_axis(floor, indices, np.inf, axis=1)
    assert np.all(next_bound <= floor.min(axis=1) * (1 + 1e-12))
    assert np.all(bounds[:, -1] <= next_bound)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(12, 120),
    d=st.integers(1, 40),
    n_classes=st.integers(2, 6),
    width=st.integers(1, 12),
    lam=st.floats(0, 1),
    log_scale=st.floats(-30, 30),
    offset=st.sampled_from([0.0, 1.0, 1e6]),
    exclude_self=st.booleans(),
    every_block_pruned=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_pruned_ranking_is_certified_like_double_precision(
    n, d, n_classes, width, lam, log_scale, offset, exclude_self, every_block_pruned, seed
):
    rng = np.random.default_rng(seed)
    scale = 10.0**log_scale
    X, proba = random_terms(rng, n, d, n_classes, scale, offset * scale)
    terms = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    rms = float(np.sqrt(2 * terms.sq_norms.mean())) or 1.0
    weights = _bounds.bound_weights(lam, np.sqrt(np.log(2)), rms, "euclidean", terms)
    rows = np.arange(0, n, 3)
    width = min(width, n - 2)
    floor = free_bounds(X[rows], proba[rows], X, proba, weights)
    share = _pruned._MAX_SURVIVOR_SHARE
    # Few references leave many survivors: without the share's limit, no block
    # falls back to double precision.
    _pruned._MAX_SURVIVOR_SHARE = 1.0 if every_block_pruned else share
    try:
        table = ranked(terms, rows, terms, weights, width, exclude_self, prune=True)
    finally:
        _pruned._MAX_SURVIVOR_SHARE = share
    check_certified(table, floor, width, rows, exclude_self)
    # Where the double-precision bounds leave no near-tie at the list's end, both
    # rankings choose the same references.
    double = ranked(terms, rows, terms, weights, width, exclude_self, prune=False)
    gap = double[2] - double[1][:, -1]
    clear = gap > 1e-3 * (1 + double[2])
    for row in np.flatnonzero(clear):
        assert set(table[0][row]) == set(double[0][row])


def test_pruned_bounds_are_close_to_double_precision():
    rng = np.random.default_rng(0)
    X, proba = random_terms(rng, 400, 64, 10, 1.0)
    terms, weights = terms_and_weights(X, proba, 0.65, 11.0)
    rows = np.arange(400)
    table = ranked(terms, rows, terms, weights, 30, True, prune=True)
    double = ranked(terms, rows, terms, weights, 30, True, prune=False)
    # The single-precision margin is about 1e-4 of the squared norms (about 64 here).
    np.testing.assert_allclose(table[1], double[1], rtol=0, atol=2e-3)
    assert np.mean(table[0] == double[0]) > 0.99


def test_queries_apart_from_the_references():
    rng = np.random.default_rng(1)
    X, proba = random_terms(rng, 300, 8, 3, 1.0)
    Q, proba_q = random_terms(rng, 40, 8, 3, 1.0)
    Q[:5] *= 1e25  # far outside the references' range: ranked in double precision
    reference = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    query = _bounds.bound_terms(Q, proba_q, "euclidean", X.mean(axis=0))
    weights = _bounds.bound_weights(0.5, np.sqrt(np.log(2)), 4.0, "euclidean", reference)
    rows = np.arange(40)
    floor = free_bounds(Q, proba_q, X, proba, weights)
    table = ranked(query, rows, reference, weights, 15, False, prune=True)
    check_certified(table, floor, 15, rows, False)
    assert _pruned.prune_block(
        query, rows[:5], reference, weights, _pruned.reference_single_precision(reference), 16,
        False,
    ) is None  # fmt: skip


def test_a_block_with_too_many_survivors_is_ranked_in_double_precision(monkeypatch):
    rng = np.random.default_rng(2)
    X, proba = random_terms(rng, 200, 5, 4, 1.0)
    terms, weights = terms_and_weights(X, proba, 0.65, 3.0)
    rows = np.arange(200)
    double = ranked(terms, rows, terms, weights, 10, True, prune=False)
    monkeypatch.setattr(_pruned, "_MAX_SURVIVOR_SHARE", 0.0)
    for a, b in zip(ranked(terms, rows, terms, weights, 10, True, prune=True), double, strict=True):
        np.testing.assert_array_equal(a, b)
    # The base neighbours come from the single-precision pass all the same.
    *_, base = _pruned.prune_block(
        terms, rows, terms, weights, _pruned.reference_single_precision(terms), 11, True, 6
    )
    np.testing.assert_array_equal(base.exact_neighbours(terms.flat, 5), brute_base_neighbours(X, 5))


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
def test_graph_with_pruned_candidates_equals_the_dense_matrix(lam, monkeypatch):
    rng = np.random.default_rng(3)
    f = softmax_classifier(rng.normal(size=(6, 4)) * 2)
    X = rng.normal(size=(150, 6))
    dense = FisherJSMetric(f, lam=lam, n_steps=3).fit_transform(X)
    monkeypatch.setattr(_ranking, "PRUNING_MIN_REFERENCES", 0)
    metric = FisherJSMetric(f, lam=lam, n_steps=3, n_neighbors=8, n_jobs=2)
    indices, dists = graph_rows(metric.fit_transform(X))
    np.testing.assert_allclose(dists, np.take_along_axis(dense, indices, 1), atol=1e-12)
    expected = dense_neighbours(dense, 8)
    np.testing.assert_allclose(dists[:, 1:], np.take_along_axis(dense, expected, 1), atol=1e-12)
    assert metric.knn_search_["candidates"] == "exact"


def test_kernel_keeps_each_rows_smallest_and_collects_the_survivors():
    rng = np.random.default_rng(4)
    base = -2 * rng.uniform(size=(7, 300)).astype(np.float32)
    path = -2 * rng.uniform(size=(7, 300)).astype(np.float32)
    rows_b, cols_b = rng.uniform(1, 2, 7), rng.uniform(1, 2, 300)
    rows_p, cols_p = rng.uniform(1, 2, 7), rng.uniform(1, 2, 300)
    margins = [np.full(7, 0.01), np.full(7, 0.001), np.full(7, 0.02), np.full(7, 0.002)]
    expected = 0.7 * np.maximum(
        np.sqrt(np.maximum(base + rows_b[:, None] + cols_b - 0.01, 0)) - 0.001, 0
    ) + 0.3 * np.maximum(np.sqrt(np.maximum(path + rows_p[:, None] + cols_p - 0.02, 0)) - 0.002, 0)
    self_col = np.array([3, -1, 0, 299, -1, 5, 6])
    nearest = np.empty((7, 9), dtype=np.int64)
    base_nearest, base_keys = np.empty((7, 12), dtype=np.int64), np.empty((7, 12))
    lower = path.copy()
    lower_bounds_and_nearest(
        base, lower, rows_b, cols_b, rows_p, cols_p, *margins, 0.7, 0.3, self_col, nearest,
        base_nearest, base_keys,
    )  # fmt: skip
    has_self = self_col >= 0
    expected[has_self, self_col[has_self]] = np.inf
    np.testing.assert_allclose(lower, expected, rtol=1e-6)
    keys = base + rows_b[:, None] + cols_b
    keys[has_self, self_col[has_self]] = np.inf
    for row in range(7):
        assert set(nearest[row]) == set(np.argsort(lower[row], kind="stable")[:9])
        assert set(base_nearest[row]) == set(np.argsort(keys[row], kind="stable")[:12])
        np.testing.assert_allclose(base_keys[row].max(), np.sort(keys[row])[11], rtol=1e-12)
    limit = np.sort(lower, axis=1)[:, 20].astype(np.float32)
    limit[0] = np.inf  # everything, but the row's own sample
    got = columns_at_most(lower, limit, self_col)
    want = np.nonzero((lower <= limit[:, None]) & (np.arange(300) != self_col[:, None]))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def brute_base_neighbours(X, k):
    D = cdist(X.reshape(len(X), -1), X.reshape(len(X), -1))
    return dense_neighbours(D, k)


def test_pruned_fit_finds_each_samples_exact_base_neighbours(monkeypatch):
    rng = np.random.default_rng(5)
    f = softmax_classifier(rng.normal(size=(5, 3)))
    X = rng.normal(size=(220, 5))
    X[:10] = X[10:20]  # exact duplicates: ties broken by index
    assert FisherJSMetric(f, n_neighbors=7).fit(X).base_knn_indices_ is None  # not pruned
    monkeypatch.setattr(_ranking, "PRUNING_MIN_REFERENCES", 0)
    metric = FisherJSMetric(f, n_neighbors=7).fit(X)
    np.testing.assert_array_equal(metric.base_knn_indices_, brute_base_neighbours(X, 7))
    # Neither under the cosine metric (not pruned) nor for the dense matrix.
    assert FisherJSMetric(f, n_neighbors=7, base_metric="cosine").fit(X).base_knn_indices_ is None
    assert FisherJSMetric(f).fit(X[:30]).base_knn_indices_ is None


def test_base_neighbours_not_certified_are_found_against_every_sample():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(150, 4))
    # Wrong candidates and no certificate: every row is measured against all samples.
    wrong = _pruned.BaseCandidates(rng.integers(0, 150, size=(150, 9)), np.zeros(150))
    np.testing.assert_array_equal(wrong.exact_neighbours(X, 5), brute_base_neighbours(X, 5))
    # Right candidates with a certificate just above the 5th distance: kept as they are.
    right = brute_base_neighbours(X, 9)
    D = cdist(X, X)
    fifth = np.take_along_axis(D, right[:, 4:5], 1)[:, 0]
    shuffled = rng.permuted(right, axis=1)
    certified = _pruned.BaseCandidates(shuffled, fifth * (1 + 1e-9))
    np.testing.assert_array_equal(certified.exact_neighbours(X, 5), right[:, :5])


def test_decision_map_lays_out_its_euclidean_umap_on_the_base_neighbours(digits, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    from didi import DecisionMap
    from didi.decision_map import _euclidean

    X, y = digits[0][:260], digits[1][:260]
    clf = LogisticRegression(max_iter=300).fit(X, y)

    def brute_force_graph(A, B, k, n_threads=1):  # exact, ties by index (digits' pixels tie often)
        searches.append(k)
        itself = np.arange(len(A))[:, None]
        return _euclidean.neighbour_graph(
            A, B, np.hstack([itself, brute_base_neighbours(A, k - 1)])
        )

    searches = []
    monkeypatch.setattr(_euclidean, "euclidean_neighbour_graph", brute_force_graph)
    plain = DecisionMap(clf, random_state=0, resolution=8).fit(X, y)
    assert searches == [30]
    monkeypatch.setattr(_ranking, "PRUNING_MIN_REFERENCES", 0)
    pruned = DecisionMap(clf, random_state=0, resolution=8).fit(X, y)
    assert searches == [30]  # no neighbour search of its own
    assert pruned.projection_.metric_.base_knn_indices_ is not None
    # The same exact graph as the brute-force search, so the same layout and score.
    np.testing.assert_array_equal(
        pruned.euclidean_umap_.embedding_, plain.euclidean_umap_.embedding_
    )
    assert pruned.scores_["q_knn_e"] == plain.scores_["q_knn_e"]


def test_huge_weights_keep_the_sample_itself_out_of_its_list(monkeypatch):
    rng = np.random.default_rng(7)
    X, proba = random_terms(rng, 120, 3, 3, 1.0)
    terms = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    # Bounds beyond float32's range: every pair survives the pruning.
    weights = _bounds.BoundWeights(1e39, 1e35, "euclidean", 1e-7, 3.0)
    monkeypatch.setattr(_pruned, "_MAX_SURVIVOR_SHARE", 1.0)
    rows = np.arange(120)
    table = ranked(terms, rows, terms, weights, 20, True, prune=True)
    check_certified(table, free_bounds(X, proba, X, proba, weights), 20, rows, True)


def test_lists_as_long_as_the_references_allow():
    rng = np.random.default_rng(8)
    X, proba = random_terms(rng, 40, 4, 3, 1.0)
    terms, weights = terms_and_weights(X, proba, 0.65, 2.0)
    rows = np.arange(40)
    floor = free_bounds(X, proba, X, proba, weights)
    table = ranked(terms, rows, terms, weights, 38, True, prune=True)  # keep = n − 1
    check_certified(table, floor, 38, rows, True)
    assert np.all(np.isinf(ranked(terms, rows, terms, weights, 39, True, prune=True)[2]))


def test_no_base_candidates_where_a_block_is_not_pruned():
    rng = np.random.default_rng(9)
    X, proba = random_terms(rng, 200, 6, 3, 1.0)
    Q, proba_q = random_terms(rng, 30, 6, 3, 1.0)
    reference = _bounds.bound_terms(X, proba, "euclidean", X.mean(axis=0))
    weights = _bounds.bound_weights(0.65, np.sqrt(np.log(2)), 3.0, "euclidean", reference)
    limit = _ranking.PRUNING_MIN_REFERENCES
    _ranking.PRUNING_MIN_REFERENCES = 0
    try:
        for scale, complete in [(1.0, True), (1e25, False)]:  # 1e25: too far for float32
            query = _bounds.bound_terms(Q * scale, proba_q, "euclidean", X.mean(axis=0))
            _, base = _ranking.candidates_and_base_candidates(
                query, np.arange(30), reference, weights, 5, 7, exclude_self=False
            )
            assert (base is not None) == complete
    finally:
        _ranking.PRUNING_MIN_REFERENCES = limit
