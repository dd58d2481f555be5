"""umap-learn underneath: fitting it on DiDi distances, and placing new points into it."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse

from ._deferred import deferred_layouts
from ._kernels import cache_umap_kernels
from ._placement import embed_new_points, nearest_columns
from ._spectral import spectral_threads
from ._torch_layout import torch_layout


def fit_umap(
    distances,
    *,
    n_neighbors: int,
    min_dist: float,
    spread: float,
    n_epochs: int | None,
    random_state: Any,
    metric: str = "precomputed",
    umap_kwargs: dict | None = None,
    layout_device: Any = None,
    n_threads: int = 1,
):
    """Fit ``umap.UMAP`` with two components, quietly, and return the model.

    With ``layout_device``, the layout's gradient descent runs in PyTorch on that
    device (:func:`~didi.projection._torch_layout.torch_layout`); umap-learn still
    builds the graph and the initial layout. The initial (spectral) layout of a large
    graph is solved by :func:`~didi.projection._spectral.laplacian_eigenmap`, its
    products on ``n_threads``.

    ``distances`` is a square distance matrix or a sparse k-NN distance graph for
    ``metric="precomputed"``, and the (flattened) samples otherwise. A graph's
    rows must each hold the sample itself and at least ``n_neighbors − 1`` others;
    umap-learn then reads each sample's nearest entries, which is all it reads of a
    dense matrix too.
    """
    import umap  # imported here: umap-learn's import compiles numba code, ~1 s

    cache_umap_kernels()

    n_samples = distances.shape[0]
    n_neighbors = min(int(n_neighbors), n_samples - 1)
    kwargs = dict(umap_kwargs or {})
    if scipy.sparse.issparse(distances):
        indices, dists = knn_from_graph(distances, n_neighbors)
        kwargs["precomputed_knn"] = (indices, dists)
        # umap-learn checks that a sparse precomputed matrix is symmetric in
        # structure; the k-NN lists above are what it uses.
        distances = distances.maximum(distances.T).tocsr()
    if random_state is not None:
        # umap-learn runs single-threaded when seeded (its parallel SGD is not
        # reproducible); saying so avoids its warning about overriding n_jobs.
        kwargs.setdefault("n_jobs", 1)
    model = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        spread=spread,
        n_epochs=n_epochs,
        metric=metric,
        random_state=random_state,
        **kwargs,
    )
    with warnings.catch_warnings():
        # "using precomputed metric; inverse_transform will be unavailable": we
        # provide our own transform and inverse.
        warnings.filterwarnings("ignore", message=".*precomputed metric.*")
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        layout = contextlib.nullcontext() if layout_device is None else torch_layout(layout_device)
        with layout, spectral_threads(n_threads):
            model.fit(distances)
    return model


def fit_umap_later(distances, **kwargs: Any) -> tuple[Any, Callable[[], Any]]:
    """:func:`fit_umap` with the layout's gradient descent held back
    (:func:`~didi.projection._deferred.deferred_layouts`).

    Returns the model, its embedding the initial layout, and ``finish()``, which runs
    the descent (numba code alone, so on any thread, unaffected by BLAS settings) and
    returns the model with the layout a plain fit gives, bit for bit: the descent
    moves a copy of the initial layout, given ``NaN`` for samples the graph leaves
    unconnected, as ``UMAP.fit`` does.
    """
    options = kwargs.get("umap_kwargs") or {}
    # Not held back: a fit that reorders the samples (unique), measures densities on
    # the finished layout (output_dens), or lays out in PyTorch.
    if options.get("unique") or options.get("output_dens") or kwargs.get("layout_device"):
        model = fit_umap(distances, **kwargs)
        return model, lambda: model
    import numba

    with deferred_layouts() as pending:
        model = fit_umap(distances, **kwargs)
    if not pending:  # no descent (a graph-only fit)
        return model, lambda: model
    # numba's thread count is per thread: the descent gets the one a fit here gives it.
    threads = model.n_jobs if (model.n_jobs or 0) > 0 else numba.get_num_threads()

    def finish() -> Any:
        numba.set_num_threads(threads)
        embedding = pending[0]()  # a copy of the initial layout, moved
        unconnected = np.asarray(model.graph_.sum(axis=1)).ravel() == 0
        embedding[unconnected] = np.nan
        model.embedding_ = embedding
        return model

    return model, finish


def knn_from_graph(graph, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` smallest stored entries of a sparse distance graph, ascending.

    Raises a ``ValueError`` when a row stores fewer than ``k`` entries.
    """
    graph = scipy.sparse.csr_matrix(graph)
    counts = np.diff(graph.indptr)
    if counts.min(initial=k) < k:
        raise ValueError(
            f"Every row of a precomputed k-NN graph needs at least {k} stored distances "
            f"(the sample itself and its neighbours); a row has {counts.min()}. Build the "
            "graph with more neighbours, e.g. FisherJSMetric(n_neighbors=n_neighbors - 1)."
        )
    if np.all(counts == counts[0]):
        width = int(counts[0])
        data = graph.data.reshape(-1, width)
        cols = graph.indices.reshape(-1, width)
        order = np.lexsort((cols, data), axis=1)[:, :k]
        return np.take_along_axis(cols, order, 1), np.take_along_axis(data, order, 1)
    indices = np.empty((graph.shape[0], k), dtype=np.int64)
    dists = np.empty((graph.shape[0], k))
    for row in range(graph.shape[0]):
        lo, hi = graph.indptr[row], graph.indptr[row + 1]
        order = np.lexsort((graph.indices[lo:hi], graph.data[lo:hi]))[:k]
        indices[row] = graph.indices[lo:hi][order]
        dists[row] = graph.data[lo:hi][order]
    return indices, dists


def place_points(model, distances, *, random_state: Any = None) -> np.ndarray:
    """Place new points into a fitted ``umap.UMAP`` given their distances to its points.

    ``distances`` is the dense ``(n_new, n_fitted)`` matrix or a sparse graph with
    each new point's nearest fitted points. The fitted points stay where they are;
    see :func:`embed_new_points`. A point at distance zero from a fitted point is
    that point, and gets its position.
    """
    if scipy.sparse.issparse(distances):
        knn_indices, knn_dists = knn_from_graph(distances, model._n_neighbors)
    else:
        knn_indices, knn_dists = nearest_columns(distances, model._n_neighbors)
    placed = embed_new_points(
        knn_indices,
        knn_dists,
        np.asarray(model.embedding_),
        a=model._a,
        b=model._b,
        random_state=random_state,
        local_connectivity=model.local_connectivity,
        repulsion_strength=model.repulsion_strength,
        learning_rate=model.learning_rate,
        negative_sample_rate=model.negative_sample_rate,
        n_epochs=None if model.n_epochs is None else max(1, int(model.n_epochs) // 3),
    )
    known = knn_dists[:, 0] == 0
    placed[known] = model.embedding_[knn_indices[known, 0]]
    if not np.all(np.isfinite(placed)):
        raise ValueError("Placing the new samples gave non-finite positions.")
    return placed
