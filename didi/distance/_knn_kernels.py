"""Compiled loop of the exact search: merging evaluated pairs into each row's nearest.

Sorting every touched row's old and new entries together, as numpy must, costs a
``lexsort`` of millions of entries per round of a large search; here each entry is
compared with its row's current ``k``-th and, where it enters, inserted in place.
Imported at the search's first merge (compiled once per machine, then cached).
"""

from __future__ import annotations

from .._numba import compiled


@compiled(nogil=True, inline="always")
def _before(dist_a, index_a, dist_b, index_b):
    """Whether ``(dist_a, index_a)`` comes before ``(dist_b, index_b)``: by distance,
    NaN after every number, ties by index (numpy's sort order)."""
    if dist_a < dist_b:
        return True
    if dist_a > dist_b:
        return False
    nan_a, nan_b = dist_a != dist_a, dist_b != dist_b
    if nan_a != nan_b:
        return nan_b
    return index_a < index_b


@compiled(nogil=True)
def merge_into_nearest(best_idx, best_dist, rows, cols, dists):
    """Insert each entry ``(rows[e], cols[e], dists[e])`` into its row of the sorted
    ``best_idx``/``best_dist``, which keep the ``k`` first in :func:`_before`'s order."""
    k = best_idx.shape[1]
    for e in range(len(rows)):
        row, col, dist = rows[e], cols[e], dists[e]
        if not _before(dist, col, best_dist[row, k - 1], best_idx[row, k - 1]):
            continue
        at = k - 1
        while at > 0 and _before(dist, col, best_dist[row, at - 1], best_idx[row, at - 1]):
            best_dist[row, at] = best_dist[row, at - 1]
            best_idx[row, at] = best_idx[row, at - 1]
            at -= 1
        best_dist[row, at] = dist
        best_idx[row, at] = col
