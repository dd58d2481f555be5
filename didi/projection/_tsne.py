"""t-SNE of the DiDi k-NN graph, in place of UMAP's layout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..distance._base_distance import knn_graph


def tsne_perplexity(n_neighbors: int) -> float:
    """The largest perplexity ``n_neighbors`` neighbours per sample support: scikit-learn's
    t-SNE reads ``3 · perplexity + 1`` neighbours of each sample (at least 4)."""
    if n_neighbors < 4:
        raise ValueError(
            "A t-SNE layout needs at least 4 neighbours per sample: use n_neighbors >= 5."
        )
    return (n_neighbors - 1) / 3


def tsne_layout(
    indices: np.ndarray,
    distances: np.ndarray,
    *,
    init: np.ndarray | None = None,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> np.ndarray:
    """scikit-learn's Barnes-Hut t-SNE of a k-NN graph (``indices``, ``distances``: each
    sample's nearest others), at the largest perplexity the graph supports.

    ``init`` (positions, e.g. an earlier map's) is scaled to scikit-learn's starting
    spread (standard deviation 1e-4), keeping its shape, and optimised without early
    exaggeration, which would pull it apart; random otherwise.
    """
    # Imported here: sklearn.manifold adds a tenth of a second to `import didi`.
    from sklearn.manifold import TSNE

    n, k = indices.shape
    graph = knn_graph(indices, distances, n, with_self=True)
    start: Any = "random"
    exaggeration = 12.0  # scikit-learn's default
    # scikit-learn's automatic rate, n / exaggeration / 4, at its default exaggeration:
    # without exaggeration (below) it would otherwise be 12 times larger.
    learning_rate = np.maximum(n / exaggeration / 4, 50)
    if init is not None:
        centred = np.asarray(init, dtype=np.float64) - np.mean(init, axis=0)
        start = centred / max(float(np.std(centred[:, 0])), 1e-300) * 1e-4
        # Early exaggeration would pull a layout that is already good apart again.
        exaggeration = 1.0
    model = TSNE(
        n_components=2,
        perplexity=tsne_perplexity(k),
        metric="precomputed",
        init=start,
        early_exaggeration=exaggeration,
        learning_rate=learning_rate,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return np.asarray(model.fit_transform(graph), dtype=np.float64)


@dataclass
class TSNELayout:
    """Lay out a fitted :class:`~didi.FisherUMAP`'s DiDi k-NN graph with t-SNE."""

    init: np.ndarray | None
    random_state: Any
    n_jobs: int | None

    def __call__(self, projection: Any) -> np.ndarray:
        metric = projection.metric_
        if metric is None or metric.knn_indices_ is None:
            raise ValueError("A t-SNE layout needs the DiDi k-NN graph (mode='knn').")
        return tsne_layout(
            metric.knn_indices_,
            metric.knn_distances_,
            init=self.init,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
