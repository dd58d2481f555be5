"""Input-space distances ``E``, their combination with path lengths, and k-NN graphs."""

from __future__ import annotations

import numpy as np
import scipy.sparse
from scipy.spatial.distance import cdist

from .._resources import map_blocks


def knn_graph(indices: np.ndarray, distances: np.ndarray, n_columns: int, *, with_self: bool):
    """CSR distance graph, one row per query, in ``KNeighborsTransformer``'s convention.

    Each row holds its neighbours sorted by distance; with ``with_self`` the row's
    own sample comes first with an explicit 0.
    """
    n, k = indices.shape
    # An index outside the columns would corrupt the sparse matrix's memory: a
    # non-finite distance is the only way one can arise, and both are refused.
    if not np.all(np.isfinite(distances)):
        raise ValueError(
            "Some distances are not finite, so nearest neighbours are undefined; the "
            "samples' values or the classifier's probabilities overflowed."
        )
    if indices.size and (indices.min() < 0 or indices.max() >= n_columns):
        raise ValueError(
            f"Neighbour indices must lie in [0, {n_columns}); got "
            f"[{indices.min()}, {indices.max()}]."
        )
    if with_self:
        indices = np.hstack([np.arange(n)[:, None], indices])
        distances = np.hstack([np.zeros((n, 1)), distances])
        k += 1
    return scipy.sparse.csr_matrix(
        (distances.ravel(), indices.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n_columns)
    )


#: Largest magnitude at which base distances are computed directly. Sums of squares
#: over every feature and pair of samples stay far below the float64 maximum (about
#: 1.8e308) up to here; larger samples are measured in units of a power of two.
SAFE_MAGNITUDE = 2.0**400


def base_unit(X: np.ndarray, safe_magnitude: float = SAFE_MAGNITUDE) -> float:
    """The power of two in whose units base distances of ``X`` are computed.

    ``1.0`` unless a value exceeds ``safe_magnitude`` (a power of two); dividing by a
    power of two changes only the exponents, so distances are those of ``X``, scaled
    exactly. Only the ratio of a base distance to its scale enters the DiDi distance.
    """
    # max |x| from two reductions: no array of absolute values (a copy of X).
    largest = max(float(X.max()), -float(X.min())) if X.size else 0.0
    if largest <= safe_magnitude:
        return 1.0
    return 2.0 ** (int(np.ceil(np.log2(largest))) - int(np.log2(safe_magnitude)))


def check_magnitudes(X: np.ndarray, limit: float, reason: str) -> None:
    """Refuse the first value of ``X`` above ``limit`` in magnitude, naming its sample
    and column (the column of the flattened sample)."""
    if limit >= float(np.finfo(X.dtype).max):
        return  # nothing in X's precision is above it
    flat = X.reshape(len(X), -1)
    if not flat.size or (flat.max() <= limit and flat.min() >= -limit):
        return  # the common case, without an array of absolute values
    too_large = np.abs(flat) > limit
    if not too_large.any():
        return
    sample, column = (int(i) for i in np.argwhere(too_large)[0])
    raise ValueError(
        f"X[{sample}, {column}] = {flat[sample, column]:.6g} is too large: {reason} "
        f"({int(too_large.sum())} value(s) above {limit:.3g}). A placeholder for a missing "
        "value? Replace or impute it, or rescale the features."
    )


def check_interpolable(X: np.ndarray) -> None:
    """Refuse values whose differences overflow in ``X``'s precision: a path between
    two samples is built from them."""
    limit = float(np.finfo(X.dtype).max) / 2
    check_magnitudes(X, limit, f"differences between samples overflow in {X.dtype}")


def base_distances(A: np.ndarray, B: np.ndarray, metric: str) -> np.ndarray:
    """Input-space distances ``E`` between the flattened samples of ``A`` and ``B``.

    SciPy's ``cdist`` works on differences, so nearby samples keep their exact
    distance; scikit-learn's dot-product formula loses about ``1e-8·‖x‖`` to
    rounding, which would blur the nearest neighbours UMAP is built on.
    """
    return cdist(
        A.reshape(len(A), -1).astype(np.float64, copy=False),
        B.reshape(len(B), -1).astype(np.float64, copy=False),
        metric=metric,
    )


def paired_base_distances(
    A: np.ndarray,
    index_a: np.ndarray,
    B: np.ndarray,
    index_b: np.ndarray,
    metric: str,
    *,
    n_threads: int = 1,
) -> np.ndarray:
    """Base distances of the pairs ``(A[index_a[i]], B[index_b[i]])``, from differences,
    in blocks of pairs on up to ``n_threads`` threads (the same bits for any number)."""
    out = np.empty(len(index_a))
    width = int(np.prod(A.shape[1:], dtype=np.int64))

    def measure(start: int, stop: int) -> None:
        a = A[index_a[start:stop]].reshape(-1, width).astype(np.float64)
        b = B[index_b[start:stop]].reshape(-1, width).astype(np.float64)
        if metric == "euclidean":
            a -= b
            values = np.sqrt(np.einsum("ij,ij->i", a, a))
        else:
            norms = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
            values = 1.0 - np.einsum("ij,ij->i", a, b) / np.where(norms > 0, norms, 1.0)
            np.maximum(values, 0.0, out=values)
        out[start:stop] = values

    map_blocks(measure, len(index_a), max(1, (1 << 21) // max(1, width)), n_threads)
    return out


def equal_sample_groups(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group ids of the samples of ``A`` and ``B``: equal ids exactly for equal samples.

    Equal samples are at distance 0 by definition; their path lengths, computed
    from predictions that may differ in the last bit between classifier batches,
    need not be. Each sample's bits (``-0.0`` counted as ``0.0``) are hashed in blocks
    and the hashes sorted: ``O(n log n)`` time, no copy of the samples in float64 and
    no sort of whole rows. Every sample is then compared with the first of its hash;
    should two different samples share one, the rows themselves are sorted instead.
    """
    width = int(np.prod(A.shape[1:], dtype=np.int64))
    a, b = A.reshape(len(A), width), B.reshape(len(B), width)
    rows = a if len(b) == 0 else np.concatenate([a, b])
    # float32 values are equal exactly where their float64 values are.
    dtype = np.float32 if rows.dtype == np.float32 else np.float64
    _, first, group = np.unique(row_hashes(rows, dtype), return_index=True, return_inverse=True)
    group = group.ravel()
    if not _rows_equal(rows, first[group], dtype):
        group = _sorted_row_groups(rows, dtype)
    return group[: len(A)], group[len(A) :]


#: Rows hashed or compared at once (bounds the temporaries to a few MB).
_GROUP_BLOCK_VALUES = 1 << 20


def _group_block_rows(width: int) -> int:
    """Rows of ``width`` values hashed or compared at once."""
    return max(1, _GROUP_BLOCK_VALUES // max(1, width))


def _row_bits(rows: np.ndarray, dtype: type) -> np.ndarray:
    """The rows' values in ``dtype`` with ``-0.0`` made ``0.0``, as unsigned integers."""
    values = np.ascontiguousarray(rows, dtype=dtype) + dtype(0.0)
    return values.view(np.uint32 if dtype == np.float32 else np.uint64)


def row_hashes(rows: np.ndarray, dtype: type) -> np.ndarray:
    """A 64-bit hash of each row's bits: the dot product, modulo 2⁶⁴, of its words with
    fixed random odd multipliers.

    Each word is byte-swapped first. A product modulo 2⁶⁴ carries a word's bits only
    upwards, and the low bits of many floats are zero (integers, 0/1 features, float32
    values in float64: 12 to 35 bits of hash left, measured); swapped, the sign,
    exponent and leading mantissa bits, which every value has, come first.
    """
    width = rows.shape[1]
    multipliers = np.random.default_rng(0).integers(0, 2**63, size=width, dtype=np.uint64)
    multipliers = multipliers * np.uint64(2) + np.uint64(1)
    out = np.empty(len(rows), dtype=np.uint64)
    step = _group_block_rows(width)
    for start in range(0, len(rows), step):
        words = _row_bits(rows[start : start + step], dtype).byteswap().astype(np.uint64)
        words *= multipliers  # wraps modulo 2⁶⁴, as intended
        out[start : start + step] = words.sum(axis=1, dtype=np.uint64)
    return out


def _rows_equal(rows: np.ndarray, others: np.ndarray, dtype: type) -> bool:
    """Whether every row's bits equal those of row ``others[i]``."""
    step = _group_block_rows(rows.shape[1])
    for start in range(0, len(rows), step):
        here = _row_bits(rows[start : start + step], dtype)
        there = _row_bits(rows[others[start : start + step]], dtype)
        if not np.array_equal(here, there):
            return False
    return True


def _sorted_row_groups(rows: np.ndarray, dtype: type) -> np.ndarray:
    """Group ids from sorting the rows' bytes (exact whatever the hashes)."""
    bits = _row_bits(rows, dtype)
    keys = bits.view(np.dtype((np.void, bits.dtype.itemsize * rows.shape[1]))).ravel()
    return np.unique(keys, return_inverse=True)[1].ravel()


def check_cosine_rows(X: np.ndarray) -> None:
    """Refuse all-zero samples under the cosine distance, which has no value for them."""
    flat = X.reshape(len(X), -1)
    zero = np.flatnonzero(~flat.any(axis=1))
    if len(zero):
        raise ValueError(
            f"base_metric='cosine' is undefined for all-zero samples; samples {zero[:5].tolist()}"
            f"{' and more' if len(zero) > 5 else ''} are all zero. Remove them or use "
            "base_metric='euclidean'."
        )


def symmetric_base_distances(X: np.ndarray, metric: str) -> np.ndarray:
    """Base distances among the samples of ``X``: exactly symmetric, zero diagonal."""
    base = base_distances(X, X, metric)
    # cdist's rounding may differ between (i, j) and (j, i).
    base += base.T
    base *= 0.5
    np.fill_diagonal(base, 0.0)
    return base


def combine_distances(
    path: np.ndarray, base: np.ndarray, lam: float, path_scale: float, base_scale: float
) -> np.ndarray:
    """DiDi distance ``(1 − λ)·D/s_D + λ·E/s_E``."""
    return (1.0 - lam) * (path / path_scale) + lam * (base / base_scale)
