"""The two scales ``s_D`` and ``s_E`` that put path length and base distance on a par.

The DiDi distance ``(1 − λ)·D/s_D + λ·E/s_E`` needs one scale per part. The
reference implementation divides each part by its maximum over *all pairs*, which
needs every pair's path length: impossible without the dense computation, and it
would make a distance depend on which pairs happened to be evaluated. The
``"typical"`` scales here depend on the samples alone and cost ``O(n·d)``:

* ``s_D = sqrt(ln 2)``, the Jensen-Shannon distance between two certain,
  different predictions: a path length is counted in "full changes of
  prediction";
* ``s_E`` = the root mean square of the base distance over all pairs of distinct
  samples, computed exactly from sums over the samples.
"""

from __future__ import annotations

import numpy as np

from ._divergence import JS_MAX

#: ``s_D`` of the "typical" scales: one full change of prediction.
TYPICAL_PATH_SCALE = JS_MAX


#: Rows normalised at a time: ``np.linalg.norm`` squares its whole input first.
_NORM_BLOCK_ROWS = 1024


def _unit_rows(flat: np.ndarray) -> np.ndarray:
    """The rows of ``flat`` scaled to norm 1 (all-zero rows kept), as one float64 copy
    (a row's norm does not depend on the others, so blocks give the same bits)."""
    units = flat.astype(np.float64)
    for start in range(0, len(units), _NORM_BLOCK_ROWS):
        rows = units[start : start + _NORM_BLOCK_ROWS]
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows /= np.where(norms > 0, norms, 1.0)
    return units


def rms_base_distance(X: np.ndarray, metric: str) -> float:
    """Root mean square of ``metric`` over all pairs ``i ≠ j`` of samples, in ``O(n·d)``.

    * Euclidean: ``Σ_{i≠j} ‖x_i − x_j‖² = 2n·Σ_i ‖x_i − x̄‖²``.
    * Cosine (``1 − u_i·u_j`` on unit rows): expanding the square leaves
      ``Σ_{i,j} u_i·u_j = ‖Σ_i u_i‖²`` and ``Σ_{i,j} (u_i·u_j)² = ‖UᵀU‖²_F``, the
      smaller Gram matrix of the two. All-zero samples, for which the cosine
      distance is undefined, are refused before this is called.

    Parameters
    ----------
    X : ndarray of shape (n_samples, *shape)
        At least two samples.
    metric : {"euclidean", "cosine"}

    Returns
    -------
    float
        The scale; ``0.0`` when all samples coincide.
    """
    n = len(X)
    flat = X.reshape(n, -1)
    pairs = n * (n - 1)
    # One float64 copy of the samples, centred or normalised in place: at 10⁶
    # images of 784 pixels a copy is 6.3 GB.
    if metric == "euclidean":
        centred = flat.astype(np.float64)
        centred -= centred.mean(axis=0)
        total = 2.0 * n * float(np.einsum("ij,ij->", centred, centred))
    elif metric == "cosine":
        units = _unit_rows(flat)
        sum_dot = float(np.sum(units.sum(axis=0) ** 2))
        gram = units.T @ units if units.shape[1] < n else units @ units.T
        sum_dot_sq = float(np.einsum("ij,ij->", gram, gram))
        self_dot = np.einsum("ij,ij->i", units, units)
        # Σ_{i≠j} (1 − c_ij)² = Σ_{i≠j} 1 − 2·c_ij + c_ij²
        total = (
            pairs
            - 2.0 * (sum_dot - float(self_dot.sum()))
            + (sum_dot_sq - float(np.sum(self_dot**2)))
        )
    else:
        raise ValueError(f"Unknown base metric {metric!r}.")
    return float(np.sqrt(max(total, 0.0) / pairs))
