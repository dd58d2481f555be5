"""Discriminative path lengths: the classifier-dependent half of the DiDi distance.

For a pair ``(x, x')`` the straight path ``p_k = x + k/(n+1)·(x' − x)``,
``k = 0 … n+1``, has length ``D = Σ_k d_JS(f(p_{k−1}), f(p_k))``. The end points'
probabilities are known once per point, so only the ``n`` interior points of a pair
cost classifier rows; pairs are evaluated in large vectorised blocks.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._proba import ProbaFunction
from ._divergence import js_distance


def interior_fractions(n_steps: int) -> np.ndarray:
    """The ``n_steps`` interior positions ``k/(n+1)``, ``k = 1 … n``, of a path."""
    return np.arange(1, n_steps + 1, dtype=np.float64) / (n_steps + 1)


def path_lengths(
    proba: ProbaFunction,
    A: np.ndarray,
    B: np.ndarray,
    proba_A: np.ndarray,
    proba_B: np.ndarray,
    index_a: np.ndarray,
    index_b: np.ndarray,
    n_steps: int,
) -> np.ndarray:
    """Discriminative lengths of the straight paths ``A[index_a[i]] → B[index_b[i]]``.

    Parameters
    ----------
    proba : ProbaFunction
        The classifier.
    A, B : ndarray of shape (n_a, *sample_shape), (n_b, *sample_shape)
        Start and end point sets (they may be the same array).
    proba_A, proba_B : ndarray of shape (n_a, n_classes), (n_b, n_classes)
        The classifier's probabilities of ``A`` and ``B``, computed once.
    index_a, index_b : ndarray of int, shape (n_pairs,)
        The pairs.
    n_steps : int
        Number of interior points per path.

    Returns
    -------
    ndarray of shape (n_pairs,)
        ``Σ_k d_JS(f(p_{k−1}), f(p_k))`` for each pair.
    """
    n_pairs = len(index_a)
    out = np.empty(n_pairs, dtype=np.float64)
    if n_pairs == 0:
        return out
    if n_steps == 0:
        out[:] = js_distance(proba_A[index_a], proba_B[index_b])
        return out
    t = interior_fractions(n_steps).astype(A.dtype, copy=False)
    t = t.reshape((1, n_steps) + (1,) * (A.ndim - 1))
    pairs_per_block = max(1, proba.batch_size // n_steps)
    for start in range(0, n_pairs, pairs_per_block):
        ia = index_a[start : start + pairs_per_block]
        ib = index_b[start : start + pairs_per_block]
        xa = A[ia]
        step = B[ib] - xa
        # interior[i, k] = xa[i] + t_k·(xb[i] − xa[i]), built in place.
        interior = np.multiply(step[:, None], t)
        interior += xa[:, None]
        p_interior = proba(interior.reshape((-1, *A.shape[1:])), owned=True)
        path = np.empty((len(ia), n_steps + 2, p_interior.shape[1]))
        path[:, 0] = proba_A[ia]
        path[:, 1:-1] = p_interior.reshape(len(ia), n_steps, -1)
        path[:, -1] = proba_B[ib]
        out[start : start + len(ia)] = js_distance(path[:, :-1], path[:, 1:]).sum(axis=1)
    return out


def upper_triangle_blocks(n: int, pairs_per_block: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the pairs ``i < j`` of ``n`` points in blocks of about ``pairs_per_block``.

    Rows are grouped so that no block materialises more than about
    ``pairs_per_block + n`` index pairs, whatever ``n`` is.
    """
    row = 0
    while row < n - 1:
        stop, count = row, 0
        while stop < n - 1 and (count == 0 or count + (n - 1 - stop) <= pairs_per_block):
            count += n - 1 - stop
            stop += 1
        rows = np.arange(row, stop)
        lengths = n - 1 - rows
        ia = np.repeat(rows, lengths)
        offsets = np.arange(len(ia)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        ib = ia + 1 + offsets
        yield ia, ib
        row = stop


def _path_task(
    estimator, batch_size: int, frame, A, B, proba_A, proba_B, index_a, index_b, n_steps: int
) -> tuple[np.ndarray, int]:
    """One block of path lengths in a worker; returns the lengths and the rows used."""
    proba = ProbaFunction(estimator, batch_size, frame)
    lengths = path_lengths(proba, A, B, proba_A, proba_B, index_a, index_b, n_steps)
    return lengths, proba.n_rows


def parallel_path_lengths(
    proba: ProbaFunction,
    A: np.ndarray,
    B: np.ndarray,
    proba_A: np.ndarray,
    proba_B: np.ndarray,
    index_a: np.ndarray,
    index_b: np.ndarray,
    n_steps: int,
    *,
    n_jobs: int | None = None,
) -> tuple[np.ndarray, int]:
    """:func:`path_lengths` split into blocks run through joblib.

    A classifier with its own path length evaluator (see :class:`ProbaFunction`)
    gets all the pairs at once, in this process. Otherwise blocks go through
    scikit-learn's ``Parallel``, so ``joblib.parallel_config``
    chooses where they run (processes, threads, a dask or ray cluster). Each block
    carries only the end points it needs, not all of ``A`` and ``B``. With
    one effective job, the pairs are evaluated in this process with ``proba`` itself.

    Returns
    -------
    lengths : ndarray of shape (n_pairs,)
    n_rows : int
        Classifier rows used, in whichever process they ran.
    """
    from joblib import effective_n_jobs
    from sklearn.utils.parallel import Parallel, delayed

    n_pairs = len(index_a)
    if proba.evaluates_paths and n_steps > 0:
        # The model builds and scores the points on its own device: one process
        # drives it, whatever n_jobs says.
        before = proba.n_rows
        lengths = proba.path_lengths(A, B, proba_A, proba_B, index_a, index_b, n_steps)
        return lengths, proba.n_rows - before
    # joblib resolves n_jobs=None through parallel_config: 1 by default, the
    # cluster's worker count under a dask backend.
    n_workers = effective_n_jobs(n_jobs)
    if n_workers == 1 or n_pairs == 0:
        before = proba.n_rows
        lengths = path_lengths(proba, A, B, proba_A, proba_B, index_a, index_b, n_steps)
        return lengths, proba.n_rows - before
    # Four blocks per worker balance the load; a block is at least one classifier batch.
    per_block = max(proba.batch_size // max(1, n_steps), -(-n_pairs // (4 * n_workers)))
    tasks = []
    for start in range(0, n_pairs, per_block):
        ia = index_a[start : start + per_block]
        ib = index_b[start : start + per_block]
        ua, ia_local = np.unique(ia, return_inverse=True)
        ub, ib_local = np.unique(ib, return_inverse=True)
        tasks.append(
            delayed(_path_task)(
                proba.estimator,
                proba.batch_size,
                proba.frame,
                A[ua],
                B[ub],
                proba_A[ua],
                proba_B[ub],
                ia_local,
                ib_local,
                n_steps,
            )
        )
    # Never more workers than blocks: each costs a process start (or a cluster slot);
    # with one block, joblib runs it in this process, except on a cluster backend.
    results = Parallel(n_jobs=min(n_workers, len(tasks)))(tasks)
    lengths = np.concatenate([lengths for lengths, _ in results])
    return lengths, sum(rows for _, rows in results)
