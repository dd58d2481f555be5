"""Numerics of the inverse projection π⁻¹ (paper, section 4.2, Theorem 2).

``π⁻¹(y) = Σ_i w_i(y)·θ_i / Σ_j w_j(y)`` with ``w_i(y) = (1 + a·‖ρ_i − y‖^{2b})⁻¹``
(``σ_i = 1``, ``ρ_i`` the centres' 2-D positions). For fixed centres the fit of
``θ`` is linear least squares, solved here directly.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.spatial.distance import cdist

from .._resources import map_blocks


def normalized_weights(
    Y: np.ndarray, centers: np.ndarray, a: float, b: float, *, n_threads: int = 1
) -> np.ndarray:
    """Row-normalised UMAP-curve weights ``w_i(y)/Σ_j w_j(y)``, shape (n_points, n_centers),
    in blocks of rows on up to ``n_threads`` threads (each row the same bits for any
    number)."""
    out = np.empty((len(Y), len(centers)))

    def rows(start: int, stop: int) -> None:
        weights = cdist(Y[start:stop], centers, metric="sqeuclidean")
        weights **= b
        weights *= a
        weights += 1.0
        np.reciprocal(weights, out=weights)
        out[start:stop] = weights / weights.sum(axis=1, keepdims=True)

    map_blocks(rows, len(Y), weight_block_rows(len(centers)), n_threads)
    return out


#: Weights computed at once by one thread: a block stays in a core's cache.
_BLOCK_VALUES = 1 << 17


def weight_block_rows(n_centers: int) -> int:
    """Points per block of :func:`normalized_weights`."""
    return max(16, _BLOCK_VALUES // max(1, n_centers))


#: Training points whose weights are held at once while fitting (bounds memory to
#: ``FIT_CHUNK × n_centers`` instead of ``n_points × n_centers``).
FIT_CHUNK = 2048


def fit_coefficients(
    Y: np.ndarray,
    centers: np.ndarray,
    a: float,
    b: float,
    targets: np.ndarray,
    prior: np.ndarray,
    alpha: float,
    *,
    n_threads: int = 1,
) -> np.ndarray:
    """Solve ``min_θ ‖Wθ − X‖² + α'‖θ − θ₀‖²`` exactly, ``W`` the normalised weights.

    ``WᵀW`` and ``WᵀX`` are accumulated over chunks of training points, so memory is
    ``O(n_centers² + n_centers·n_values)`` whatever the number of points.
    ``α' = alpha · mean(diag(WᵀW))`` makes ``alpha`` independent of the number of
    points and centres. The prior ``θ₀`` (the centres' own samples) keeps
    coefficients of nearly coincident centres near their data instead of letting
    them blow up in opposite directions.

    Parameters
    ----------
    Y : ndarray of shape (n_points, 2)
        Positions of the training points.
    centers : ndarray of shape (n_centers, 2)
        Positions of the centres.
    a, b : float
        Weight parameters, see :func:`normalized_weights`.
    targets : ndarray of shape (n_points, n_values)
        Flattened training samples.
    prior : ndarray of shape (n_centers, n_values)
        Flattened samples at the centres.
    alpha : float
        Relative ridge strength, > 0.
    n_threads : int, default=1
        Threads computing the weights (the result does not depend on them).

    Returns
    -------
    ndarray of shape (n_centers, n_values)
    """
    gram = np.zeros((len(centers), len(centers)))
    rhs = np.zeros((len(centers), targets.shape[1]))
    for start in range(0, len(Y), FIT_CHUNK):
        W = normalized_weights(Y[start : start + FIT_CHUNK], centers, a, b, n_threads=n_threads)
        gram += W.T @ W
        rhs += W.T @ targets[start : start + FIT_CHUNK]
    return solve_coefficients(gram, rhs, prior, alpha)


def solve_coefficients(
    gram: np.ndarray, rhs: np.ndarray, prior: np.ndarray, alpha: float
) -> np.ndarray:
    """The coefficients from the accumulated ``WᵀW`` and ``WᵀX`` (both overwritten):
    ``(WᵀW + α'I)⁻¹(WᵀX + α'θ₀)``, ``α' = alpha · mean(diag(WᵀW))``."""
    ridge = alpha * float(np.mean(np.diag(gram)))
    gram[np.diag_indices_from(gram)] += ridge
    rhs += ridge * prior
    return scipy.linalg.solve(gram, rhs, assume_a="pos", overwrite_a=True, overwrite_b=True)
