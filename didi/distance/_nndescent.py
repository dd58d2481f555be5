"""Approximate candidate neighbours under the lower bound, by nearest-neighbour descent.

Ranking all ``n²`` pairs by their bound is the one quadratic step left once paths
are evaluated only near each point. pynndescent finds each sample's approximate
nearest neighbours under any metric compiled with numba, in about ``O(n^1.14)``
metric evaluations; here the metric is the bound itself. Imported only when used,
since compiling the metric and pynndescent's search takes several seconds.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._numba import compiled
from ._bounds import BoundTerms, BoundWeights


@compiled(fastmath=False)
def _bound_metric(x, y, n_base, base_weight, path_weight, cosine):
    """The bound between rows ``[flattened sample, probabilities]``."""
    squared = 0.0
    for i in range(n_base):
        diff = x[i] - y[i]
        squared += diff * diff
    # Cosine distance of unit vectors is ½‖u − v‖².
    base = 0.5 * squared if cosine else np.sqrt(squared)
    divergence = 0.0
    for i in range(n_base, x.shape[0]):
        p = x[i]
        q = y[i]
        m = 0.5 * (p + q)
        if p > 0.0:
            divergence += 0.5 * p * np.log(p / m)
        if q > 0.0:
            divergence += 0.5 * q * np.log(q / m)
    return base_weight * base + path_weight * np.sqrt(max(divergence, 0.0))


def nndescent_candidates(
    terms: BoundTerms,
    weights: BoundWeights,
    n_candidates: int,
    *,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ``n_candidates`` nearest other samples of every sample under the bound.

    Returns
    -------
    indices : ndarray of int, shape (n_samples, n_candidates)
        Candidate indices, not sorted; each row excludes the sample itself.
    next_bound : ndarray of shape (n_samples,)
        A lower bound of the DiDi distance to every sample outside the row, valid
        where the descent found the row's true nearest under its metric.
    """
    from pynndescent import NNDescent

    n_base = terms.flat.shape[1]
    data = np.hstack([terms.flat, terms.proba]).astype(np.float64)
    index = NNDescent(
        data,
        metric=_bound_metric,
        metric_kwds={
            "n_base": n_base,
            "base_weight": weights.base,
            "path_weight": weights.path,
            "cosine": weights.metric == "cosine",
        },
        n_neighbors=n_candidates + 1,
        random_state=random_state,
        n_jobs=-1 if n_jobs is None else n_jobs,
        low_memory=True,
        compressed=True,
    )
    indices, distances = index.neighbor_graph
    # Anything outside a row's list is, if the descent found the true nearest
    # under the bound, at least as far as the list's farthest entry: the row's
    # certificate (less a hair for the numpy bound's own rounding margins).
    next_bound = np.nanmax(np.where(np.isfinite(distances), distances, np.nan), axis=1)
    next_bound = np.nan_to_num(next_bound, nan=0.0) * (1.0 - 1e-9)
    n = len(indices)
    out = np.empty((n, n_candidates), dtype=np.int64)
    for row, found in enumerate(indices):
        # The sample itself is normally first; the descent may also leave -1 or a
        # repeated index in a row: drop those, keep the order, pad if short.
        found = found[(found >= 0) & (found != row)]
        _, first = np.unique(found, return_index=True)
        found = found[np.sort(first)]
        if len(found) < n_candidates:
            extra = np.setdiff1d(np.arange(n), np.append(found, row))
            found = np.concatenate([found, extra[: n_candidates - len(found)]])
            next_bound[row] = 0.0  # padded: nothing certain about the rest
        out[row] = found[:n_candidates]
    return out, next_bound
