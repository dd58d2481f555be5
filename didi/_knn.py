"""Exact k nearest neighbours under an expensive metric with a cheap lower bound.

Each query's candidates are visited in increasing order of their lower bound; a
candidate's exact distance is evaluated only while it could still enter the query's
``k`` nearest. Once the ``k``-th exact distance is at most the bound of the next
unvisited candidate, no later candidate can do better and the query is done. All
queries advance together, one block of candidates per round, so that each round is
one large batch of exact evaluations; with a symmetric metric every evaluated pair
serves both of its ends and is never evaluated twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class CandidateLists:
    """Candidates of each query, in increasing order of lower bound.

    Attributes
    ----------
    indices : ndarray of int, shape (n_queries, n_candidates)
        Reference indices; ``-1`` pads rows with fewer candidates.
    bounds : ndarray of shape (n_queries, n_candidates)
        Their lower bounds (``inf`` where padded).
    next_bound : ndarray of shape (n_queries,)
        A lower bound of every reference not in the row (``inf`` when none is left).
    """

    indices: np.ndarray
    bounds: np.ndarray
    next_bound: np.ndarray

    def widen(self, width: int) -> None:
        """Pad every row to ``width`` candidates."""
        extra = width - self.indices.shape[1]
        if extra > 0:
            n = len(self.indices)
            self.indices = np.hstack([self.indices, np.full((n, extra), -1, dtype=np.int64)])
            self.bounds = np.hstack([self.bounds, np.full((n, extra), np.inf)])


@dataclass
class KnnResult:
    """Outcome of :func:`bound_ordered_knn`.

    Attributes
    ----------
    indices, distances : ndarray of shape (n_queries, k)
        Each query's ``k`` nearest references, nearest first.
    n_evaluated : int
        Exact distances evaluated (pairs).
    n_rounds : int
        Rounds of evaluation.
    n_widened : int
        Query rows whose candidate list had to be extended.
    """

    indices: np.ndarray
    distances: np.ndarray
    n_evaluated: int
    n_rounds: int
    n_widened: int


def merge_nearest(
    best_idx: np.ndarray,
    best_dist: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    dists: np.ndarray,
) -> None:
    """Merge new ``(row, col, dist)`` entries into each row's ``k`` nearest, in place.

    Rows stay sorted by distance, ties broken by the smaller index; entries must not
    repeat a column already in the row.
    """
    if len(rows) == 0:
        return
    k = best_idx.shape[1]
    touched, position = np.unique(rows, return_inverse=True)
    all_rows = np.concatenate([np.repeat(np.arange(len(touched)), k), position])
    all_idx = np.concatenate([best_idx[touched].ravel(), cols])
    all_dist = np.concatenate([best_dist[touched].ravel(), dists])
    order = np.lexsort((all_idx, all_dist, all_rows))
    sorted_rows = all_rows[order]
    starts = np.searchsorted(sorted_rows, np.arange(len(touched)))
    rank = np.arange(len(order)) - starts[sorted_rows]
    keep = order[rank < k]
    best_idx[touched] = all_idx[keep].reshape(len(touched), k)
    best_dist[touched] = all_dist[keep].reshape(len(touched), k)


def bound_ordered_knn(
    k: int,
    candidates: CandidateLists,
    evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    extend: Callable[[np.ndarray, int], CandidateLists],
    *,
    n_references: int,
    symmetric: bool,
    step: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> KnnResult:
    """The ``k`` nearest references of every query, evaluating as few pairs as possible.

    Parameters
    ----------
    k : int
        Neighbours per query (at most the number of references available to it).
    candidates : CandidateLists
        Initial candidates per query. If every row is an exact prefix of the
        bound order, the result is exact; if rows are approximate, the result is
        exact for the rows' candidates and the rows that had to be extended.
    evaluate : callable
        ``evaluate(query_indices, reference_indices) -> distances`` for pairs. In
        symmetric mode the pairs come with ``query < reference``.
    extend : callable
        ``extend(rows, width) -> CandidateLists`` with *exact* bound-ordered lists of
        ``width`` candidates for the given query rows; called for rows whose list
        ran out before their neighbours were certified.
    n_references : int
        Number of references.
    symmetric : bool
        Queries and references are the same samples: a pair serves both ends and a
        sample is never its own candidate.
    step : int, default=None
        Candidates visited per query in the second round (the first visits ``k``);
        ``None`` uses ``max(1, k // 4)``. A query that is still searching doubles
        its step every round after, so a query whose neighbours lie far down its
        list needs a logarithmic number of rounds, at most twice the evaluations.
    progress : callable, default=None
        ``progress(n_done, n_queries)`` after each round.

    Returns
    -------
    KnnResult
    """
    n_queries = len(candidates.indices)
    best_idx = np.full((n_queries, k), -1, dtype=np.int64)
    best_dist = np.full((n_queries, k), np.inf)
    pointer = np.zeros(n_queries, dtype=np.int64)
    evaluated = np.empty(0, dtype=np.int64)
    active = np.arange(n_queries)
    width = np.full(n_queries, k, dtype=np.int64)
    step = max(1, k // 4) if step is None else step
    n_rounds = n_widened = 0
    while len(active):
        n_cand = candidates.indices.shape[1]
        offsets = np.arange(width[active].max())
        cols = pointer[active, None] + offsets
        inside = (cols < n_cand) & (offsets < width[active, None])
        query = np.broadcast_to(active[:, None], cols.shape)[inside]
        ref = candidates.indices[query, cols[inside]]
        query, ref = query[ref >= 0], ref[ref >= 0]
        if symmetric:
            low, high = np.minimum(query, ref), np.maximum(query, ref)
            keys = low * n_references + high
        else:
            keys = query * n_references + ref
        keys = np.unique(keys)
        if len(evaluated):
            position = np.minimum(np.searchsorted(evaluated, keys), len(evaluated) - 1)
            keys = keys[evaluated[position] != keys]
        first, second = np.divmod(keys, n_references)
        if len(keys):
            dist = np.asarray(evaluate(first, second), dtype=np.float64)
            evaluated = np.union1d(evaluated, keys)
            if symmetric:
                rows = np.concatenate([first, second])
                cols_new = np.concatenate([second, first])
                dists = np.concatenate([dist, dist])
            else:
                rows, cols_new, dists = first, second, dist
            merge_nearest(best_idx, best_dist, rows, cols_new, dists)
        pointer[active] = np.minimum(pointer[active] + width[active], n_cand)
        width[active] = step if n_rounds == 0 else 2 * width[active]
        n_rounds += 1

        at = np.minimum(pointer[active], n_cand - 1)
        ended = (pointer[active] >= n_cand) | (candidates.indices[active, at] < 0)
        next_bound = np.where(ended, candidates.next_bound[active], candidates.bounds[active, at])
        done = best_dist[active, k - 1] <= next_bound
        exhausted = ~done & ended
        if exhausted.any():
            rows = active[exhausted]
            new_width = min(2 * max(n_cand, k), n_references)
            fresh = extend(rows, new_width)
            candidates.widen(fresh.indices.shape[1])
            candidates.indices[rows] = -1
            candidates.bounds[rows] = np.inf
            candidates.indices[rows, : fresh.indices.shape[1]] = fresh.indices
            candidates.bounds[rows, : fresh.indices.shape[1]] = fresh.bounds
            candidates.next_bound[rows] = fresh.next_bound
            # The new list is exact and may differ from the old one: walk it again;
            # pairs already evaluated cost nothing.
            pointer[rows] = 0
            n_widened += len(rows)
        active = active[~done]
        if progress is not None:
            progress(n_queries - len(active), n_queries)
    return KnnResult(best_idx, best_dist, len(evaluated), n_rounds, n_widened)
