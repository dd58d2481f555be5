"""The plain Euclidean UMAP behind ``q_knn_e``: the baseline a discriminative map should beat."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..distance._base_distance import (
    base_unit,
    check_magnitudes,
    knn_graph,
    paired_base_distances,
)
from ..projection._umap import fit_umap

#: Largest number of samples whose Euclidean UMAP (for ``q_knn_e``) is fitted on
#: exact nearest neighbours found by brute force (``O(n²·d)`` arithmetic in bounded
#: memory); beyond, on those the DiDi distances' ranking found where it did (see
#: :attr:`FisherJSMetric.base_knn_indices_ <didi.FisherJSMetric>`), else umap-learn's
#: own approximate neighbour search is used.
EXACT_EUCLIDEAN_MAX_SAMPLES = 20_000

#: Largest magnitude of the samples at which their Euclidean distances go to UMAP
#: as they are: umap-learn reads distances in float32 (at most about 3.4e38), and
#: its placement of new points fails on distances far above 1e20.
UMAP_SAFE_MAGNITUDE = 2.0**60


def fit_euclidean_umap(
    X: np.ndarray,
    *,
    n_neighbors: int,
    min_dist: float,
    spread: float,
    n_epochs: int | None,
    random_state: Any,
    umap_kwargs: dict | None,
    layout_device: Any = None,
    neighbours: np.ndarray | None = None,
):
    """The plain Euclidean UMAP of the samples, for ``q_knn_e``.

    ``neighbours``, each sample's exact nearest other samples (nearest first), spares
    the neighbour search where they are known. Samples with values too large for
    umap-learn's float32 distances are measured in units of a power of two
    (:func:`euclidean_units`).
    """
    kwargs = dict(
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        spread=spread,
        n_epochs=n_epochs,
        random_state=random_state,
        umap_kwargs=umap_kwargs,
        layout_device=layout_device,
    )
    k = min(n_neighbors, len(X))
    if neighbours is not None and neighbours.shape[1] >= k - 1:
        indices = np.hstack([np.arange(len(X))[:, None], neighbours[:, : k - 1]])
        return fit_umap(neighbour_graph(X, X, indices), **kwargs)
    if len(X) <= EXACT_EUCLIDEAN_MAX_SAMPLES:
        return fit_umap(euclidean_neighbour_graph(X, X, k), **kwargs)
    X, _ = euclidean_units(X, X)
    return fit_umap(X.reshape(len(X), -1), metric="euclidean", **kwargs)


def euclidean_units(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A`` and ``B`` in the base units of ``B``, the fitted samples (see
    :func:`fit_euclidean_umap`); a value of ``A`` beyond them is refused."""
    unit = base_unit(B, UMAP_SAFE_MAGNITUDE)
    check_magnitudes(
        A,
        UMAP_SAFE_MAGNITUDE * unit,
        "its distance to the fitted samples overflows on their scale",
    )
    if unit == 1.0:
        return A, B
    return A / unit, B / unit


def euclidean_neighbour_graph(A: np.ndarray, B: np.ndarray, k: int):
    """Each sample of ``A``'s ``k`` nearest samples of ``B``, as a CSR distance graph.

    scikit-learn's brute-force search finds the neighbours in bounded memory; their
    distances are then recomputed from differences, so that a sample's distance to
    itself is exactly 0 (the product formula leaves about 1e-8·‖x‖), as UMAP expects.
    Distances are in the units :func:`euclidean_units` gives ``B``.
    """
    from sklearn.neighbors import NearestNeighbors

    A, B = euclidean_units(A, B)
    # float64: float32 products misorder neighbours whose distances differ by 1e-4.
    flat_b = B.reshape(len(B), -1).astype(np.float64, copy=False)
    search = NearestNeighbors(n_neighbors=k, algorithm="brute").fit(flat_b)
    flat_a = A.reshape(len(A), -1).astype(np.float64, copy=False)
    return _graph_in_units(A, B, search.kneighbors(flat_a, return_distance=False))


def neighbour_graph(A: np.ndarray, B: np.ndarray, indices: np.ndarray):
    """The CSR distance graph of each sample of ``A`` to its neighbours ``indices`` among
    ``B``, with distances from differences in the units of :func:`euclidean_units`,
    sorted by distance, ties by index."""
    return _graph_in_units(*euclidean_units(A, B), indices)


def _graph_in_units(A: np.ndarray, B: np.ndarray, indices: np.ndarray):
    """:func:`neighbour_graph` of samples already in :func:`euclidean_units`."""
    k = indices.shape[1]
    rows = np.repeat(np.arange(len(A)), k)
    dists = paired_base_distances(A, rows, B, indices.ravel(), "euclidean").reshape(len(A), k)
    order = np.lexsort((indices, dists), axis=1)
    indices = np.take_along_axis(indices, order, axis=1)
    dists = np.take_along_axis(dists, order, axis=1)
    return knn_graph(indices, dists, len(B), with_self=False)
