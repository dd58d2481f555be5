"""UMAP's layout in PyTorch: umap-learn's own result where updating edges at once
changes nothing, its quality on the same graph, and the plumbing."""

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

pytest.importorskip("torch")

from didi import DecisionMap
from didi._validation import InvalidParameterError
from didi.decision_map._euclidean import euclidean_neighbour_graph
from didi.projection._torch_layout import optimize_layout_torch, torch_layout
from didi.projection._umap import fit_umap


def test_disjoint_edges_without_repulsion_move_exactly_as_in_umap_learn():
    from umap.layouts import optimize_layout_euclidean

    rng = np.random.default_rng(0)
    start = rng.uniform(0, 10, size=(8, 2)).astype(np.float32)
    head, tail = np.array([0, 2, 4, 6]), np.array([1, 3, 5, 7])
    per_sample = np.array([1.0, 2.0, 1.0, 3.0])
    a, b = 1.577, 0.895
    # umap-learn moves its head array in place and reads the tail from another copy;
    # with move_other they are one array in a real fit.
    shared = start.copy()
    expected = optimize_layout_euclidean(
        shared, shared, head, tail, 7, 8, per_sample, a, b,
        np.array([1, 2, 3], dtype=np.int64), gamma=0.0, move_other=True, parallel=False,
    )  # fmt: skip
    found = optimize_layout_torch(start.copy(), head, tail, 7, per_sample, a, b, gamma=0.0)
    np.testing.assert_allclose(found, expected, rtol=1e-5, atol=1e-5)


def test_no_epochs_leaves_the_layout():
    start = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    found = optimize_layout_torch(start.copy(), np.array([0, 2]), np.array([1, 3]), 0,
                                  np.ones(2), 1.0, 1.0)  # fmt: skip
    np.testing.assert_array_equal(found, start)


def test_only_the_asking_thread_lays_out_in_torch(digits):
    import threading

    X, _ = digits
    graph = euclidean_neighbour_graph(X[:300], X[:300], 10)
    options = dict(n_neighbors=10, min_dist=0.1, spread=1.0, n_epochs=50, random_state=0)
    plain = fit_umap(graph.copy(), **options).embedding_
    found = {}

    def other_thread():
        found["other"] = fit_umap(graph.copy(), **options).embedding_

    with torch_layout("cpu"):
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        found["inside"] = fit_umap(graph.copy(), **options).embedding_
    found["after"] = fit_umap(graph.copy(), **options).embedding_
    np.testing.assert_array_equal(found["other"], plain)  # another thread: umap-learn's own
    np.testing.assert_array_equal(found["after"], plain)  # the block has ended
    assert not np.allclose(found["inside"], plain)


def _quality(X, y, embedding):
    from sklearn.manifold import trustworthiness

    knn = cross_val_score(KNeighborsClassifier(5), embedding, y, cv=5).mean()
    return knn, trustworthiness(X, embedding, n_neighbors=10)


def test_same_graph_same_quality_as_umap_learn(digits):
    X, y = digits
    graph = euclidean_neighbour_graph(X, X, 15)
    options = dict(n_neighbors=15, min_dist=0.1, spread=1.0, n_epochs=None, random_state=0)
    numba = fit_umap(graph.copy(), **options)
    torch_fit = fit_umap(graph.copy(), layout_device="cpu", **options)
    again = fit_umap(graph.copy(), layout_device="cpu", **options)
    np.testing.assert_array_equal(torch_fit.embedding_, again.embedding_)  # seeded
    assert not np.allclose(torch_fit.embedding_, numba.embedding_)
    knn_numba, trust_numba = _quality(X, y, numba.embedding_)
    knn_torch, trust_torch = _quality(X, y, torch_fit.embedding_)
    assert knn_torch > knn_numba - 0.02 and trust_torch > trust_numba - 0.005


def test_a_decision_map_lays_out_on_the_device(digits, digits_mlp):
    X, y = digits
    options = dict(n_neighbors=15, resolution=10, random_state=0)
    plain = DecisionMap(digits_mlp, **options).fit(X[:300], y[:300])
    on_device = DecisionMap(digits_mlp, layout_device="cpu", **options).fit(X[:300], y[:300])
    assert not np.allclose(plain.embedding_, on_device.embedding_)
    assert on_device.projection_.layout_device == "cpu"
    for score in ("q_knn", "q_knn_e", "q_data"):
        assert on_device.scores_[score] > plain.scores_[score] - 0.04
    with pytest.raises(InvalidParameterError, match="layout_device must be"):
        DecisionMap(digits_mlp, layout_device=5).fit(X[:100])
    with pytest.raises(ValueError, match="layout_device='gpu' is not a torch device"):
        DecisionMap(digits_mlp, layout_device="gpu").fit(X[:100])


def test_cached_projections_of_default_maps_keep_their_keys():
    from didi import FisherUMAP
    from didi.decision_map._decision_map import _projection_key

    assert "layout_device" not in _projection_key(FisherUMAP(), "digest")
    assert _projection_key(FisherUMAP(layout_device="cpu"), "digest")["layout_device"] == "cpu"
