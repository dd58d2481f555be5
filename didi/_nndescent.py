"""Approximate candidate neighbours under the lower bound, by nearest-neighbour descent.

Ranking all ``n²`` pairs by their bound is the one quadratic step left once paths
are evaluated only near each point. pynndescent finds each sample's approximate
nearest neighbours under any metric compiled with numba, in about ``O(n^1.14)``
metric evaluations; here the metric is the bound itself. Imported only when used,
since compiling the metric and pynndescent's search takes several seconds.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ._bounds import BoundTerms, BoundWeights


@numba.njit(fastmath=False, cache=True)
def _bound_metric(x, y, n_base, base_weight, path_weight, cosine):
    """The bound between rows ``[flattened sample, probabilities]``."""
    squared = 0.0
    dot = 0.0
    for i in range(n_base):
        diff = x[i] - y[i]
        squared += diff * diff
        dot += x[i] * y[i]
    base = max(1.0 - dot, 0.0) if cosine else np.sqrt(squared)
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
) -> np.ndarray:
    """Approximate ``n_candidates`` nearest other samples of every sample under the bound.

    Returns
    -------
    ndarray of int, shape (n_samples, n_candidates)
        Candidate indices, not sorted; each row excludes the sample itself.
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
    indices, _ = index.neighbor_graph
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
        out[row] = found[:n_candidates]
    return out
