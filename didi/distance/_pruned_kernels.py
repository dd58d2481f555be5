"""Compiled loops of the pruned ranking: one pass over a block's products per row.

In numpy, turning a block of products into lower bounds and selecting each row's
smallest takes a dozen passes over memory; here each row is read once while it is
in cache. The kernels release the GIL, so that threads rank blocks side by side.
Imported only when a ranking prunes (compiled once per machine, then cached).
"""

from __future__ import annotations

import numpy as np

from .._numba import compiled


@compiled(nogil=True, inline="always")
def _distance_lower(key, margin, shift):
    """``max(√max(key − margin, 0) − shift, 0)``."""
    value = key - margin
    value = np.sqrt(value) if value > 0.0 else 0.0
    value -= shift
    return value if value > 0.0 else 0.0


@compiled(nogil=True)
def _sift_down(values, indices, start, size):
    """Restore the max-heap below ``start`` after its top was replaced."""
    parent = start
    while True:
        child = 2 * parent + 1
        if child >= size:
            return
        if child + 1 < size and values[child + 1] > values[child]:
            child += 1
        if values[parent] >= values[child]:
            return
        values[parent], values[child] = values[child], values[parent]
        indices[parent], indices[child] = indices[child], indices[parent]
        parent = child


@compiled(nogil=True)
def _keep_smallest(row, heap, indices):
    """``indices`` receives the columns of the ``len(heap)`` smallest entries of ``row``
    (unordered; ``heap`` their values, largest first): one pass with a max-heap."""
    keep = len(heap)
    for slot in range(keep):
        heap[slot] = row[slot]
        indices[slot] = slot
    for slot in range(keep // 2 - 1, -1, -1):
        _sift_down(heap, indices, slot, keep)
    for j in range(keep, len(row)):
        if row[j] < heap[0]:
            heap[0] = row[j]
            indices[0] = j
            _sift_down(heap, indices, 0, keep)


@compiled(nogil=True)
def lower_bounds_and_nearest(
    base_cross, path_cross, base_rows, base_cols, path_rows, path_cols,
    base_margin, base_shift, path_margin, path_shift,
    base_weight, path_weight, self_col, nearest, base_nearest, base_keys,
):  # fmt: skip
    """Lower bounds of a block's pairs, into ``path_cross``; each row's smallest.

    ``base_cross[i, j]`` and ``path_cross[i, j]`` are the products ``−2x·y`` of the
    scaled samples and ``−2√p·√q`` of the predictions; adding the rows' and
    columns' squared norms gives squared-distance keys, and each key, less its
    row's margins, a lower bound of its distance. The pair's bound
    ``base_weight·E + path_weight·H`` is written over ``path_cross`` (``inf`` at
    ``self_col[i]`` when it is not negative); ``nearest[i]`` receives the columns of
    the row's ``nearest.shape[1]`` smallest, in no particular order, and
    ``base_nearest[i]`` those of its ``base_nearest.shape[1]`` smallest base keys
    (the key of the largest in ``base_keys[i, 0]``).
    """
    n_rows, n_cols = base_cross.shape
    heap = np.empty(nearest.shape[1])
    key = np.empty(n_cols)
    for i in range(n_rows):
        for j in range(n_cols):
            key[j] = np.float64(base_cross[i, j]) + base_rows[i] + base_cols[j]
            base = _distance_lower(key[j], base_margin[i], base_shift[i])
            path = _distance_lower(
                np.float64(path_cross[i, j]) + path_rows[i] + path_cols[j],
                path_margin[i],
                path_shift[i],
            )
            path_cross[i, j] = base_weight * base + path_weight * path
        if self_col[i] >= 0:
            path_cross[i, self_col[i]] = np.inf
            key[self_col[i]] = np.inf
        _keep_smallest(path_cross[i], heap, nearest[i])
        if base_nearest.shape[1]:
            _keep_smallest(key, base_keys[i], base_nearest[i])


@compiled(nogil=True)
def columns_at_most(lower, limit, self_col):
    """The ``(row, column)`` entries with ``lower[row, column] <= limit[row]``, row by row,
    other than ``self_col[row]`` (where it is not negative)."""
    n_rows, n_cols = lower.shape
    counts = np.zeros(n_rows, dtype=np.int64)
    for i in range(n_rows):
        for j in range(n_cols):
            if lower[i, j] <= limit[i] and j != self_col[i]:
                counts[i] += 1
    rows = np.empty(counts.sum(), dtype=np.int64)
    cols = np.empty(counts.sum(), dtype=np.int64)
    at = 0
    for i in range(n_rows):
        for j in range(n_cols):
            if lower[i, j] <= limit[i] and j != self_col[i]:
                rows[at] = i
                cols[at] = j
                at += 1
    return rows, cols
