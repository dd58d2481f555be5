"""Exact candidates among many references: single precision prunes, the bound decides.

Ranking a block of rows against every reference by the bound costs a double
precision product of the samples and a Jensen-Shannon divergence (a logarithm per
class) for every pair. Among tens of thousands of references almost every pair is
far from making a row's list. So, under the Euclidean base metric:

1. The Jensen-Shannon divergence is at least ``ln 2`` times the squared Hellinger
   distance: ``JS(p, q) ≥ ln 2 · ½‖√p − √q‖²``. Both are sums over the classes of
   1-homogeneous terms, so it suffices that ``½[t ln 2t + (1−t) ln 2(1−t)] ≥
   ln 2 · (½ − √(t(1−t)))`` on ``[0, 1]`` (equality at 0, ½ and 1). Hence every
   bound is at least ``w_E·E + w_D·c·‖√p − √q‖`` with ``c = √(ln 2 / 2)``: two
   Euclidean distances, each one matrix product away.
2. Both products are taken in *single* precision (twice the speed and half the
   memory of double precision), with rounding margins proven for any summation
   order, and a compiled loop turns each row of them into lower bounds and picks
   the row's ``keep`` smallest.
3. Those ``keep`` references' bounds set a threshold ``T``: the ``keep``-th
   smallest bound is at most ``T``. Only references whose lower bound stays within
   ``T`` can be below it (about as many as ``keep`` on Fashion-MNIST, since the
   Hellinger distance follows the Jensen-Shannon one closely); their bounds are
   computed (the base part from its single-precision key, the Jensen-Shannon part
   exactly) and ranked.

The ranking is exact: each row gets the ``keep`` smallest bounds and a certificate,
as without pruning. The bounds are valid lower bounds of the DiDi distance, a hair
below the double-precision ones (the single-precision margin on the squared base
distance, about ``1e-4`` of the squared norms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base_distance import base_distances, paired_base_distances
from ._bounds import JS_MARGIN, BoundTerms, BoundWeights, paired_js_bounds, smallest_bounds

#: Unit roundoff of float32.
_UNIT = 2.0**-24

#: Smallest positive normal float32: values below it lose their relative precision.
_TINY = float(np.finfo(np.float32).tiny)

#: ``√(ln 2 / 2)``: the Jensen-Shannon distance is at least this times ``‖√p − √q‖``.
HELLINGER_FACTOR = float(np.sqrt(np.log(2.0) / 2.0))

#: Relative slack on comparisons with lower bounds stored in single precision.
_COMPARISON_SLACK = 1e-5

#: A block whose survivors exceed this share of its pairs is ranked in double
#: precision (a bound with too little structure to prune with, or few references).
_MAX_SURVIVOR_SHARE = 0.125


@dataclass(frozen=True)
class RoundedRows:
    """Rows rounded to float32 for a product.

    Attributes
    ----------
    flat : ndarray of float32, shape (n, d)
        The rounded rows times ``factor`` (``-2`` for query rows, so that the product
        is the cross term of squared distances; a power of two, so exact).
    sq_norms, norms : ndarray of float64, shape (n,)
        Squared norms and norms of the rounded rows (without ``factor``), the norms
        rounded up.
    """

    flat: np.ndarray
    sq_norms: np.ndarray
    norms: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, factor: float = 1.0) -> RoundedRows:
        flat = values.astype(np.float32)
        # float64 sums of float32 squares are exact to about 1e-13.
        sq_norms = np.einsum("ij,ij->i", flat, flat, dtype=np.float64)
        if factor != 1.0:
            flat *= np.float32(factor)
        return cls(flat, sq_norms, np.sqrt(sq_norms) * (1.0 + 1e-12))

    def margins(self, reference: RoundedRows) -> tuple[np.ndarray, np.ndarray]:
        """Per row, ``(square, shift)``: a squared-distance key of the rounded rows is
        within ``square`` of their squared distance, which is within ``shift`` of the
        exact rows' distance (for any column among ``reference``)."""
        d = self.flat.shape[1]
        gamma = d * _UNIT / (1.0 - d * _UNIT)  # Higham's bound of a length-d dot product
        pair_norm = self.norms + float(reference.norms.max(initial=0.0))
        # Product 2γ‖x̃‖‖ỹ‖, squared norms and sums in float64, underflow.
        square = 2.0 * (gamma + _UNIT) * pair_norm**2 + 8.0 * d * _TINY
        # ‖x̃ − x‖ ≤ u‖x‖ for each row, plus what flushes to zero.
        shift = _UNIT * pair_norm * (1.0 + 4.0 * _UNIT) + 2.0 * np.sqrt(d) * _TINY
        return square * 1.01, shift * 1.01


@dataclass(frozen=True)
class SinglePrecision:
    """Samples ``2**-exponent·x`` and predictions' roots ``√p``, rounded to float32."""

    samples: RoundedRows
    roots: RoundedRows
    exponent: int


def single_precision(
    terms: BoundTerms, rows: np.ndarray, exponent: int, factor: float = 1.0
) -> SinglePrecision | None:
    """``terms``' ``rows`` in single precision, or ``None`` where their squares could
    overflow it (query rows far outside the references)."""
    scaled = np.ldexp(terms.flat[rows], -exponent)
    if len(scaled) and np.einsum("ij,ij->i", scaled, scaled).max() > 2.0**120:
        return None
    roots = np.sqrt(terms.proba[rows].astype(np.float64))
    return SinglePrecision(RoundedRows.of(scaled, factor), RoundedRows.of(roots, factor), exponent)


def reference_single_precision(reference: BoundTerms) -> SinglePrecision:
    """The references in single precision, scaled so that their largest norm is at
    most 1; made once per set of terms (the k-NN search ranks the same references
    again for the rows whose lists run out)."""
    if "single" not in reference.cache:
        largest = float(np.sqrt(reference.sq_norms.max(initial=0.0)))
        exponent = int(np.frexp(largest)[1]) if largest > 0 else 0
        single = single_precision(reference, np.arange(len(reference.sq_norms)), exponent)
        assert single is not None  # norms at most 1 here
        reference.cache["single"] = single
    return reference.cache["single"]


@dataclass
class BaseCandidates:
    """Each query row's nearest references under the base distance alone.

    Attributes
    ----------
    indices : ndarray of int, shape (n_rows, width)
        The references of smallest single-precision key, in no particular order
        (``-1`` in rows ranked without pruning).
    next_distance : ndarray of shape (n_rows,)
        A lower bound of the base distance from the row to every reference not in
        ``indices``: where the exact distances of ``indices`` put a row's ``k``-th
        nearest below it, they are its exact ``k`` nearest.
    """

    indices: np.ndarray
    next_distance: np.ndarray

    @classmethod
    def empty(cls, n_rows: int, width: int) -> BaseCandidates:
        return cls(np.full((n_rows, width), -1, dtype=np.int64), np.zeros(n_rows))

    def store(self, start: int, block: BaseCandidates | None) -> None:
        """Write a block's rows from ``start`` (``None``: that block was not pruned)."""
        if block is not None:
            self.indices[start : start + len(block.indices)] = block.indices
            self.next_distance[start : start + len(block.indices)] = block.next_distance

    @property
    def complete(self) -> bool:
        return bool(np.all(self.indices >= 0))

    def exact_neighbours(self, X: np.ndarray, k: int, *, n_threads: int = 1) -> np.ndarray:
        """Each sample's ``k`` nearest other samples of ``X`` (the references, in base
        units, each row its own sample's) under the Euclidean distance, nearest
        first, ties by index; the candidates' distances on up to ``n_threads`` threads.

        Distances are computed from differences for the candidates; a row whose
        ``k``-th is not below ``next_distance`` is measured against every sample.
        """
        n, width = self.indices.shape
        rows = np.repeat(np.arange(n), width)
        distances = paired_base_distances(
            X, rows, X, self.indices.ravel(), "euclidean", n_threads=n_threads
        )
        distances = distances.reshape(n, width)
        order = np.lexsort((self.indices, distances), axis=1)[:, :k]
        nearest = np.take_along_axis(self.indices, order, axis=1)
        kth = np.take_along_axis(distances, order[:, -1:], axis=1)[:, 0]
        unsure = np.flatnonzero(~(kth < self.next_distance))
        for start in range(0, len(unsure), 64):
            block = unsure[start : start + 64]
            every = base_distances(X[block], X, "euclidean")
            every[np.arange(len(block)), block] = np.inf
            columns = np.broadcast_to(np.arange(n), every.shape)
            nearest[block] = np.lexsort((columns, every), axis=1)[:, :k]
        return nearest


def _base_lower(
    keys: np.ndarray, square: np.ndarray, shift: np.ndarray, exponent: int
) -> np.ndarray:
    """Lower bounds of base distances (original units) from their squared-distance keys
    and their rows' margins."""
    scaled = np.sqrt(np.maximum(keys - square, 0.0)) * (1.0 - 1e-12)
    return np.ldexp(np.maximum(scaled - shift, 0.0), exponent)


def _pair_bounds(
    query: BoundTerms,
    reference: BoundTerms,
    weights: BoundWeights,
    keys: tuple[np.ndarray, np.ndarray, np.ndarray, int],
    rows: np.ndarray,
    local: np.ndarray,
    cols: np.ndarray,
) -> np.ndarray:
    """Bounds of the pairs (``rows[local]``, ``cols``): the base part from their keys
    ``(base_cross, square, shift, exponent)``, the Jensen-Shannon part exactly."""
    base_key, square, shift, exponent = keys
    base = _base_lower(base_key, square[local], shift[local], exponent)
    return weights.base * base + weights.path * paired_js_bounds(
        query, rows[local], reference, cols
    )


def _smallest_per_row(
    local: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``keep`` entries of smallest value (ties by column), as ``(n_rows, keep)``."""
    order = np.lexsort((cols, values, local))
    starts = np.searchsorted(local[order], np.arange(n_rows))
    rank = np.arange(len(order)) - starts[local[order]]
    chosen = order[rank < keep]
    return cols[chosen].reshape(n_rows, keep), values[chosen].reshape(n_rows, keep)


def prune_block(
    query: BoundTerms,
    rows: np.ndarray,
    reference: BoundTerms,
    weights: BoundWeights,
    reference32: SinglePrecision,
    keep: int,
    exclude_self: bool,
    base_width: int = 0,
) -> tuple[np.ndarray, np.ndarray, BaseCandidates | None] | None:
    """The ``keep`` references of smallest bound for each of ``rows``, with their bounds,
    and their ``base_width`` nearest under the base distance (``None`` for 0).

    Where too many pairs survive the pruning to be worth it, the block is ranked in
    double precision. Returns ``None`` where single precision cannot serve (rows
    too far outside the references for its range).
    """
    from ._pruned_kernels import columns_at_most, lower_bounds_and_nearest

    query32 = single_precision(query, rows, reference32.exponent, factor=-2.0)
    if query32 is None:
        return None
    base_margins = query32.samples.margins(reference32.samples)
    path_margins = query32.roots.margins(reference32.roots)
    base_cross = query32.samples.flat @ reference32.samples.flat.T
    lower = query32.roots.flat @ reference32.roots.flat.T
    n_rows = len(rows)
    nearest = np.empty((n_rows, keep), dtype=np.int64)
    base_nearest = np.empty((n_rows, base_width), dtype=np.int64)
    base_keys = np.empty((n_rows, base_width))
    self_col = rows if exclude_self else np.full(n_rows, -1)
    lower_bounds_and_nearest(
        base_cross, lower,
        query32.samples.sq_norms, reference32.samples.sq_norms,
        query32.roots.sq_norms, reference32.roots.sq_norms,
        *base_margins, *path_margins,
        np.ldexp(weights.base, reference32.exponent), weights.path * HELLINGER_FACTOR,
        self_col, nearest, base_nearest, base_keys,
    )  # fmt: skip
    base = None
    if base_width:
        # Every reference outside a row's list has a key of at least the list's largest.
        next_distance = _base_lower(base_keys[:, 0], *base_margins, reference32.exponent)
        base = BaseCandidates(base_nearest, next_distance)

    def bounds(local: np.ndarray, cols: np.ndarray) -> np.ndarray:
        key = base_cross[local, cols] + query32.samples.sq_norms[local]
        key += reference32.samples.sq_norms[cols]
        keys = (key, *base_margins, reference32.exponent)
        return _pair_bounds(query, reference, weights, keys, rows, local, cols)

    # The keep smallest lower bounds give a threshold T on the bound ...
    local = np.repeat(np.arange(n_rows), keep)
    threshold = bounds(local, nearest.ravel()).reshape(n_rows, keep).max(axis=1)
    # ... and only references whose lower bound stays within T (plus the
    # Jensen-Shannon margin the bound subtracts) can be below it.
    limit = (threshold + weights.path * JS_MARGIN) * (1.0 + _COMPARISON_SLACK) + _TINY
    # The keep references that set T are below it by construction; kept whatever the
    # last bits of the two formulas for their bounds (single and double precision).
    kept = np.take_along_axis(lower, nearest, axis=1).max(axis=1)
    limit = np.maximum(limit.astype(np.float32), kept)
    local, cols = columns_at_most(lower, limit, self_col)
    if len(local) > _MAX_SURVIVOR_SHARE * lower.size:
        return (*smallest_bounds(query, rows, reference, weights, keep, exclude_self), base)
    return (*_smallest_per_row(local, cols, bounds(local, cols), n_rows, keep), base)
