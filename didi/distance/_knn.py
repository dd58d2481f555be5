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


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])``, vectorised."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    return np.arange(total) + np.repeat(starts - (ends - lengths), lengths)


@dataclass
class CandidateLists:
    """Candidates of each query, in increasing order of lower bound, stored ragged.

    Row ``i``'s candidates are ``indices[start[i] : start[i] + length[i]]``: a row
    that needs a longer list grows alone, so memory follows the lists' actual
    lengths.

    Attributes
    ----------
    indices, bounds : ndarray of shape (total,)
        Reference indices and their lower bounds, row after row.
    start, length : ndarray of int, shape (n_queries,)
        Where each row's list starts and how long it is.
    next_bound : ndarray of shape (n_queries,)
        A lower bound of every reference not in the row (``inf`` when none is left).
    """

    indices: np.ndarray
    bounds: np.ndarray
    start: np.ndarray
    length: np.ndarray
    next_bound: np.ndarray

    @classmethod
    def from_rows(
        cls, indices: np.ndarray, bounds: np.ndarray, next_bound: np.ndarray
    ) -> CandidateLists:
        """From rectangular ``(n_queries, width)`` lists; ``-1`` pads a row's end."""
        valid = indices >= 0
        length = valid.sum(axis=1).astype(np.int64)
        start = np.cumsum(length) - length
        return cls(indices[valid].astype(np.int64), bounds[valid], start, length, next_bound.copy())

    def replace(self, rows: np.ndarray, fresh: CandidateLists) -> None:
        """Give ``rows`` the lists of ``fresh`` (one per row, in order)."""
        length = self.length.copy()
        length[rows] = fresh.length
        start = np.cumsum(length) - length
        indices = np.empty(int(length.sum()), dtype=np.int64)
        bounds = np.empty(len(indices))
        kept = np.ones(len(length), dtype=bool)
        kept[rows] = False
        kept = np.flatnonzero(kept)
        for source, source_rows, target_rows in ((self, kept, kept), (fresh, None, rows)):
            lengths = source.length if source_rows is None else source.length[source_rows]
            starts = source.start if source_rows is None else source.start[source_rows]
            src = _ranges(starts, lengths)
            dst = _ranges(start[target_rows], lengths)
            indices[dst] = source.indices[src]
            bounds[dst] = source.bounds[src]
        self.next_bound[rows] = fresh.next_bound
        self.indices, self.bounds, self.start, self.length = indices, bounds, start, length


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


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of integers by sorting: numpy 2's hash-based ``np.unique`` is
    over ten times slower on the millions of pair keys of a large search."""
    values = np.sort(values)
    if len(values) < 2:
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def merge_nearest(
    best_idx: np.ndarray,
    best_dist: np.ndarray,
    rows: np.ndarray,
    cols: np.ndarray,
    dists: np.ndarray,
) -> None:
    """Merge new ``(row, col, dist)`` entries into each row's ``k`` nearest, in place.

    Rows stay sorted by distance (NaN last), ties broken by the smaller index; entries
    must not repeat a column already in the row, so that the order is strict and the
    result is the ``k`` first of the row's old and new entries whatever their order.
    """
    from ._knn_kernels import merge_into_nearest

    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) and not (0 <= rows.min() and rows.max() < len(best_idx)):
        # The compiled loop does not check its indices.
        raise IndexError(f"merge_nearest: rows outside [0, {len(best_idx)}).")
    merge_into_nearest(
        best_idx,
        best_dist,
        rows,
        np.asarray(cols, dtype=np.int64),
        np.asarray(dists, dtype=np.float64),
    )


def bound_ordered_knn(
    k: int,
    candidates: CandidateLists,
    evaluate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    extend: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]],
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
        ``extend(rows, width) -> (indices, bounds, next_bound)``: *exact*
        bound-ordered lists of ``width`` candidates for the given query rows, as
        rectangular arrays; called for rows whose list ran out before their
        neighbours were certified, with four times their previous length.
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
    n_queries = len(candidates.length)
    best_idx = np.full((n_queries, k), -1, dtype=np.int64)
    best_dist = np.full((n_queries, k), np.inf)
    pointer = np.zeros(n_queries, dtype=np.int64)
    evaluated = np.empty(0, dtype=np.int64)
    active = np.arange(n_queries)
    width = np.full(n_queries, k, dtype=np.int64)
    step = max(1, k // 4) if step is None else step
    available = n_references - 1 if symmetric else n_references
    n_rounds = n_widened = 0
    while len(active):
        row_length = candidates.length[active]
        bounds = np.append(candidates.bounds, np.inf)  # inf: past every list
        offsets = np.arange(width[active].max())
        cols = pointer[active, None] + offsets
        inside = (offsets < width[active, None]) & (cols < row_length[:, None])
        slot = np.where(inside, candidates.start[active, None] + cols, len(bounds) - 1)
        # A candidate whose bound reaches the row's current k-th distance cannot
        # enter its k nearest: the visit ends there (a prefix, as bounds increase).
        inside &= ~(bounds[slot] >= best_dist[active, k - 1, None])
        query = np.broadcast_to(active[:, None], cols.shape)[inside]
        ref = candidates.indices[slot[inside]]
        if symmetric:
            low, high = np.minimum(query, ref), np.maximum(query, ref)
            keys = low * n_references + high
        else:
            keys = query * n_references + ref
        keys = sorted_unique(keys)
        if len(evaluated):
            position = np.minimum(np.searchsorted(evaluated, keys), len(evaluated) - 1)
            keys = keys[evaluated[position] != keys]
        first, second = np.divmod(keys, n_references)
        if len(keys):
            dist = np.asarray(evaluate(first, second), dtype=np.float64)
            # Both sorted and disjoint: an insertion keeps the order in linear time.
            evaluated = np.insert(evaluated, np.searchsorted(evaluated, keys), keys)
            if symmetric:
                rows = np.concatenate([first, second])
                cols_new = np.concatenate([second, first])
                dists = np.concatenate([dist, dist])
            else:
                rows, cols_new, dists = first, second, dist
            merge_nearest(best_idx, best_dist, rows, cols_new, dists)
        pointer[active] += inside.sum(axis=1)
        width[active] = step if n_rounds == 0 else 2 * width[active]
        n_rounds += 1

        at = pointer[active]
        ended = at >= row_length
        next_bound = np.where(
            ended,
            candidates.next_bound[active],
            bounds[np.where(ended, len(bounds) - 1, candidates.start[active] + at)],
        )
        done = best_dist[active, k - 1] <= next_bound
        exhausted = active[~done & ended]
        # Each exhausted row gets an exact list four times as long as before; rows
        # are grouped by that length so that no rectangular block is wider than needed.
        targets = np.minimum(4 * np.maximum(candidates.length[exhausted], k), available)
        for target in np.unique(targets):
            rows = exhausted[targets == target]
            candidates.replace(rows, CandidateLists.from_rows(*extend(rows, int(target))))
            # The new list is exact and may differ from the old one: walk it again;
            # pairs already evaluated cost nothing.
            pointer[rows] = 0
            n_widened += len(rows)
        active = active[~done]
        if progress is not None:
            progress(n_queries - len(active), n_queries)
    return KnnResult(best_idx, best_dist, len(evaluated), n_rounds, n_widened)
