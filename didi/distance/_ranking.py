"""Candidate neighbours ranked by the free lower bound, exactly.

Each query row gets the references of smallest bound, in increasing order, and the
smallest bound of every reference left out: the certificate that lets the k-NN
search stop. Up to :data:`PRUNING_MIN_REFERENCES` references every bound is computed
in double precision; beyond, under the Euclidean base metric, single-precision
products first prune the references that cannot make the list (:mod:`._pruned`),
with the same guarantee.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .._resources import map_blocks
from ._bounds import BoundTerms, BoundWeights, double_block_rows, smallest_bounds
from ._pruned import BaseCandidates, prune_block, reference_single_precision

#: References beyond which ranking prunes with single-precision products. Up to it,
#: every bound is computed in double precision, as the maps fitted so far were.
PRUNING_MIN_REFERENCES = 10_000

#: Elements ``(rows × references)`` in the single-precision blocks of all threads
#: together (two arrays per block, 256 MB each in all): a block of 128 MB per thread on
#: two cores, large enough for an efficient product; smaller with more threads, down
#: to :data:`_MIN_PRUNED_BLOCK_ELEMENTS`.
_PRUNED_BLOCK_ELEMENTS = 1 << 26
_MIN_PRUNED_BLOCK_ELEMENTS = 1 << 21

_THREADED_RANKING = threading.Lock()


def exact_candidates(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    n_candidates: int,
    *,
    exclude_self: bool,
    n_threads: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``n_candidates`` reference samples of smallest bound for each query row.

    With ``n_threads > 1`` blocks of rows are ranked by that many threads (numpy
    releases the GIL in its arithmetic and partitioning), each with a
    single-threaded BLAS so that the threads do not oversubscribe the cores.

    Returns
    -------
    indices, bounds : ndarray of shape (len(rows), n_candidates')
        Candidates in increasing order of bound, ``n_candidates'`` capped at the
        number of available references.
    next_bound : ndarray of shape (len(rows),)
        The smallest bound of any reference *not* in the list (``inf`` when the
        list holds them all): a certificate for stopping the search.
    """
    return candidates_and_base_candidates(
        query, rows, reference, weights, n_candidates, 0,
        exclude_self=exclude_self, n_threads=n_threads,
    )[0]  # fmt: skip


def may_find_base_neighbours(n_samples: int, estimator: Any) -> bool:
    """Whether ranking the candidates of ``n_samples`` samples for ``estimator`` may find
    their nearest neighbours under the base distance too: on the CPU it prunes only
    beyond :data:`PRUNING_MIN_REFERENCES`; a classifier that may rank on its own device
    (it offers ``_candidate_ranker``) may find them at any size."""
    return n_samples > PRUNING_MIN_REFERENCES or hasattr(estimator, "_candidate_ranker")


def candidates_and_base_candidates(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    n_candidates: int,
    base_width: int,
    *,
    exclude_self: bool,
    n_threads: int = 1,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], BaseCandidates | None]:
    """:func:`exact_candidates`, and each row's ``base_width`` nearest references under
    the base distance alone where the ranking prunes (its products hold every base
    distance); ``None`` in their place otherwise."""
    n_ref = len(reference.sq_norms)
    n_candidates, keep = candidate_widths(n_ref, n_candidates, exclude_self)
    table = candidate_table(len(rows), n_candidates)
    prunes = n_ref > PRUNING_MIN_REFERENCES and keep < n_ref and weights.metric == "euclidean"
    base_width = min(base_width, n_ref - 1) if prunes else 0
    base = BaseCandidates.empty(len(rows), base_width) if base_width > 0 else None
    if prunes:
        single = reference_single_precision(reference)
        per_thread = max(_MIN_PRUNED_BLOCK_ELEMENTS, _PRUNED_BLOCK_ELEMENTS // max(1, n_threads))
        block = max(1, per_thread // n_ref)
    else:
        block = double_block_rows(reference)

    def rank(start: int, stop: int) -> None:
        sub = rows[start:stop]
        ranked = None
        if prunes:
            ranked = prune_block(
                query, sub, reference, weights, single, keep, exclude_self, base_width
            )
        if ranked is None:
            ranked = (*smallest_bounds(query, sub, reference, weights, keep, exclude_self), None)
        if base is not None:
            base.store(start, ranked[2])
        store_ranked(table, start, *ranked[:2], n_candidates)

    _run_blocks(rank, len(rows), block, n_threads)
    return table, base if base is None or base.complete else None


@dataclass(frozen=True)
class HostRanker:
    """The exact ranking on this machine, with ``n_threads`` threads: the same calls as
    :class:`didi.adapters._torch.DeviceRanker` makes on a GPU."""

    n_threads: int = 1

    def __call__(self, query, rows, reference, weights, n_candidates, *, exclude_self):
        return exact_candidates(
            query, rows, reference, weights, n_candidates,
            exclude_self=exclude_self, n_threads=self.n_threads,
        )  # fmt: skip

    def candidates_and_base_candidates(
        self, query, rows, reference, weights, n_candidates, base_width, *, exclude_self
    ):
        return candidates_and_base_candidates(
            query, rows, reference, weights, n_candidates, base_width,
            exclude_self=exclude_self, n_threads=self.n_threads,
        )  # fmt: skip


def _run_blocks(rank: Callable[[int, int], None], n_rows: int, block: int, n_threads: int) -> None:
    """:func:`~didi._resources.map_blocks` of ``rank(start, stop)`` (each block writes its
    own rows), on ``n_threads`` threads with one BLAS thread each."""
    if n_threads > 1 and n_rows > block:
        # The BLAS limit is process-wide: threaded rankings run one at a time, so
        # that overlapping ones cannot leave it at 1 when they are done.
        with _THREADED_RANKING, threadpool_limits(1, user_api="blas"):
            map_blocks(rank, n_rows, block, n_threads)
    else:
        map_blocks(rank, n_rows, block, 1)


def candidate_widths(n_references: int, n_candidates: int, exclude_self: bool) -> tuple[int, int]:
    """Candidates per row, capped at the available references, and how many to keep
    (one more: its bound certifies the list)."""
    available = n_references - 1 if exclude_self else n_references
    n_candidates = min(n_candidates, available)
    return n_candidates, min(n_candidates + 1, available)


def candidate_table(n_rows: int, n_candidates: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty ``(indices, bounds, next_bound)`` for ``n_rows`` rows; no next bound is ``inf``."""
    return (
        np.empty((n_rows, n_candidates), dtype=np.int64),
        np.empty((n_rows, n_candidates)),
        np.full(n_rows, np.inf),
    )


def store_ranked(
    table: tuple[np.ndarray, np.ndarray, np.ndarray],
    start: int,
    part: np.ndarray,
    values: np.ndarray,
    n_candidates: int,
) -> None:
    """Write the rows ``start …`` of ``table``: each row's candidates ``part`` sorted by
    bound ``values``, ties by index, and the first bound past the list as its next bound."""
    order = np.lexsort((part, values), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    indices, bounds, next_bound = table
    stop = start + len(part)
    indices[start:stop] = part[:, :n_candidates]
    bounds[start:stop] = values[:, :n_candidates]
    if values.shape[1] > n_candidates:
        next_bound[start:stop] = values[:, n_candidates]
