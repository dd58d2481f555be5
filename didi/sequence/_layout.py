"""Aligned layouts: UMAP's objective for a new checkpoint's graph, held near the last map.

The new layout starts from the previous checkpoint's positions and runs
umap-learn's aligned optimisation (the epoch of ``umap.AlignedUMAP``): the usual
attraction along the fuzzy graph's edges and repulsion from random samples, plus a
pull of strength ``λ · wᵢ`` towards the previous position, where ``wᵢ`` is the
overlap (Jaccard index) of sample ``i``'s neighbourhoods in the two graphs. The pull
is strongest on samples whose neighbourhood is unchanged and absent for those whose
neighbourhood is new; it is gentle (``λ = 0.01`` by default) next to UMAP's own
forces, so every sample still moves a little unless the whole graph is unchanged.
``AlignedUMAP`` itself cannot be used: it fits every slice's UMAP from raw data, not
from the precomputed DiDi graphs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse
from sklearn.utils import check_random_state

from .._numba import compiled
from ._temporal import neighbourhood_overlap

#: Epochs of an aligned layout when the map does not set ``n_epochs`` (as AlignedUMAP).
DEFAULT_ALIGNED_EPOCHS = 200


def same_graph(first: Any, second: Any) -> bool:
    """Whether two sparse graphs hold the same entries with the same weights."""
    if first.shape != second.shape:
        return False
    difference = scipy.sparse.csr_matrix(first) - scipy.sparse.csr_matrix(second)
    return difference.count_nonzero() == 0


def layout_graph(graph: Any, n_epochs: int | None) -> scipy.sparse.csr_matrix:
    """The fuzzy graph as umap-learn's layout uses it: edges lighter than ``max / e``
    dropped, where ``e`` is ``n_epochs`` when above 10, else umap-learn's default (500
    epochs up to 10,000 samples, 200 beyond).

    umap-learn prunes a fully fitted model's ``graph_`` in place this way, and not a
    graph-only one: graphs are compared in this form, which pruning again leaves alone.
    """
    default = 500 if graph.shape[0] <= 10_000 else 200
    limit = n_epochs if n_epochs is not None and n_epochs > 10 else default
    pruned = scipy.sparse.csr_matrix(graph, dtype=np.float32, copy=True)
    pruned.sum_duplicates()
    if pruned.nnz:
        pruned.data[pruned.data < pruned.data.max() / float(limit)] = 0.0
    pruned.eliminate_zeros()
    return pruned


def _edges(graph: Any, n_epochs: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The graph's edges (as :func:`layout_graph` gives them), and how often each is
    sampled in ``n_epochs`` epochs."""
    from umap.umap_ import make_epochs_per_sample

    graph = scipy.sparse.coo_matrix(graph, dtype=np.float32)
    every = make_epochs_per_sample(graph.data, n_epochs)
    return graph.row.astype(np.int32), graph.col.astype(np.int32), every


@functools.cache
def _aligned_epoch():
    """umap-learn's aligned epoch, compiled once per process (and cached on disk where
    numba can): umap-learn's own driver compiles it anew on every call."""
    from umap.layouts import _optimize_layout_aligned_euclidean_single_epoch

    return compiled(fastmath=True)(_optimize_layout_aligned_euclidean_single_epoch)


def aligned_layout(
    previous: np.ndarray,
    graph: Any,
    weights: np.ndarray,
    *,
    a: float,
    b: float,
    strength: float,
    n_epochs: int,
    random_state: Any = None,
    gamma: float = 1.0,
    learning_rate: float = 1.0,
    negative_sample_rate: float = 5.0,
) -> np.ndarray:
    """UMAP's layout of ``graph`` started at ``previous`` and pulled towards it.

    Parameters
    ----------
    previous : ndarray of shape (n_samples, 2)
        Positions in the previous map, where the layout starts.
    graph : sparse matrix of shape (n_samples, n_samples)
        The new checkpoint's fuzzy graph as the layout uses it (``layout_graph``).
    weights : ndarray of shape (n_samples,)
        Pull towards the previous position per sample, in ``[0, 1]``
        (``neighbourhood_overlap``).
    a, b : float
        UMAP's curve parameters (``umap.UMAP._a``, ``_b``).
    strength : float
        ``λ``: the pull's weight against UMAP's forces.
    n_epochs : int
        Optimisation epochs; the learning rate falls linearly to 0 over them.
    random_state : int, RandomState or None, default=None
        Seed for the negative samples.
    gamma, learning_rate, negative_sample_rate : float
        UMAP's repulsion strength, initial learning rate and negative samples per edge.

    Returns
    -------
    ndarray of shape (n_samples, 2)
    """
    import numba

    n = len(previous)
    heads, tails, every = _edges(graph, n_epochs)
    empty_int, empty_float = np.zeros(0, np.int32), np.zeros(0, np.float64)
    # Two slices, the previous map (whose edges are never sampled: it stays fixed)
    # and the new one; slice 1 at offset −1 (index 0 of the window) is slice 0.
    relations = np.full((2, 3, n), -1, dtype=np.int32)
    relations[1, 0] = np.arange(n)
    regularisation = np.zeros((2, 3, n), dtype=np.float32)
    regularisation[1, 0] = weights
    layouts = numba.typed.List(
        [np.ascontiguousarray(previous, np.float32), np.array(previous, np.float32, order="C")]
    )
    per_sample = numba.typed.List([empty_float, every])
    per_negative = numba.typed.List(
        [e.astype(np.float32) / negative_sample_rate for e in per_sample]
    )
    next_negative = numba.typed.List([e.copy() for e in per_negative])
    next_sample = numba.typed.List([e.astype(np.float32) for e in per_sample])
    seeds = check_random_state(random_state).randint(-(2**31) + 1, 2**31 - 1, 3).astype(np.int64)
    epoch = _aligned_epoch()
    heads_list = numba.typed.List([empty_int, heads])
    tails_list = numba.typed.List([empty_int, tails])
    for n_done in range(n_epochs):
        alpha = learning_rate * (1.0 - n_done / n_epochs)
        epoch(
            layouts, layouts, heads_list, tails_list, per_sample, a, b, regularisation,
            relations, seeds, gamma, strength, 2, False, alpha, per_negative, next_negative,
            next_sample, n_done,
        )  # fmt: skip
    return np.asarray(layouts[1], dtype=np.float64)


@dataclass
class AlignedLayout:
    """Lay out a new checkpoint's graph near the previous map (see :func:`aligned_layout`).

    Called with the new checkpoint's fitted :class:`~didi.FisherUMAP` (its UMAP's
    graph and curve parameters). A graph identical to the previous one (as
    :func:`layout_graph` gives both) keeps the previous map exactly: the layout is
    already UMAP's for that graph, and a map of an unchanged model must not move.
    ``n_epochs`` is the map's: it decides the pruning, and the aligned layout runs
    that many epochs (200 when ``None``).
    """

    previous: np.ndarray
    previous_graph: Any
    strength: float
    n_epochs: int | None
    random_state: Any

    def __call__(self, projection: Any) -> np.ndarray:
        model = projection.umap_
        previous = layout_graph(self.previous_graph, self.n_epochs)
        graph = layout_graph(model.graph_, self.n_epochs)
        if same_graph(graph, previous):
            return np.array(self.previous, dtype=np.float64)
        layout = aligned_layout(
            self.previous,
            graph,
            neighbourhood_overlap(previous, graph),
            a=model._a,
            b=model._b,
            strength=self.strength,
            n_epochs=self.n_epochs or DEFAULT_ALIGNED_EPOCHS,
            random_state=self.random_state,
            gamma=model.repulsion_strength,
            learning_rate=model.learning_rate,
            negative_sample_rate=model.negative_sample_rate,
        )
        if not np.all(np.isfinite(layout)):
            raise ValueError("The aligned layout has non-finite positions.")
        return layout
