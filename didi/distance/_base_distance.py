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
    largest = float(np.max(np.abs(X))) if X.size else 0.0
    if largest <= safe_magnitude:
        return 1.0
    return 2.0 ** (int(np.ceil(np.log2(largest))) - int(np.log2(safe_magnitude)))


def check_magnitudes(X: np.ndarray, limit: float, reason: str) -> None:
    """Refuse the first value of ``X`` above ``limit`` in magnitude, naming its sample
    and column (the column of the flattened sample)."""
    if limit >= float(np.finfo(X.dtype).max):
        return  # nothing in X's precision is above it
    flat = X.reshape(len(X), -1)
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
    need not be. Found by sorting the rows' bytes: ``O(n log n)`` time and ``O(n)``
    memory, however many samples repeat.
    """
    width = int(np.prod(A.shape[1:], dtype=np.int64))
    rows = np.concatenate([A.reshape(len(A), width), B.reshape(len(B), width)])
    rows = np.ascontiguousarray(rows, dtype=np.float64) + 0.0  # -0.0 equals 0.0
    _, group = np.unique(rows.view(np.dtype((np.void, 8 * width))).ravel(), return_inverse=True)
    group = group.ravel()
    return group[: len(A)], group[len(A) :]


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
