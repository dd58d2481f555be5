"""UMAP's spectral initial layout as didi's fits solve it (didi.projection._spectral)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestNeighbors

import didi.projection._spectral as spectral
from didi.decision_map._euclidean import euclidean_neighbour_graph
from didi.projection._kernels import cache_umap_kernels
from didi.projection._layout_hooks import hooked_function
from didi.projection._spectral import laplacian_eigenmap, spectral_threads
from didi.projection._spectral_kernels import csr_rows_product
from didi.projection._umap import fit_umap


@pytest.fixture(scope="module")
def digits_graph():
    """umap-learn's fuzzy 15-NN graph of the 1,797 digits: connected."""
    from umap.umap_ import fuzzy_simplicial_set

    cache_umap_kernels()  # umap-learn's graph kernels from numba's disk cache
    X = load_digits().data
    distances, indices = NearestNeighbors(n_neighbors=15).fit(X).kneighbors(X)
    graph, _, _ = fuzzy_simplicial_set(
        X, 15, 0, "euclidean", knn_indices=indices, knn_dists=distances
    )
    assert scipy.sparse.csgraph.connected_components(graph)[0] == 1
    return graph.tocoo()


def umaps_own(*args, **kwargs):
    """umap-learn's ``_spectral_layout``, under whatever hook is installed."""
    import umap.spectral

    return hooked_function(umap.spectral._spectral_layout)(*args, **kwargs)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.int64), b.view(np.int64))


@pytest.mark.parametrize("n_threads, compiled", [(1, False), (1, True), (3, True)])
def test_the_start_is_umap_learns_to_the_bit_on_any_number_of_threads(
    digits_graph, n_threads, compiled, monkeypatch
):
    if compiled:  # the compiled loop's products on this small graph too
        monkeypatch.setattr(spectral, "MIN_COMPILED_ENTRIES", 1)
    theirs_state, ours_state = np.random.RandomState(3), np.random.RandomState(3)
    theirs = umaps_own(None, digits_graph, 2, theirs_state)
    ours = laplacian_eigenmap(digits_graph, 2, ours_state, n_threads=n_threads)
    assert same_bits(ours, theirs)
    # The random state moves on as umap-learn's does: the layout's later draws agree.
    assert same_bits(ours_state.normal(size=5), theirs_state.normal(size=5))


def normalized_laplacian(graph) -> np.ndarray:
    weights = graph.toarray()
    scale = 1 / np.sqrt(weights.sum(axis=0))
    return np.eye(len(weights)) - scale[:, None] * weights * scale[None, :]


def test_fewer_lanczos_vectors_give_the_eigenvectors_of_the_laplacian(digits_graph, monkeypatch):
    # √1797 = 42 vectors for umap-learn; 9 here, as 1,000,000 samples get 100.
    monkeypatch.setattr(spectral, "MAX_LANCZOS_VECTORS", 9)
    assert spectral.lanczos_vectors(len(load_digits().data), 3) == 9
    ours = laplacian_eigenmap(digits_graph, 2, np.random.RandomState(0))
    values, vectors = scipy.linalg.eigh(normalized_laplacian(digits_graph))
    expected = vectors[:, 1:3]  # the smallest but the trivial one (√degree)
    cosines = np.linalg.svd(expected.T @ (ours / np.linalg.norm(ours, axis=0)), compute_uv=False)
    assert cosines.min() > 1 - 1e-6
    assert values[2] < values[3]  # a plane well defined by a gap


@pytest.mark.parametrize("n_samples, k, expected", [(1797, 3, 42), (40_000, 3, 100), (20, 3, 7)])
def test_lanczos_vectors_are_umap_learns_up_to_the_cap(n_samples, k, expected):
    assert spectral.lanczos_vectors(n_samples, k) == expected


def test_an_arpack_failure_falls_back_to_umap_learns_random_start(digits_graph, monkeypatch):
    def fail(*args, **kwargs):
        raise scipy.sparse.linalg.ArpackNoConvergence("no", np.zeros(0), np.zeros((0, 0)))

    monkeypatch.setattr(scipy.sparse.linalg, "eigsh", fail)
    with pytest.warns(UserWarning, match="[Ss]pectral initiali[sz]ation failed"):
        theirs = umaps_own(None, digits_graph, 2, np.random.RandomState(5))
    with pytest.warns(UserWarning, match="spectral initial layout failed"):
        ours = laplacian_eigenmap(digits_graph, 2, np.random.RandomState(5))
    assert same_bits(ours, theirs)


def record_calls(monkeypatch) -> list:
    calls = []

    def recording(graph, dim, random_state, **kwargs):
        calls.append((graph.shape[0], kwargs["n_threads"]))
        return np.ones((graph.shape[0], dim))

    monkeypatch.setattr(spectral, "laplacian_eigenmap", recording)
    return calls


def test_umap_learn_solves_outside_didis_fits_and_for_other_solvers(digits_graph, monkeypatch):
    import umap.spectral

    calls = record_calls(monkeypatch)
    with spectral_threads(2):
        pass  # installs the hook
    state = np.random.RandomState(0)
    outside = umap.spectral.spectral_layout(None, digits_graph, 2, state)
    assert same_bits(outside, umaps_own(None, digits_graph, 2, np.random.RandomState(0)))
    with spectral_threads(2):
        umap.spectral.tswspectral_layout(None, digits_graph, 2, np.random.RandomState(0))
        umap.spectral._spectral_layout(None, digits_graph, 2, state, method="lobpcg")
    assert calls == []
    with spectral_threads(2):
        umap.spectral.spectral_layout(None, digits_graph, 2, state)
    assert calls == [(digits_graph.shape[0], 2)]


def test_each_component_of_a_disconnected_graph_comes_back_to_be_solved(digits_graph, monkeypatch):
    import umap.spectral

    calls = record_calls(monkeypatch)
    two = scipy.sparse.block_diag([digits_graph, digits_graph]).tocoo()
    with spectral_threads(1):
        layout = umap.spectral.spectral_layout(None, two, 2, np.random.RandomState(0))
    assert calls == [(digits_graph.shape[0], 1)] * 2  # umap-learn lays out the two
    assert layout.shape == (two.shape[0], 2)


def test_the_hook_is_installed_once_and_only_over_the_function_it_knows(monkeypatch):
    import umap.spectral

    for _ in range(3):
        with spectral_threads(1):
            pass
    hooked = umap.spectral._spectral_layout
    assert hooked.didi_spectral and not hasattr(hooked.didi_wraps, "didi_wraps")

    def other(data, graph, dim, random_state, new_option=None):
        return None

    monkeypatch.setattr(umap.spectral, "_spectral_layout", other)
    with spectral_threads(1):
        assert umap.spectral._spectral_layout is other


def test_umap_fits_solve_their_start_here_with_the_threads_given(digits_graph, monkeypatch):
    calls = []
    solve = spectral.laplacian_eigenmap

    def recording(graph, dim, random_state, **kwargs):
        calls.append(kwargs["n_threads"])
        return solve(graph, dim, random_state, **kwargs)

    monkeypatch.setattr(spectral, "laplacian_eigenmap", recording)
    X = load_digits().data
    graph = euclidean_neighbour_graph(X, X, 15)
    model = fit_umap(graph, n_neighbors=15, min_dist=0.1, spread=1.0, n_epochs=20,
                     random_state=0, n_threads=2)  # fmt: skip
    assert calls == [2] and np.isfinite(model.embedding_).all()


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 12), min_size=1, max_size=20),
    n_columns=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1),
    split=st.integers(0, 20),
    index_type=st.sampled_from([np.int32, np.int64]),
)
def test_the_compiled_product_is_scipys_to_the_bit(counts, n_columns, seed, split, index_type):
    # Rows of any length, columns unsorted and repeated: summed in stored order.
    rng = np.random.default_rng(seed)
    indptr = np.r_[0, np.cumsum(counts)].astype(index_type)
    indices = rng.integers(0, n_columns, indptr[-1]).astype(index_type)
    data = rng.normal(size=indptr[-1]) * 10.0 ** rng.integers(-300, 300, indptr[-1])
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(len(counts), n_columns))
    x = rng.normal(size=n_columns) * 10.0 ** rng.integers(-10, 10, n_columns)
    out = np.full(len(counts), np.nan)
    split = min(split, len(counts))
    for start, stop in ((0, split), (split, len(counts))):  # two blocks of rows
        csr_rows_product(indptr, indices, data, x, out, start, stop)
    assert same_bits(out, matrix @ x)
