"""Place new points into a fitted UMAP embedding from their nearest-neighbour distances.

umap-learn's own ``transform`` refuses precomputed distances once the model was
fitted on 4,096 points or more (lmcinnes/umap#1194). This module performs the same
computation as umap-learn's precomputed ``transform`` branch (fuzzy membership
strengths of each new point's k nearest fitted points, a weighted-average start,
then UMAP's layout optimisation with the fitted points held fixed), from the k-NN
rows alone, so it works at any size and never needs the full distance matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
from sklearn.utils import check_random_state

from ._kernels import cache_umap_kernels

_INT32_MIN = np.iinfo(np.int32).min + 1
_INT32_MAX = np.iinfo(np.int32).max - 1


def nearest_columns(distances: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` smallest entries of each row, ascending."""
    k = min(k, distances.shape[1])
    part = np.argpartition(distances, k - 1, axis=1)[:, :k]
    values = np.take_along_axis(distances, part, axis=1)
    order = np.argsort(values, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)


def embed_new_points(
    knn_indices: np.ndarray,
    knn_dists: np.ndarray,
    embedding: np.ndarray,
    *,
    a: float,
    b: float,
    n_epochs: int | None = None,
    random_state=None,
    local_connectivity: float = 1.0,
    repulsion_strength: float = 1.0,
    learning_rate: float = 1.0,
    negative_sample_rate: int = 5,
) -> np.ndarray:
    """Coordinates of new points in a fixed UMAP embedding.

    Parameters
    ----------
    knn_indices, knn_dists : ndarray of shape (n_new, k)
        Each new point's ``k`` nearest fitted points and their distances.
    embedding : ndarray of shape (n_fitted, n_components)
        The fitted points' coordinates; they do not move.
    a, b : float
        The fitted UMAP's curve parameters.
    n_epochs : int, default=None
        Optimisation epochs; ``None`` uses umap-learn's choice for ``transform``
        (100 for up to 10,000 new points, else 30).
    random_state : int, RandomState or None
        Seed of the negative sampling.
    local_connectivity, repulsion_strength, learning_rate, negative_sample_rate
        The fitted UMAP's values of these parameters (the learning rate is divided
        by 4, as umap-learn does for ``transform``).

    Returns
    -------
    ndarray of shape (n_new, n_components)
    """
    # Imported here: umap-learn's import compiles numba code, which `import didi`
    # should not pay for.
    cache_umap_kernels()
    from umap.layouts import optimize_layout_euclidean
    from umap.umap_ import compute_membership_strengths, make_epochs_per_sample, smooth_knn_dist

    n_new, k = knn_indices.shape
    dists = np.ascontiguousarray(knn_dists, dtype=np.float32)
    indices = np.ascontiguousarray(knn_indices, dtype=np.int32)
    sigmas, rhos = smooth_knn_dist(
        dists, float(k), local_connectivity=float(max(0.0, local_connectivity - 1.0))
    )
    rows, cols, vals, _ = compute_membership_strengths(indices, dists, sigmas, rhos, bipartite=True)
    weights = vals.reshape(n_new, k).astype(np.float64)
    # A weighted average of the neighbours is the starting point; every row has at
    # least one weight of 1 (its nearest neighbour), so the sum is positive.
    weights_sum = weights.sum(axis=1, keepdims=True)
    start = np.einsum("nk,nkd->nd", weights / weights_sum, embedding[indices]).astype(np.float32)

    if n_epochs is None:
        n_epochs = 100 if n_new <= 10000 else 30
    graph = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n_new, len(embedding)))
    graph.data[graph.data < graph.data.max() / float(n_epochs)] = 0.0
    graph.eliminate_zeros()
    rng = check_random_state(random_state)
    rng_state = rng.randint(_INT32_MIN, _INT32_MAX, 3).astype(np.int64)
    placed = optimize_layout_euclidean(
        start,
        np.array(embedding, dtype=np.float32, order="C"),
        graph.row,
        graph.col,
        n_epochs,
        len(embedding),
        make_epochs_per_sample(graph.data, n_epochs),
        a,
        b,
        rng_state,
        repulsion_strength,
        learning_rate / 4.0,
        negative_sample_rate,
        parallel=False,
        move_other=False,
    )
    return np.asarray(placed, dtype=np.float64)
