"""Streaming samples into a fitted map: where new samples start their layout."""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import NearestNeighbors


def warm_start_positions(embedding: np.ndarray, X_fit: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Starting positions of new samples ``X``: the mean position in ``embedding`` of
    their 5 nearest samples of ``X_fit`` in input space.

    No classifier call is needed; UMAP refines the positions when the map is refitted.
    """
    k = min(5, len(X_fit))
    search = NearestNeighbors(n_neighbors=k).fit(X_fit.reshape(len(X_fit), -1))
    nearest = search.kneighbors(X.reshape(len(X), -1), return_distance=False)
    return embedding[nearest].mean(axis=1)
